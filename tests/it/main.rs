//! Integration tests: the real server against a real database (SQLite or PostgreSQL, chosen by
//! GATEHOUSE_TEST_DB) and the real dev identity provider (TEST_IDP_ISSUER). `make test` runs
//! this suite once per engine.
mod common;

mod api_tokens;
mod api_v1;
mod api_v1_bodies;
mod api_v1_matrix;
mod apps;
mod audit_chain;
mod audit_checkpoint_tools;
mod audit_checkpoints;
mod audit_retention;
mod audit_search;
mod audit_sinks;
mod audit_sinks_console;
mod authz_matrix;
mod background;
mod backup;
mod concurrency;
mod coverage;
mod edges;
mod groups;
mod hardening_http;
mod hardening_sessions;
mod import;
mod log_secrets;
mod people;
mod provisioning_groups;
mod provisioning_out;
mod provisioning_purge;
mod reconcile;
mod revocations;
mod scim_groups;
mod scim_matching;
mod scim_users;
mod sign_in;
mod sign_in_provider;
mod signals;
mod signals_in;
mod support;
mod support_guards;
mod tokens_console;
mod user_search;
mod users;
mod users_hardening;
mod webhooks;
