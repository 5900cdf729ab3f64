//! Profile scoring of the active OU, shared by REST, GraphQL and MCP: rulesets, rules
//! (add_points and hard_disqualify), the dry run, the hard-DQ overview, field mappings
//! with their history, applying mappings to existing leads, and the distinct lead
//! properties. Every change recompiles the OU's config: live leads rescore at once,
//! stored ones within a wake pass.

use leadwire_models::levels::Dimension;
use leadwire_models::profile::{
    self, ApplyMappingsResult, AttrRule, AttrRuleInput, AttrRuleset, AttrRulesetInput,
    FieldMapping, FieldMappingInput, HardDqRule, MappingChange, ProfileRuleTestInput,
    ProfileRuleTestResult, RuleType,
};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::Core;

/// Field mappings are profile mappings.
const DIM: Dimension = Dimension::Profile;
/// At most this many profile rulesets per OU, and rules per ruleset.
const MAX_RULESETS: usize = 20;
const MAX_RULES: usize = 200;

impl Core {
    pub async fn list_attr_rulesets(&self, t: &Tenant, dim: Dimension) -> Result<Vec<AttrRuleset>> {
        t.require(Access::Read)?;
        scored_dimension(dim)?;
        Ok(self
            .store
            .attr_rulesets(&t.caller.org_id, &t.ou_id, dim)
            .await?)
    }

