//! Support desk types: MFA factors, the MFA reset, devices. Shared by the server and the browser.
use serde::{Deserialize, Serialize};

/// Longest free-text note on a reset, and longest ticket reference.
pub const MAX_NOTE: usize = 500;
pub const MAX_TICKET: usize = 64;
/// Longest label or name of a factor or device.
pub const MAX_LABEL: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    Totp,
    Webauthn,
    Sms,
    Voice,
    EmailOtp,
    RecoveryCodes,
}

impl FactorKind {
    pub const ALL: [FactorKind; 6] = [
        FactorKind::Totp,
        FactorKind::Webauthn,
        FactorKind::Sms,
        FactorKind::Voice,
        FactorKind::EmailOtp,
        FactorKind::RecoveryCodes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Webauthn => "webauthn",
            FactorKind::Sms => "sms",
            FactorKind::Voice => "voice",
            FactorKind::EmailOtp => "email_otp",
            FactorKind::RecoveryCodes => "recovery_codes",
        }
    }

    pub fn parse(s: &str) -> Result<FactorKind, String> {
        FactorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                format!("Unknown factor kind {s:?}; use totp, webauthn, sms, voice, email_otp or recovery_codes")
            })
    }

    pub fn label(self) -> &'static str {
        match self {
            FactorKind::Totp => "Authenticator app (TOTP)",
            FactorKind::Webauthn => "Passkey / security key",
            FactorKind::Sms => "SMS",
            FactorKind::Voice => "Voice call",
            FactorKind::EmailOtp => "Email code",
            FactorKind::RecoveryCodes => "Recovery codes",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FactorStatus {
    Active,
    /// Enrollment started, not confirmed.
    Pending,
    Disabled,
}

impl FactorStatus {
    pub const ALL: [FactorStatus; 3] = [
        FactorStatus::Active,
        FactorStatus::Pending,
        FactorStatus::Disabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FactorStatus::Active => "active",
            FactorStatus::Pending => "pending",
            FactorStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Result<FactorStatus, String> {
        FactorStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| format!("Unknown factor status {s:?}; use active, pending or disabled"))
    }
}

/// One enrolled authentication factor. Secrets never leave the identity provider; recovery codes
/// are only counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Factor {
    pub id: String,
    pub user_id: String,
    pub kind: FactorKind,
    pub label: String,
    pub status: FactorStatus,
    pub enrolled_at: i64,
    pub last_used_at: Option<i64>,
    pub credential_id: Option<String>,
    pub authenticator_name: Option<String>,
    pub aaguid: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub codes_left: Option<i64>,
}

impl Factor {
    /// The kind-specific detail, in one line.
    pub fn detail(&self) -> String {
        match self.kind {
            FactorKind::Webauthn => [
                self.authenticator_name.clone(),
                self.aaguid.clone().map(|a| format!("AAGUID {a}")),
                self.credential_id
                    .clone()
                    .map(|c| format!("credential {c}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
            FactorKind::Sms | FactorKind::Voice => self.phone.clone().unwrap_or_default(),
            FactorKind::EmailOtp => self.email.clone().unwrap_or_default(),
            FactorKind::RecoveryCodes => match self.codes_left {
                Some(1) => "1 code left".into(),
                Some(n) => format!("{n} codes left"),
                None => String::new(),
            },
            FactorKind::Totp => String::new(),
        }
    }
}

/// A factor as it arrives (from the identity provider through the API, or an administrator).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
#[cfg_attr(feature = "ssr", schema(example = json!({"kind": "totp", "label": "Authenticator app", "status": "active"})))]
pub struct FactorInput {
    pub kind: String,
    pub label: String,
    pub status: String,
    pub credential_id: String,
    pub authenticator_name: String,
    pub aaguid: String,
    pub phone: String,
    pub email: String,
    pub codes_left: String,
}

/// What the agent fills in to reset a person's MFA.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
#[cfg_attr(feature = "ssr", schema(example = json!({"user_id": "u_...", "checks": ["Call-back to the number on file"], "reason": "Lost or stolen phone", "note": "", "ticket": "INC-20431", "confirm_email": "jo.doe@example.com", "factor_ids": []})))]
pub struct MfaResetInput {
    pub user_id: String,
    /// The identity verification checks the agent did (labels from the configured list).
    pub checks: Vec<String>,
    /// One of the configured reasons.
    pub reason: String,
    /// Free text.
    pub note: String,
    pub ticket: String,
    /// The person's email, typed by the agent to confirm.
    pub confirm_email: String,
    /// Factors to remove; empty means all.
    pub factor_ids: Vec<String>,
}

/// The result of a reset. The link is shown once and never stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MfaResetOutcome {
    pub reset_id: String,
    pub enrollment_link: String,
    pub expires_at: i64,
    pub factors_removed: i64,
    pub devices_untrusted: i64,
}

/// The administrators' lists for the reset form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResetOptions {
    pub checks: Vec<String>,
    pub reasons: Vec<String>,
    pub link_valid_secs: i64,
    pub resets_per_hour: i64,
}

/// A completed reset, for the agent's "recent tickets".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResetRecord {
    pub id: String,
    pub agent_email: String,
    pub user_id: String,
    pub user_email: String,
    pub ticket: String,
    pub reason: String,
    pub created_at: i64,
    pub factors_removed: i64,
}

