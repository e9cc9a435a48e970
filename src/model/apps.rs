//! Applications (OAuth/OIDC clients and services) and their API keys, as the UI and the API see
//! them, and the rules that parse their input. Nothing here touches I/O.
use serde::{Deserialize, Serialize};

pub const MAX_APP_NAME: usize = 100;
pub const MAX_KEY_NAME: usize = 100;
pub const MAX_URIS: usize = 20;
pub const MAX_URI: usize = 2000;
pub const MAX_SCOPES: usize = 50;
pub const MAX_SCOPE: usize = 100;
/// The scope an application needs so that its keys may call the key-verification endpoint.
pub const VERIFY_SCOPE: &str = "gatehouse:keys.verify";
/// Grace periods offered when a secret or key is rotated (seconds, label).
pub const GRACE_PERIODS: [(i64, &str); 5] = [
    (0, "None: the old one stops now"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    Web,
    SinglePage,
    Native,
    MachineToMachine,
}

impl AppKind {
    pub const ALL: [AppKind; 4] = [
        AppKind::Web,
        AppKind::SinglePage,
        AppKind::Native,
        AppKind::MachineToMachine,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::Web => "web",
            AppKind::SinglePage => "spa",
            AppKind::Native => "native",
            AppKind::MachineToMachine => "m2m",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AppKind::Web => "Web application",
            AppKind::SinglePage => "Single-page application",
            AppKind::Native => "Native / mobile application",
            AppKind::MachineToMachine => "Machine to machine (service)",
        }
    }

    pub fn parse(s: &str) -> Result<AppKind, String> {
        AppKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| format!("unknown kind {s:?}; use web, spa, native or m2m"))
    }

    /// Confidential clients hold a secret; public ones (in a browser or on a device) cannot keep
    /// one and use PKCE instead.
    pub fn is_confidential(self) -> bool {
        matches!(self, AppKind::Web | AppKind::MachineToMachine)
    }

    /// The grant types this kind of client may use.
    pub fn allowed_grants(self) -> &'static [GrantType] {
        use GrantType::*;
        match self {
            AppKind::Web => &[AuthorizationCode, RefreshToken, ClientCredentials],
            AppKind::SinglePage => &[AuthorizationCode, RefreshToken],
            AppKind::Native => &[AuthorizationCode, RefreshToken, DeviceCode],
            AppKind::MachineToMachine => &[ClientCredentials],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "Authorization code",
            GrantType::RefreshToken => "Refresh token",
            GrantType::ClientCredentials => "Client credentials",
            GrantType::DeviceCode => "Device code",
        }
    }

    pub fn parse(s: &str) -> Result<GrantType, String> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s.trim())
            .ok_or_else(|| format!("unknown grant type {s:?}"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    Active,
    Disabled,
}

impl AppStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Active => "active",
            AppStatus::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Result<AppStatus, String> {
        match s.trim() {
            "active" => Ok(AppStatus::Active),
            "disabled" => Ok(AppStatus::Disabled),
            other => Err(format!("unknown status {other:?}; use active or disabled")),
        }
    }
}

/// Checks one redirect URI: absolute, https (http only for loopback hosts), no fragment, no
/// wildcard. Returns the URI trimmed, or the reason it is refused.
pub fn check_redirect_uri(raw: &str) -> Result<String, String> {
    let uri = raw.trim();
    if uri.chars().count() > MAX_URI {
        return Err(format!("{uri:.60}… is longer than {MAX_URI} characters"));
    }
    if uri.contains('*') {
        return Err(format!(
            "{uri} contains a wildcard (*); list each URI in full"
        ));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{uri} contains spaces or control characters"));
    }
    if uri.contains('#') {
        return Err(format!(
            "{uri} has a fragment (#...); redirect URIs must not"
        ));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(format!(
            "{uri} is not an absolute URI (expected https://host/path)"
        ));
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port
            .split_once(']')
            .map_or(host_port, |(h, _)| h)
            .trim_start_matches('[')
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(format!("{uri} has no host"));
    }
    if authority.contains('@') {
        return Err(format!("{uri} contains user information (user@host)"));
    }
    // Loopback means exactly: an IPv4 literal in 127.0.0.0/8, [::1], or the name `localhost`
    // (RFC 8252 7.3). `127.evil.com` or `127.0.0.1.nip.io` are names anyone can point anywhere.
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(uri.to_string()),
        "http" if loopback => Ok(uri.to_string()),
        "http" => Err(format!(
            "{uri} uses http; only loopback hosts (127.0.0.1, [::1], localhost) may, every other host needs https"
        )),
        other => Err(format!(
            "{uri} uses the scheme {other}; use https (or http on a loopback host)"
        )),
    }
}

