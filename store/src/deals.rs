//! Deals of an OU.

use leadwire_models::deals::{Deal, DealListParams};
use leadwire_models::page::PageRequest;
use serde_json::json;

use crate::filters::row;
use crate::{Result, Store};

impl Store {
    /// Creates or replaces a deal.
    pub async fn put_deal(&self, deal: &Deal) -> Result<()> {
        self.run(
            "UPSERT type::record('deal', $id) CONTENT $c",
            json!({ "id": deal.deal_id, "c": row(deal, &deal.unit_id, "")? }),
        )
        .await?;
        Ok(())
    }

    /// A deal of the OU.
    pub async fn deal(&self, org_id: &str, ou_id: &str, id: &str) -> Result<Option<Deal>> {
        self.row(
            "SELECT * FROM type::record('deal', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// A page of the OU's deals, newest first, and how many match.
    pub async fn list_deals(
        &self,
        org_id: &str,
        ou_id: &str,
        f: &DealListParams,
        page: PageRequest,
    ) -> Result<(Vec<Deal>, u64)> {
        let mut cond = String::from("org_id = $org AND ou_id = $ou");
        for (field, set) in [
            ("status", f.status.is_some()),
            ("lead_id", f.lead_id.is_some()),
            ("account_id", f.account_id.is_some()),
            ("owner_id", f.owner_id.is_some()),
            ("stage", f.stage.is_some()),
        ] {
            if set {
                cond.push_str(&format!(" AND {field} = ${field}"));
            }
        }
        let vars = json!({
            "org": org_id, "ou": ou_id, "status": f.status, "lead_id": f.lead_id,
            "account_id": f.account_id, "owner_id": f.owner_id, "stage": f.stage,
            "start": page.offset(), "limit": page.limit,
        });
        let deals: Vec<Deal> = self
            .rows(
                &format!(
                    "SELECT * FROM deal WHERE {cond} ORDER BY created_at DESC, deal_id DESC LIMIT $limit START $start"
                ),
                vars.clone(),
                0,
            )
            .await?;
        let total: Option<serde_json::Value> = self
            .row(
                &format!("SELECT count() FROM deal WHERE {cond} GROUP ALL"),
                vars,
                0,
            )
            .await?;
        Ok((deals, total.and_then(|t| t["count"].as_u64()).unwrap_or(0)))
    }
}
