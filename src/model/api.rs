//! The management API's credentials: scopes, service accounts and tokens.
use crate::model::Permission;
use serde::{Deserialize, Serialize};

/// A management scope. Each allows exactly one console permission, so a token can do through the
/// API what a console role with that permission can do, and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "users:read")]
    UsersRead,
    #[serde(rename = "users:write")]
    UsersWrite,
    #[serde(rename = "users:export")]
    UsersExport,
    #[serde(rename = "users:unlock")]
    UsersUnlock,
    #[serde(rename = "apps:read")]
    AppsRead,
    #[serde(rename = "apps:write")]
    AppsWrite,
    #[serde(rename = "groups:read")]
    GroupsRead,
    #[serde(rename = "groups:write")]
    GroupsWrite,
    #[serde(rename = "devices:read")]
    DevicesRead,
    #[serde(rename = "devices:write")]
    DevicesWrite,
    #[serde(rename = "mfa:read")]
    MfaRead,
    #[serde(rename = "mfa:factors")]
    MfaFactors,
    #[serde(rename = "mfa:reset")]
    MfaReset,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "audit:export")]
    AuditExport,
    #[serde(rename = "audit:verify")]
    AuditVerify,
    #[serde(rename = "audit:sinks")]
    AuditSinks,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    #[serde(rename = "signals:manage")]
    SignalsManage,
    #[serde(rename = "people:revoke")]
    PeopleRevoke,
    #[serde(rename = "people:sign_out")]
    PeopleSignOut,
    #[serde(rename = "system:read")]
    SystemRead,
}

impl Scope {
    pub const ALL: [Scope; 22] = [
        Scope::UsersRead,
        Scope::UsersWrite,
        Scope::UsersExport,
        Scope::UsersUnlock,
        Scope::AppsRead,
        Scope::AppsWrite,
        Scope::GroupsRead,
        Scope::GroupsWrite,
        Scope::DevicesRead,
        Scope::DevicesWrite,
        Scope::MfaRead,
        Scope::MfaFactors,
        Scope::MfaReset,
        Scope::AuditRead,
        Scope::AuditExport,
        Scope::AuditVerify,
        Scope::AuditSinks,
        Scope::WebhooksManage,
        Scope::SignalsManage,
        Scope::PeopleRevoke,
        Scope::PeopleSignOut,
        Scope::SystemRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::UsersRead => "users:read",
            Scope::UsersWrite => "users:write",
            Scope::UsersExport => "users:export",
            Scope::UsersUnlock => "users:unlock",
            Scope::AppsRead => "apps:read",
            Scope::AppsWrite => "apps:write",
            Scope::GroupsRead => "groups:read",
            Scope::GroupsWrite => "groups:write",
            Scope::DevicesRead => "devices:read",
            Scope::DevicesWrite => "devices:write",
            Scope::MfaRead => "mfa:read",
            Scope::MfaFactors => "mfa:factors",
            Scope::MfaReset => "mfa:reset",
            Scope::AuditRead => "audit:read",
            Scope::AuditExport => "audit:export",
            Scope::AuditVerify => "audit:verify",
            Scope::AuditSinks => "audit:sinks",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::SignalsManage => "signals:manage",
            Scope::PeopleRevoke => "people:revoke",
            Scope::PeopleSignOut => "people:sign_out",
            Scope::SystemRead => "system:read",
        }
    }

    pub fn parse(raw: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw.trim())
    }

    /// The one console permission this scope allows.
    pub fn permission(self) -> Permission {
        match self {
            Scope::UsersRead => Permission::ReadUsers,
            Scope::UsersWrite => Permission::WriteUsers,
            Scope::UsersExport => Permission::ExportUsers,
            Scope::UsersUnlock => Permission::UnlockUsers,
            Scope::AppsRead => Permission::ReadApps,
            Scope::AppsWrite => Permission::WriteApps,
            Scope::GroupsRead => Permission::ReadGroups,
            Scope::GroupsWrite => Permission::WriteGroups,
            Scope::DevicesRead => Permission::ReadDevices,
            Scope::DevicesWrite => Permission::ManageDevices,
            Scope::MfaRead => Permission::ReadMfa,
            Scope::MfaFactors => Permission::ManageFactors,
            Scope::MfaReset => Permission::ResetMfa,
            Scope::AuditRead => Permission::ReadAudit,
            Scope::AuditExport => Permission::ExportAudit,
            Scope::AuditVerify => Permission::VerifyAudit,
            Scope::AuditSinks => Permission::ManageAuditSinks,
            Scope::WebhooksManage => Permission::ManageWebhooks,
            Scope::SignalsManage => Permission::ManageSignals,
            Scope::PeopleRevoke => Permission::RevokeEverywhere,
            Scope::PeopleSignOut => Permission::SignOutEverywhere,
            Scope::SystemRead => Permission::ReadSystem,
        }
    }

    /// The scope that allows `permission`, if tokens may hold it at all (ending console
    /// sessions and minting credentials stay in the console).
    pub fn for_permission(permission: Permission) -> Option<Scope> {
        Scope::ALL
            .into_iter()
            .find(|s| s.permission() == permission)
    }

    pub fn description(self) -> &'static str {
        match self {
            Scope::UsersRead => "Read users, people (GUIDs) and their duplicates",
            Scope::UsersWrite => "Create and change users, statuses, links and merges",
            Scope::UsersExport => "Export users as CSV",
            Scope::UsersUnlock => "Unlock locked users",
            Scope::AppsRead => "Read applications and API keys (never a secret)",
            Scope::AppsWrite => "Register and change applications, rotate secrets, issue keys",
            Scope::GroupsRead => "Read groups and their members",
            Scope::GroupsWrite => "Create, change and delete groups and their members",
            Scope::DevicesRead => "Read devices",
            Scope::DevicesWrite => "Register, trust, block and remove devices",
            Scope::MfaRead => "Read MFA factors",
            Scope::MfaFactors => "Add and remove single MFA factors",
            Scope::MfaReset => {
                "Reset a person's MFA (with the support checklist, reason and ticket)"
            }
            Scope::AuditRead => "Search the audit log",
            Scope::AuditExport => "Export the audit log",
            Scope::AuditVerify => "Verify the audit chain",
            Scope::AuditSinks => {
                "Configure audit streaming to the SIEM: sinks, pause, resume, replay"
            }
            Scope::WebhooksManage => "Create, change, replay and delete webhook endpoints",
            Scope::SignalsManage => {
                "Register Shared Signals receivers, rotate their tokens, retry and replay"
            }
            Scope::PeopleRevoke => {
                "Revoke a person everywhere: suspend, revoke keys, deactivate, tell receivers"
            }
            Scope::PeopleSignOut => "Sign a person out everywhere (session-revoked to receivers)",
            Scope::SystemRead => {
                "Read the instances, which one runs each background task and delivery, the version and the effective configuration (secrets redacted)"
            }
        }
    }
}

