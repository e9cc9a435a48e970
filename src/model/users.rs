//! Users (accounts) and GUIDs (people), as the UI and the API see them, and the rules that parse
//! their input. Parsing happens at the edge: a `ValidEmail` or `ValidPhone` cannot hold bad data.
use serde::{Deserialize, Serialize};

pub const MAX_NAME: usize = 200;
pub const MAX_EMAIL: usize = 254;
pub const MAX_SOURCE: usize = 64;
pub const MAX_EXTERNAL_ID: usize = 200;
pub const MAX_ATTRIBUTES_BYTES: usize = 8 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Staged,
    Active,
    Suspended,
    Locked,
    Deprovisioned,
}

impl UserStatus {
    pub const ALL: [UserStatus; 5] = [
        UserStatus::Staged,
        UserStatus::Active,
        UserStatus::Suspended,
        UserStatus::Locked,
        UserStatus::Deprovisioned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "staged",
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Locked => "locked",
            UserStatus::Deprovisioned => "deprovisioned",
        }
    }

    pub fn parse(s: &str) -> Result<UserStatus, String> {
        UserStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown status {s:?}; use staged, active, suspended, locked or deprovisioned"
                )
            })
    }

    pub fn label(self) -> &'static str {
        match self {
            UserStatus::Staged => "Staged",
            UserStatus::Active => "Active",
            UserStatus::Suspended => "Suspended",
            UserStatus::Locked => "Locked",
            UserStatus::Deprovisioned => "Deprovisioned",
        }
    }

    /// The lifecycle. Every allowed move is listed; anything else is refused with the reason.
    pub fn transition_to(self, to: UserStatus) -> Result<(), String> {
        use UserStatus::*;
        let allowed = matches!(
            (self, to),
            (Staged, Active)
                | (Staged, Deprovisioned)
                | (Active, Suspended)
                | (Active, Locked)
                | (Active, Deprovisioned)
                | (Suspended, Active)
                | (Suspended, Deprovisioned)
                | (Locked, Active)
                | (Locked, Suspended)
                | (Locked, Deprovisioned)
                | (Deprovisioned, Active)
        );
        if allowed {
            return Ok(());
        }
        Err(match (self, to) {
            (a, b) if a == b => format!("the user is already {}", a.as_str()),
            (Staged, _) => "a staged user must be activated first".to_string(),
            (Deprovisioned, _) => {
                "a deprovisioned user can only be restored (to active)".to_string()
            }
            (_, Staged) => "a user cannot return to staged".to_string(),
            (Suspended, Locked) => {
                "a suspended user cannot be locked; activate it first".to_string()
            }
            (a, b) => format!("cannot go from {} to {}", a.as_str(), b.as_str()),
        })
    }
}

/// SCIM's enterprise extension of User (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The employee number an account's attributes hold (SCIM's enterprise extension, kept under
/// `scim`), trimmed: what the `employee_number` matching rule and duplicate evidence compare.
pub fn employee_number(attributes: &serde_json::Value) -> Option<String> {
    let scim = attributes.get("scim")?.as_object()?;
    let (_, extension) = scim
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA))?;
    let number = match extension.get("employeeNumber")? {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!number.is_empty() && number.len() <= 100).then_some(number)
}

/// SCIM's userName, lowercase, when a source gave one that is not the account's email: what
/// `userName` filters and uniqueness compare (`user_name`, else the email).
pub fn scim_user_name(attributes: &serde_json::Value) -> Option<String> {
    let name = attributes.get("scim")?.get("userName")?.as_str()?.trim();
    (!name.is_empty()).then(|| name.to_lowercase())
}

/// A normalized, validated email address (lowercase, trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidEmail(String);

