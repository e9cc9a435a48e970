//! Domain services: the rules, each action in one transaction with its audit record.
pub mod apps;
pub mod audit;
pub mod audit_verify;
pub mod checkpoints;
pub mod console_sessions;
pub mod guids;
pub mod heavy;
pub mod jobs;
pub mod keys;
pub mod people;
pub mod rate_limit;
pub mod retention;
pub mod secrets;
pub mod support;
pub mod user_list;
pub mod users;
pub mod verify;
