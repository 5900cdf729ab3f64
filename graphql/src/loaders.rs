//! The nested fields of leads (aliases, account, recent events, why-summary): a page of
//! leads loads each selected one for the whole page in one batch before its leads resolve
//! ([`prefetch`]), so a page of 100 leads costs a fixed number of store queries whatever
//! its size; a lead elsewhere (a mutation's result, `lead(id)`) goes through DataLoaders.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Error;
use leadwire_actors::Core;
use leadwire_models::accounts::Account;
use leadwire_models::events::StoredEvent;
use leadwire_models::leads::LeadAlias;
use leadwire_models::tenancy::Tenant;

use crate::session::gql_error;
use crate::types::LeadNode;

/// Most events the `events` field of a lead returns.
pub const MAX_LEAD_EVENTS: usize = 100;
/// Most lead ids one why batch takes (the core's limit).
const WHY_CHUNK: usize = 200;

/// Loads, for every lead of a page at once, the nested fields `selection` (the page's
/// `leads` selection) asks for: one batch per field, whatever the page's size and however
/// its resolvers are scheduled.
pub(crate) async fn prefetch(
    core: &Core,
    tenant: &Tenant,
    selection: async_graphql::Lookahead<'_>,
    nodes: &mut [LeadNode],
) -> Result<(), Error> {
    let ids: Vec<String> = nodes.iter().map(|n| n.lead.id.clone()).collect();
    if selection.field("aliases").exists() {
        let mut found = core
            .aliases_of_leads(tenant, &ids)
            .await
            .map_err(gql_error)?;
        for n in nodes.iter_mut() {
            n.prefetched.aliases = Some(found.remove(&n.lead.id).unwrap_or_default());
        }
    }
    if selection.field("account").exists() {
        let accounts: Vec<String> = nodes
            .iter()
            .filter_map(|n| n.lead.account_id.clone())
            .collect();
        let found = core
            .accounts_by_ids(tenant, &accounts)
            .await
            .map_err(gql_error)?;
        for n in nodes.iter_mut() {
            let account = n.lead.account_id.as_ref().and_then(|a| found.get(a));
            n.prefetched.account = Some(account.cloned());
        }
    }
    if selection.field("events").exists() {
        let mut found = core
            .recent_events_of_leads(tenant, &ids, MAX_LEAD_EVENTS)
            .await
            .map_err(gql_error)?;
        for n in nodes.iter_mut() {
            n.prefetched.events = Some(found.remove(&n.lead.id).unwrap_or_default());
        }
    }
    if selection.field("whySummary").exists() {
        let mut found = HashMap::new();
        for chunk in ids.chunks(WHY_CHUNK) {
            let batch = core
                .why_of_leads(tenant, chunk.to_vec())
                .await
                .map_err(gql_error)?;
            found.extend(batch.summaries);
        }
        for n in nodes.iter_mut() {
            n.prefetched.why = Some(found.remove(&n.lead.id).unwrap_or_default());
        }
    }
    Ok(())
}

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
