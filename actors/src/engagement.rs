//! Engagement scoring operations shared by REST, GraphQL and MCP: rulesets, rules, event
//! ingestion, leads and their live scores.

use leadwire_models::events::{EventInput, MAX_BATCH};
use leadwire_models::leads::{Lead, LeadInput, LeadScore};
use leadwire_models::rules::{Rule, RuleInput, Ruleset, RulesetInput};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::engine::IngestAck;
use crate::tenancy::duplicate_as;
use crate::Core;

/// The outcome of one item of a batch ingest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct BatchItem {
    pub index: usize,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<IngestAck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
}

impl Core {
    // ----- rulesets -----

    pub async fn list_rulesets(&self, t: &Tenant) -> Result<Vec<Ruleset>> {
        t.require(Access::Read)?;
        Ok(self.store.rulesets(&t.caller.org_id, &t.ou_id).await?)
    }

    pub async fn create_ruleset(&self, t: &Tenant, input: RulesetInput) -> Result<Ruleset> {
        t.require(Access::Write)?;
        let (name, score_column) = input.validate()?;
        let now = time::format(&time::now());
        let existing = self.store.rulesets(&t.caller.org_id, &t.ou_id).await?;
        let rs = Ruleset {
            ruleset_id: ids::new_id(ids::prefix::RULESET),
            name,
            score_column,
            // the first ruleset of an OU is its primary one
            is_primary: input.is_primary || existing.is_empty(),
            created_at: now.clone(),
            updated_at: now,
        };
        self.store
            .create_ruleset(&t.caller.org_id, &t.ou_id, &rs)
            .await
            .map_err(|e| duplicate_as(e, "a ruleset with this name already exists"))?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(rs)
    }

