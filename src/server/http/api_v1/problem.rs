//! RFC 9457 problem details: every error of the management API is `application/problem+json`
//! with a stable `type` per kind of error, the human message, and field-level messages for
//! validation. The `type` URIs are documented on the reference page (`/api/v1/docs#problems`).
use crate::model::AppError;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

/// The kinds of problem the API answers, each with its own `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Unauthenticated,
    Forbidden,
    NotFound,
    Invalid,
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    IdempotencyMismatch,
    RateLimited,
    TooLarge,
    Unavailable,
    BadGateway,
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Unauthenticated,
        Kind::Forbidden,
        Kind::NotFound,
        Kind::Invalid,
        Kind::Conflict,
        Kind::PreconditionFailed,
        Kind::PreconditionRequired,
        Kind::IdempotencyMismatch,
        Kind::RateLimited,
        Kind::TooLarge,
        Kind::Unavailable,
        Kind::BadGateway,
        Kind::Internal,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "unauthenticated",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::Invalid => "invalid",
            Kind::Conflict => "conflict",
            Kind::PreconditionFailed => "precondition-failed",
            Kind::PreconditionRequired => "precondition-required",
            Kind::IdempotencyMismatch => "idempotency-mismatch",
            Kind::RateLimited => "rate-limited",
            Kind::TooLarge => "too-large",
            Kind::Unavailable => "unavailable",
            Kind::BadGateway => "bad-gateway",
            Kind::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Invalid => StatusCode::BAD_REQUEST,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Kind::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::BadGateway => StatusCode::BAD_GATEWAY,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "Authentication required",
            Kind::Forbidden => "Not allowed",
            Kind::NotFound => "Not found",
            Kind::Invalid => "Invalid request",
            Kind::Conflict => "Conflict",
            Kind::PreconditionFailed => "Changed by someone else",
            Kind::PreconditionRequired => "If-Match required",
            Kind::IdempotencyMismatch => "Idempotency key reused",
            Kind::RateLimited => "Too many requests",
            Kind::TooLarge => "Request too large",
            Kind::Unavailable => "Temporarily unavailable",
            Kind::BadGateway => "The application did not answer as expected",
            Kind::Internal => "Server error",
        }
    }
}

#[derive(Serialize, Debug, PartialEq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request id, to quote to an operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip)]
    kind: Option<Kind>,
}

impl Problem {
    pub fn new(public_url: &str, kind: Kind, detail: impl Into<String>) -> Problem {
        Problem {
            kind_uri: format!("{public_url}/api/v1/docs#problem-{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            instance: None,
            kind: Some(kind),
        }
    }

    /// The service layer's error, as the API answers it.
    pub fn from_error(public_url: &str, error: &AppError) -> Problem {
        let kind = match error {
            AppError::Unauthenticated => Kind::Unauthenticated,
            AppError::Forbidden(_) => Kind::Forbidden,
            AppError::NotFound(_) => Kind::NotFound,
            AppError::Invalid { .. } | AppError::Fields(_) | AppError::Request(_) => Kind::Invalid,
            AppError::Conflict(_) => Kind::Conflict,
            AppError::RateLimited(_) => Kind::RateLimited,
            AppError::Unavailable(_) => Kind::Unavailable,
            AppError::Upstream(_) => Kind::BadGateway,
            AppError::Internal => Kind::Internal,
        };
        let mut problem = Problem::new(public_url, kind, error.to_string());
        problem.errors = match error {
            AppError::Invalid { field, message } => vec![FieldError {
                field: field.clone(),
                message: message.clone(),
            }],
            AppError::Fields(list) => list
                .iter()
                .map(|(field, message)| FieldError {
                    field: field.clone(),
                    message: message.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        problem
    }

    pub fn with_instance(mut self, request_id: Option<String>) -> Problem {
        self.instance = request_id.map(|id| format!("urn:gatehouse:request:{id}"));
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthenticated = self.kind == Some(Kind::Unauthenticated);
        let body = serde_json::to_string(&self).unwrap_or_else(|_| "{}".into());
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if unauthenticated {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_error_has_its_type_and_field_messages() {
        let p = Problem::from_error(
            "https://gh.example",
            &AppError::Fields(vec![("email".into(), "Email is required".into())]),
        );
        assert_eq!(p.status, 400);
        assert_eq!(p.kind_uri, "https://gh.example/api/v1/docs#problem-invalid");
        assert_eq!(
            p.errors,
            vec![FieldError {
                field: "email".into(),
                message: "Email is required".into()
            }]
        );
        let slugs: std::collections::HashSet<_> = Kind::ALL.iter().map(|k| k.slug()).collect();
        assert_eq!(slugs.len(), Kind::ALL.len(), "one type per kind");
    }
}
