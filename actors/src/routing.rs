//! Predictive routing of the active OU: its configuration.

use leadwire_models::routing::config::{RoutingConfig, RoutingConfigInput};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{time, Result};

use crate::Core;

impl Core {
    /// The OU's routing configuration (the defaults until it is first changed).
    pub async fn routing_config(&self, t: &Tenant) -> Result<RoutingConfig> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .routing_config(&t.caller.org_id, &t.ou_id)
            .await?
            .unwrap_or_default())
    }

    /// Changes the fields sent; OU Owners only (it decides what is routed automatically).
    pub async fn put_routing_config(
        &self,
        t: &Tenant,
        input: RoutingConfigInput,
    ) -> Result<RoutingConfig> {
        t.require(Access::Manage)?;
        let mut config = input.apply(self.routing_config(t).await?)?;
        config.updated_at = Some(time::format(&time::now()));
        config.updated_by = Some(t.caller.member_id.clone());
        self.store
            .put_routing_config(&t.caller.org_id, &t.ou_id, &config)
            .await?;
        Ok(config)
    }
}
