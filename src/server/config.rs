//! Configuration from environment variables. A bad value stops start-up with one line naming
//! the variable and what is wrong with it.
use crate::model::Role;
pub use crate::server::config_api::ApiPolicy;
pub use crate::server::config_audit_stream::AuditStreamPolicy;
pub use crate::server::config_metrics::MetricsPolicy;
pub use crate::server::config_outbox::OutboxPolicy;
use std::net::SocketAddr;
use std::time::Duration;

/// A secret from the environment. Its `Debug` never shows the value, so a logged `Config` leaks nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    /// The URL people use to reach Gatehouse, without a trailing slash.
    pub public_url: String,
    pub oidc: OidcConfig,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    /// How long a deprovisioned user can be restored before it is purged.
    pub restore_window: Duration,
    /// Hex Ed25519 secret key that signs audit checkpoints; unsigned checkpoints without it.
    pub audit_signing_key: Option<Secret>,
    pub audit_checkpoint_every: Duration,
    /// Public keys audit checkpoints are verified with: the signing key's and those of
    /// `GATEHOUSE_AUDIT_VERIFY_KEY`. Empty when neither is set.
    pub audit_verify_keys: Vec<ed25519_dalek::VerifyingKey>,
    /// Where each signed checkpoint is also written, outside the database.
    pub audit_checkpoint_dir: std::path::PathBuf,
    /// Audit events older than this are archived and removed; `None` keeps them forever.
    pub audit_retention: Option<Duration>,
    pub audit_archive_dir: std::path::PathBuf,
    /// Failed key verifications allowed per client IP and minute before 429.
    pub verify_failures_per_minute: u32,
    /// How often key usage (last used, count) counted in memory is written.
    pub key_usage_flush: Duration,
    pub support: SupportPolicy,
    /// Proxies whose `X-Forwarded-For` is believed when they connect to us.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How often a console session's role is checked again at the identity provider.
    pub role_recheck: Duration,
    /// Failed sign-in callbacks per client IP and minute that are audited; past it, 429.
    pub sign_in_failures_per_minute: u32,
    /// Exports, integrity checks and imports running at once, per person and in all.
    pub heavy_per_person: u32,
    pub heavy_total: u32,
    /// The management API's token rules and rate limit.
    pub api: ApiPolicy,
    /// Provisioning out: the secrets key and the delivery worker.
    pub outbox: OutboxPolicy,
    /// Where `/metrics` is served: its own listener, or the main one behind a token.
    pub metrics: MetricsPolicy,
    /// Audit streaming to the SIEM: the sinks of `GATEHOUSE_AUDIT_SINKS` and the worker.
    pub audit_stream: AuditStreamPolicy,
    /// `GATEHOUSE_LOG_FORMAT`: read again by `main` before the configuration, so the logs of
    /// every command follow it; here so `serve` refuses a bad value with the others.
    pub log_format: LogFormat,
    /// Every `GATEHOUSE_*` setting read at start, secrets redacted (`/system`).
    pub settings: Vec<crate::model::system::Setting>,
    /// `GATEHOUSE_INSTANCE_ID`: this instance's name in the console and on its leases; `None`
    /// makes one up (host, process id, random suffix).
    pub instance_id: Option<String>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// For people at a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    pub fn from_env() -> Result<LogFormat, ConfigError> {
        LogFormat::from_lookup(|k| std::env::var(k).ok())
    }

    /// `text` (the default) or `json`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<LogFormat, ConfigError> {
        const VAR: &str = "GATEHOUSE_LOG_FORMAT";
        match get(VAR).as_deref().map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(err(VAR, format!("must be text or json (got {other:?})"))),
        }
    }
}

/// The support desk's rules, chosen by the administrators.
#[derive(Clone, Debug)]
pub struct SupportPolicy {
    /// Lowercase emails whose accounts support may never reset (besides console administrators).
    pub protected_accounts: Vec<String>,
    /// How long a re-enrollment link stays valid.
    pub enrollment_link_ttl: Duration,
    /// MFA resets one agent may complete per hour.
    pub resets_per_hour: u32,
    /// How a caller's identity can be verified; the agent ticks at least one.
    pub verification_checks: Vec<String>,
    /// Why an MFA reset is done; the agent picks one.
    pub reset_reasons: Vec<String>,
}

