//! leadwire-models: the domain types and pure engines of Leadwire.
//!
//! Nothing in this crate does IO, spawns tasks or knows about HTTP, SurrealDB or actors.
//! Everything here can be unit- and property-tested in isolation.

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod deals;
pub mod decay;
pub mod error;
pub mod event_types;
pub mod events;
pub mod explain;
pub mod filters;
pub mod ids;
pub mod import;
pub mod leads;
pub mod levels;
pub mod page;
pub mod profile;
pub mod ratelimit;
pub mod reps;
pub mod routing;
pub mod rules;
pub mod scoring;
pub mod settings;
pub mod tenancy;
pub mod time;
pub mod validate;

pub use error::{DomainError, ErrorCode, Result};