/// A person's state at a glance, for support.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Glance {
    pub user_id: String,
    pub guid: String,
    pub email: String,
    pub display_name: String,
    pub status: crate::model::users::UserStatus,
    pub factors: i64,
    pub devices: i64,
    pub last_sign_in_at: i64,
    /// Failed sign-ins reported for this account over the last 7 days.
    pub failed_sign_ins_7d: i64,
    /// An administrator's account: support may not reset it.
    pub protected: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Phone,
    Laptop,
    Browser,
    Server,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 4] = [
        DeviceKind::Phone,
        DeviceKind::Laptop,
        DeviceKind::Browser,
        DeviceKind::Server,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Phone => "phone",
            DeviceKind::Laptop => "laptop",
            DeviceKind::Browser => "browser",
            DeviceKind::Server => "server",
        }
    }

    pub fn parse(s: &str) -> Result<DeviceKind, String> {
        DeviceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                format!("Unknown device kind {s:?}; use phone, laptop, browser or server")
            })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TrustState {
    Trusted,
    Untrusted,
    Blocked,
}

impl TrustState {
    pub const ALL: [TrustState; 3] = [
        TrustState::Trusted,
        TrustState::Untrusted,
        TrustState::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrustState::Trusted => "trusted",
            TrustState::Untrusted => "untrusted",
            TrustState::Blocked => "blocked",
        }
    }

    pub fn parse(s: &str) -> Result<TrustState, String> {
        TrustState::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| format!("Unknown trust state {s:?}; use trusted, untrusted or blocked"))
    }

    pub fn label(self) -> &'static str {
        match self {
            TrustState::Trusted => "Trusted",
            TrustState::Untrusted => "Untrusted",
            TrustState::Blocked => "Blocked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: String,
    pub owner_user_id: String,
    pub owner_email: String,
    pub owner_guid: String,
    pub name: String,
    pub platform: String,
    pub os_version: String,
    pub kind: DeviceKind,
    pub fingerprint: String,
    pub trust_state: TrustState,
    pub remembered: bool,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub last_ip: Option<String>,
}

/// A device as it is registered (by the identity provider through the API, or an administrator).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Jo's laptop", "platform": "macOS", "os_version": "15.1", "kind": "laptop", "fingerprint": "c0ffee42", "last_ip": "203.0.113.7"})))]
pub struct DeviceInput {
    pub name: String,
    pub platform: String,
    pub os_version: String,
    pub kind: String,
    pub fingerprint: String,
    pub last_ip: String,
}

/// The devices page's filters and cursor (all optional), as in its URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceQuery {
    /// The owner: a user id (`u_…`) or an exact email.
    pub owner: String,
    /// One device by id: where an audit event's target links to.
    pub device: String,
    pub state: String,
    pub platform: String,
    /// Only devices not seen for at least this many days.
    pub stale_days: String,
    /// Keyset cursor: `<last_seen_at>|<id>`.
    pub after: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DevicePage {
    pub devices: Vec<Device>,
    pub next: Option<String>,
}

pub const PLATFORMS: [&str; 6] = ["ios", "android", "macos", "windows", "linux", "chromeos"];