pub const DEFAULT_VERIFICATION_CHECKS: &str = "Called back the phone number on file,Manager confirmed the request,Verified photo ID on a video call,Answered the security questions on file";
pub const DEFAULT_RESET_REASONS: &str = "Lost or stolen phone,New phone,Authenticator app deleted,Security key lost or broken,Suspected compromise,Other";

#[derive(Clone, Debug)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub groups_claim: String,
    /// IdP group name -> Gatehouse role.
    pub role_map: Vec<(String, Role)>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var} {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

pub(crate) fn err(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // Every setting read is recorded for /system's effective configuration.
        let recorder = crate::server::config_settings::Recorder::default();
        let get = |name: &str| {
            let value = lookup(name);
            recorder.saw(name, value.as_deref());
            value
        };
        let var = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| var(name).ok_or_else(|| err(name, "is not set"));

        let database_url =
            var("GATEHOUSE_DATABASE_URL").unwrap_or_else(|| "sqlite://data/gatehouse.db".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "GATEHOUSE_DATABASE_URL",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }

        let bind_raw = var("GATEHOUSE_BIND").unwrap_or_else(|| "127.0.0.1:3000".into());
        let bind = bind_raw.parse().map_err(|_| {
            err(
                "GATEHOUSE_BIND",
                format!("is not an address:port (got {bind_raw:?})"),
            )
        })?;

        let public_url =
            var("GATEHOUSE_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind_raw}"));
        let public_url = parse_http_url("GATEHOUSE_PUBLIC_URL", &public_url)?;

        let issuer = parse_http_url("GATEHOUSE_OIDC_ISSUER", &required("GATEHOUSE_OIDC_ISSUER")?)?;
        let client_id = required("GATEHOUSE_OIDC_CLIENT_ID")?;
        let client_secret = Secret::new(required("GATEHOUSE_OIDC_CLIENT_SECRET")?);
        let groups_claim = var("GATEHOUSE_OIDC_GROUPS_CLAIM").unwrap_or_else(|| "groups".into());
        let role_map = parse_role_map(&required("GATEHOUSE_ROLE_MAP")?)?;

        let session_idle = seconds(&var, "GATEHOUSE_SESSION_IDLE_SECS", 30 * 60)?;
        let session_absolute = seconds(&var, "GATEHOUSE_SESSION_ABSOLUTE_SECS", 12 * 60 * 60)?;
        let restore_window = seconds(&var, "GATEHOUSE_RESTORE_WINDOW_SECS", 30 * 86_400)?;
        let audit_checkpoint_every = seconds(&var, "GATEHOUSE_AUDIT_CHECKPOINT_SECS", 3600)?;
        let audit_retention = match var("GATEHOUSE_AUDIT_RETENTION_DAYS") {
            None => None,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(days) if days > 0 => Some(Duration::from_secs(days * 86_400)),
                _ => {
                    return Err(err(
                        "GATEHOUSE_AUDIT_RETENTION_DAYS",
                        format!("must be a whole number of days above 0 (got {v:?})"),
                    ))
                }
            },
        };
        let verify_failures_per_minute =
            positive(&var, "GATEHOUSE_VERIFY_FAILURES_PER_MINUTE", 60)?.min(u32::MAX as u64) as u32;
        let key_usage_flush = seconds(&var, "GATEHOUSE_KEY_USAGE_FLUSH_SECS", 5)?;
        let audit_archive_dir = var("GATEHOUSE_AUDIT_ARCHIVE_DIR")
            .unwrap_or_else(|| "data/audit-archive".into())
            .into();
        let audit_signing_key = match var("GATEHOUSE_AUDIT_SIGNING_KEY") {
            Some(k) if !k.trim().is_empty() => {
                crate::server::service::checkpoints::parse_key(&k)
                    .map_err(|e| err("GATEHOUSE_AUDIT_SIGNING_KEY", e))?;
                Some(Secret::new(k.trim()))
            }
            _ => None,
        };
        let audit_verify_keys = crate::server::service::checkpoints::trusted_keys(
            audit_signing_key.as_ref().map(Secret::expose),
            var("GATEHOUSE_AUDIT_VERIFY_KEY").as_deref(),
        )
        .map_err(|(name, problem)| err(name, problem))?;
        let audit_checkpoint_dir = var("GATEHOUSE_AUDIT_CHECKPOINT_DIR")
            .unwrap_or_else(|| "data/audit-checkpoints".into())
            .into();

        let list = |name: &'static str, default: &str| -> Result<Vec<String>, ConfigError> {
            let raw = var(name).unwrap_or_else(|| default.to_string());
            let items: Vec<String> = raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if items.is_empty() {
                return Err(err(name, "lists nothing"));
            }
            if items.iter().any(|i| i.chars().count() > 120) {
                return Err(err(name, "has an entry longer than 120 characters"));
            }
            Ok(items)
        };
        let resets_per_hour = match var("GATEHOUSE_MFA_RESETS_PER_HOUR") {
            None => 10,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(err(
                        "GATEHOUSE_MFA_RESETS_PER_HOUR",
                        format!("must be a whole number above 0 (got {v:?})"),
                    ))
                }
            },
        };
        let protected_accounts = var("GATEHOUSE_PROTECTED_ACCOUNTS")
            .unwrap_or_default()
            .split(',')
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect::<Vec<_>>();
        if let Some(bad) = protected_accounts.iter().find(|e| !e.contains('@')) {
            return Err(err(
                "GATEHOUSE_PROTECTED_ACCOUNTS",
                format!("entry {bad:?} is not an email"),
            ));
        }
        let support = SupportPolicy {
            protected_accounts,
            enrollment_link_ttl: seconds(&var, "GATEHOUSE_ENROLLMENT_LINK_SECS", 86_400)?,
            resets_per_hour,
            verification_checks: list(
                "GATEHOUSE_MFA_VERIFICATION_CHECKS",
                DEFAULT_VERIFICATION_CHECKS,
            )?,
            reset_reasons: list("GATEHOUSE_MFA_RESET_REASONS", DEFAULT_RESET_REASONS)?,
        };

        let trusted_proxies = parse_cidrs(
            "GATEHOUSE_TRUSTED_PROXIES",
            &var("GATEHOUSE_TRUSTED_PROXIES").unwrap_or_default(),
        )?;
        let role_recheck = seconds(&var, "GATEHOUSE_ROLE_RECHECK_SECS", 300)?;
        let sign_in_failures_per_minute =
            positive(&var, "GATEHOUSE_SIGN_IN_FAILURES_PER_MINUTE", 20)?.min(u32::MAX as u64)
                as u32;
        let heavy_per_person =
            positive(&var, "GATEHOUSE_HEAVY_JOBS_PER_PERSON", 2)?.min(u32::MAX as u64) as u32;
        let heavy_total =
            positive(&var, "GATEHOUSE_HEAVY_JOBS_TOTAL", 6)?.min(u32::MAX as u64) as u32;

        let log_format = LogFormat::from_lookup(get)?;
        // Read by the log set-up before the configuration; looked up here for /system's list.
        let _ = get("GATEHOUSE_LOG");
        let instance_id = crate::server::instance::configured_id(&var)?;
        let api = ApiPolicy::from_lookup(&var)?;
        let mut outbox = OutboxPolicy::from_lookup(&var)?;
        outbox.issuer = public_url.clone();
        let metrics = MetricsPolicy::from_lookup(&var, bind)?;
        let audit_stream =
            AuditStreamPolicy::from_lookup(&var, outbox.secrets_key.as_ref(), &public_url)?;

        let settings = recorder.settings();
        Ok(Config {
            settings,
            log_format,
            instance_id,
            api,
            outbox,
            metrics,
            audit_stream,
            trusted_proxies,
            role_recheck,
            sign_in_failures_per_minute,
            heavy_per_person,
            heavy_total,
            support,
            database_url,
            bind,
            public_url,
            oidc: OidcConfig {
                issuer,
                client_id,
                client_secret,
                groups_claim,
                role_map,
            },
            session_idle,
            session_absolute,
            restore_window,
            audit_signing_key,
            audit_checkpoint_every,
            audit_verify_keys,
            audit_checkpoint_dir,
            audit_retention,
            audit_archive_dir,
            verify_failures_per_minute,
            key_usage_flush,
        })
    }

    pub fn redirect_url(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    pub fn signing_key(&self) -> Option<ed25519_dalek::SigningKey> {
        self.audit_signing_key
            .as_ref()
            .and_then(|k| crate::server::service::checkpoints::parse_key(k.expose()).ok())
    }

    /// Signs audit checkpoints and writes each to the checkpoint directory; `None` without a key.
    pub fn checkpoint_signer(
        &self,
    ) -> Option<crate::server::service::checkpoints::CheckpointSigner> {
        self.signing_key().map(
            |key| crate::server::service::checkpoints::CheckpointSigner {
                key,
                dir: self.audit_checkpoint_dir.clone(),
            },
        )
    }

    /// What audit verification trusts: the configured keys and, when it exists, the checkpoint
    /// directory (its files are compared with the chain too).
    pub fn audit_trust(&self) -> crate::server::service::audit::Trust {
        let keys = self.audit_verify_keys.clone();
        let external_dir = (!keys.is_empty() && self.audit_checkpoint_dir.is_dir())
            .then(|| self.audit_checkpoint_dir.clone());
        crate::server::service::audit::Trust { keys, external_dir }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `10.0.0.0/8, 192.168.1.7, ::1`: CIDR ranges or single addresses.
fn parse_cidrs(var: &'static str, raw: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| {
                    err(
                        var,
                        format!("entry {item:?} is not an IP address or CIDR range"),
                    )
                })
        })
        .collect()
}

