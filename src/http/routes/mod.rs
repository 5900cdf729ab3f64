//! REST routes, one module per resource. Every `/v1` route is registered through
//! `utoipa_axum::routes!`, so it cannot exist without its OpenAPI description.

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod auth;
pub mod deals;
pub mod decays;
pub mod events;
pub mod filters;
pub mod leads;
pub mod levels;
pub mod me;
pub mod members;
pub mod org_units;
pub mod profile;
pub mod public;
pub mod reps;
pub mod root;
pub mod routing;
pub mod rules;
pub mod settings;
pub mod stream;
