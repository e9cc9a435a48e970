//! SCIM errors (RFC 7644 §3.12): a JSON body with the status as a string and, for 400 and 409,
//! a `scimType` saying what kind of mistake the client made.
use crate::model::AppError;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const CONTENT_TYPE: &str = "application/scim+json";

/// What a refusal said, left on the response for the source's page of last errors.
#[derive(Clone, Debug, Default)]
pub struct Refusal {
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            None,
            "Send the source's token: Authorization: Bearer ghs_...",
        )
    }
}

/// The services' errors in SCIM's words.
impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        let detail = e.to_string();
        match e {
            AppError::Unauthenticated => Self::unauthorized(),
            AppError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, None, detail),
            AppError::NotFound(_) => Self::not_found(detail),
            AppError::Invalid { .. } | AppError::Fields(_) => {
                if detail.contains("already used") {
                    Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
                } else {
                    Self::bad("invalidValue", detail)
                }
            }
            AppError::Conflict(_) => Self::new(StatusCode::PRECONDITION_FAILED, None, detail),
            AppError::RateLimited(_) => Self::new(StatusCode::TOO_MANY_REQUESTS, None, detail),
            AppError::Unavailable(_) => Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail),
            AppError::Upstream(_) => Self::new(StatusCode::BAD_GATEWAY, None, detail),
            AppError::Request(_) => Self::bad("invalidSyntax", detail),
            AppError::Internal => Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, detail),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut res = (self.status, body.to_string()).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        res.extensions_mut().insert(Refusal {
            scim_type: self.scim_type,
            detail: self.detail.chars().take(500).collect(),
        });
        res
    }
}
