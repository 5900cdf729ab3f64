//! Event filters of the active OU (inorganic and attribute filters), shared by REST,
//! GraphQL and MCP. Every change recompiles the OU's scoring config: live leads rescore
//! their events under the new velocity filters at once; attribute filters apply to
//! events arriving from then on (their verdict is stored with each event).

use leadwire_models::filters::{
    InorganicFilter, InorganicFilterInput, MetadataFilter, MetadataFilterInput, PreviewCount,
    PreviewInput,
};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::Core;

/// Events read per page by a preview scan.
const PREVIEW_PAGE: u32 = 2000;

impl Core {
    // ----- inorganic (velocity) filters -----

    pub async fn list_inorganic_filters(&self, t: &Tenant) -> Result<Vec<InorganicFilter>> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .inorganic_filters(&t.caller.org_id, &t.ou_id)
            .await?)
    }

    pub async fn create_inorganic_filter(
        &self,
        t: &Tenant,
        input: InorganicFilterInput,
    ) -> Result<InorganicFilter> {
        t.require(Access::Write)?;
        let now = time::format(&time::now());
        let mut f = InorganicFilter {
            filter_id: ids::new_id(ids::prefix::INORGANIC_FILTER),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            event_type: String::new(),
            count_threshold: 1,
            time_window_ms: 1,
            group_events: false,
            created_at: now.clone(),
            updated_at: now,
            created_by: Some(t.caller.email.clone()),
            updated_by: Some(t.caller.email.clone()),
        };
        input.apply(&mut f, true)?;
        self.store.put_inorganic_filter(&f).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(f)
    }

    pub async fn update_inorganic_filter(
        &self,
        t: &Tenant,
        id: &str,
        input: InorganicFilterInput,
    ) -> Result<InorganicFilter> {
        t.require(Access::Write)?;
        let mut f = self
            .store
            .inorganic_filter(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("filter"))?;
        input.apply(&mut f, false)?;
        f.updated_at = time::format(&time::now());
        f.updated_by = Some(t.caller.email.clone());
        self.store.put_inorganic_filter(&f).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(f)
    }

    pub async fn delete_inorganic_filter(&self, t: &Tenant, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        if !self
            .store
            .delete_inorganic_filter(&t.caller.org_id, &t.ou_id, id)
            .await?
        {
            return Err(DomainError::not_found("filter"));
        }
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    // ----- attribute (metadata) filters -----

    pub async fn list_metadata_filters(&self, t: &Tenant) -> Result<Vec<MetadataFilter>> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .metadata_filters(&t.caller.org_id, &t.ou_id)
            .await?)
    }

    pub async fn metadata_filter(&self, t: &Tenant, id: &str) -> Result<MetadataFilter> {
        t.require(Access::Read)?;
        self.store
            .metadata_filter(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("metadata filter"))
    }

    pub async fn create_metadata_filter(
        &self,
        t: &Tenant,
        input: MetadataFilterInput,
    ) -> Result<MetadataFilter> {
        t.require(Access::Write)?;
        let now = time::format(&time::now());
        let mut f = MetadataFilter {
            id: ids::new_id(ids::prefix::METADATA_FILTER),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            name: String::new(),
            event_type: String::new(),
            conditions: Vec::new(),
            enabled: true,
            suppressed_count: 0,
            created_at: now.clone(),
            updated_at: now,
            created_by: Some(t.caller.email.clone()),
            updated_by: Some(t.caller.email.clone()),
        };
        input.apply(&mut f, true)?;
        self.store.put_metadata_filter(&f).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(f)
    }

    pub async fn update_metadata_filter(
        &self,
        t: &Tenant,
        id: &str,
        input: MetadataFilterInput,
    ) -> Result<MetadataFilter> {
        t.require(Access::Write)?;
        let mut f = self.metadata_filter(t, id).await?;
        input.apply(&mut f, false)?;
        f.updated_at = time::format(&time::now());
        f.updated_by = Some(t.caller.email.clone());
        self.store.put_metadata_filter(&f).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        self.metadata_filter(t, id).await
    }

    pub async fn delete_metadata_filter(&self, t: &Tenant, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        if !self
            .store
            .delete_metadata_filter(&t.caller.org_id, &t.ou_id, id)
            .await?
        {
            return Err(DomainError::not_found("metadata filter"));
        }
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    /// How many of the OU's stored events the conditions would suppress: the same
    /// predicate the engine applies to arriving events, over every event; nothing changes.
    pub async fn preview_metadata_filter(
        &self,
        t: &Tenant,
        input: PreviewInput,
    ) -> Result<PreviewCount> {
        t.require(Access::Read)?;
        input.validate()?;
        let scope = input.event_type.as_deref().filter(|s| !s.trim().is_empty());
        let mut after = String::new();
        let mut count = 0u64;
        loop {
            let page = self
                .store
                .events_page(&t.caller.org_id, &t.ou_id, scope, &after, PREVIEW_PAGE)
                .await?;
            count += page
                .iter()
                .filter(|e| input.matches(&e.event_type, &e.metadata))
                .count() as u64;
            match page.last() {
                Some(last) if page.len() == PREVIEW_PAGE as usize => after = last.event_id.clone(),
                _ => break,
            }
        }
        Ok(PreviewCount { count })
    }
}
