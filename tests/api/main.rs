//! End-to-end tests: the real server on an ephemeral port, real HTTP clients.

mod accounts;
mod auth;
mod deals;
mod decay;
mod errors;
mod event_types;
mod events;
mod filters;
mod graphql;
mod helpers;
mod leads;
mod levels;
mod mcp;
mod openapi;
mod operator;
mod profile;
mod reps;
mod retries;
mod routing;
mod scoring;
mod tenancy;
