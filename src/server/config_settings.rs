//! The effective configuration as `/system` shows it (issue 18): every setting Gatehouse read at
//! start, as set or "default", secrets redacted, so auditors can keep it as evidence. Recorded
//! while `Config::from_lookup` reads the settings, so no setting can be missing from the list.
use crate::model::system::Setting;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Shown instead of a secret's value.
pub const REDACTED: &str = "(set, redacted)";

#[derive(Default)]
pub struct Recorder(RefCell<BTreeMap<String, Option<String>>>);

impl Recorder {
    pub fn saw(&self, name: &str, value: Option<&str>) {
        let value = value.filter(|v| !v.trim().is_empty()).map(str::to_string);
        self.0.borrow_mut().insert(name.to_string(), value);
    }

    /// The `GATEHOUSE_*` settings read, by name.
    pub fn settings(&self) -> Vec<Setting> {
        self.0
            .borrow()
            .iter()
            .filter(|(name, _)| name.starts_with("GATEHOUSE_"))
            .map(|(name, value)| shown(name, value.as_deref()))
            .collect()
    }
}

/// Keys, tokens, secrets and passwords, and the sinks' JSON (it holds their tokens).
fn is_secret(name: &str) -> bool {
    ["SECRET", "TOKEN", "PASSWORD", "_KEY", "AUDIT_SINKS"]
        .iter()
        .any(|word| name.contains(word))
}

fn shown(name: &str, value: Option<&str>) -> Setting {
    let (value, redacted) = match value {
        None => (None, false),
        Some(_) if is_secret(name) => (Some(REDACTED.to_string()), true),
        Some(v) if name == "GATEHOUSE_DATABASE_URL" => {
            let (v, hidden) = without_password(v);
            (Some(v), hidden)
        }
        Some(v) => (Some(v.to_string()), false),
    };
    Setting {
        name: name.to_string(),
        value,
        redacted,
    }
}

/// `postgres://gatehouse:***@db/gatehouse` for a URL with a password.
fn without_password(raw: &str) -> (String, bool) {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            (u.to_string(), true)
        }
        _ => (raw.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_unset_settings_say_so() {
        let r = Recorder::default();
        r.saw("GATEHOUSE_OIDC_CLIENT_SECRET", Some("s3cret"));
        r.saw("GATEHOUSE_SECRETS_KEY", Some("ab".repeat(32).as_str()));
        r.saw("GATEHOUSE_METRICS_TOKEN", Some("t".repeat(40).as_str()));
        r.saw("GATEHOUSE_AUDIT_SIGNING_KEY", Some("cd"));
        r.saw("GATEHOUSE_AUDIT_SINKS", Some(r#"[{"token": "x"}]"#));
        r.saw(
            "GATEHOUSE_DATABASE_URL",
            Some("postgres://gh:pw@db:5432/gh"),
        );
        r.saw("GATEHOUSE_BIND", Some("0.0.0.0:3000"));
        r.saw("GATEHOUSE_AUDIT_RETENTION_DAYS", Some(" "));
        r.saw("HOME", Some("/root"));
        let settings = r.settings();
        assert_eq!(settings.len(), 8, "only GATEHOUSE_ settings");
        let text = format!("{settings:?}");
        for secret in ["s3cret", "abab", "tttt", "\"cd\"", "\"x\"", ":pw@"] {
            assert!(!text.contains(secret), "{secret} shows in {text}");
        }
        let by = |n: &str| settings.iter().find(|s| s.name == n).unwrap().clone();
        assert_eq!(
            by("GATEHOUSE_DATABASE_URL").value.as_deref(),
            Some("postgres://gh:***@db:5432/gh")
        );
        assert!(by("GATEHOUSE_DATABASE_URL").redacted);
        assert_eq!(by("GATEHOUSE_BIND").value.as_deref(), Some("0.0.0.0:3000"));
        assert_eq!(
            by("GATEHOUSE_AUDIT_RETENTION_DAYS").value,
            None,
            "blank is unset"
        );
        assert_eq!(by("GATEHOUSE_SECRETS_KEY").value.as_deref(), Some(REDACTED));
    }
}