    async fn attr_ruleset(&self, t: &Tenant, dim: Dimension, id: &str) -> Result<AttrRuleset> {
        self.list_attr_rulesets(t, dim)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| DomainError::not_found("profile ruleset"))
    }

    /// Creates a ruleset (names unique; the first one is primary whatever it says).
    pub async fn create_attr_ruleset(
        &self,
        t: &Tenant,
        dim: Dimension,
        input: AttrRulesetInput,
    ) -> Result<AttrRuleset> {
        t.require(Access::Write)?;
        let _guard = self.config_lock.lock().await;
        let all = self.list_attr_rulesets(t, dim).await?;
        if all.len() >= MAX_RULESETS {
            return Err(DomainError::conflict(format!(
                "at most {MAX_RULESETS} profile rulesets"
            )));
        }
        let now = time::format(&time::now());
        let mut r = AttrRuleset {
            id: ids::new_id(match dim {
                Dimension::Account => ids::prefix::ACCOUNT_RULESET,
                _ => ids::prefix::PROFILE_RULESET,
            }),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            dimension: dim,
            name: String::new(),
            enabled: true,
            is_primary: false,
            created_at: now.clone(),
            updated_at: now,
        };
        input.apply(&mut r)?;
        unique_name(&all, &r)?;
        r.is_primary |= all.is_empty();
        self.store.put_attr_ruleset(&r).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(r)
    }

    /// Replaces a ruleset's name and flags. The primary one stays primary until another
    /// is made primary.
    pub async fn update_attr_ruleset(
        &self,
        t: &Tenant,
        dim: Dimension,
        id: &str,
        input: AttrRulesetInput,
    ) -> Result<AttrRuleset> {
        t.require(Access::Write)?;
        let _guard = self.config_lock.lock().await;
        let all = self.list_attr_rulesets(t, dim).await?;
        let mut r = all
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| DomainError::not_found("profile ruleset"))?;
        let was_primary = r.is_primary;
        input.apply(&mut r)?;
        unique_name(&all, &r)?;
        r.is_primary |= was_primary;
        r.updated_at = time::format(&time::now());
        self.store.put_attr_ruleset(&r).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(r)
    }

    pub async fn delete_attr_ruleset(&self, t: &Tenant, dim: Dimension, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        let gone = self.attr_ruleset(t, dim, id).await?;
        if !self
            .store
            .delete_attr_ruleset(&t.caller.org_id, &t.ou_id, id)
            .await?
        {
            return Err(DomainError::not_found("profile ruleset"));
        }
        // the dimension keeps a primary ruleset while it has any: the oldest one left
        if gone.is_primary {
            let oldest = self
                .store
                .attr_rulesets(&t.caller.org_id, &t.ou_id, dim)
                .await?
                .into_iter()
                .next();
            if let Some(mut next) = oldest {
                next.is_primary = true;
                next.updated_at = time::format(&time::now());
                self.store.put_attr_ruleset(&next).await?;
            }
        }
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    pub async fn list_attr_rules(
        &self,
        t: &Tenant,
        dim: Dimension,
        ruleset_id: &str,
    ) -> Result<Vec<AttrRule>> {
        t.require(Access::Read)?;
        self.attr_ruleset(t, dim, ruleset_id).await?;
        Ok(self
            .store
            .attr_rules(&t.caller.org_id, &t.ou_id, ruleset_id)
            .await?)
    }

    fn blank_rule(t: &Tenant, dim: Dimension, ruleset_id: &str) -> AttrRule {
        let now = time::format(&time::now());
        AttrRule {
            id: ids::new_id(match dim {
                Dimension::Account => ids::prefix::ACCOUNT_RULE,
                _ => ids::prefix::PROFILE_RULE,
            }),
            ruleset_id: ruleset_id.to_string(),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            profile_property: String::new(),
            condition: leadwire_models::filters::ConditionOperator::Equals,
            comparison_value: String::new(),
            weight: 0,
            ui_order: 0,
            rule_type: RuleType::AddPoints,
            conditions: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    pub async fn create_attr_rule(
        &self,
        t: &Tenant,
        dim: Dimension,
        ruleset_id: &str,
        input: AttrRuleInput,
    ) -> Result<AttrRule> {
        t.require(Access::Write)?;
        let existing = self.list_attr_rules(t, dim, ruleset_id).await?;
        if existing.len() >= MAX_RULES {
            return Err(DomainError::conflict(format!(
                "at most {MAX_RULES} rules per profile ruleset"
            )));
        }
        let mut r = Self::blank_rule(t, dim, ruleset_id);
        r.ui_order = existing.iter().map(|x| x.ui_order + 1).max().unwrap_or(0);
        input.apply(&mut r, true)?;
        self.store.put_attr_rule(&r, dim).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(r)
    }

    pub async fn update_attr_rule(
        &self,
        t: &Tenant,
        dim: Dimension,
        ruleset_id: &str,
        rule_id: &str,
        input: AttrRuleInput,
    ) -> Result<AttrRule> {
        t.require(Access::Write)?;
        let mut r = self
            .list_attr_rules(t, dim, ruleset_id)
            .await?
            .into_iter()
            .find(|r| r.id == rule_id)
            .ok_or_else(|| DomainError::not_found("profile rule"))?;
        input.apply(&mut r, false)?;
        r.updated_at = time::format(&time::now());
        self.store.put_attr_rule(&r, dim).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(r)
    }

    pub async fn delete_attr_rule(
        &self,
        t: &Tenant,
        dim: Dimension,
        ruleset_id: &str,
        rule_id: &str,
    ) -> Result<()> {
        t.require(Access::Write)?;
        if !self
            .list_attr_rules(t, dim, ruleset_id)
            .await?
            .iter()
            .any(|r| r.id == rule_id)
            || !self
                .store
                .delete_attr_rule(&t.caller.org_id, &t.ou_id, rule_id)
                .await?
        {
            return Err(DomainError::not_found("profile rule"));
        }
        self.engine.reload(&t.caller.org_id, &t.ou_id).await
    }

    /// Tries a rule in the dimension's primary ruleset against a lead's current
    /// properties (profile) or its account's (account); stores nothing.
    pub async fn test_attr_rule(
        &self,
        t: &Tenant,
        dim: Dimension,
        input: ProfileRuleTestInput,
    ) -> Result<ProfileRuleTestResult> {
        t.require(Access::Read)?;
        let mut rule = Self::blank_rule(t, dim, "");
        input
            .rule
            .apply(&mut rule, true)
            .map_err(|e| e.within("rule"))?;
        let lead = self.get_lead(t, &input.lead_id).await?;
        let properties = match dim {
            Dimension::Account => self
                .account_of(t, &lead)
                .await?
                .map(|a| leadwire_models::accounts::properties(&a))
                .ok_or_else(|| DomainError::invalid("lead_id", "the lead has no account"))?,
            _ => lead.metadata.clone(),
        };
        let lead = leadwire_models::leads::Lead {
            metadata: properties,
            ..lead
        };
        let rulesets = self.list_attr_rulesets(t, dim).await?;
        let mut rules = Vec::new();
        for rs in &rulesets {
            rules.extend(
                self.store
                    .attr_rules(&t.caller.org_id, &t.ou_id, &rs.id)
                    .await?,
            );
        }
        let org = self.store.org_scoring(&t.caller.org_id).await?;
        let mut compiled = profile::compile(&rulesets, &rules);
        let current = profile::evaluate(&compiled, &lead.metadata, org.allow_negative_scores).score;
        match compiled.first_mut() {
            Some(primary) => {
                rule.ruleset_id = primary.ruleset_id.clone();
                primary.rules.push(rule.clone());
            }
            None => compiled.push(profile::CompiledRuleset {
                ruleset_id: String::new(),
                is_primary: true,
                rules: vec![rule.clone()],
            }),
        }
        let projected = profile::evaluate(&compiled, &lead.metadata, org.allow_negative_scores);
        let matches = rule.fires(&lead.metadata);
        let value = leadwire_models::filters::lookup(&lead.metadata, &rule.profile_property)
            .filter(|v| !v.is_null())
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        let would_disqualify = matches && rule.rule_type == RuleType::HardDisqualify;
        let reason = match (&value, matches) {
            (None, _) => format!("the lead has no {:?} property", rule.profile_property),
            (Some(v), true) => format!("{v:?} meets {}", rule.describe()),
            (Some(v), false) => format!("{v:?} does not meet {}", rule.describe()),
        };
        Ok(ProfileRuleTestResult {
            matches,
            reason,
            current_score: leadwire_models::scoring::round2(current),
            projected_score: leadwire_models::scoring::round2(projected.score),
            matching_value: value,
            would_disqualify,
        })
    }

    /// Every hard_disqualify rule of an enabled ruleset with the number of leads it
    /// disqualifies now; most matches first, then by name.
    pub async fn hard_dq_rules(&self, t: &Tenant) -> Result<Vec<HardDqRule>> {
        t.require(Access::Read)?;
        let counts = self
            .store
            .disqualification_counts(&t.caller.org_id, &t.ou_id)
            .await?;
        let mut out = Vec::new();
        let mut rulesets = self.list_attr_rulesets(t, Dimension::Profile).await?;
        rulesets.extend(self.list_attr_rulesets(t, Dimension::Account).await?);
        for rs in rulesets {
            if !rs.enabled {
                continue;
            }
            for r in self
                .store
                .attr_rules(&t.caller.org_id, &t.ou_id, &rs.id)
                .await?
            {
                if r.rule_type == RuleType::HardDisqualify {
                    out.push(HardDqRule {
                        match_count: counts.get(&r.id).copied().unwrap_or(0),
                        rule_name: r.describe(),
                        rule_id: r.id,
                        ruleset_id: rs.id.clone(),
                        dimension: rs.dimension,
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            b.match_count
                .cmp(&a.match_count)
                .then_with(|| a.rule_name.cmp(&b.rule_name))
        });
        Ok(out)
    }

    // ----- field mappings -----

    /// Field mappings of the dimension: profile ones write lead properties, account
    /// ones the lead's account's.
    pub async fn list_mappings(&self, t: &Tenant, dim: Dimension) -> Result<Vec<FieldMapping>> {
        t.require(Access::Read)?;
        scored_dimension(dim)?;
        Ok(self
            .store
            .field_mappings(&t.caller.org_id, &t.ou_id, dim)
            .await?)
    }

    pub async fn mapping_history(&self, t: &Tenant, dim: Dimension) -> Result<Vec<MappingChange>> {
        t.require(Access::Read)?;
        scored_dimension(dim)?;
        Ok(self
            .store
            .mapping_changes(&t.caller.org_id, &t.ou_id, dim)
            .await?)
    }

    /// Creates (`id` none), replaces or deletes (`input` none) a mapping, with its
    /// history entry.
    pub async fn change_mapping(
        &self,
        t: &Tenant,
        dim: Dimension,
        id: Option<&str>,
        input: Option<FieldMappingInput>,
    ) -> Result<Option<FieldMapping>> {
        t.require(Access::Write)?;
        let _guard = self.config_lock.lock().await;
        let all = self.list_mappings(t, dim).await?;
        let before = match id {
            Some(id) => Some(
                all.iter()
                    .find(|m| m.id == id)
                    .cloned()
                    .ok_or_else(|| DomainError::not_found("field mapping"))?,
            ),
            None => None,
        };
        let now = time::format(&time::now());
        let after = match &input {
            Some(input) => {
                let mut m = before.clone().unwrap_or_else(|| FieldMapping {
                    id: ids::new_id(ids::prefix::PROFILE_MAPPING),
                    org_id: t.caller.org_id.clone(),
                    unit_id: t.ou_id.clone(),
                    source_field: String::new(),
                    profile_property: String::new(),
                    update_behavior: Default::default(),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                });
                input.apply(&mut m)?;
                m.updated_at = now.clone();
                if all.iter().any(|o| {
                    o.id != m.id
                        && o.profile_property == m.profile_property
                        && o.source_field == m.source_field
                }) {
                    return Err(DomainError::conflict(
                        "a mapping from this source field to this property exists",
                    ));
                }
                Some(m)
            }
            None => None,
        };
        let mapping_id = after
            .as_ref()
            .or(before.as_ref())
            .map(|m| m.id.clone())
            .unwrap_or_default();
        let change = MappingChange {
            change_id: ids::new_id(ids::prefix::MAPPING_CHANGE),
            mapping_id: mapping_id.clone(),
            action: match (&before, &after) {
                (None, _) => "create",
                (Some(_), Some(_)) => "update",
                (Some(_), None) => "delete",
            }
            .into(),
            before: before
                .as_ref()
                .map(serde_json::to_value)
                .transpose()
                .map_err(|_| DomainError::internal())?,
            after: after
                .as_ref()
                .map(serde_json::to_value)
                .transpose()
                .map_err(|_| DomainError::internal())?,
            changed_by: Some(t.caller.email.clone()),
            changed_at: now,
        };
        self.store
            .change_field_mapping(
                &t.caller.org_id,
                &t.ou_id,
                dim,
                &mapping_id,
                after.as_ref(),
                &change,
            )
            .await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(after)
    }

    /// Applies the current mappings to every lead of the OU from its own metadata, each
    /// by its update behaviour; changed leads rescore.
    pub async fn apply_profile_mappings(&self, t: &Tenant) -> Result<ApplyMappingsResult> {
        t.require(Access::Write)?;
        let mappings = self.list_mappings(t, DIM).await?;
        let ids = self.store.lead_ids(&t.caller.org_id, &t.ou_id).await?;
        let mut updated = 0;
        for id in &ids {
            let Some(lead) = self.store.lead(&t.caller.org_id, &t.ou_id, id).await? else {
                continue;
            };
            let mut metadata = lead.metadata.clone();
            if profile::apply_mappings(&mappings, &lead.metadata, &mut metadata) {
                self.store
                    .replace_lead_metadata(&t.caller.org_id, &t.ou_id, id, &metadata, None)
                    .await?;
                self.engine.rescore(&t.caller.org_id, &t.ou_id, id).await?;
                updated += 1;
            }
        }
        Ok(ApplyMappingsResult {
            leads_processed: ids.len() as u64,
            leads_updated: updated,
        })
    }

    /// The distinct metadata keys (profile properties) of the OU's leads.
    pub async fn lead_properties(&self, t: &Tenant) -> Result<Vec<String>> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .lead_properties(&t.caller.org_id, &t.ou_id)
            .await?)
    }
}

/// Only profile and account scoring have attribute rulesets.
fn scored_dimension(dim: Dimension) -> Result<()> {
    match dim {
        Dimension::Profile | Dimension::Account => Ok(()),
        Dimension::Engagement => Err(DomainError::not_found("ruleset dimension")),
    }
}

fn unique_name(all: &[AttrRuleset], r: &AttrRuleset) -> Result<()> {
    if all
        .iter()
        .any(|o| o.id != r.id && o.name.to_lowercase() == r.name.to_lowercase())
    {
        return Err(DomainError::conflict(format!(
            "a {} ruleset named {:?} exists",
            r.dimension.as_str(),
            r.name
        )));
    }
    Ok(())
}
