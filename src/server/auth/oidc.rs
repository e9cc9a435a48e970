//! OpenID Connect relying party: discovery (retried while the provider is down), the
//! authorization code flow with PKCE, state and nonce, and RP-initiated logout.
use crate::server::config::OidcConfig;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Provider {
    client: Client,
    end_session: Option<EndSessionUrl>,
    userinfo: Option<String>,
}

pub struct Oidc {
    config: OidcConfig,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    provider: RwLock<Option<Arc<Provider>>>,
    discovery: RwLock<Discovery>,
}

/// The last discovery attempts, for the readiness probe (Unix milliseconds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// When the provider's metadata was last fetched.
    pub succeeded_at: Option<i64>,
    /// When discovery last failed, and why (cleared by a success).
    pub failed: Option<(i64, String)>,
}

/// What we remember between sending the person to the provider and their return.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
}

/// The verified identity from the provider.
#[derive(Clone, Debug)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    /// Whether the provider vouches for the email; only a verified email identifies staff.
    pub email_verified: bool,
    pub name: String,
    pub groups: Vec<String>,
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

/// What asking the provider again about a signed-in person found.
#[derive(Debug)]
pub enum Recheck {
    /// The person is still known; their current groups (`None` when the userinfo answer does
    /// not carry the groups claim) and the tokens to use next time.
    Current {
        groups: Option<Vec<String>>,
        access_token: String,
        refresh_token: Option<String>,
    },
    /// The provider no longer accepts the person's tokens (disabled, signed out, revoked).
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider is unreachable")]
    Unreachable,
    #[error("the identity provider did not accept the sign-in code ({0})")]
    CodeRejected(String),
    #[error("the identity provider's ID token failed verification ({0})")]
    InvalidIdToken(String),
    #[error("the identity provider sent an incomplete identity ({0})")]
    Incomplete(String),
}

impl Oidc {
    pub fn new(config: OidcConfig, redirect_url: String) -> Result<Oidc, String> {
        let http = reqwest::Client::builder()
            // Following redirects from the provider would allow SSRF; openidconnect requires this off.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let redirect_url = RedirectUrl::new(redirect_url).map_err(|e| e.to_string())?;
        Ok(Oidc {
            config,
            redirect_url,
            http,
            provider: RwLock::new(None),
            discovery: RwLock::default(),
        })
    }

    pub fn is_ready(&self) -> bool {
        self.provider.read().map(|p| p.is_some()).unwrap_or(false)
    }

    /// How discovery went lately.
    pub fn discovery(&self) -> Discovery {
        match self.discovery.read() {
            Ok(d) => d.clone(),
            Err(_) => Discovery::default(),
        }
    }

    fn note_discovery(&self, failure: Option<String>) {
        if let Ok(mut d) = self.discovery.write() {
            let now = chrono::Utc::now().timestamp_millis();
            match failure {
                None => {
                    d.succeeded_at = Some(now);
                    d.failed = None;
                }
                Some(why) => d.failed = Some((now, why)),
            }
        }
    }

