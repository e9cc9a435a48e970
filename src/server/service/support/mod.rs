//! The support desk's rules, one file per concept: MFA factors, the MFA reset with its one-time
//! re-enrollment link, the staff and person guard rails that protect both the reset and the
//! unlock, the desk's views (search, glance, trail) and devices with their trust. Each change
//! runs in one transaction with its audit record; every MFA reset and unlock attempt, allowed or
//! refused, is audited.
mod desk;
mod devices;
mod factors;
mod links;
mod reset;
mod staff;
mod unlock;

pub use desk::*;
pub use devices::*;
pub use factors::*;
pub use links::*;
pub use reset::*;
pub use staff::*;
pub use unlock::*;

use crate::model::users::UserDetail;
use crate::model::AppError;
use crate::server::db::{self, Tx};
use crate::server::internal;

fn not_found_user() -> AppError {
    AppError::NotFound("The user".into())
}

async fn user_in_tx(tx: &mut Tx, id: &str) -> Result<UserDetail, AppError> {
    db::users::get(tx, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(not_found_user)
}

fn trimmed(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The first `n` characters, for audit details of refused (possibly hostile) input.
fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
