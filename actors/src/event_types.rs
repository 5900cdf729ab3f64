//! Event-type settings of the active OU (hidden, processing ceiling), deleting every
//! event of a type, and research half-life defaults for engagement rules; shared by REST,
//! GraphQL and MCP.

use std::collections::BTreeMap;

use leadwire_models::audit::AuditEntry;
use leadwire_models::event_types::{
    research_half_life, ApplyDefaultResult, ApplyDefaultsInput, ApplyDefaultsResult, DeletePreview,
    DeletedByType, EventTypeSetting, EventTypeSettingInput, EventTypeView, HalfLifeSuggestion,
    HalfLifeSuggestions, SuggestionQuery,
};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, validate, DomainError, Result};

use crate::Core;

/// At most this many rule ids per apply.
const MAX_APPLY: usize = 500;

impl Core {
    /// Every event type the OU has events of, rules for or a setting for, with its setting
    /// and how many events it has here.
    pub async fn event_type_settings(&self, t: &Tenant) -> Result<Vec<EventTypeView>> {
        t.require(Access::Read)?;
        let (org, ou) = (&t.caller.org_id, &t.ou_id);
        let mut out: BTreeMap<String, EventTypeView> = BTreeMap::new();
        let view = |event_type: &str| EventTypeView {
            event_type: event_type.to_string(),
            hidden: false,
            max_processing_scope: Default::default(),
            events_count: 0,
        };
        for (event_type, n) in self.store.event_type_counts(org, ou).await? {
            out.entry(event_type.clone())
                .or_insert_with(|| view(&event_type))
                .events_count = n;
        }
        for r in self.store.rules(org, ou, None).await? {
            out.entry(r.event_type.clone())
                .or_insert_with(|| view(&r.event_type));
        }
        for s in self.store.event_type_settings(org, ou).await? {
            let v = out
                .entry(s.event_type.clone())
                .or_insert_with(|| view(&s.event_type));
            v.hidden = s.hidden;
            v.max_processing_scope = s.max_processing_scope;
        }
        Ok(out.into_values().collect())
    }

    /// Sets an event type's visibility and processing ceiling in the OU; a change of
    /// ceiling rescores (observe-only events never score).
    pub async fn put_event_type_setting(
        &self,
        t: &Tenant,
        event_type: &str,
        input: EventTypeSettingInput,
    ) -> Result<EventTypeSetting> {
        t.require(Access::Write)?;
        let event_type = validate::name(
            "event_type",
            event_type,
            1,
            leadwire_models::events::MAX_EVENT_TYPE_CHARS,
        )?;
        let (org, ou) = (&t.caller.org_id, &t.ou_id);
        let current = self
            .store
            .event_type_settings(org, ou)
            .await?
            .into_iter()
            .find(|s| s.event_type == event_type)
            .unwrap_or(EventTypeSetting {
                event_type: event_type.clone(),
                hidden: false,
                max_processing_scope: Default::default(),
            });
        let next = EventTypeSetting {
            event_type,
            hidden: input.hidden.unwrap_or(current.hidden),
            max_processing_scope: input
                .max_processing_scope
                .unwrap_or(current.max_processing_scope),
        };
        self.store
            .put_event_type_setting(org, ou, &next, &t.caller.email)
            .await?;
        if next.max_processing_scope != current.max_processing_scope {
            self.engine.reload(org, ou).await?;
        }
        Ok(next)
    }

    /// How many events of a type a delete would remove, and how many of them scored.
    pub async fn delete_events_preview(
        &self,
        t: &Tenant,
        event_type: &str,
    ) -> Result<DeletePreview> {
        t.require(Access::Read)?;
        let events = self
            .store
            .events_of_type(&t.caller.org_id, &t.ou_id, event_type)
            .await?;
        Ok(DeletePreview {
            events_count: events.len() as u64,
            event_scores_count: events.iter().filter(|(_, _, scored)| *scored).count() as u64,
        })
    }

    /// Deletes every event of a type in the OU; each lead rescores without them.
    pub async fn delete_events_of_type(
        &self,
        t: &Tenant,
        event_type: &str,
    ) -> Result<DeletedByType> {
        t.require(Access::Write)?;
        let events = self
            .store
            .events_of_type(&t.caller.org_id, &t.ou_id, event_type)
            .await?;
        let mut by_lead: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (event_id, lead_id, _) in &events {
            by_lead
                .entry(lead_id.clone())
                .or_default()
                .push(event_id.clone());
        }
        for (lead_id, event_ids) in by_lead {
            self.engine
                .remove_events(&t.caller.org_id, &t.ou_id, &lead_id, event_ids)
                .await?;
        }
        Ok(DeletedByType {
            events_deleted: events.len() as u64,
            event_scores_deleted: events.iter().filter(|(_, _, scored)| *scored).count() as u64,
        })
    }

