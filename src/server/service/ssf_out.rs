//! Push delivery of Security Event Tokens (RFC 8935): the token queued for a stream is given its
//! `iss`, signed with the current key and POSTed as `application/secevent+jwt`; a 202 (any 2xx)
//! settles it. Its `jti` is fixed when queued, so a retry or a replay sends the same event and a
//! receiver can drop what it already handled (at least once, docs/decisions.md).
use crate::server::db::{self, ssf::Stream, Db};
use crate::server::service::scim_out::without_url;
use crate::server::service::ssf_keys::SsfKeys;
use serde_json::Value;

/// The claims as sent: `iss` added, and to an `iss_sub` subject.
pub fn finish_claims(stored: &str, issuer: &str) -> Result<Value, String> {
    let mut claims: Value =
        serde_json::from_str(stored).map_err(|_| "the queued event is damaged".to_string())?;
    claims["iss"] = Value::String(issuer.to_string());
    if claims["sub_id"]["format"] == "iss_sub" {
        claims["sub_id"]["iss"] = Value::String(issuer.to_string());
    }
    Ok(claims)
}

/// Explains a refusal: RFC 8935's `err` and `description` when the receiver gave them.
fn refusal(status: u16, body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    match parsed.as_ref().and_then(|v| v["err"].as_str()) {
        Some(err) => format!(
            "POST answered {status}: {err}: {}",
            parsed
                .as_ref()
                .and_then(|v| v["description"].as_str())
                .unwrap_or("")
        ),
        None => format!(
            "POST answered {status}: {}",
            body.chars().take(300).collect::<String>()
        ),
    }
}

pub struct Push<'a> {
    pub http: &'a reqwest::Client,
    pub keys: &'a SsfKeys,
    pub issuer: &'a str,
    /// The `Authorization` value the receiver asked for, if any.
    pub authorization: Option<&'a str>,
}

/// Sends token `jti` to the stream. `Err` is the failure text shown on the receiver's page.
pub async fn deliver(db: &Db, push: &Push<'_>, stream: &Stream, jti: &str) -> Result<(), String> {
    let stored = db::ssf::claims(&db.pool, jti)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("event {jti} is no longer queued"))?;
    let token = push.keys.sign(&finish_claims(&stored, push.issuer)?)?;
    let mut request = push
        .http
        .post(&stream.endpoint_url)
        .header("content-type", "application/secevent+jwt")
        .header("accept", "application/json")
        .header("user-agent", "Gatehouse-SSF/1")
        .body(token);
    if let Some(value) = push.authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            "POST: no answer in time".to_string()
        } else {
            format!("POST: cannot reach the receiver ({})", without_url(&e))
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    Err(refusal(status.as_u16(), &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_added_when_sent() {
        let stored = r#"{"jti":"j1","sub_id":{"format":"iss_sub","iss":"","sub":"u1"}}"#;
        let c = finish_claims(stored, "https://gh.example").unwrap();
        assert_eq!(c["iss"], "https://gh.example");
        assert_eq!(c["sub_id"]["iss"], "https://gh.example");
        let stored = r#"{"jti":"j1","sub_id":{"format":"email","email":"a@x"}}"#;
        let c = finish_claims(stored, "https://gh.example").unwrap();
        assert!(c["sub_id"].get("iss").is_none());
    }

    #[test]
    fn a_refusal_shows_the_rfc_8935_error() {
        assert_eq!(
            refusal(400, r#"{"err":"invalid_audience","description":"not us"}"#),
            "POST answered 400: invalid_audience: not us"
        );
        assert_eq!(refusal(503, "busy"), "POST answered 503: busy");
    }
}
