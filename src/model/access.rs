//! Who may do what. This is the one place that says which role holds which permission.
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Support,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Support, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Support => "Support",
            Role::Auditor => "Auditor",
        }
    }

    /// The permission table. Adding a permission means adding it here and nowhere else.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[
                ViewConsole,
                ReadUsers,
                WriteUsers,
                ExportUsers,
                UnlockUsers,
                ResetMfa,
                ResetAdminMfa,
                ReadMfa,
                ManageFactors,
                ReadDevices,
                UntrustDevices,
                ManageDevices,
                ReadAudit,
                VerifyAudit,
                ManageAuditSinks,
                ReadApps,
                WriteApps,
                ReadGroups,
                WriteGroups,
                ManageSources,
                ManageSessions,
                ManageWebhooks,
                ManageSignals,
                RevokeEverywhere,
                SignOutEverywhere,
                ReadSystem,
            ],
            Role::Support => &[
                ViewConsole,
                ReadUsers,
                UnlockUsers,
                ResetMfa,
                ReadMfa,
                ReadDevices,
                UntrustDevices,
                ReadApps,
                ReadGroups,
                SignOutEverywhere,
            ],
            Role::Auditor => &[
                ViewConsole,
                ReadUsers,
                ReadMfa,
                ReadDevices,
                ReadAudit,
                ExportAudit,
                VerifyAudit,
                ReadApps,
                ReadGroups,
                // The version and effective configuration are evidence (issue 18).
                ReadSystem,
            ],
        }
    }

    pub fn has(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named capability. Every server function and data-bearing HTTP handler requires exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// See the console shell and dashboard.
    ViewConsole,
    ReadUsers,
    WriteUsers,
    ExportUsers,
    UnlockUsers,
    /// The MFA reset: remove factors, revoke device trust, issue a re-enrollment link.
    ResetMfa,
    /// Reset the MFA of an administrator account (never one's own).
    ResetAdminMfa,
    /// See a person's MFA factors.
    ReadMfa,
    /// Add (as the identity provider reports them) and remove single factors.
    ManageFactors,
    ReadDevices,
    /// Withdraw a device's trust (support does this on the phone with the person).
    UntrustDevices,
    /// Register, trust, block and remove devices; bulk-block stale ones.
    ManageDevices,
    ReadAudit,
    ExportAudit,
    VerifyAudit,
    /// Configure where the audit log is streamed (SIEM sinks), pause, resume and replay them.
    /// Reading their status needs only `ReadAudit`.
    ManageAuditSinks,
    /// See applications and API keys (never a secret or a hash).
    ReadApps,
    /// Register and change applications, rotate secrets, issue and revoke keys.
    WriteApps,
    /// See groups and their members.
    ReadGroups,
    /// Create, change and delete console groups and their members.
    WriteGroups,
    /// Register provisioning sources (SCIM clients), issue their tokens, see their activity.
    ManageSources,
    /// See who is signed in to the console and end their sessions.
    ManageSessions,
    /// Configure webhook endpoints (they receive audit events), retry and replay deliveries.
    ManageWebhooks,
    /// Register Shared Signals receivers (they hear security events), hand out their tokens.
    ManageSignals,
    /// Revoke everywhere: suspend every account of a person, revoke their keys and personal
    /// tokens, end their console sessions, deactivate them in every application, tell every
    /// receiver.
    RevokeEverywhere,
    /// Sign out everywhere: end a person's console sessions and tell every receiver their
    /// sessions are revoked.
    SignOutEverywhere,
    /// See the instances and which one runs each background task and delivery.
    ReadSystem,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewConsole => "console.view",
            Permission::ReadUsers => "users.read",
            Permission::WriteUsers => "users.write",
            Permission::ExportUsers => "users.export",
            Permission::UnlockUsers => "users.unlock",
            Permission::ResetMfa => "mfa.reset",
            Permission::ResetAdminMfa => "mfa.reset_admin",
            Permission::ReadMfa => "mfa.read",
            Permission::ManageFactors => "mfa.factors.write",
            Permission::ReadDevices => "devices.read",
            Permission::UntrustDevices => "devices.untrust",
            Permission::ManageDevices => "devices.write",
            Permission::ReadAudit => "audit.read",
            Permission::ExportAudit => "audit.export",
            Permission::VerifyAudit => "audit.verify",
            Permission::ManageAuditSinks => "audit.sinks",
            Permission::ReadApps => "apps.read",
            Permission::WriteApps => "apps.write",
            Permission::ReadGroups => "groups.read",
            Permission::WriteGroups => "groups.write",
            Permission::ManageSources => "sources.manage",
            Permission::ManageSessions => "sessions.manage",
            Permission::ManageWebhooks => "webhooks.manage",
            Permission::ManageSignals => "signals.manage",
            Permission::RevokeEverywhere => "people.revoke",
            Permission::SignOutEverywhere => "people.sign_out",
            Permission::ReadSystem => "system.read",
        }
    }
}