impl ValidEmail {
    pub fn parse(raw: &str) -> Result<ValidEmail, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > MAX_EMAIL {
            return Err(format!("is longer than {MAX_EMAIL} characters"));
        }
        let (local, domain) = s.split_once('@').ok_or("must contain @")?;
        let valid_chars = |p: &str| {
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._%+-'".contains(c))
        };
        if local.is_empty()
            || local.len() > 64
            || !valid_chars(local)
            || local.starts_with('.')
            || local.ends_with('.')
        {
            return Err("has an invalid part before @".into());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        {
            return Err("has an invalid domain".into());
        }
        Ok(ValidEmail(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The mailbox an email reaches, without a "+tag": `ada+hr@x.com` and `ada@x.com` share one.
pub fn mailbox_key(email: &str) -> String {
    match (email.find('+'), email.find('@')) {
        (Some(plus), Some(at)) if plus < at => format!("{}{}", &email[..plus], &email[at..]),
        _ => email.to_string(),
    }
}

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidPhone(String);

impl ValidPhone {
    /// Accepts common separators (spaces, dashes, dots, parentheses) and removes them.
    pub fn parse(raw: &str) -> Result<ValidPhone, String> {
        let compact: String = raw.chars().filter(|c| !" -.()".contains(*c)).collect();
        let digits = compact
            .strip_prefix('+')
            .ok_or("must be in international form, starting with + and the country code")?;
        if !digits.chars().all(|c| c.is_ascii_digit())
            || !(8..=15).contains(&digits.len())
            || digits.starts_with('0')
        {
            return Err("must be + followed by 8 to 15 digits (E.164)".into());
        }
        Ok(ValidPhone(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a create or edit form sends; every field is parsed on the server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
#[cfg_attr(feature = "ssr", schema(example = json!({"email": "jo.doe@example.com", "display_name": "Jo Doe", "given_name": "Jo", "family_name": "Doe", "phone": "+44 20 7946 0958", "source": "hr", "external_id": "E-1042", "attributes": "{\"department\": \"Finance\"}"})))]
pub struct UserInput {
    pub email: String,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub source: String,
    pub external_id: String,
    /// A JSON object, as text.
    pub attributes: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: String,
    pub guid: String,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub source: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    /// 0 when the user never signed in.
    pub last_sign_in_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserDetail {
    pub id: String,
    pub guid: String,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    pub status: UserStatus,
    pub source: String,
    pub external_id: Option<String>,
    pub attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_sign_in_at: i64,
    pub deprovisioned_at: Option<i64>,
    /// Until when a deprovisioned user can be restored; after that it is purged.
    pub restorable_until: Option<i64>,
    pub version: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserSort {
    #[default]
    Name,
    Email,
    Created,
    LastSignIn,
}

impl UserSort {
    pub fn parse(s: &str) -> UserSort {
        match s {
            "email" => UserSort::Email,
            "created" => UserSort::Created,
            "last_sign_in" => UserSort::LastSignIn,
            _ => UserSort::Name,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            UserSort::Name => "name",
            UserSort::Email => "email",
            UserSort::Created => "created",
            UserSort::LastSignIn => "last_sign_in",
        }
    }
}

/// A users-page query; it lives in the URL so a view can be bookmarked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserQuery {
    pub q: String,
    pub status: String,
    pub source: String,
    pub sort: UserSort,
    /// Opaque keyset cursor from the previous page.
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub next: Option<String>,
}

/// The person's consolidated profile, kept on the GUID. On a merge the admin picks, field by
/// field, which side's value survives.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PersonProfile {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl PersonProfile {
    pub const FIELDS: [(&'static str, &'static str); 3] = [
        ("display_name", "Name"),
        ("email", "Primary email"),
        ("phone", "Phone"),
    ];

    pub fn get(&self, field: &str) -> Option<&str> {
        match field {
            "display_name" => self.display_name.as_deref(),
            "email" => self.email.as_deref(),
            "phone" => self.phone.as_deref(),
            _ => None,
        }
    }

    /// Fields where both sides have a value and the values differ.
    pub fn conflicts(&self, other: &PersonProfile) -> Vec<&'static str> {
        Self::FIELDS
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| matches!((self.get(f), other.get(f)), (Some(a), Some(b)) if a != b))
            .collect()
    }
}

/// A person: the GUID and every account linked to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuidView {
    pub guid: String,
    pub created_at: i64,
    pub profile: PersonProfile,
    /// GUIDs merged into this one.
    pub absorbed: Vec<String>,
    pub accounts: Vec<UserSummary>,
}

/// Which side wins for each conflicting profile field on a merge: "survivor" (the default) or "absorbed".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct MergeChoices {
    pub display_name: String,
    pub email: String,
    pub phone: String,
}

impl MergeChoices {
    fn choice(&self, field: &str) -> &str {
        match field {
            "display_name" => &self.display_name,
            "email" => &self.email,
            _ => &self.phone,
        }
    }

    /// The merged profile. A field only one side has is kept; a conflicting one takes the chosen side.
    pub fn apply(
        &self,
        survivor: &PersonProfile,
        absorbed: &PersonProfile,
    ) -> Result<PersonProfile, crate::model::AppError> {
        let mut out = PersonProfile::default();
        for (field, label) in PersonProfile::FIELDS {
            let (s, a) = (survivor.get(field), absorbed.get(field));
            let take_absorbed = match self.choice(field).trim() {
                "" | "survivor" => false,
                "absorbed" => true,
                other => {
                    return Err(crate::model::AppError::invalid(
                        field,
                        format!("{label}: unknown choice {other:?}; use survivor or absorbed"),
                    ))
                }
            };
            let value = if take_absorbed { a.or(s) } else { s.or(a) }.map(str::to_string);
            match field {
                "display_name" => out.display_name = value,
                "email" => out.email = value,
                _ => out.phone = value,
            }
        }
        Ok(out)
    }
}

/// A row of the GUIDs page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuidSummary {
    pub guid: String,
    pub created_at: i64,
    pub profile: PersonProfile,
    pub accounts: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuidQuery {
    /// A GUID prefix, or a user search (email, name, phone ...) whose people are listed.
    pub q: String,
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuidPage {
    pub guids: Vec<GuidSummary>,
    pub next: Option<String>,
}

/// Why two people might be the same person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    /// Both accounts have a verified email for the same mailbox (ignoring "+tags").
    VerifiedEmail,
    Phone,
    /// The same external id (e.g. an employee number) in two sources.
    ExternalId,
    /// The same employee number (SCIM's enterprise extension) on two accounts.
    EmployeeNumber,
}

impl DuplicateReason {
    pub const ALL: [DuplicateReason; 4] = [
        DuplicateReason::Phone,
        DuplicateReason::VerifiedEmail,
        DuplicateReason::ExternalId,
        DuplicateReason::EmployeeNumber,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DuplicateReason::VerifiedEmail => "verified_email",
            DuplicateReason::Phone => "phone",
            DuplicateReason::ExternalId => "external_id",
            DuplicateReason::EmployeeNumber => "employee_number",
        }
    }

    pub fn parse(s: &str) -> DuplicateReason {
        DuplicateReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .unwrap_or(DuplicateReason::Phone)
    }

    pub fn label(self) -> &'static str {
        match self {
            DuplicateReason::VerifiedEmail => "Same verified mailbox",
            DuplicateReason::Phone => "Same phone",
            DuplicateReason::ExternalId => "Same external id",
            DuplicateReason::EmployeeNumber => "Same employee number",
        }
    }
}

/// Two GUIDs that look like one person, and the evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DuplicateCandidate {
    pub guid: String,
    pub display_name: String,
    pub other_guid: String,
    pub other_display_name: String,
    pub reason: DuplicateReason,
    /// The shared value (the phone, the mailbox, the external id), shown as the reason.
    pub evidence: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuplicatePage {
    pub candidates: Vec<DuplicateCandidate>,
    pub next: Option<String>,
}

/// Status changes that can be applied to many users at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    Suspend,
    Activate,
    Deprovision,
}

impl BulkAction {
    pub fn parse(s: &str) -> Result<BulkAction, String> {
        match s.trim() {
            "suspend" => Ok(BulkAction::Suspend),
            "activate" => Ok(BulkAction::Activate),
            "deprovision" => Ok(BulkAction::Deprovision),
            other => Err(format!(
                "unknown bulk action {other:?}; use suspend, activate or deprovision"
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Suspend => "suspend",
            BulkAction::Activate => "activate",
            BulkAction::Deprovision => "deprovision",
        }
    }
    pub fn target(self) -> UserStatus {
        match self {
            BulkAction::Suspend => UserStatus::Suspended,
            BulkAction::Activate => UserStatus::Active,
            BulkAction::Deprovision => UserStatus::Deprovisioned,
        }
    }
    pub fn past_tense(self) -> &'static str {
        match self {
            BulkAction::Suspend => "Suspended",
            BulkAction::Activate => "Activated",
            BulkAction::Deprovision => "Deprovisioned",
        }
    }
}

/// At most this many users can be picked one by one; beyond that, act on the filter.
pub const MAX_SELECTION: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            ValidEmail::parse("  Ada.Lovelace@Example.COM ")
                .unwrap()
                .as_str(),
            "ada.lovelace@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@-x.com",
            "ada@ex..com",
        ] {
            assert!(ValidEmail::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(ValidEmail::parse(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn merge_takes_the_chosen_side_per_field() {
        let s = PersonProfile {
            display_name: Some("Ada L.".into()),
            email: Some("ada@a.com".into()),
            phone: None,
        };
        let a = PersonProfile {
            display_name: Some("Ada Lovelace".into()),
            email: Some("ada@b.com".into()),
            phone: Some("+41790000000".into()),
        };
        assert_eq!(s.conflicts(&a), ["display_name", "email"]);
        let choices = MergeChoices {
            display_name: "absorbed".into(),
            ..Default::default()
        };
        let out = choices.apply(&s, &a).unwrap();
        assert_eq!(out.display_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(out.email.as_deref(), Some("ada@a.com"));
        assert_eq!(out.phone.as_deref(), Some("+41790000000"));
        let bad = MergeChoices {
            email: "both".into(),
            ..Default::default()
        };
        assert!(bad.apply(&s, &a).is_err());
    }

    #[test]
    fn mailbox_key_drops_the_tag() {
        assert_eq!(mailbox_key("ada+hr@x.com"), "ada@x.com");
        assert_eq!(mailbox_key("ada@x.com"), "ada@x.com");
        assert_eq!(mailbox_key("ada@x+y.com"), "ada@x+y.com");
    }

    #[test]
    fn phones_must_be_e164() {
        assert_eq!(
            ValidPhone::parse("+41 (79) 123-45-67").unwrap().as_str(),
            "+41791234567"
        );
        for bad in [
            "0791234567",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+41 79x",
        ] {
            assert!(ValidPhone::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn lifecycle_allows_only_listed_moves() {
        use UserStatus::*;
        assert!(Staged.transition_to(Active).is_ok());
        assert!(Active.transition_to(Locked).is_ok());
        assert!(Deprovisioned.transition_to(Active).is_ok());
        assert!(Staged
            .transition_to(Suspended)
            .unwrap_err()
            .contains("activated first"));
        assert!(Active
            .transition_to(Staged)
            .unwrap_err()
            .contains("cannot return to staged"));
        assert!(Deprovisioned
            .transition_to(Locked)
            .unwrap_err()
            .contains("restored"));
        assert!(Active
            .transition_to(Active)
            .unwrap_err()
            .contains("already"));
        assert_eq!(
            UserStatus::parse("frozen").unwrap_err(),
            "unknown status \"frozen\"; use staged, active, suspended, locked or deprovisioned"
        );
    }
}