/// A scope token (RFC 6749 §3.3: printable ASCII except space, `"` and `\`).
pub fn check_scope(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("a scope is empty".into());
    }
    if s.len() > MAX_SCOPE {
        return Err(format!(
            "scope {s:.40}… is longer than {MAX_SCOPE} characters"
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !c.is_ascii_graphic() || *c == '"' || *c == '\\')
    {
        return Err(format!(
            "scope {s} contains {c:?}; scopes are printable ASCII without quotes or backslashes"
        ));
    }
    Ok(s.to_string())
}

/// Splits a text box into one entry per line (or comma), dropping blanks and repeats.
pub fn lines(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in raw.split(['\n', ',']) {
        let t = part.trim();
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// What the application form sends; every field is parsed on the server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Expenses", "owner": "jo.doe@example.com", "kind": "web", "redirect_uris": "https://expenses.example.com/callback", "post_logout_redirect_uris": "", "grant_types": ["authorization_code", "refresh_token"], "scopes": "openid profile email", "pkce_required": "on"})))]
pub struct AppInput {
    pub name: String,
    /// The owner's email (a user of Gatehouse).
    pub owner: String,
    pub kind: String,
    /// One URI per line.
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    /// Grant type values (`authorization_code`, ...).
    pub grant_types: Vec<String>,
    /// Space, comma or line separated.
    pub scopes: String,
    /// "on" when the box is ticked.
    pub pkce_required: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppSummary {
    pub id: String,
    pub name: String,
    pub kind: AppKind,
    pub status: AppStatus,
    pub owner_email: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClientSecretInfo {
    pub id: String,
    /// The last characters of the secret, so people can tell two apart.
    pub hint: String,
    pub created_at: i64,
    /// Set when a rotation gave it a grace period.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ClientSecretInfo {
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppDetail {
    /// Also the OAuth client id.
    pub id: String,
    pub name: String,
    pub kind: AppKind,
    pub status: AppStatus,
    pub owner_user_id: Option<String>,
    pub owner_email: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub pkce_required: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    /// Newest first.
    pub secrets: Vec<ClientSecretInfo>,
    pub assigned_people: i64,
    pub active_keys: i64,
}

/// A newly created or rotated client secret: shown once, never stored in clear.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewSecret {
    pub app: AppDetail,
    pub secret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppQuery {
    /// Name prefix or exact client id.
    pub q: String,
    pub status: String,
    pub kind: String,
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppPage {
    pub apps: Vec<AppSummary>,
    pub next: Option<String>,
}

/// A person assigned to an application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub guid: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub assigned_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    /// Rotated: valid until its grace period ends.
    Rotating,
    Expired,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Rotating => "rotating",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Rotating => "Rotating out",
            KeyStatus::Expired => "Expired",
            KeyStatus::Revoked => "Revoked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeySummary {
    pub id: String,
    /// What identifies the key in logs and lists: `ghk_<id>`.
    pub prefix: String,
    pub name: String,
    pub application_id: String,
    pub application_name: String,
    /// A personal key's owner; `None` for the application's own key.
    pub owner_user_id: Option<String>,
    pub owner_email: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub replaced_by: Option<String>,
    /// 0 when never used.
    pub last_used_at: i64,
    pub use_count: i64,
    pub status: KeyStatus,
}

/// A newly issued key: the secret is in `key` and is shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IssuedKey {
    pub summary: KeySummary,
    pub key: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
#[cfg_attr(feature = "ssr", schema(example = json!({"application_id": "app_...", "name": "billing gateway", "owner": "", "scopes": [], "expires": "2027-06-30"})))]
pub struct KeyInput {
    pub application_id: String,
    pub name: String,
    /// Empty for the application's own key; a user's email for a personal key.
    pub owner: String,
    pub scopes: Vec<String>,
    /// `YYYY-MM-DD` (end of that day, UTC) or empty for no expiry.
    pub expires: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyQuery {
    /// `active`, `revoked`, `expired` or empty.
    pub status: String,
    pub application_id: String,
    /// Only keys that expire within this many days (and have not yet).
    pub expiring_days: String,
    /// Only keys not used for this many days (never used counts).
    pub unused_days: String,
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPage {
    pub keys: Vec<KeySummary>,
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        assert!(check_redirect_uri("https://app.example.com/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8080/cb").is_ok());
        assert!(check_redirect_uri("http://localhost/cb").is_ok());
        assert!(check_redirect_uri("http://[::1]:9000/cb").is_ok());
        assert!(check_redirect_uri("http://127.255.0.9/cb").is_ok());
        for (bad, why) in [
            ("http://app.example.com/cb", "https"),
            ("https://*.example.com/cb", "wildcard"),
            ("https://app.example.com/cb#x", "fragment"),
            ("/cb", "absolute"),
            ("app.example.com/cb", "absolute"),
            ("ftp://app.example.com/", "scheme"),
            ("https:///cb", "no host"),
            ("http://localhost.evil.com/cb", "https"),
            ("http://127.evil.com/cb", "https"),
            ("http://127.0.0.1.nip.io/cb", "https"),
            ("http://127.1/cb", "https"),
            ("http://[::2]/cb", "https"),
            ("https://user@app.example.com/", "user information"),
        ] {
            let e = check_redirect_uri(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn scopes_and_lines() {
        assert!(check_scope("orders:read").is_ok());
        assert!(check_scope("bad scope").is_err());
        assert!(check_scope("quo\"te").is_err());
        assert_eq!(lines(" a\n\nb, a \n"), vec!["a", "b"]);
    }

    #[test]
    fn kinds_and_grants() {
        assert!(!AppKind::SinglePage.is_confidential());
        assert!(AppKind::MachineToMachine
            .allowed_grants()
            .contains(&GrantType::ClientCredentials));
        assert!(!AppKind::SinglePage
            .allowed_grants()
            .contains(&GrantType::ClientCredentials));
        for k in AppKind::ALL {
            assert_eq!(AppKind::parse(k.as_str()), Ok(k));
        }
    }
}

/// An application a person may use, and why: directly, and through which groups (id, name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonApp {
    #[serde(flatten)]
    pub app: AppSummary,
    pub direct: bool,
    pub through_groups: Vec<(String, String)>,
}
