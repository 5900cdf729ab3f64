//! Engagement scoring operations shared by REST, GraphQL and MCP: rulesets, rules, event
//! ingestion, leads and their live scores.

use leadwire_models::events::{EventInput, MAX_BATCH};
use leadwire_models::rules::{Rule, RuleInput, Ruleset, RulesetInput, RulesetPatch};
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

    /// Renames a ruleset, changes its score column or makes it the primary one (only
    /// the fields sent change). The primary flag moves only by making another ruleset
    /// primary: an OU always has one.
    pub async fn update_ruleset(
        &self,
        t: &Tenant,
        id: &str,
        patch: RulesetPatch,
    ) -> Result<Ruleset> {
        t.require(Access::Write)?;
        let mut rs = patch.apply(self.ruleset_in(t, id).await?)?;
        rs.updated_at = time::format(&time::now());
        self.store
            .update_ruleset(&t.caller.org_id, &t.ou_id, &rs)
            .await
            .map_err(|e| duplicate_as(e, "a ruleset with this name already exists"))?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(rs)
    }

    /// Deletes a ruleset and its rules. When it was the primary one, the OU's oldest
    /// remaining ruleset becomes primary in the same transaction.
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

    pub(crate) async fn ruleset_in(&self, t: &Tenant, id: &str) -> Result<Ruleset> {
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
        let priority = self.next_priority(t, &ruleset_id).await?;
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
            priority,
            created_at: now.clone(),
            updated_at: now,
            created_by: Some(t.caller.email.clone()),
            updated_by: Some(t.caller.email.clone()),
        };
        self.store.put_rule(&rule).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(rule)
    }

    /// The priority after every rule of a ruleset: last in its order.
    async fn next_priority(&self, t: &Tenant, ruleset_id: &str) -> Result<u32> {
        let siblings = self
            .store
            .rules(&t.caller.org_id, &t.ou_id, Some(ruleset_id))
            .await?;
        Ok(siblings.iter().map(|r| r.priority + 1).max().unwrap_or(0))
    }

    /// Updates the fields sent; a rule may move to another ruleset of the OU (where it
    /// goes last in priority order).
    pub async fn update_rule(&self, t: &Tenant, id: &str, input: RuleInput) -> Result<Rule> {
        t.require(Access::Write)?;
        let p = input.validate(false)?;
        let mut rule = self
            .store
            .rule(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("rule"))?;
        if let Some(rs) = &p.ruleset_id {
            let target = self.ruleset_in(t, rs).await?.ruleset_id;
            if target != rule.ruleset_id {
                // a moved rule goes last in its new ruleset, as a new one would
                rule.priority = self.next_priority(t, &target).await?;
                rule.ruleset_id = target;
            }
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
                        status: if ack.duplicate { 200 } else { 201 },
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
}

fn failed_item(index: usize, e: DomainError) -> BatchItem {
    let e = e.within(&format!("events[{index}]"));
    BatchItem {
        index,
        status: e.code.http_status(),
        result: None,
        error: Some(e.body()["error"].clone()),
    }
}

/// Most events one batch delete may name.
pub const MAX_DELETE_EVENTS: usize = 1000;
/// Most events one CSV export writes.
pub const EVENT_EXPORT_LIMIT: u32 = 100_000;
/// How many of a type's newest events are sampled for its metadata keys.
pub const PROPERTY_SAMPLE: u32 = 1000;

impl Core {
    // ----- event queries -----

    /// A page of the OU's events, newest first.
    pub async fn list_events(
        &self,
        t: &Tenant,
        params: leadwire_models::events::EventListParams,
    ) -> Result<Vec<leadwire_models::events::StoredEvent>> {
        t.require(Access::Read)?;
        let mut f = params.validate()?;
        self.follow_merge(t, &mut f).await?;
        Ok(self
            .store
            .list_events(&t.caller.org_id, &t.ou_id, &f)
            .await?)
    }

    /// A `lead_id` filter naming a merged-away lead means the lead its history went to.
    async fn follow_merge(
        &self,
        t: &Tenant,
        f: &mut leadwire_models::events::EventFilter,
    ) -> Result<()> {
        let Some(id) = &f.lead_id else {
            return Ok(());
        };
        let merged = self
            .store
            .lead(&t.caller.org_id, &t.ou_id, id)
            .await?
            .is_some_and(|l| l.merged_into.is_some());
        if merged {
            let current = self.current_lead(&t.caller.org_id, &t.ou_id, id).await?;
            f.lead_id = Some(current.id);
        }
        Ok(())
    }

    /// The OU's events matching the filters as CSV (up to [`EVENT_EXPORT_LIMIT`]).
    pub async fn export_events(
        &self,
        t: &Tenant,
        mut params: leadwire_models::events::EventListParams,
    ) -> Result<String> {
        t.require(Access::Read)?;
        // every filter is checked as sent (a bad page or limit too), though the export
        // writes every matching event
        params.clone().validate()?;
        params.page = Some(1);
        params.limit = Some(leadwire_models::page::MAX_LIMIT);
        let mut f = params.validate()?;
        self.follow_merge(t, &mut f).await?;
        let mut w = crate::leads::csv_writer(&[
            "id",
            "lead_id",
            "event_type",
            "timestamp",
            "channel",
            "metadata",
        ]);
        let mut written = 0u32;
        loop {
            let events = self
                .store
                .list_events(&t.caller.org_id, &t.ou_id, &f)
                .await?;
            let n = events.len();
            for e in events {
                let metadata = serde_json::to_string(&e.metadata).unwrap_or_default();
                w.row(&[
                    &e.event_id,
                    &e.lead_id,
                    &e.event_type,
                    &e.occurred_at,
                    &e.channel,
                    &metadata,
                ]);
                written += 1;
            }
            if n < f.page.limit as usize || written >= EVENT_EXPORT_LIMIT {
                break;
            }
            f.page.page += 1;
        }
        Ok(w.finish())
    }

    /// What one event did to each ruleset's score.
    pub async fn explain_event(
        &self,
        t: &Tenant,
        event_id: &str,
    ) -> Result<leadwire_models::events::EventExplanation> {
        t.require(Access::Read)?;
        let e = self
            .store
            .event(&t.caller.org_id, &t.ou_id, event_id)
            .await?
            .ok_or_else(|| DomainError::not_found("event"))?;
        Ok(e.into())
    }

    /// Deletes events of the OU by id; their leads are rescored without them.
    pub async fn delete_events(
        &self,
        t: &Tenant,
        input: leadwire_models::events::EventIdsInput,
    ) -> Result<leadwire_models::events::DeletedEvents> {
        t.require(Access::Write)?;
        if input.ids.is_empty() || input.ids.len() > MAX_DELETE_EVENTS {
            return Err(DomainError::invalid(
                "ids",
                format!("must list 1-{MAX_DELETE_EVENTS} event ids"),
            ));
        }
        let mut ids = input.ids;
        ids.sort();
        ids.dedup();
        let found = self
            .store
            .events_by_ids(&t.caller.org_id, &t.ou_id, &ids)
            .await?;
        // the server's timeline entries (resets, inactivity decay) record what happened
        // to a score: deleting one would rewrite that history, so none is deleted
        let system: Vec<&str> = found
            .iter()
            .filter(|e| e.system)
            .map(|e| e.event_id.as_str())
            .collect();
        if !system.is_empty() {
            return Err(DomainError::invalid(
                "ids",
                format!(
                    "server timeline entries (score resets, inactivity decay) cannot be deleted: {}",
                    system.join(", ")
                ),
            ));
        }
        let mut by_lead: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for e in &found {
            by_lead
                .entry(e.lead_id.clone())
                .or_default()
                .push(e.event_id.clone());
        }
        let mut deleted = 0u64;
        for (lead_id, event_ids) in by_lead {
            let n = event_ids.len() as u64;
            self.engine
                .remove_events(&t.caller.org_id, &t.ou_id, &lead_id, event_ids)
                .await?;
            deleted += n;
        }
        let missing = ids
            .into_iter()
            .filter(|id| !found.iter().any(|e| &e.event_id == id))
            .collect();
        Ok(leadwire_models::events::DeletedEvents { deleted, missing })
    }

    /// Event types seen or named by rules, without the ones the OU hides.
    pub async fn event_types(&self, t: &Tenant) -> Result<Vec<String>> {
        t.require(Access::Read)?;
        let hidden: Vec<String> = self
            .store
            .event_type_settings(&t.caller.org_id, &t.ou_id)
            .await?
            .into_iter()
            .filter(|s| s.hidden)
            .map(|s| s.event_type)
            .collect();
        let mut types = self.store.event_types(&t.caller.org_id, &t.ou_id).await?;
        types.retain(|x| !hidden.contains(x));
        Ok(types)
    }

    pub async fn event_properties(
        &self,
        t: &Tenant,
        event_type: &str,
    ) -> Result<leadwire_models::events::EventTypeProperties> {
        t.require(Access::Read)?;
        let properties = self
            .store
            .event_properties(&t.caller.org_id, &t.ou_id, event_type, PROPERTY_SAMPLE)
            .await?;
        Ok(leadwire_models::events::EventTypeProperties {
            event_type: event_type.to_string(),
            properties,
        })
    }

    pub async fn channels(&self, t: &Tenant) -> Result<Vec<String>> {
        t.require(Access::Read)?;
        Ok(self.store.channels(&t.caller.org_id, &t.ou_id).await?)
    }
}

impl Core {
    // ----- dry run and rescore -----

    /// Tries a rule against a lead's stored history without changing anything.
    pub async fn test_rule(
        &self,
        t: &Tenant,
        input: leadwire_models::rules::RuleTestInput,
    ) -> Result<leadwire_models::rules::RuleTestResult> {
        use leadwire_models::scoring::{round2, EventFact, LeadBook, ScoringRuleset};
        t.require(Access::Read)?;
        let p = input.rule.validate(true).map_err(|e| e.within("rule"))?;
        // a merged-away lead is tried as the lead its history went to
        let lead = self
            .current_lead(&t.caller.org_id, &t.ou_id, &input.lead_id)
            .await?;
        let mut config =
            crate::engine::ou::load_config(&self.store, &t.caller.org_id, &t.ou_id).await?;
        let ruleset_id = match &p.ruleset_id {
            Some(id) => Some(self.ruleset_in(t, id).await?.ruleset_id),
            None => config.primary().map(|r| r.ruleset_id.clone()),
        };
        let now = time::now();
        let event_type = p.event_type.clone().unwrap_or_default();
        let candidate = leadwire_models::scoring::ScoringRule {
            rule_id: "dry-run".into(),
            event_type: event_type.clone(),
            weight: p.weight.unwrap_or_default(),
            half_life_days: p.half_life_days.flatten(),
            active: p.active.unwrap_or(true),
            start_at: p.start_at.flatten(),
            end_at: p.end_at.flatten(),
        };
        let key = ruleset_id.clone().unwrap_or_else(|| "dry-run".into());
        let events = self
            .store
            .lead_events(&t.caller.org_id, &t.ou_id, &lead.id)
            .await?;
        let book = LeadBook::from_stored(&config, &events, lead.score_reset_at.as_deref());
        let reset_at = book.reset_at();
        let facts: Vec<EventFact> = book.events().to_vec();
        let current = round2(book.score(&config, &key, now));
        match config.rulesets.iter_mut().find(|r| r.ruleset_id == key) {
            Some(rs) => rs.rules.insert(0, candidate.clone()),
            None => config.rulesets.push(ScoringRuleset {
                ruleset_id: key.clone(),
                is_primary: true,
                rules: vec![candidate.clone()],
            }),
        }
        let counted = |e: &&EventFact| reset_at.is_none_or(|r| e.occurred_at >= r);
        let of_type = facts
            .iter()
            .filter(counted)
            .filter(|e| *e.event_type == *event_type)
            .count() as u64;
        let matching = facts
            .iter()
            .filter(counted)
            .filter(|e| candidate.matches(&e.event_type, e.occurred_at))
            .count() as u64;
        let projected =
            round2(LeadBook::rebuild(&config, facts, reset_at).score(&config, &key, now));
        let reason = if !candidate.active {
            "the rule is inactive, so it scores nothing".to_string()
        } else if of_type == 0 {
            format!("the lead has no \"{event_type}\" events")
        } else if matching == 0 {
            format!(
                "all {of_type} \"{event_type}\" events fall outside the rule's start/end window"
            )
        } else {
            format!(
                "matches {matching} of the lead's \"{event_type}\" events; the score would change by {}",
                round2(projected - current)
            )
        };
        Ok(leadwire_models::rules::RuleTestResult {
            matches: matching > 0,
            reason,
            ruleset_id,
            current_score: current,
            projected_score: projected,
            matching_events: matching,
        })
    }

    /// Replays every lead of the OU through the scoring engine and stores the scores.
    pub async fn rescore_ruleset(
        &self,
        t: &Tenant,
        dimension: &str,
        ruleset_id: &str,
    ) -> Result<leadwire_models::rules::RescoreResult> {
        t.require(Access::Write)?;
        match dimension {
            "engagement" => {}
            "profile" => {
                return self
                    .rescore_attributes(t, leadwire_models::levels::Dimension::Profile, ruleset_id)
                    .await
            }
            "account" => {
                return self
                    .rescore_attributes(t, leadwire_models::levels::Dimension::Account, ruleset_id)
                    .await
            }
            "deal" => {
                return Err(DomainError::invalid(
                    "dimension",
                    "deal scoring has no rulesets; engagement, profile and account can be rescored",
                ))
            }
            // as any other route with an unknown dimension
            _ => return Err(DomainError::not_found("scoring dimension")),
        }
        self.ruleset_in(t, ruleset_id).await?;
        // pick up any rule change first, so the replay uses the stored rules
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        let ids = self.store.lead_ids(&t.caller.org_id, &t.ou_id).await?;
        let mut changed = 0;
        for chunk in ids.chunks(500) {
            // "changed" is against the stored score, which lists and sorts use
            let stored: std::collections::HashMap<String, Option<f64>> = self
                .store
                .leads_by_ids(&t.caller.org_id, &t.ou_id, chunk)
                .await?
                .into_iter()
                .map(|l| (l.id, l.scores.get(ruleset_id).copied()))
                .collect();
            for id in chunk {
                let r = self.engine.rescore(&t.caller.org_id, &t.ou_id, id).await?;
                let before = stored.get(id).copied().flatten().unwrap_or(0.0);
                if r.after.get(ruleset_id).copied().unwrap_or(0.0) != before {
                    changed += 1;
                }
            }
        }
        Ok(leadwire_models::rules::RescoreResult {
            dimension: dimension.to_string(),
            ruleset_id: ruleset_id.to_string(),
            leads: ids.len() as u64,
            changed,
        })
    }

    /// Re-evaluates every lead's profile or account score against the stored rules and
    /// stores it. "Changed" counts leads whose score in the ruleset (the account score for
    /// the primary account ruleset) or disqualification moved.
    async fn rescore_attributes(
        &self,
        t: &Tenant,
        dimension: leadwire_models::levels::Dimension,
        ruleset_id: &str,
    ) -> Result<leadwire_models::rules::RescoreResult> {
        use leadwire_models::levels::Dimension;
        let ruleset = self
            .list_attr_rulesets(t, dimension)
            .await?
            .into_iter()
            .find(|r| r.id == ruleset_id)
            .ok_or_else(|| DomainError::not_found(&format!("{} ruleset", dimension.as_str())))?;
        // what a lead's row says of this ruleset: its score and the disqualification
        let score_of = |profile_scores: &std::collections::BTreeMap<String, f64>,
                        account_score: f64| match dimension {
            Dimension::Account => ruleset.is_primary.then_some(account_score),
            _ => profile_scores.get(ruleset_id).copied(),
        };
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        let ids = self.store.lead_ids(&t.caller.org_id, &t.ou_id).await?;
        let mut changed = 0;
        for chunk in ids.chunks(500) {
            let stored: std::collections::HashMap<String, (Option<f64>, bool)> = self
                .store
                .leads_by_ids(&t.caller.org_id, &t.ou_id, chunk)
                .await?
                .into_iter()
                .map(|l| {
                    let score = score_of(&l.profile_scores, l.account_score);
                    (l.id, (score, l.disqualified))
                })
                .collect();
            for id in chunk {
                self.engine.rescore(&t.caller.org_id, &t.ou_id, id).await?;
                let now = self
                    .engine
                    .scores(&t.caller.org_id, &t.ou_id, id)
                    .await?
                    .map(|s| {
                        (
                            score_of(&s.profile.scores, s.profile.account_score),
                            s.profile.disqualification.is_some(),
                        )
                    });
                if now != stored.get(id).copied() {
                    changed += 1;
                }
            }
        }
        Ok(leadwire_models::rules::RescoreResult {
            dimension: dimension.as_str().into(),
            ruleset_id: ruleset_id.to_string(),
            leads: ids.len() as u64,
            changed,
        })
    }
}