impl Permission {
    /// Completes "You do not have permission to ...".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ViewConsole => "use the console",
            Permission::ReadUsers => "view users",
            Permission::WriteUsers => "change users",
            Permission::ExportUsers => "export users",
            Permission::UnlockUsers => "unlock users",
            Permission::ResetMfa => "reset MFA",
            Permission::ResetAdminMfa => "reset the MFA of an administrator account",
            Permission::ReadMfa => "view MFA factors",
            Permission::ManageFactors => "change MFA factors",
            Permission::ReadDevices => "view devices",
            Permission::UntrustDevices => "untrust devices",
            Permission::ManageDevices => "manage devices",
            Permission::ReadAudit => "read the audit log",
            Permission::ExportAudit => "export the audit log",
            Permission::VerifyAudit => "verify the audit log",
            Permission::ManageAuditSinks => "manage audit streaming to the SIEM",
            Permission::ReadApps => "view applications and API keys",
            Permission::WriteApps => "change applications and API keys",
            Permission::ReadGroups => "view groups",
            Permission::WriteGroups => "change groups",
            Permission::ManageSources => "manage provisioning sources",
            Permission::ManageSessions => "manage console sessions",
            Permission::ManageWebhooks => "manage webhooks",
            Permission::ManageSignals => "manage Shared Signals receivers",
            Permission::RevokeEverywhere => "revoke a person's access everywhere",
            Permission::SignOutEverywhere => "sign a person out everywhere",
            Permission::ReadSystem => {
                "see the instances, their background work and the configuration"
            }
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in staff member, as the UI sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The identity provider's subject identifier.
    pub subject: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// A management API token's permissions, which replace the role's: a service account's
    /// scopes, or a personal token's scopes that its owner's role still grants. `None` for a
    /// console session (the whole role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Permission>>,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        match &self.scopes {
            Some(allowed) => allowed.contains(&permission),
            None => self.role.has(permission),
        }
    }
}

/// Console pages and the permission each needs. The server's page guard and the navigation both
/// read this; entries without a label are guarded but not in the navigation.
pub const PAGES: &[(&str, &str, Permission)] = &[
    ("/", "Dashboard", Permission::ViewConsole),
    ("/users/new", "", Permission::WriteUsers),
    ("/users/import", "", Permission::WriteUsers),
    ("/users/jobs", "", Permission::WriteUsers),
    ("/users", "Users", Permission::ReadUsers),
    ("/guids", "People", Permission::ReadUsers),
    ("/groups", "Groups", Permission::ReadGroups),
    ("/sources", "Provisioning", Permission::ManageSources),
    ("/apps/new", "", Permission::WriteApps),
    ("/apps", "Applications", Permission::ReadApps),
    ("/keys", "API keys", Permission::ReadApps),
    ("/support", "Support desk", Permission::ResetMfa),
    ("/devices", "Devices", Permission::ReadDevices),
    // Before `/audit`: the first matching prefix decides.
    ("/audit/sinks", "", Permission::ManageAuditSinks),
    ("/audit", "Audit log", Permission::ReadAudit),
    ("/webhooks", "Webhooks", Permission::ManageWebhooks),
    ("/signals", "Shared Signals", Permission::ManageSignals),
    ("/sessions", "Console sessions", Permission::ManageSessions),
    (
        "/service-accounts",
        "Service accounts",
        Permission::ManageSessions,
    ),
    // Everyone's personal tokens, linked from the service accounts page.
    ("/tokens", "", Permission::ManageSessions),
    ("/my-tokens", "My tokens", Permission::ViewConsole),
    // Instances and which one runs each background task (issue 17), the version and the
    // effective configuration (issue 18).
    ("/system", "System", Permission::ReadSystem),
];

