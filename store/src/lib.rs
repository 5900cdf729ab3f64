//! leadwire-store: the SurrealDB schema, its migrations and the repositories.
//!
//! The only crate that speaks SurrealQL. Every query is parameterised; every
//! tenant-owned row is read and written with its `org_id` (and `ou_id`) as arguments.
//! Rows travel as JSON (`serde_json::Value`) and are decoded into `leadwire-models`
//! types, so the domain crate never depends on the database.

mod accounts;
pub mod analytics;
pub mod audit;
mod auth;
mod db;
mod deals;
pub mod engagement;
mod error;
mod filters;
mod levels;
mod memo;
mod migrate;
mod profile;
mod reps;
pub mod routing;
mod settings;
mod tenancy;

pub use db::{Store, StoreOptions};
pub use engagement::{AccountMetadataPatch, Footprint, ScoreUpdate, StoredLead, WriteBatch};
pub use error::StoreError;
pub use filters::ScoringSetup;
pub use migrate::MIGRATIONS;
pub use tenancy::{MemberPatch, NewMember};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
