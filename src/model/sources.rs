//! Provisioning sources: the SCIM clients (identity providers, HR systems) that provision users
//! and groups into Gatehouse. Nothing here touches I/O.
use serde::{Deserialize, Serialize};

/// What a source may own. A source's requests change only these attributes of its users; the
/// others stay as Gatehouse has them.
pub const OWNABLE_ATTRIBUTES: [(&str, &str); 6] = [
    ("userName", "Sign-in name and email (userName, emails)"),
    (
        "name",
        "Names (displayName, name.givenName, name.familyName)",
    ),
    ("phoneNumbers", "Phone number"),
    ("active", "Active or suspended"),
    (
        "enterprise",
        "Enterprise extension (employee number, department, manager...)",
    ),
    ("groups", "Groups and their members"),
];

/// How a newly provisioned account finds its person (GUID). An email is unique across
/// accounts, so "the same email" cannot link two (docs/decisions.md).
pub const MATCH_RULES: [(&str, &str); 2] = [
    (
        "none",
        "Never: every new account gets a new GUID, and duplicates are suggested",
    ),
    (
        "employee_number",
        "The same employee number as one person's account in another source links to that person",
    ),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceError {
    pub at: i64,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub scim_type: Option<String>,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceDetail {
    /// The slug every user and group of this source carries as its `source`.
    pub id: String,
    pub name: String,
    /// The last characters of the current token.
    pub token_hint: String,
    pub owned_attributes: Vec<String>,
    pub match_rule: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    /// 0: no request yet.
    pub last_request_at: i64,
    pub creates: i64,
    pub updates: i64,
    pub deactivations: i64,
    /// Newest first, at most 20.
    pub errors: Vec<SourceError>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceInput {
    pub id: String,
    pub name: String,
    pub owned_attributes: Vec<String>,
    pub match_rule: String,
}

/// A source with its bearer token, shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewSourceToken {
    pub source: SourceDetail,
    pub token: String,
}
