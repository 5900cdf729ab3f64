//! Scoring settings of the active OU, shared by REST, GraphQL and MCP: inactivity decay
//! rules, the surge session policy and the scoring toggles. Every change recompiles the
//! OU's scoring config (for an org-wide toggle: every OU of the org), so live scores move
//! at once and stored scores follow within a wake pass.

use leadwire_models::decay::{DecayRule, DecayRuleInput, DecayUnit, MAX_RULES};
use leadwire_models::settings::{
    ScoringSettings, ScoringSettingsInput, SurgePolicyInput, SurgePolicyView,
};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::Core;

impl Core {
    // ----- inactivity decay rules -----

    pub async fn list_decay_rules(&self, t: &Tenant) -> Result<Vec<DecayRule>> {
        t.require(Access::Read)?;
        Ok(self.store.decay_rules(&t.caller.org_id, &t.ou_id).await?)
    }

    pub async fn create_decay_rule(&self, t: &Tenant, input: DecayRuleInput) -> Result<DecayRule> {
        t.require(Access::Write)?;
        if self
            .store
            .decay_rules(&t.caller.org_id, &t.ou_id)
            .await?
            .len()
            >= MAX_RULES
        {
            return Err(DomainError::conflict(format!(
                "an org unit has at most {MAX_RULES} decay rules"
            )));
        }
        let now = time::format(&time::now());
        let mut r = DecayRule {
            decay_id: ids::new_id(ids::prefix::DECAY),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            inactive_for: 1,
            unit: DecayUnit::Days,
            decrease: 1,
            created_at: now.clone(),
            updated_at: now,
            created_by: Some(t.caller.email.clone()),
            updated_by: Some(t.caller.email.clone()),
        };
        input.apply(&mut r, true)?;
        self.store.put_decay_rule(&r).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(r)
    }

    pub async fn update_decay_rule(
        &self,
        t: &Tenant,
        id: &str,
        input: DecayRuleInput,
    ) -> Result<DecayRule> {
        t.require(Access::Write)?;
        let mut r = self
            .store
            .decay_rule(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("decay rule"))?;
        input.apply(&mut r, false)?;
        r.updated_at = time::format(&time::now());
        r.updated_by = Some(t.caller.email.clone());
        self.store.put_decay_rule(&r).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(r)
    }

    pub async fn delete_decay_rule(&self, t: &Tenant, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        if !self
            .store
            .delete_decay_rule(&t.caller.org_id, &t.ou_id, id)
            .await?
        {
            return Err(DomainError::not_found("decay rule"));
        }
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    // ----- surge session policy -----

    pub async fn surge_policy(&self, t: &Tenant) -> Result<SurgePolicyView> {
        t.require(Access::Read)?;
        let own = self.store.surge_policy(&t.caller.org_id, &t.ou_id).await?;
        let customised = own.is_some();
        Ok(SurgePolicyView::of(
            &t.caller.org_id,
            &t.ou_id,
            &own.unwrap_or_default(),
            customised,
        ))
    }

    pub async fn put_surge_policy(
        &self,
        t: &Tenant,
        input: SurgePolicyInput,
    ) -> Result<SurgePolicyView> {
        t.require(Access::Manage)?;
        let current = self
            .store
            .surge_policy(&t.caller.org_id, &t.ou_id)
            .await?
            .unwrap_or_default();
        let next = input.apply(&current)?;
        self.store
            .put_surge_policy(&t.caller.org_id, &t.ou_id, &next, &t.caller.email)
            .await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(SurgePolicyView::of(&t.caller.org_id, &t.ou_id, &next, true))
    }

    // ----- scoring settings -----

    pub async fn scoring_settings(&self, t: &Tenant) -> Result<ScoringSettings> {
        t.require(Access::Read)?;
        let org = self.store.org_scoring(&t.caller.org_id).await?;
        let surge = self
            .store
            .surge_policy(&t.caller.org_id, &t.ou_id)
            .await?
            .unwrap_or_default();
        Ok(ScoringSettings::of(&org, &surge))
    }

    /// Org-wide toggles need the Owner role; so does the OU's session timeout.
    pub async fn put_scoring_settings(
        &self,
        t: &Tenant,
        input: ScoringSettingsInput,
    ) -> Result<ScoringSettings> {
        t.require(Access::Manage)?;
        let org_id = &t.caller.org_id;
        let mut org = self.store.org_scoring(org_id).await?;
        let mut surge = self
            .store
            .surge_policy(org_id, &t.ou_id)
            .await?
            .unwrap_or_default();
        let negative_before = org.allow_negative_scores;
        input.apply(&mut org, &mut surge)?;
        self.store
            .put_org_scoring(org_id, &org, &t.caller.email)
            .await?;
        if input.session_timeout_minutes.is_some() {
            self.store
                .put_surge_policy(org_id, &t.ou_id, &surge, &t.caller.email)
                .await?;
        }
        if org.allow_negative_scores != negative_before {
            for ou in self.store.org_units(org_id).await? {
                self.engine.reload(org_id, &ou.id).await?;
            }
        } else if input.session_timeout_minutes.is_some() {
            self.engine.reload(org_id, &t.ou_id).await?;
        }
        Ok(ScoringSettings::of(&org, &surge))
    }
}
