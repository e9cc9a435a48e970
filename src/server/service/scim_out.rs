//! Provisioning out over SCIM 2.0: makes a person's account in an application's SCIM service
//! provider match what Gatehouse decides (RFC 7644 §3.3, §3.5.1, §3.6).
//!
//! The account sent for a person is the one from the target's preferred source, else their
//! oldest active account, else their oldest one not deprovisioned (docs/decisions.md). It is
//! active there while the person is assigned to the application (directly or through a group),
//! the application is active and that account is active (or only locked out); otherwise it is
//! deactivated (`active=false`), and deleted once the person has no account left (purged or
//! merged away). Its `externalId` is the person's GUID, which is how an account Gatehouse made
//! is found again.
use crate::model::apps::AppStatus;
use crate::model::users::{UserDetail, UserStatus};
use crate::server::db::{self, provisioning::Target, Db};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SCIM_JSON: &str = "application/scim+json";

/// What the target should hold for a person.
pub enum Desired {
    /// The person has no account left: whatever Gatehouse made goes.
    Gone,
    Account {
        user: Box<UserDetail>,
        active: bool,
    },
}

/// The person as they are now, by the rule above (reconciliation compares with it too).
pub async fn desired(db: &Db, target: &Target, guid: &str) -> Result<Desired, String> {
    let accounts = db::users::accounts_of_guid(&db.pool, guid)
        .await
        .map_err(|e| e.to_string())?;
    let live = |s: UserStatus| s != UserStatus::Deprovisioned;
    let usable = |s: UserStatus| matches!(s, UserStatus::Active | UserStatus::Locked);
    let chosen = target
        .preferred_source
        .as_deref()
        .and_then(|src| accounts.iter().find(|a| a.source == src && live(a.status)))
        .or_else(|| accounts.iter().find(|a| usable(a.status)))
        .or_else(|| accounts.iter().find(|a| live(a.status)))
        .or_else(|| accounts.first());
    let Some(chosen) = chosen else {
        return Ok(Desired::Gone);
    };
    let user = db::users::get_pool(&db.pool, &chosen.id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the account changed while it was being sent; trying again")?;
    let app_active = db::apps::get_app(&db.pool, &target.application_id)
        .await
        .map_err(|e| e.to_string())?
        .is_some_and(|a| a.status == AppStatus::Active);
    let assigned = db::provisioning::is_assigned(&db.pool, &target.application_id, guid)
        .await
        .map_err(|e| e.to_string())?;
    let active = assigned && app_active && usable(user.status);
    Ok(Desired::Account {
        user: Box::new(user),
        active,
    })
}

/// The SCIM User for an account, with the attributes the target receives.
pub fn resource(user: &UserDetail, guid: &str, active: bool, attributes: &[String]) -> Value {
    let mut out = json!({
        "schemas": [USER_SCHEMA],
        "externalId": guid,
        "userName": user.email,
        "active": active,
    });
    let wants = |a: &str| attributes.iter().any(|x| x == a);
    if wants("name") {
        let mut name = json!({ "formatted": user.display_name });
        if let Some(g) = &user.given_name {
            name["givenName"] = json!(g);
        }
        if let Some(f) = &user.family_name {
            name["familyName"] = json!(f);
        }
        out["name"] = name;
    }
    if wants("displayName") {
        out["displayName"] = json!(user.display_name);
    }
    if wants("emails") {
        out["emails"] = json!([{ "value": user.email, "type": "work", "primary": true }]);
    }
    if let (true, Some(phone)) = (wants("phoneNumbers"), &user.phone) {
        out["phoneNumbers"] = json!([{ "value": phone, "type": "work" }]);
    }
    out
}

/// One SCIM request's answer: status and body (JSON, or the text when it is not).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

pub struct Client<'a> {
    pub http: &'a reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Client<'_> {
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token)
            .header("Accept", SCIM_JSON);
        if let Some(body) = body {
            request = request
                .header("Content-Type", SCIM_JSON)
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("{method} {path}: no answer in time")
            } else {
                format!(
                    "{method} {path}: cannot reach the target ({})",
                    without_url(&e)
                )
            }
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer { status, body })
    }

    /// The failure text shown on the application page: what was asked and what came back.
    pub(crate) fn refused(method: &str, path: &str, answer: &Answer) -> String {
        let detail = match &answer.body {
            Value::Object(o) => o
                .get("detail")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| answer.body.to_string()),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let detail: String = detail.chars().take(300).collect();
        format!(
            "{method} {path} answered {}: {detail}",
            answer.status.as_u16()
        )
    }

    /// The account with this externalId there, if any.
    async fn find(&self, guid: &str) -> Result<Option<String>, String> {
        let filter = format!("externalId eq \"{guid}\"");
        let path = format!(
            "/Users?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let answer = self.send(Method::GET, &path, None).await?;
        if !answer.status.is_success() {
            return Err(Self::refused("GET", "/Users?filter=externalId", &answer));
        }
        Ok(answer.body["Resources"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|u| u["id"].as_str())
            .map(str::to_string))
    }

    async fn create(&self, body: &Value, guid: &str) -> Result<String, String> {
        let answer = self.send(Method::POST, "/Users", Some(body)).await?;
        if answer.status == StatusCode::CONFLICT {
            // Made by an earlier attempt whose answer was lost: take it over.
            if let Some(id) = self.find(guid).await? {
                self.replace(&id, body).await?;
                return Ok(id);
            }
        }
        if !answer.status.is_success() {
            return Err(Self::refused("POST", "/Users", &answer));
        }
        answer.body["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "POST /Users answered without an id".to_string())
    }

    /// PUT; `Ok(false)` when the account is not there any more.
    async fn replace(&self, id: &str, body: &Value) -> Result<bool, String> {
        let path = format!("/Users/{id}");
        let answer = self.send(Method::PUT, &path, Some(body)).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if !answer.status.is_success() {
            return Err(Self::refused("PUT", &path, &answer));
        }
        Ok(true)
    }

    async fn delete(&self, id: &str) -> Result<(), String> {
        let path = format!("/Users/{id}");
        let answer = self.send(Method::DELETE, &path, None).await?;
        if answer.status.is_success() || answer.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(Self::refused("DELETE", &path, &answer))
    }
}

/// reqwest's error text without the URL (it may carry a query string worth keeping out of
/// the console).
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| "connection failed".into())
}

