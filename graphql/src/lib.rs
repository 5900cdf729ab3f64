//! leadwire-graphql: the GraphQL schema over the same `Core` capabilities REST uses.
//!
//! Every operation runs in a [`Session`]: the caller the server's auth layer resolved (the
//! same one REST uses, or the `connection_init` payload on a WebSocket) and the OU the
//! request asked for. Resolvers without a caller answer "unauthenticated" and no data; ids
//! of another OU are "not found", as on REST.

mod errors;
mod loaders;
mod mutation;
mod query;
mod session;
mod subscription;
mod types;
mod variables;

use async_graphql::Schema;
use leadwire_actors::Core;

pub use mutation::Mutation;
pub use query::Query;
pub use session::{connection_init, Session};
pub use subscription::Subscription;

pub type LeadwireSchema = Schema<Query, Mutation, Subscription>;

/// Limits that keep a single query's cost bounded: a page of 100 leads with their scores,
/// aliases, account and why-summary fits; 100 leads with 100 events each does not.
pub const MAX_DEPTH: usize = 10;
pub const MAX_COMPLEXITY: usize = 5_000;

pub fn build_schema(core: Core) -> LeadwireSchema {
    Schema::build(Query, Mutation, Subscription)
        .data(core)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(errors::ErrorShape)
        .extension(variables::UnsentVariables)
        .finish()
}

/// The SDL of the schema (checked in as `schema.graphql`).
pub fn sdl() -> String {
    Schema::build(Query, Mutation, Subscription).finish().sdl()
}
