//! leadwire-graphql: the GraphQL schema over the same `Core` capabilities REST uses.
//!
//! The caller is placed in the request data by the server's auth layer (the same one REST
//! uses); resolvers without a caller answer "unauthenticated" and no data.

mod query;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use leadwire_actors::Core;

pub use query::Query;

/// The OU a request asked for (`X-OU-Id` header or `activeOu` cookie).
#[derive(Debug, Clone)]
pub struct RequestedOu(pub String);

pub type LeadwireSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Limits that keep a single query's cost bounded.
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 2_000;

pub fn build_schema(core: Core) -> LeadwireSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(core)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The SDL of the schema (checked in as `schema.graphql`).
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