/// Makes the target hold what Gatehouse decides for one person. `Err` is the failure text.
pub async fn sync_person(
    db: &Db,
    client: &Client<'_>,
    target: &Target,
    guid: &str,
) -> Result<(), String> {
    let desired = desired(db, target, guid).await?;
    let known = db::provisioning::account(&db.pool, &target.id, guid)
        .await
        .map_err(|e| e.to_string())?;
    let now = db::now_ms();
    let save = |remote: String, user_id: String, active: bool| async move {
        db::provisioning::save_account(&db.pool, &target.id, guid, &remote, &user_id, active, now)
            .await
            .map_err(|e| e.to_string())
    };
    match (desired, known) {
        (Desired::Gone, None) => Ok(()),
        (Desired::Gone, Some(acc)) => {
            client.delete(&acc.remote_id).await?;
            regroup(db, &target.id, None).await?;
            db::provisioning::forget_account(&db.pool, &target.id, guid)
                .await
                .map_err(|e| e.to_string())
        }
        // Never there, and not to be used: nothing to make.
        (Desired::Account { active: false, .. }, None) => Ok(()),
        (Desired::Account { user, active }, Some(acc)) => {
            let body = resource(&user, guid, active, &target.attributes);
            if client.replace(&acc.remote_id, &body).await? {
                return save(acc.remote_id, user.id.clone(), active).await;
            }
            // Deleted there behind Gatehouse's back.
            if active {
                let id = client.create(&body, guid).await?;
                regroup(db, &target.id, Some(guid)).await?;
                save(id, user.id.clone(), true).await
            } else {
                db::provisioning::forget_account(&db.pool, &target.id, guid)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
        (Desired::Account { user, active: true }, None) => {
            let body = resource(&user, guid, true, &target.attributes);
            let id = client.create(&body, guid).await?;
            regroup(db, &target.id, Some(guid)).await?;
            save(id, user.id.clone(), true).await
        }
    }
}

/// A person's account was made (`Some(guid)`) or deleted (`None`) there: Groups already made
/// there that should list it, or may still list it, are queued again behind this message
/// (groups out, `scim_out_groups`). A Group not made yet needs nothing: its own message comes
/// later and lists the account. Queued before the account is recorded, so a failure here
/// retries the whole delivery.
async fn regroup(db: &Db, target_id: &str, made_for: Option<&str>) -> Result<(), String> {
    let now = db::now_ms();
    let text = |e: sqlx::Error| e.to_string();
    let Some(guid) = made_for else {
        let mut tx = db.begin_write().await.map_err(text)?;
        db::outbox::groups_made_in_target(&mut tx, target_id, now)
            .await
            .map_err(text)?;
        return tx.commit().await.map_err(text);
    };
    // Read first: making many accounts before any Group (a group assigned) writes nothing more.
    let groups = db::provisioned_groups::made_groups_of_person(&db.pool, target_id, guid)
        .await
        .map_err(text)?;
    if groups.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await.map_err(text)?;
    for group_id in &groups {
        db::outbox::group_for_target(&mut tx, target_id, group_id, now)
            .await
            .map_err(text)?;
    }
    tx.commit().await.map_err(text)
}

/// One page of a target's Users (RFC 7644 §3.4.2.4).
pub struct UsersPage {
    pub resources: Vec<Value>,
    /// `totalResults`: every User there, not only this page's.
    pub total: usize,
}

/// Reading and deactivating accounts Gatehouse may not have made (reconciliation).
impl Client<'_> {
    /// Users from `start_index` (1-based), at most `count` of them (the target may send fewer).
    pub async fn users_page(&self, start_index: usize, count: usize) -> Result<UsersPage, String> {
        let path = format!("/Users?startIndex={start_index}&count={count}");
        let answer = self.send(Method::GET, &path, None).await?;
        if !answer.status.is_success() {
            return Err(Self::refused("GET", "/Users", &answer));
        }
        let resources = answer.body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let total = answer.body["totalResults"].as_u64().unwrap_or(0) as usize;
        Ok(UsersPage { resources, total })
    }

    /// `active=false` by PATCH (RFC 7644 §3.5.2): an account Gatehouse does not know is switched
    /// off, never deleted (it may be the application's own).
    pub async fn deactivate(&self, id: &str) -> Result<(), String> {
        let path = format!("/Users/{id}");
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "active", "value": false }],
        });
        let answer = self.send(Method::PATCH, &path, Some(&body)).await?;
        if answer.status.is_success() || answer.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(Self::refused("PATCH", &path, &answer))
    }
}
