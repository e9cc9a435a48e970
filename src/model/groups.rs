//! Groups of users, as the UI and the API see them. Nothing here touches I/O.
use serde::{Deserialize, Serialize};

pub const MAX_GROUP_NAME: usize = 200;
pub const MAX_GROUP_DESCRIPTION: usize = 1000;
/// The source of groups made in the console (or through the management API).
pub const CONSOLE_SOURCE: &str = "console";

/// A group in a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `console`, or the provisioning source that owns the group.
    pub source: String,
    pub member_count: i64,
}

/// One group with everything its page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupDetail {
    pub id: String,
    pub name: String,
    pub description: String,
    pub source: String,
    /// The owning source's id for the group (SCIM `externalId`).
    pub external_id: Option<String>,
    pub member_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

impl GroupDetail {
    /// Only the console (and the management API) may change a console group; a group owned by
    /// a provisioning source is changed by that source alone.
    pub fn console_owned(&self) -> bool {
        self.source == CONSOLE_SOURCE
    }
}

/// What a person fills in to create or change a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Platform engineering", "description": "Builds and runs the internal platform"})))]
pub struct GroupInput {
    pub name: String,
    pub description: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupQuery {
    /// Name prefix, or a group id in full.
    pub q: String,
    /// `console` or a source id; empty: every source.
    pub source: String,
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupPage {
    pub groups: Vec<GroupSummary>,
    pub next: Option<String>,
}

/// A member of a group: one user account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupMember {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub status: String,
    pub added_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberPage {
    pub members: Vec<GroupMember>,
    pub next: Option<String>,
}

/// A group one account belongs to (on a user's and on a person's page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Membership {
    pub group: GroupSummary,
    pub user_id: String,
    pub email: String,
    pub added_at: i64,
}
