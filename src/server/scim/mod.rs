//! SCIM 2.0 (RFC 7643, RFC 7644): the service provider identity providers and HR systems
//! provision into (issue 14). The resources, the filter grammar, PATCH, and their translation
//! to Gatehouse's users and groups live here; the HTTP edge is `http::scim`.
pub mod filter;
pub mod group_resource;
pub mod patch;
pub mod user_resource;

/// Unix milliseconds as RFC 3339 (UTC), as SCIM's `meta` dates are written.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