fn parse_http_url(var: &'static str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| {
            err(
                var,
                format!("must be an http:// or https:// URL (got {value:?})"),
            )
        })?;
    if rest.is_empty()
        || rest.contains(char::is_whitespace)
        || rest.contains('#')
        || rest.contains('?')
    {
        return Err(err(var, format!("is not a valid URL (got {value:?})")));
    }
    Ok(v.to_string())
}

pub(crate) fn positive(
    var: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(err(
                name,
                format!("must be a whole number above 0 (got {v:?})"),
            )),
        },
    }
}

fn seconds(
    var: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    match var(name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
            _ => Err(err(
                name,
                format!("must be a positive number of seconds (got {v:?})"),
            )),
        },
    }
}

/// `group=role,group=role`, e.g. `console-admins=admin,helpdesk=support,auditors=auditor`.
fn parse_role_map(raw: &str) -> Result<Vec<(String, Role)>, ConfigError> {
    const VAR: &str = "GATEHOUSE_ROLE_MAP";
    let mut map = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (group, role) = pair
            .split_once('=')
            .ok_or_else(|| err(VAR, format!("entry {pair:?} is not group=role")))?;
        let role = Role::parse(role.trim()).ok_or_else(|| {
            err(
                VAR,
                format!("entry {pair:?} names an unknown role (use admin, support or auditor)"),
            )
        })?;
        if group.trim().is_empty() {
            return Err(err(VAR, format!("entry {pair:?} has an empty group")));
        }
        map.push((group.trim().to_string(), role));
    }
    if map.is_empty() {
        return Err(err(VAR, "maps no group to a role"));
    }
    Ok(map)
}

