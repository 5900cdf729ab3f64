//! Leadwire: the server package. Configuration, the command line, the HTTP surface
//! (REST routers, auth and tenancy middleware, OpenAPI) and the wiring of the
//! application on top of `leadwire-actors`, `leadwire-graphql` and `leadwire-mcp`.

pub mod cli;
pub mod config;
pub mod http;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// The process allocator, for the server binary and everything that links this package
/// (its tests and benches run on what production runs). The storage engine allocates and
/// frees many small buffers per statement; under glibc's malloc that was about a quarter
/// of the ingest path's CPU (see benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
