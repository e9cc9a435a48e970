//! The management REST API, `/api/v1/` (issue 13; design in docs/decisions.md). Bearer tokens
//! only, never cookies; every handler authenticates, authorizes with the token's scope and calls
//! the same service function as the console.
pub mod problem;
