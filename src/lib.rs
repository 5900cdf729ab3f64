//! Leadwire: the server package. Configuration, the command line, the HTTP surface
//! (REST routers, auth and tenancy middleware, OpenAPI) and the wiring of the
//! application on top of `leadwire-actors`, `leadwire-graphql` and `leadwire-mcp`.

pub mod cli;
pub mod config;
pub mod http;
pub mod startup;

pub use config::Config;
pub use startup::Application;