/// Parses a list of scope names; the unknown ones are returned as the error.
pub fn parse_scopes(raw: &[String]) -> Result<Vec<Scope>, Vec<String>> {
    let mut scopes = Vec::new();
    let mut unknown = Vec::new();
    for r in raw.iter().filter(|r| !r.trim().is_empty()) {
        match Scope::parse(r) {
            Some(s) if !scopes.contains(&s) => scopes.push(s),
            Some(_) => {}
            None => unknown.push(r.trim().to_string()),
        }
    }
    if unknown.is_empty() {
        Ok(scopes)
    } else {
        Err(unknown)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Held by a service account.
    Service,
    /// A staff member's personal access token.
    Personal,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Service => "service",
            TokenKind::Personal => "personal",
        }
    }
}

/// A service account: a machine identity with the most its tokens may do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub id: String,
    pub name: String,
    pub owner_email: String,
    pub description: String,
    pub scopes: Vec<Scope>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A token as listed: never its secret or hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub kind: TokenKind,
    pub service_account_id: Option<String>,
    pub owner_email: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: i64,
    pub use_count: i64,
    /// Of those, reads of people's data (users, people, devices, MFA factors).
    pub personal_reads: i64,
}

/// A newly issued token: the whole token is in `token`, shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub summary: TokenSummary,
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_and_allows_a_distinct_permission() {
        let mut permissions = std::collections::HashSet::new();
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert!(permissions.insert(s.permission()), "{s:?}");
            assert_eq!(Scope::for_permission(s.permission()), Some(s));
        }
        assert_eq!(Scope::for_permission(Permission::ManageSessions), None);
    }

    #[test]
    fn unknown_scopes_are_named() {
        let raw = vec!["users:read".to_string(), "root".into(), " ".into()];
        assert_eq!(parse_scopes(&raw), Err(vec!["root".to_string()]));
        let ok = vec!["users:read".to_string(), "users:read".into()];
        assert_eq!(parse_scopes(&ok), Ok(vec![Scope::UsersRead]));
    }
}
