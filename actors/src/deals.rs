//! Deals of the active OU: create, read, list, update.

use leadwire_models::deals::{Deal, DealInput, DealListParams, DealPage, DealStatus};
use leadwire_models::page::PageParams;
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::Core;

impl Core {
    pub async fn list_deals(&self, t: &Tenant, p: DealListParams) -> Result<DealPage> {
        t.require(Access::Read)?;
        let page = PageParams {
            page: p.page,
            limit: p.limit,
        }
        .validate()?;
        let (deals, total) = self
            .store
            .list_deals(&t.caller.org_id, &t.ou_id, &p, page)
            .await?;
        Ok(DealPage {
            deals,
            total,
            page: page.page,
            limit: page.limit,
        })
    }

    pub async fn get_deal(&self, t: &Tenant, id: &str) -> Result<Deal> {
        t.require(Access::Read)?;
        self.store
            .deal(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("deal"))
    }

    /// Checks what the input links to (a lead and an account of the OU, an owner that is
    /// a rep of the OU or an org member) and applies it.
    async fn apply_deal(
        &self,
        t: &Tenant,
        deal: &mut Deal,
        input: DealInput,
        create: bool,
    ) -> Result<()> {
        let now = time::format(&time::now());
        input.apply(deal, create, &now)?;
        if let Some(Some(lead)) = &input.lead_id {
            // a merged-away lead id means the lead its history went to
            let current = self
                .current_lead(&t.caller.org_id, &t.ou_id, lead)
                .await
                .map_err(|e| match e.code {
                    leadwire_models::ErrorCode::NotFound => {
                        DomainError::invalid("lead_id", "no such lead in this org unit")
                    }
                    _ => e,
                })?;
            deal.lead_id = Some(current.id);
        }
        if let Some(Some(account)) = &input.account_id {
            self.store
                .account(&t.caller.org_id, &t.ou_id, account)
                .await?
                .filter(|a| a.merged_into.is_none())
                .ok_or_else(|| {
                    DomainError::invalid("account_id", "no such account in this org unit")
                })?;
        }
        match input.owner_id {
            Some(Some(owner)) => {
                let (id, name) = self.owner(t, Some(owner), input.owner_name.clone()).await?;
                deal.owner_id = id;
                deal.owner_name = name;
            }
            Some(None) => {
                deal.owner_id = None;
                deal.owner_name = None;
            }
            None => {
                if let Some(n) = input.owner_name {
                    deal.owner_name =
                        Some(leadwire_models::validate::name("owner_name", &n, 1, 200)?);
                }
            }
        }
        deal.updated_at = now;
        Ok(())
    }

    /// Creates a deal (status open, stage `new` unless given).
    pub async fn create_deal(&self, t: &Tenant, input: DealInput) -> Result<Deal> {
        t.require(Access::Write)?;
        let now = time::format(&time::now());
        let mut deal = Deal::new(
            &t.caller.org_id,
            &t.ou_id,
            &ids::new_id(ids::prefix::DEAL),
            &now,
        );
        self.apply_deal(t, &mut deal, input, true).await?;
        self.store.put_deal(&deal).await?;
        self.after_deal_saved(t, &deal).await;
        Ok(deal)
    }

    /// Changes the fields sent; winning or losing stamps `closed_at`, reopening clears it.
    pub async fn update_deal(&self, t: &Tenant, id: &str, input: DealInput) -> Result<Deal> {
        t.require(Access::Write)?;
        let mut deal = self.get_deal(t, id).await?;
        self.apply_deal(t, &mut deal, input, false).await?;
        self.store.put_deal(&deal).await?;
        self.after_deal_saved(t, &deal).await;
        Ok(deal)
    }

    /// A won deal converts its lead's pending assignments at once. Should that fail, the
    /// sweep still finds the won deal when the window closes.
    async fn after_deal_saved(&self, t: &Tenant, deal: &Deal) {
        if let (DealStatus::Won, Some(lead_id)) = (deal.status, &deal.lead_id) {
            if let Err(e) = self.deal_won(t, lead_id).await {
                tracing::warn!(deal_id = %deal.deal_id, error = %e.message, "deal-conversion-failed");
            }
        }
    }
}