    pub async fn delete_ruleset(&self, t: &Tenant, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        if !self
            .store
            .delete_ruleset(&t.caller.org_id, &t.ou_id, id)
            .await?
        {
            return Err(DomainError::not_found("ruleset"));
        }
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    async fn ruleset_in(&self, t: &Tenant, id: &str) -> Result<Ruleset> {
        self.store
            .rulesets(&t.caller.org_id, &t.ou_id)
            .await?
            .into_iter()
            .find(|r| r.ruleset_id == id)
            .ok_or_else(|| DomainError::not_found("ruleset"))
    }

    // ----- rules -----

    pub async fn list_rules(&self, t: &Tenant, ruleset_id: Option<&str>) -> Result<Vec<Rule>> {
        t.require(Access::Read)?;
        if let Some(id) = ruleset_id {
            self.ruleset_in(t, id).await?;
        }
        Ok(self
            .store
            .rules(&t.caller.org_id, &t.ou_id, ruleset_id)
            .await?)
    }

    /// Creates a rule in the given ruleset, else in the primary one (made, named
    /// "Default", when the OU has none yet). It goes last in priority order.
    pub async fn create_rule(&self, t: &Tenant, input: RuleInput) -> Result<Rule> {
        t.require(Access::Write)?;
        let p = input.validate(true)?;
        let ruleset_id = match &p.ruleset_id {
            Some(id) => self.ruleset_in(t, id).await?.ruleset_id,
            None => {
                let sets = self.store.rulesets(&t.caller.org_id, &t.ou_id).await?;
                match sets.iter().find(|r| r.is_primary).or(sets.first()) {
                    Some(rs) => rs.ruleset_id.clone(),
                    None => {
                        let input = RulesetInput {
                            name: "Default".into(),
                            score_column: None,
                            is_primary: true,
                        };
                        self.create_ruleset(t, input).await?.ruleset_id
                    }
                }
            }
        };
        let siblings = self
            .store
            .rules(&t.caller.org_id, &t.ou_id, Some(&ruleset_id))
            .await?;
        let now = time::format(&time::now());
        let rule = Rule {
            rule_id: ids::new_id(ids::prefix::RULE),
            ruleset_id,
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            event_type: p.event_type.unwrap_or_default(),
            weight: p.weight.unwrap_or_default(),
            half_life_days: p.half_life_days.flatten(),
            icon: p.icon.flatten(),
            active: p.active.unwrap_or(true),
            start_at: p.start_at.flatten().map(|t| time::format(&t)),
            end_at: p.end_at.flatten().map(|t| time::format(&t)),
            priority: siblings.iter().map(|r| r.priority + 1).max().unwrap_or(0),
            created_at: now.clone(),
            updated_at: now,
            created_by: Some(t.caller.email.clone()),
            updated_by: Some(t.caller.email.clone()),
        };
        self.store.put_rule(&rule).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(rule)
    }

    /// Updates the fields sent; a rule may move to another ruleset of the OU.
    pub async fn update_rule(&self, t: &Tenant, id: &str, input: RuleInput) -> Result<Rule> {
        t.require(Access::Write)?;
        let p = input.validate(false)?;
        let mut rule = self
            .store
            .rule(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("rule"))?;
        if let Some(rs) = &p.ruleset_id {
            rule.ruleset_id = self.ruleset_in(t, rs).await?.ruleset_id;
        }
        if let Some(v) = p.event_type {
            rule.event_type = v;
        }
        if let Some(v) = p.weight {
            rule.weight = v;
        }
        if let Some(v) = p.half_life_days {
            rule.half_life_days = v;
        }
        if let Some(v) = p.icon {
            rule.icon = v;
        }
        if let Some(v) = p.active {
            rule.active = v;
        }
        if let Some(v) = p.start_at {
            rule.start_at = v.map(|t| time::format(&t));
        }
        if let Some(v) = p.end_at {
            rule.end_at = v.map(|t| time::format(&t));
        }
        if let (Some(s), Some(e)) = (&rule.start_at, &rule.end_at) {
            if e < s {
                return Err(DomainError::invalid(
                    "end_at",
                    "must not be before start_at",
                ));
            }
        }
        rule.updated_at = time::format(&time::now());
        rule.updated_by = Some(t.caller.email.clone());
        self.store.put_rule(&rule).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(rule)
    }

    pub async fn delete_rule(&self, t: &Tenant, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        if !self
            .store
            .delete_rule(&t.caller.org_id, &t.ou_id, id)
            .await?
        {
            return Err(DomainError::not_found("rule"));
        }
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    /// Sets the priority order of a ruleset's rules: `rule_ids` must list each of its
    /// rules exactly once.
    pub async fn reorder_rules(
        &self,
        t: &Tenant,
        ruleset_id: &str,
        rule_ids: Vec<String>,
    ) -> Result<()> {
        t.require(Access::Write)?;
        self.ruleset_in(t, ruleset_id).await?;
        let rules = self
            .store
            .rules(&t.caller.org_id, &t.ou_id, Some(ruleset_id))
            .await?;
        let mut have: Vec<&str> = rules.iter().map(|r| r.rule_id.as_str()).collect();
        let mut sent: Vec<&str> = rule_ids.iter().map(String::as_str).collect();
        have.sort_unstable();
        sent.sort_unstable();
        if have != sent {
            return Err(DomainError::invalid(
                "rule_ids",
                "must list every rule of the ruleset exactly once",
            ));
        }
        self.store
            .reorder_rules(&t.caller.org_id, &t.ou_id, ruleset_id, &rule_ids)
            .await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    // ----- events -----

    /// Ingests one event; answers once it is durable.
    pub async fn ingest_event(&self, t: &Tenant, input: EventInput) -> Result<IngestAck> {
        t.require(Access::Write)?;
        let event = input.validate(time::now())?;
        let mut results = self
            .engine
            .ingest(&t.caller.org_id, &t.ou_id, vec![event])
            .await?;
        results
            .pop()
            .unwrap_or_else(|| Err(DomainError::internal()))
    }

    /// Ingests up to [`MAX_BATCH`] events; each item succeeds or fails on its own.
    pub async fn ingest_batch(
        &self,
        t: &Tenant,
        inputs: Vec<EventInput>,
    ) -> Result<Vec<BatchItem>> {
        t.require(Access::Write)?;
        if inputs.is_empty() || inputs.len() > MAX_BATCH {
            return Err(DomainError::invalid(
                "events",
                format!("send 1-{MAX_BATCH} events (got {})", inputs.len()),
            ));
        }
        let now = time::now();
        let mut items: Vec<Option<BatchItem>> = vec![None; inputs.len()];
        let mut valid = Vec::new();
        let mut positions = Vec::new();
        for (i, input) in inputs.into_iter().enumerate() {
            match input.validate(now) {
                Ok(e) => {
                    valid.push(e);
                    positions.push(i);
                }
                Err(e) => items[i] = Some(failed_item(i, e)),
            }
        }
        if !valid.is_empty() {
            let results = self
                .engine
                .ingest(&t.caller.org_id, &t.ou_id, valid)
                .await?;
            for (i, r) in positions.into_iter().zip(results) {
                items[i] = Some(match r {
                    Ok(ack) => BatchItem {
                        index: i,
                        status: 201,
                        result: Some(ack),
                        error: None,
                    },
                    Err(e) => failed_item(i, e),
                });
            }
        }
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, item)| item.unwrap_or_else(|| failed_item(i, DomainError::internal())))
            .collect())
    }

