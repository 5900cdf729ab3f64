//! DataLoaders: the nested fields of a page of leads (aliases, account, recent events,
//! why-summary) are each loaded for the whole page in one batch, so a page of 100 leads
//! costs a bounded number of store queries whatever its size.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Error;
use leadwire_actors::Core;
use leadwire_models::accounts::Account;
use leadwire_models::events::StoredEvent;
use leadwire_models::leads::LeadAlias;
use leadwire_models::tenancy::Tenant;

use crate::session::gql_error;

/// Most events the `events` field of a lead returns.
pub const MAX_LEAD_EVENTS: usize = 100;
/// Most lead ids one why batch takes (the core's limit).
const WHY_CHUNK: usize = 200;

pub(crate) struct Loaders {
    pub aliases: DataLoader<AliasLoader>,
    pub accounts: DataLoader<AccountLoader>,
    pub events: DataLoader<EventLoader>,
    pub why: DataLoader<WhyLoader>,
}

/// How long a loader gathers keys before it loads them. The resolvers of a page's leads run
/// on several threads and reach their loader over a span of time (longer under load, and in
/// debug builds); 1 ms (async-graphql's default) split a page of 40 leads into dozens of
/// batches on a multi-threaded runtime.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

impl Loaders {
    pub fn new(core: Core, tenant: Tenant) -> Loaders {
        let scope = Scope { core, tenant };
        Loaders {
            aliases: DataLoader::new(AliasLoader(scope.clone()), tokio::spawn).delay(GATHER),
            accounts: DataLoader::new(AccountLoader(scope.clone()), tokio::spawn).delay(GATHER),
            events: DataLoader::new(EventLoader(scope.clone()), tokio::spawn).delay(GATHER),
            why: DataLoader::new(WhyLoader(scope), tokio::spawn).delay(GATHER),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Scope {
    core: Core,
    tenant: Tenant,
}

pub(crate) struct AliasLoader(Scope);
pub(crate) struct AccountLoader(Scope);
pub(crate) struct EventLoader(Scope);
pub(crate) struct WhyLoader(Scope);

impl Loader<String> for AliasLoader {
    type Value = Vec<LeadAlias>;
    type Error = Error;
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Vec<LeadAlias>>, Error> {
        let found = self
            .0
            .core
            .aliases_of_leads(&self.0.tenant, keys)
            .await
            .map_err(gql_error)?;
        Ok(found.into_iter().collect())
    }
}

impl Loader<String> for AccountLoader {
    type Value = Account;
    type Error = Error;
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Account>, Error> {
        let found = self
            .0
            .core
            .accounts_by_ids(&self.0.tenant, keys)
            .await
            .map_err(gql_error)?;
        Ok(found.into_iter().collect())
    }
}

impl Loader<String> for EventLoader {
    type Value = Vec<StoredEvent>;
    type Error = Error;
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Vec<StoredEvent>>, Error> {
        let found = self
            .0
            .core
            .recent_events_of_leads(&self.0.tenant, keys, MAX_LEAD_EVENTS)
            .await
            .map_err(gql_error)?;
        Ok(found.into_iter().collect())
    }
}

impl Loader<String> for WhyLoader {
    type Value = String;
    type Error = Error;
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, String>, Error> {
        let mut out = HashMap::new();
        for chunk in keys.chunks(WHY_CHUNK) {
            let batch = self
                .0
                .core
                .why_of_leads(&self.0.tenant, chunk.to_vec())
                .await
                .map_err(gql_error)?;
            out.extend(batch.summaries);
        }
        Ok(out)
    }
}
