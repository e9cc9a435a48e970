//! The one error type that crosses the wire. Messages are written for the person reading them;
//! internal details are logged on the server and never sent.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("You are not signed in.")]
    Unauthenticated,
    #[error("You do not have permission to {0}.")]
    Forbidden(String),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Several fields are wrong: (field, message) each.
    #[error("{}", .0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; "))]
    Fields(Vec<(String, String)>),
    #[error("{0}")]
    Conflict(String),
    #[error("Too many requests: {0}")]
    RateLimited(String),
    /// A service this action depends on cannot be reached now (e.g. the identity provider).
    #[error("{0}")]
    Unavailable(String),
    /// A system Gatehouse talks to on the caller's behalf (a provisioning target) did not
    /// answer, or answered with an error.
    #[error("{0}")]
    Upstream(String),
    #[error("Something went wrong on our side; it has been logged.")]
    Internal,
    #[error("The request could not be processed: {0}")]
    Request(String),
}

impl AppError {
    /// The message for one form field, if this error is about it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { field, message } if field == name => Some(message.clone()),
            AppError::Fields(list) => list.iter().find(|(f, _)| f == name).map(|(_, m)| m.clone()),
            _ => None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } | AppError::Fields(_) | AppError::Request(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::RateLimited(_) => 429,
            AppError::Unavailable(_) => 503,
            AppError::Upstream(_) => 502,
            AppError::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => AppError::Request(m),
            ServerFnErrorErr::Request(_) => {
                AppError::Request("the server could not be reached; check your connection".into())
            }
            _ => AppError::Internal,
        }
    }
}