    /// Engagement rules without a half-life, each with the research default for its event
    /// type (eligible) or none (`no_research_default`).
    pub async fn half_life_suggestions(
        &self,
        t: &Tenant,
        q: SuggestionQuery,
    ) -> Result<HalfLifeSuggestions> {
        t.require(Access::Read)?;
        q.validate()?;
        let suggestions: Vec<HalfLifeSuggestion> = self
            .store
            .rules(&t.caller.org_id, &t.ou_id, None)
            .await?
            .into_iter()
            .filter(|r| r.half_life_days.is_none())
            .map(|r| {
                let days = research_half_life(&r.event_type);
                HalfLifeSuggestion {
                    rule_id: r.rule_id,
                    event_type: r.event_type,
                    suggested_half_life_days: days,
                    eligible: days.is_some(),
                    reason: days.is_none().then(|| "no_research_default".to_string()),
                }
            })
            .collect();
        let eligible = suggestions.iter().filter(|s| s.eligible).count() as u64;
        Ok(HalfLifeSuggestions {
            eligible_count: eligible,
            ineligible_count: suggestions.len() as u64 - eligible,
            suggestions,
        })
    }

    /// Gives each listed rule its research half-life; each rule on its own (a failure
    /// does not undo the others), each applied one in the audit log.
    pub async fn apply_research_defaults(
        &self,
        t: &Tenant,
        input: ApplyDefaultsInput,
    ) -> Result<ApplyDefaultsResult> {
        t.require(Access::Write)?;
        if input.rule_ids.is_empty() || input.rule_ids.len() > MAX_APPLY {
            return Err(DomainError::invalid(
                "rule_ids",
                format!("must list 1-{MAX_APPLY} rule ids"),
            ));
        }
        let (org, ou) = (&t.caller.org_id, &t.ou_id);
        let profile_rules: Vec<String> = {
            let mut ids = Vec::new();
            let mut rulesets = self
                .list_attr_rulesets(t, leadwire_models::levels::Dimension::Profile)
                .await?;
            rulesets.extend(
                self.list_attr_rulesets(t, leadwire_models::levels::Dimension::Account)
                    .await?,
            );
            for rs in rulesets {
                ids.extend(
                    self.store
                        .attr_rules(org, ou, &rs.id)
                        .await?
                        .into_iter()
                        .map(|r| r.id),
                );
            }
            ids
        };
        let mut results = Vec::with_capacity(input.rule_ids.len());
        let skip = |id: &str, reason: &str| ApplyDefaultResult {
            rule_id: id.to_string(),
            status: "skipped".into(),
            half_life_days: None,
            skip_reason: Some(reason.into()),
        };
        let mut applied = 0;
        for id in &input.rule_ids {
            if profile_rules.contains(id) {
                results.push(skip(id, "dimension_not_event_sourced"));
                continue;
            }
            let rule = match self.store.rule(org, ou, id).await {
                Ok(Some(r)) => r,
                Ok(None) => {
                    results.push(skip(id, "not_found"));
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, rule_id = id, "research-default-lookup-failed");
                    results.push(skip(id, "lookup_error"));
                    continue;
                }
            };
            if rule.half_life_days.is_some() {
                // with the half-life the rule keeps
                results.push(ApplyDefaultResult {
                    half_life_days: rule.half_life_days,
                    ..skip(id, "already_configured")
                });
                continue;
            }
            let Some(days) = research_half_life(&rule.event_type) else {
                results.push(skip(id, "no_research_default"));
                continue;
            };
            let mut next = rule;
            next.half_life_days = Some(days);
            next.updated_at = time::format(&time::now());
            next.updated_by = Some(t.caller.email.clone());
            if let Err(e) = self.store.put_rule(&next).await {
                tracing::warn!(error = %e, rule_id = id, "research-default-update-failed");
                results.push(skip(id, "update_error"));
                continue;
            }
            let entry = AuditEntry {
                id: ids::new_id(ids::prefix::AUDIT),
                org_id: org.clone(),
                ou_id: Some(ou.clone()),
                member_id: Some(t.caller.member_id.clone()),
                user_email: Some(t.caller.email.clone()),
                method: "PATCH".into(),
                path: format!("/v1/rules/{id} half_life_days=null→{days} (research default)"),
                status: 200,
                ip: String::new(),
                latency_ms: 0.0,
                created_at: time::format(&time::now()),
            };
            if let Err(e) = self.engine.audit(&entry).await {
                tracing::warn!(error = %e, rule_id = id, "research-default-audit-failed");
            }
            applied += 1;
            results.push(ApplyDefaultResult {
                rule_id: id.clone(),
                status: "applied".into(),
                half_life_days: Some(days),
                skip_reason: None,
            });
        }
        if applied > 0 {
            self.engine.reload(org, ou).await?;
        }
        Ok(ApplyDefaultsResult {
            applied_count: applied,
            skipped_count: results.len() as u64 - applied,
            results,
        })
    }
}