    /// Fetches the provider's discovery document and keys.
    pub async fn discover(&self) -> Result<(), OidcError> {
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|_| {
            self.note_discovery(Some("the issuer is not a valid URL".into()));
            OidcError::Unreachable
        })?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, issuer = %self.config.issuer, "OIDC discovery failed");
                // The provider's metadata is public; its error is shown on /readyz, shortened.
                self.note_discovery(Some(e.to_string().chars().take(200).collect()));
                OidcError::Unreachable
            })?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let userinfo = metadata.userinfo_endpoint().map(|u| u.to_string());
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose().to_string(),
            )),
        )
        .set_redirect_uri(self.redirect_url.clone());
        if let Ok(mut slot) = self.provider.write() {
            *slot = Some(Arc::new(Provider {
                client,
                end_session,
                userinfo,
            }));
        }
        self.note_discovery(None);
        tracing::info!(issuer = %self.config.issuer, "OIDC provider discovered");
        Ok(())
    }

    /// Keeps discovery fresh: retries every few seconds while the provider is down, then refreshes
    /// every 15 minutes so rotated signing keys are picked up.
    pub fn spawn_refresh(self: Arc<Self>) {
        tokio::spawn(async move {
            loop {
                let ok = self.discover().await.is_ok();
                tokio::time::sleep(if ok {
                    Duration::from_secs(900)
                } else {
                    Duration::from_secs(3)
                })
                .await;
            }
        });
    }

    async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        if let Some(p) = self.provider.read().ok().and_then(|p| p.clone()) {
            return Ok(p);
        }
        self.discover().await?;
        self.provider
            .read()
            .ok()
            .and_then(|p| p.clone())
            .ok_or(OidcError::Unreachable)
    }

    /// Starts a sign-in: the URL to send the browser to and what to remember in the session.
    pub async fn begin(&self, return_to: String) -> Result<(String, PendingSignIn), OidcError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new(self.config.groups_claim.clone()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingSignIn {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
        };
        Ok((url.to_string(), pending))
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Exchanges the code and verifies the ID token (signature, issuer, audience, expiry, nonce).
    pub async fn complete(
        &self,
        pending: &PendingSignIn,
        code: String,
    ) -> Result<Identity, OidcError> {
        let provider = self.provider().await?;
        let request = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::CodeRejected(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()));
        let response = request
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    OidcError::CodeRejected(r.error().to_string())
                }
                // The provider could not be reached (down, timed out): not the code's fault.
                openidconnect::RequestTokenError::Request(_) => OidcError::Unreachable,
                other => OidcError::CodeRejected(other.to_string()),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::InvalidIdToken("no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let claims = match id_token.claims(&provider.client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // The provider may have rotated its signing key since discovery: fetch its keys
            // again once and retry before refusing.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                self.discover().await?;
                let fresh = self.provider().await?;
                let verifier = fresh.client.id_token_verifier();
                let claims = id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| OidcError::InvalidIdToken(e.to_string()))?
                    .clone();
                claims
            }
            Err(e) => return Err(OidcError::InvalidIdToken(e.to_string())),
        };
        let raw = id_token.to_string();

        // The token is verified; its payload also carries the configured groups claim.
        let payload = decode_payload(&raw).unwrap_or_default();
        let mut groups = groups_from(&payload, &self.config.groups_claim);
        let email = claims.email().map(|e| e.to_string());
        let email_verified = claims.email_verified().unwrap_or(false);
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string());
        let subject = claims.subject().to_string();
        let access_token = response.access_token().secret().clone();
        if groups.is_none() {
            if let Some(info) = self.userinfo(&provider, &access_token).await? {
                // OIDC Core 5.3.2: the userinfo `sub` must equal the ID token's, or the
                // answer is about someone else and must not be used.
                if info.get("sub").and_then(|v| v.as_str()) != Some(subject.as_str()) {
                    return Err(OidcError::InvalidIdToken(
                        "the userinfo answer is about another subject".into(),
                    ));
                }
                groups = groups_from(&info, &self.config.groups_claim);
            }
        }
        let email = email.ok_or_else(|| OidcError::Incomplete("no email claim".into()))?;
        Ok(Identity {
            subject,
            name: name.unwrap_or_else(|| email.clone()),
            email,
            email_verified,
            groups: groups.unwrap_or_default(),
            id_token: raw,
            access_token,
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        })
    }

    /// Asks the provider whether the person still exists and which groups they are in now:
    /// userinfo with the access token, and when that is refused, the refresh token first.
    pub async fn recheck(
        &self,
        subject: &str,
        access_token: Option<&str>,
        refresh_token: Option<&str>,
    ) -> Result<Recheck, OidcError> {
        let provider = self.provider().await?;
        let mut access = access_token.map(str::to_string);
        let mut refresh = refresh_token.map(str::to_string);
        for attempt in 0..2 {
            if let Some(token) = access.as_deref() {
                if let Some(info) = self.userinfo(&provider, token).await? {
                    if info.get("sub").and_then(|v| v.as_str()) != Some(subject) {
                        return Ok(Recheck::Refused(
                            "the provider answered for another subject".into(),
                        ));
                    }
                    return Ok(Recheck::Current {
                        groups: groups_from(&info, &self.config.groups_claim),
                        access_token: token.to_string(),
                        refresh_token: refresh,
                    });
                }
            }
            // The access token was refused (or there is none): refresh once.
            let Some(rt) = refresh.clone().filter(|_| attempt == 0) else {
                break;
            };
            let refresh_token = RefreshToken::new(rt);
            let request = provider
                .client
                .exchange_refresh_token(&refresh_token)
                .map_err(|_| OidcError::Unreachable)?;
            match request.request_async(&self.http).await {
                Ok(response) => {
                    access = Some(response.access_token().secret().clone());
                    if let Some(next) = response.refresh_token() {
                        refresh = Some(next.secret().clone());
                    }
                }
                Err(openidconnect::RequestTokenError::ServerResponse(r)) => {
                    return Ok(Recheck::Refused(format!(
                        "the provider refused the refresh token ({})",
                        r.error()
                    )));
                }
                Err(_) => return Err(OidcError::Unreachable),
            }
        }
        Ok(Recheck::Refused(
            "the provider no longer accepts the session's tokens".into(),
        ))
    }

    /// The userinfo answer; `Ok(None)` when the provider refuses the token (401/403) or offers
    /// no userinfo endpoint, `Err` when it cannot be reached.
    async fn userinfo(
        &self,
        provider: &Provider,
        access_token: &str,
    ) -> Result<Option<serde_json::Value>, OidcError> {
        let Some(url) = provider.userinfo.as_ref() else {
            return Ok(None);
        };
        let res = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|_| OidcError::Unreachable)?;
        if res.status() == reqwest::StatusCode::UNAUTHORIZED
            || res.status() == reqwest::StatusCode::FORBIDDEN
        {
            return Ok(None);
        }
        if !res.status().is_success() {
            return Err(OidcError::Unreachable);
        }
        res.json()
            .await
            .map(Some)
            .map_err(|_| OidcError::Unreachable)
    }

    /// The provider's end-session URL for RP-initiated logout, when it offers one.
    pub fn logout_url(&self, id_token: &str, post_logout_redirect: &str) -> Option<String> {
        let provider = self.provider.read().ok()?.clone()?;
        let end_session = provider.end_session.clone()?;
        let mut request = LogoutRequest::from(end_session)
            .set_client_id(ClientId::new(self.config.client_id.clone()));
        if let Ok(token) = CoreIdToken::from_str(id_token) {
            request = request.set_id_token_hint(&token);
        }
        if let Ok(url) = PostLogoutRedirectUrl::new(post_logout_redirect.to_string()) {
            request = request.set_post_logout_redirect_uri(url);
        }
        Some(request.http_get_url().to_string())
    }
}

fn decode_payload(jwt: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn groups_from(claims: &serde_json::Value, claim: &str) -> Option<Vec<String>> {
    match claims.get(claim)? {
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        serde_json::Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_claim_shapes() {
        let v = serde_json::json!({"groups": ["a", "b", 3], "role": "x"});
        assert_eq!(
            groups_from(&v, "groups"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(groups_from(&v, "role"), Some(vec!["x".to_string()]));
        assert_eq!(groups_from(&v, "missing"), None);
    }
}
