//! Domain services: the rules, each action in one transaction with its audit record.
pub mod audit;
pub mod checkpoints;
pub mod jobs;
pub mod people;
pub mod retention;
pub mod support;
pub mod users;
