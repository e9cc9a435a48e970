//! Groups out over SCIM 2.0 (issue 15): the groups assigned to an application are SCIM Groups in
//! its target (RFC 7643 §4.2, RFC 7644 §3.3, §3.5.1, §3.6), so the application knows the groups
//! its people came through.
//!
//! A Group's `displayName` is the group's name, its `externalId` the Gatehouse group id (how a
//! Group Gatehouse made is found again), its `members` the target-side ids of the members whose
//! person has an account there (`provisioned_accounts`). The whole Group is sent (PUT) whenever
//! its name or membership changes; it is deleted there when the group is unassigned from the
//! application or deleted in Gatehouse. Members without an account there yet are left out: the
//! worker sends the group again once their account is made (`sync_person`).
use crate::server::db::{self, provisioning::Target, Db};
use crate::server::service::reconcile::usable_id;
use crate::server::service::scim_out::Client;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The SCIM Group for a Gatehouse group.
pub fn group_resource(group_id: &str, name: &str, member_ids: &[String]) -> Value {
    let members: Vec<Value> = member_ids.iter().map(|id| json!({ "value": id })).collect();
    json!({
        "schemas": [GROUP_SCHEMA],
        "externalId": group_id,
        "displayName": name,
        "members": members,
    })
}

fn text(e: sqlx::Error) -> String {
    e.to_string()
}

/// Makes the target hold what Gatehouse decides for one group. `Err` is the failure text.
pub async fn sync_group(
    db: &Db,
    client: &Client<'_>,
    target: &Target,
    group_id: &str,
) -> Result<(), String> {
    let name = db::provisioned_groups::name_if_sent(&db.pool, &target.application_id, group_id)
        .await
        .map_err(text)?;
    let known = db::provisioned_groups::remote_id(&db.pool, &target.id, group_id)
        .await
        .map_err(text)?;
    let Some(name) = name else {
        // Unassigned from the application or deleted here: whatever Gatehouse made goes, also
        // one made by an attempt whose answer was lost (found by its externalId).
        let remote = match known {
            Some(remote) => Some(remote),
            None => client.find_group(group_id).await?,
        };
        if let Some(remote) = remote {
            client.delete_group(&remote).await?;
        }
        return db::provisioned_groups::forget(&db.pool, &target.id, group_id)
            .await
            .map_err(text);
    };
    let members = db::provisioned_groups::member_remote_ids(&db.pool, &target.id, group_id)
        .await
        .map_err(text)?;
    let body = group_resource(group_id, &name, &members);
    let remote = match known {
        Some(remote) if client.replace_group(&remote, &body).await? => remote,
        // Never made, or deleted there behind Gatehouse's back.
        _ => client.create_group(&body, group_id).await?,
    };
    db::provisioned_groups::save(&db.pool, &target.id, group_id, &remote, db::now_ms())
        .await
        .map_err(text)
}

impl Client<'_> {
    /// The Group with this externalId there, if any.
    async fn find_group(&self, group_id: &str) -> Result<Option<String>, String> {
        let filter = format!("externalId eq \"{group_id}\"");
        let path = format!(
            "/Groups?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let answer = self.send(Method::GET, &path, None).await?;
        if !answer.status.is_success() {
            return Err(Self::refused("GET", "/Groups?filter=externalId", &answer));
        }
        answer.body["Resources"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|g| g["id"].as_str())
            .map(remote_group_id)
            .transpose()
    }

    /// Looks for a Group made by an earlier attempt whose answer was lost before making one:
    /// `displayName` need not be unique in SCIM, so a second POST would make a second Group
    /// rather than answer 409.
    async fn create_group(&self, body: &Value, group_id: &str) -> Result<String, String> {
        if let Some(id) = self.find_group(group_id).await? {
            if self.replace_group(&id, body).await? {
                return Ok(id);
            }
        }
        let answer = self.send(Method::POST, "/Groups", Some(body)).await?;
        if answer.status == StatusCode::CONFLICT {
            // A target that keeps names unique: take over the one with our externalId.
            if let Some(id) = self.find_group(group_id).await? {
                if self.replace_group(&id, body).await? {
                    return Ok(id);
                }
            }
        }
        if !answer.status.is_success() {
            return Err(Self::refused("POST", "/Groups", &answer));
        }
        answer.body["id"]
            .as_str()
            .ok_or_else(|| "POST /Groups answered without an id".to_string())
            .and_then(remote_group_id)
    }

    /// PUT; `Ok(false)` when the Group is not there any more.
    async fn replace_group(&self, id: &str, body: &Value) -> Result<bool, String> {
        let path = format!("/Groups/{id}");
        let answer = self.send(Method::PUT, &path, Some(body)).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if !answer.status.is_success() {
            return Err(Self::refused("PUT", &path, &answer));
        }
        Ok(true)
    }

    async fn delete_group(&self, id: &str) -> Result<(), String> {
        let path = format!("/Groups/{id}");
        let answer = self.send(Method::DELETE, &path, None).await?;
        if answer.status.is_success() || answer.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(Self::refused("DELETE", &path, &answer))
    }
}

/// An id the target gave a Group, refused when it would change the URL it is put in.
fn remote_group_id(id: &str) -> Result<String, String> {
    usable_id(id).map(str::to_string).map_err(|_| {
        format!("the application gave the group an id Gatehouse cannot put in a URL ({id:?})")
    })
}

#[cfg(test)]
mod tests {
    use super::group_resource;

    #[test]
    fn a_group_is_sent_with_its_name_its_id_and_its_members_there() {
        let g = group_resource("grp_1", "Navy", &["u1".into(), "u2".into()]);
        assert_eq!(g["displayName"], "Navy");
        assert_eq!(g["externalId"], "grp_1");
        assert_eq!(g["members"][1]["value"], "u2");
        let empty = group_resource("grp_2", "Empty", &[]);
        assert_eq!(
            empty["members"],
            serde_json::json!([]),
            "an empty group says so"
        );
    }
}