impl OidcConfig {
    /// The groups that map to `role` (for sessions made without a provider: benchmarks).
    pub fn groups_for(&self, role: Role) -> Vec<String> {
        self.role_map
            .iter()
            .filter(|(_, r)| *r == role)
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// The role for a set of IdP groups. With several matches the most privileged wins:
    /// admin, then support, then auditor (documented in docs/decisions.md).
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        [Role::Admin, Role::Support, Role::Auditor]
            .into_iter()
            .find(|role| {
                self.role_map
                    .iter()
                    .any(|(g, r)| r == role && groups.iter().any(|x| x == g))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("GATEHOUSE_OIDC_ISSUER", "http://127.0.0.1:4000"),
            ("GATEHOUSE_OIDC_CLIENT_ID", "gatehouse"),
            ("GATEHOUSE_OIDC_CLIENT_SECRET", "s"),
            (
                "GATEHOUSE_ROLE_MAP",
                "console-admins=admin, helpdesk=support,auditors=auditor",
            ),
        ])
    }

    fn load(m: &HashMap<&'static str, &'static str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| m.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_are_safe_and_local() {
        let c = load(&base()).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/gatehouse.db");
        assert!(!c.secure_cookies());
        assert_eq!(
            c.oidc
                .role_for(&["helpdesk".into(), "console-admins".into()]),
            Some(Role::Admin)
        );
        assert_eq!(c.oidc.role_for(&["other".into()]), None);
        assert_eq!(c.support.resets_per_hour, 10);
        assert_eq!(c.support.enrollment_link_ttl, Duration::from_secs(86_400));
        assert!(c.support.protected_accounts.is_empty());
        assert!(c.support.verification_checks.len() >= 2);
        assert!(c.support.reset_reasons.iter().any(|r| r == "Other"));
        assert!(
            c.trusted_proxies.is_empty(),
            "no proxy is trusted unless named"
        );
        assert_eq!(c.role_recheck, Duration::from_secs(300));
    }

    #[test]
    fn trusted_proxies_take_ranges_and_single_addresses() {
        let mut m = base();
        m.insert("GATEHOUSE_TRUSTED_PROXIES", "10.1.0.0/16, 192.168.1.7 ,::1");
        let c = load(&m).unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[0].contains(&"10.1.200.3".parse::<std::net::IpAddr>().unwrap()));
        assert!(!c.trusted_proxies[0].contains(&"10.2.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(c.trusted_proxies[1].contains(&"192.168.1.7".parse::<std::net::IpAddr>().unwrap()));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut m = base();
        m.insert(
            "GATEHOUSE_AUDIT_SIGNING_KEY",
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        );
        m.insert("GATEHOUSE_OIDC_CLIENT_SECRET", "very-secret-client-value");
        let c = load(&m).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret-client-value"), "{shown}");
        assert!(!shown.contains("9d61b19deffd5a60"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked_for() {
        let format = |v: Option<&str>| {
            LogFormat::from_lookup(|k| {
                assert_eq!(k, "GATEHOUSE_LOG_FORMAT");
                v.map(str::to_string)
            })
        };
        assert_eq!(format(None), Ok(LogFormat::Text));
        assert_eq!(format(Some("")), Ok(LogFormat::Text));
        assert_eq!(format(Some("text")), Ok(LogFormat::Text));
        assert_eq!(format(Some(" json ")), Ok(LogFormat::Json));
        for bad in ["JSON", "logfmt", "yes"] {
            let e = format(Some(bad)).unwrap_err();
            assert_eq!(e.var, "GATEHOUSE_LOG_FORMAT");
            assert!(e.problem.contains("text or json"), "{e}");
            assert!(e.problem.contains(bad), "{e}");
        }
        assert_eq!(load(&base()).unwrap().log_format, LogFormat::Text);
        let mut m = base();
        m.insert("GATEHOUSE_LOG_FORMAT", "json");
        assert_eq!(load(&m).unwrap().log_format, LogFormat::Json);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&'static str, Option<&'static str>)] = &[
            ("GATEHOUSE_OIDC_ISSUER", None),
            ("GATEHOUSE_OIDC_ISSUER", Some("ftp://x")),
            ("GATEHOUSE_OIDC_CLIENT_SECRET", None),
            ("GATEHOUSE_ROLE_MAP", Some("admins=root")),
            ("GATEHOUSE_ROLE_MAP", Some("admins")),
            ("GATEHOUSE_BIND", Some("localhost")),
            ("GATEHOUSE_DATABASE_URL", Some("mysql://x")),
            ("GATEHOUSE_SESSION_IDLE_SECS", Some("-5")),
            ("GATEHOUSE_PUBLIC_URL", Some("127.0.0.1:3000")),
            ("GATEHOUSE_MFA_RESETS_PER_HOUR", Some("0")),
            ("GATEHOUSE_ENROLLMENT_LINK_SECS", Some("soon")),
            ("GATEHOUSE_PROTECTED_ACCOUNTS", Some("root")),
            ("GATEHOUSE_MFA_VERIFICATION_CHECKS", Some(" , ")),
            (
                "GATEHOUSE_TRUSTED_PROXIES",
                Some("10.0.0.0/8, proxy.internal"),
            ),
            ("GATEHOUSE_TRUSTED_PROXIES", Some("10.0.0.0/33")),
            ("GATEHOUSE_ROLE_RECHECK_SECS", Some("0")),
            ("GATEHOUSE_HEAVY_JOBS_TOTAL", Some("many")),
            ("GATEHOUSE_LOG_FORMAT", Some("logfmt")),
            ("GATEHOUSE_METRICS_BIND", Some("nowhere")),
            ("GATEHOUSE_METRICS_TOKEN", Some("too-short")),
            ("GATEHOUSE_AUDIT_SINKS", Some("[{\"name\": \"x\"}]")),
            ("GATEHOUSE_AUDIT_STREAM_WORKER", Some("maybe")),
        ];
        for (var, value) in cases {
            let mut m = base();
            match value {
                Some(v) => {
                    m.insert(var, v);
                }
                None => {
                    m.remove(var);
                }
            }
            let e = load(&m).unwrap_err();
            assert_eq!(&e.var, var, "{e}");
            assert!(e
                .to_string()
                .starts_with(&format!("configuration error: {var} ")));
        }
    }
}