    // ----- leads -----

    pub async fn create_lead(&self, t: &Tenant, input: LeadInput) -> Result<Lead> {
        t.require(Access::Write)?;
        let new = input.validate()?;
        let now = time::format(&time::now());
        let lead = Lead {
            id: new.id,
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            account_id: new.account_id,
            owner_id: None,
            owner_name: None,
            created_at: now.clone(),
            updated_at: now,
            merged_into: None,
            metadata: new.metadata,
            score: 0.0,
            scores: Default::default(),
            last_event_at: None,
            last_event_type: None,
            score_reset_at: None,
        };
        self.store
            .create_lead(&lead)
            .await
            .map_err(|e| duplicate_as(e, "a lead with this id already exists"))?;
        Ok(lead)
    }

    /// A lead of the OU with its live scores.
    pub async fn get_lead(&self, t: &Tenant, lead_id: &str) -> Result<Lead> {
        t.require(Access::Read)?;
        let mut lead = self
            .store
            .lead(&t.caller.org_id, &t.ou_id, lead_id)
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))?;
        if lead.merged_into.is_none() {
            if let Some(s) = self
                .engine
                .scores(&t.caller.org_id, &t.ou_id, lead_id)
                .await?
            {
                lead.score = s.score;
                lead.scores = s.scores;
            }
        }
        Ok(lead)
    }

    /// A lead's live score: the highest across rulesets, or one ruleset's.
    pub async fn lead_score(
        &self,
        t: &Tenant,
        lead_id: &str,
        ruleset_id: Option<&str>,
    ) -> Result<LeadScore> {
        t.require(Access::Read)?;
        let scores = self
            .engine
            .scores(&t.caller.org_id, &t.ou_id, lead_id)
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))?;
        let score = match ruleset_id {
            None => scores.score,
            Some(id) => {
                self.ruleset_in(t, id).await?;
                scores.scores.get(id).copied().unwrap_or(0.0)
            }
        };
        Ok(LeadScore {
            lead_id: lead_id.to_string(),
            score,
            ruleset_id: ruleset_id.map(str::to_string),
            disqualified: false,
        })
    }

    /// A lead's events in time order.
    pub async fn lead_events(
        &self,
        t: &Tenant,
        lead_id: &str,
    ) -> Result<Vec<leadwire_models::events::StoredEvent>> {
        t.require(Access::Read)?;
        if self
            .store
            .lead(&t.caller.org_id, &t.ou_id, lead_id)
            .await?
            .is_none()
        {
            return Err(DomainError::not_found("lead"));
        }
        Ok(self
            .store
            .lead_events(&t.caller.org_id, &t.ou_id, lead_id)
            .await?)
    }
}

fn failed_item(index: usize, e: DomainError) -> BatchItem {
    BatchItem {
        index,
        status: e.code.http_status(),
        result: None,
        error: Some(e.body()["error"].clone()),
    }
}