/// The permission a console path needs, or `None` for public paths.
pub fn page_permission(path: &str) -> Option<Permission> {
    PAGES
        .iter()
        .filter(|(prefix, _, _)| {
            if *prefix == "/" {
                path == "/"
            } else {
                path == *prefix || path.starts_with(&format!("{prefix}/"))
            }
        })
        .map(|(_, _, p)| *p)
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_privilege_table() {
        assert!(Role::Admin.has(Permission::ReadAudit));
        assert!(
            !Role::Admin.has(Permission::ExportAudit),
            "admins search, auditors export"
        );
        assert!(!Role::Support.has(Permission::ReadAudit));
        assert!(!Role::Support.has(Permission::WriteUsers));
        assert!(!Role::Auditor.has(Permission::WriteUsers));
        assert!(Role::Auditor.has(Permission::ExportAudit));
        assert!(Role::Support.has(Permission::ResetMfa));
        assert!(Role::Support.has(Permission::UntrustDevices));
        assert!(
            !Role::Support.has(Permission::ManageDevices),
            "support cannot block or remove"
        );
        assert!(!Role::Support.has(Permission::ManageFactors));
        assert!(!Role::Auditor.has(Permission::ResetMfa));
        assert!(!Role::Auditor.has(Permission::UntrustDevices));
        assert!(
            Role::Auditor.has(Permission::ReadDevices) && Role::Auditor.has(Permission::ReadMfa)
        );
        assert!(Role::Admin.has(Permission::RevokeEverywhere));
        assert!(
            !Role::Support.has(Permission::RevokeEverywhere),
            "support signs out, never revokes"
        );
        assert!(Role::Support.has(Permission::SignOutEverywhere));
        assert!(Role::Admin.has(Permission::SignOutEverywhere));
        assert!(!Role::Auditor.has(Permission::SignOutEverywhere));
        assert!(Role::Admin.has(Permission::ManageAuditSinks));
        assert!(
            !Role::Auditor.has(Permission::ManageAuditSinks),
            "auditors read the sinks' status through ReadAudit"
        );
        assert!(!Role::Support.has(Permission::ManageAuditSinks));
        assert!(Role::Admin.has(Permission::ReadSystem));
        assert!(!Role::Support.has(Permission::ReadSystem));
        assert!(Role::Auditor.has(Permission::ReadSystem));
    }

    #[test]
    fn page_permissions() {
        assert_eq!(page_permission("/"), Some(Permission::ViewConsole));
        assert_eq!(page_permission("/audit"), Some(Permission::ReadAudit));
        assert_eq!(page_permission("/audit/12"), Some(Permission::ReadAudit));
        assert_eq!(
            page_permission("/audit/sinks"),
            Some(Permission::ManageAuditSinks)
        );
        assert_eq!(
            page_permission("/audit/sinks/snk_1"),
            Some(Permission::ManageAuditSinks)
        );
        assert_eq!(page_permission("/auditx"), None);
        assert_eq!(page_permission("/system"), Some(Permission::ReadSystem));
        assert_eq!(page_permission("/signin"), None);
        assert_eq!(page_permission("/users/u_1"), Some(Permission::ReadUsers));
        assert_eq!(page_permission("/users/new"), Some(Permission::WriteUsers));
        assert_eq!(page_permission("/guids/g_1"), Some(Permission::ReadUsers));
        assert_eq!(
            page_permission("/guids/g_1/revocations/rev_1"),
            Some(Permission::ReadUsers),
            "a revocation's progress is part of the person's page"
        );
        assert_eq!(page_permission("/support"), Some(Permission::ResetMfa));
        assert_eq!(page_permission("/devices"), Some(Permission::ReadDevices));
        assert_eq!(
            page_permission("/enroll/abc"),
            None,
            "the re-enrollment link is public"
        );
        assert_eq!(
            page_permission("/users/import"),
            Some(Permission::WriteUsers)
        );
        assert_eq!(
            page_permission("/users/jobs/j_1"),
            Some(Permission::WriteUsers)
        );
    }

    #[test]
    fn role_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
