//! Predictive routing: the configuration of each OU.

use leadwire_models::routing::config::RoutingConfig;
use serde_json::json;

use crate::{Result, Store};

impl Store {
    /// The OU's routing configuration, if it was ever set.
    pub async fn routing_config(&self, org_id: &str, ou_id: &str) -> Result<Option<RoutingConfig>> {
        self.row(
            "SELECT VALUE config FROM type::record('routing_config', $ou) WHERE org_id = $org",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    pub async fn put_routing_config(
        &self,
        org_id: &str,
        ou_id: &str,
        config: &RoutingConfig,
    ) -> Result<()> {
        self.run(
            "UPSERT type::record('routing_config', $ou) CONTENT { org_id: $org, ou_id: $ou, config: $c }",
            json!({ "org": org_id, "ou": ou_id, "c": config }),
        )
        .await?;
        Ok(())
    }
}
