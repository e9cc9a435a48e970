//! Fetching a Shared Signals transmitter's keys (Gatehouse as receiver): its JWKS from
//! `jwks_uri`, or from the address its SSF metadata names (discovery). 5 s timeout, no
//! redirects, at most 256 KiB; only documents with a usable signing key are kept.
use crate::server::service::provisioning::check_outbound_url;
use crate::server::ssf_verify;
use serde_json::Value;
use std::time::Duration;

/// A JWKS or metadata document larger than this is refused.
const MAX_DOCUMENT: usize = 256 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_URL: usize = 300;

/// An https URL (http only for localhost) of at most 300 characters, kept as given (an issuer
/// is compared with `iss` character for character).
pub(crate) fn url_field(raw: &str, label: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_URL || raw.chars().any(char::is_control) {
        return Err(format!("{label}: at most {MAX_URL} characters on one line"));
    }
    check_outbound_url(raw, label)?;
    Ok(raw.to_string())
}

fn http() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        // No idle connections kept: keys are fetched rarely (a kid miss, at most once a minute),
        // and a pooled connection outlives the runtime that opened it (each test has its own).
        reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_default()
    })
}

/// GETs a JSON document of at most 256 KiB.
async fn get_json(url: &str) -> Result<Value, String> {
    let mut res = http()
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{url} answered {}", res.status()));
    }
    if res
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT as u64)
    {
        return Err(format!(
            "{url} answered more than {} KiB",
            MAX_DOCUMENT / 1024
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| format!("cannot read {url}: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT {
            return Err(format!(
                "{url} answered more than {} KiB",
                MAX_DOCUMENT / 1024
            ));
        }
    }
    serde_json::from_slice(&body).map_err(|_| format!("{url} did not answer JSON"))
}

/// The transmitter's `jwks_uri` from its SSF metadata, whose `issuer` must be its own.
async fn discover(issuer: &str) -> Result<String, String> {
    let url = ssf_verify::metadata_url(issuer)?;
    let meta = get_json(&url).await?;
    if meta["issuer"].as_str() != Some(issuer) {
        return Err(format!(
            "the metadata at {url} names issuer {}, not {issuer:?}",
            ssf_verify::clip(&meta["issuer"].to_string(), 200)
        ));
    }
    let uri = meta["jwks_uri"]
        .as_str()
        .ok_or_else(|| format!("the metadata at {url} has no jwks_uri"))?;
    url_field(uri, "the metadata's jwks_uri")
}

/// What fetching a transmitter's keys came to: the address used (discovered when none was
/// given) and the JWKS, or why not.
pub(crate) struct Fetched {
    pub jwks_uri: String,
    pub result: Result<String, String>,
}

/// Fetches the keys: from `jwks_uri`, or from the address the issuer's metadata names.
pub(crate) async fn fetch_keys(issuer: &str, jwks_uri: &str) -> Fetched {
    let uri = if jwks_uri.is_empty() {
        match discover(issuer).await {
            Ok(uri) => uri,
            Err(e) => {
                return Fetched {
                    jwks_uri: String::new(),
                    result: Err(format!("cannot discover the keys: {e}")),
                }
            }
        }
    } else {
        jwks_uri.to_string()
    };
    let result = match get_json(&uri).await {
        Ok(doc) => {
            let text = doc.to_string();
            if ssf_verify::usable_keys(&text).is_empty() {
                Err(format!("the JWKS at {uri} holds no usable signing key"))
            } else {
                Ok(text)
            }
        }
        Err(e) => Err(format!("cannot fetch the keys: {e}")),
    };
    Fetched {
        jwks_uri: uri,
        result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_kept_as_given() {
        assert_eq!(
            url_field(" https://idp.example.com/ ", "Issuer").unwrap(),
            "https://idp.example.com/"
        );
        assert!(url_field("http://idp.example.com", "Issuer").is_err());
        assert!(url_field("http://127.0.0.1:4195/transmitters/a", "Issuer").is_ok());
        assert!(url_field("https://idp.example.com/?x=1", "Issuer").is_err());
    }
}
