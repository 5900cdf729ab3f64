//! Profile scoring: rules over a lead's profile properties (its metadata keys), in
//! rulesets. An `add_points` rule adds its weight when its condition holds; a
//! `hard_disqualify` rule disqualifies the lead when its condition holds (and, when it has
//! one, its compound AND/OR group too). Pure: the lead actor evaluates it whenever the
//! lead's metadata or the OU's rules change, so scores, lists and the "why" agree.
//!
//! Profile field mappings copy a value from a source field (of the lead's metadata, or
//! of an arriving event's metadata) to a profile property.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::filters::{lookup, ConditionOperator, MetadataCondition};
use crate::{validate, DomainError};

/// At most this many conditions (leaves) in a compound group, and this deep.
pub const MAX_GROUP_CONDITIONS: usize = 20;
pub const MAX_GROUP_DEPTH: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    #[default]
    AddPoints,
    HardDisqualify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupOperator {
    And,
    Or,
}

/// A compound condition: every (`and`) or any (`or`) of its members holds. A member is a
/// condition (`key`, `operator`, `value`, as for attribute filters) or a nested group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionGroup {
    pub operator: GroupOperator,
    #[schema(no_recursion)]
    pub conditions: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum GroupMember {
    Condition(MetadataCondition),
    #[schema(no_recursion)]
    Group(ConditionGroup),
}

impl ConditionGroup {
    pub fn holds(&self, metadata: &Map<String, Value>) -> bool {
        let mut each = self.conditions.iter().map(|m| match m {
            GroupMember::Condition(c) => c.matches(metadata),
            GroupMember::Group(g) => g.holds(metadata),
        });
        match self.operator {
            GroupOperator::And => each.all(|x| x),
            GroupOperator::Or => each.any(|x| x),
        }
    }

    /// Non-empty groups, at most 3 deep and 20 conditions in all, each condition valid.
    pub fn validate(&self) -> Result<(), DomainError> {
        fn walk(g: &ConditionGroup, depth: usize, leaves: &mut usize) -> Result<(), DomainError> {
            if depth > MAX_GROUP_DEPTH {
                return Err(DomainError::invalid("conditions", "at most 3 levels deep"));
            }
            if g.conditions.is_empty() {
                return Err(DomainError::invalid("conditions", "a group needs members"));
            }
            for m in &g.conditions {
                match m {
                    GroupMember::Condition(c) => {
                        c.validate(*leaves)?;
                        *leaves += 1;
                    }
                    GroupMember::Group(inner) => walk(inner, depth + 1, leaves)?,
                }
            }
            Ok(())
        }
        let mut leaves = 0;
        walk(self, 1, &mut leaves)?;
        if leaves > MAX_GROUP_CONDITIONS {
            return Err(DomainError::invalid(
                "conditions",
                "at most 20 conditions in a group",
            ));
        }
        Ok(())
    }
}

/// A stored profile ruleset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttrRuleset {
    pub id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub dimension: crate::levels::Dimension,
    pub name: String,
    pub enabled: bool,
    pub is_primary: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST` / `PUT /v1/scoring/profile/rulesets[/{id}]`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttrRulesetInput {
    /// 1–100 characters, unique in the dimension.
    pub name: String,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default false; the first ruleset is primary whatever it says.
    pub is_primary: Option<bool>,
}

/// A stored profile rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttrRule {
    pub id: String,
    pub ruleset_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub profile_property: String,
    pub condition: ConditionOperator,
    pub comparison_value: String,
    pub weight: i64,
    pub ui_order: i64,
    pub rule_type: RuleType,
    pub conditions: Option<ConditionGroup>,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /v1/scoring/profile/rulesets/{id}/rules` (the first four required) and `PUT
/// …/rules/{ruleId}` (all optional; `conditions: null` removes the group).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttrRuleInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub profile_property: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub condition: Option<ConditionOperator>,
    pub comparison_value: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub weight: Option<i64>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub ui_order: Option<i64>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub rule_type: Option<RuleType>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    pub conditions: Option<Option<ConditionGroup>>,
}

impl AttrRuleInput {
    /// Applies the input to `r` (a new rule when `create`) and checks the result.
    pub fn apply(&self, r: &mut AttrRule, create: bool) -> Result<(), DomainError> {
        let required = |field: &str| DomainError::invalid(field, "is required");
        let mut next = r.clone();
        match &self.profile_property {
            Some(p) => next.profile_property = validate::name("profile_property", p, 1, 200)?,
            None if create => return Err(required("profile_property")),
            None => {}
        }
        match self.condition {
            Some(c) => next.condition = c,
            None if create => return Err(required("condition")),
            None => {}
        }
        match &self.comparison_value {
            Some(v) if v.chars().count() <= 1000 => next.comparison_value = v.clone(),
            Some(_) => {
                return Err(DomainError::invalid(
                    "comparison_value",
                    "at most 1000 characters",
                ))
            }
            None if create => return Err(required("comparison_value")),
            None => {}
        }
        match self.weight {
            Some(w) if w.unsigned_abs() <= 1000 => next.weight = w,
            Some(_) => {
                return Err(DomainError::invalid(
                    "weight",
                    "must be between -1000 and 1000",
                ))
            }
            None if create => return Err(required("weight")),
            None => {}
        }
        if let Some(o) = self.ui_order {
            next.ui_order = o;
        }
        if let Some(t) = self.rule_type {
            next.rule_type = t;
        }
        if let Some(c) = &self.conditions {
            next.conditions = c.clone();
        }
        // the condition must suit its comparison value
        let cond = next.compiled();
        cond.validate(0).map_err(|_| {
            DomainError::invalid(
                "comparison_value",
                "does not suit the condition (ordering conditions need a number; in / not_in a comma-separated list)",
            )
        })?;
        if let Some(g) = &next.conditions {
            if next.rule_type != RuleType::HardDisqualify {
                return Err(DomainError::invalid(
                    "conditions",
                    "a compound group is only valid on a hard_disqualify rule",
                ));
            }
            g.validate()?;
        }
        *r = next;
        Ok(())
    }
}

impl AttrRule {
    /// The rule's own condition as an attribute condition over the lead's metadata.
    pub fn compiled(&self) -> MetadataCondition {
        use ConditionOperator::*;
        let v = self.comparison_value.trim();
        let value = match self.condition {
            Exists | NotExists => None,
            In | NotIn => Some(Value::Array(
                v.split(',')
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            )),
            GreaterThan | GreaterThanOrEqual | LessThan | LessThanOrEqual => v
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            _ => Some(Value::String(self.comparison_value.clone())),
        };
        MetadataCondition {
            key: self.profile_property.clone(),
            operator: self.condition,
            value,
        }
    }

    /// Whether the rule fires for `metadata`.
    pub fn fires(&self, metadata: &Map<String, Value>) -> bool {
        self.compiled().matches(metadata)
            && self.conditions.as_ref().is_none_or(|g| g.holds(metadata))
    }

    /// A plain-language statement of the rule.
    pub fn describe(&self) -> String {
        let op = serde_json::to_value(self.condition)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        let mut s = format!("{} {op} {:?}", self.profile_property, self.comparison_value);
        if self.conditions.is_some() {
            s.push_str(" (and its compound conditions)");
        }
        s
    }
}

/// A profile ruleset as the engine evaluates it: enabled, its rules in `ui_order`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledRuleset {
    pub ruleset_id: String,
    pub is_primary: bool,
    pub rules: Vec<AttrRule>,
}

/// Compiles the enabled rulesets (primary first) with their rules in `ui_order`.
pub fn compile(rulesets: &[AttrRuleset], rules: &[AttrRule]) -> Vec<CompiledRuleset> {
    let mut out: Vec<CompiledRuleset> = rulesets
        .iter()
        .filter(|r| r.enabled)
        .map(|r| {
            let mut own: Vec<AttrRule> = rules
                .iter()
                .filter(|x| x.ruleset_id == r.id)
                .cloned()
                .collect();
            own.sort_by(|a, b| {
                (a.ui_order, &a.created_at, &a.id).cmp(&(b.ui_order, &b.created_at, &b.id))
            });
            CompiledRuleset {
                ruleset_id: r.id.clone(),
                is_primary: r.is_primary,
                rules: own,
            }
        })
        .collect();
    out.sort_by_key(|r| !r.is_primary);
    out
}

/// A lead's disqualification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Disqualification {
    pub rule_id: String,
    pub ruleset_id: String,
    pub at: String,
    pub reason: String,
}

/// What profile rules make of a lead's metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfileResult {
    /// Per enabled ruleset: the sum of the weights of its add_points rules that hold.
    pub scores: BTreeMap<String, f64>,
    /// The primary (or first enabled) ruleset's score.
    pub score: f64,
    /// The first hard_disqualify rule that holds (primary ruleset first, in `ui_order`):
    /// `(rule, ruleset id)`.
    pub disqualified_by: Option<(AttrRule, String)>,
    /// The add_points rules that hold in the headline ruleset, for the "why".
    pub matched: Vec<AttrRule>,
}

/// Evaluates profile rulesets against a lead's metadata. Scores floor at zero unless
/// negative scores are allowed.
pub fn evaluate(
    rulesets: &[CompiledRuleset],
    metadata: &Map<String, Value>,
    allow_negative: bool,
) -> ProfileResult {
    let mut out = ProfileResult::default();
    for (i, rs) in rulesets.iter().enumerate() {
        let mut sum = 0.0;
        for r in &rs.rules {
            if !r.fires(metadata) {
                continue;
            }
            match r.rule_type {
                RuleType::AddPoints => {
                    sum += r.weight as f64;
                    if i == 0 {
                        out.matched.push(r.clone());
                    }
                }
                RuleType::HardDisqualify => {
                    if out.disqualified_by.is_none() {
                        out.disqualified_by = Some((r.clone(), rs.ruleset_id.clone()));
                    }
                }
            }
        }
        let sum = if allow_negative { sum } else { sum.max(0.0) };
        if i == 0 {
            out.score = sum;
        }
        out.scores.insert(rs.ruleset_id.clone(), sum);
    }
    out
}

/// How a field mapping writes a property that already has a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum UpdateBehavior {
    /// Every new value replaces the old one.
    #[default]
    AlwaysLatest,
    /// The first value stays.
    SetOnce,
    /// Each new value is kept too: the property holds the latest, `<property>_list` the
    /// last 10 distinct values, newest last.
    Append,
}

/// A stored profile field mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldMapping {
    pub id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub source_field: String,
    pub profile_property: String,
    pub update_behavior: UpdateBehavior,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST` / `PUT /v1/profile/mappings[/{id}]`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldMappingInput {
    /// 1–200 characters (a dotted path reaches into nested metadata).
    pub source_field: String,
    /// 1–200 characters; not the source field itself.
    pub profile_property: String,
    /// Default `always_latest`.
    pub update_behavior: Option<UpdateBehavior>,
}

impl FieldMappingInput {
    pub fn apply(&self, m: &mut FieldMapping) -> Result<(), DomainError> {
        let source = validate::name("source_field", &self.source_field, 1, 200)?;
        let property = validate::name("profile_property", &self.profile_property, 1, 200)?;
        if source == property {
            return Err(DomainError::invalid(
                "profile_property",
                "must differ from source_field",
            ));
        }
        m.source_field = source;
        m.profile_property = property;
        if let Some(b) = self.update_behavior {
            m.update_behavior = b;
        }
        Ok(())
    }
}

/// One change of a field mapping, for its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MappingChange {
    pub change_id: String,
    pub mapping_id: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub changed_by: Option<String>,
    pub changed_at: String,
}

/// Applies mappings to `metadata` from the values in `source` (the lead's own metadata,
/// or an event's); returns whether anything changed.
pub fn apply_mappings(
    mappings: &[FieldMapping],
    source: &Map<String, Value>,
    metadata: &mut Map<String, Value>,
) -> bool {
    let mut changed = false;
    for m in mappings {
        let Some(v) = lookup(source, &m.source_field)
            .filter(|v| !v.is_null())
            .cloned()
        else {
            continue;
        };
        let current = metadata.get(&m.profile_property);
        match m.update_behavior {
            UpdateBehavior::SetOnce if current.is_some_and(|c| !c.is_null()) => {}
            UpdateBehavior::Append => {
                let key = format!("{}_list", m.profile_property);
                let mut list: Vec<Value> = metadata
                    .get(&key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if list.last() != Some(&v) {
                    list.retain(|x| x != &v);
                    list.push(v.clone());
                    let drop = list.len().saturating_sub(10);
                    list.drain(..drop);
                    metadata.insert(key, Value::Array(list));
                    changed = true;
                }
                if metadata.get(&m.profile_property) != Some(&v) {
                    metadata.insert(m.profile_property.clone(), v);
                    changed = true;
                }
            }
            _ => {
                if current != Some(&v) {
                    metadata.insert(m.profile_property.clone(), v);
                    changed = true;
                }
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(id: &str, prop: &str, cond: ConditionOperator, value: &str, weight: i64) -> AttrRule {
        AttrRule {
            id: id.into(),
            ruleset_id: "prs_1".into(),
            org_id: "org".into(),
            unit_id: "ou".into(),
            profile_property: prop.into(),
            condition: cond,
            comparison_value: value.into(),
            weight,
            ui_order: 0,
            rule_type: RuleType::AddPoints,
            conditions: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn meta(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn points_and_a_compound_disqualification() {
        use ConditionOperator::*;
        let mut dq = rule("r3", "country", Equals, "NK", 0);
        dq.rule_type = RuleType::HardDisqualify;
        dq.conditions = Some(ConditionGroup {
            operator: GroupOperator::Or,
            conditions: vec![
                GroupMember::Condition(MetadataCondition {
                    key: "role".into(),
                    operator: Equals,
                    value: Some(json!("student")),
                }),
                GroupMember::Group(ConditionGroup {
                    operator: GroupOperator::And,
                    conditions: vec![GroupMember::Condition(MetadataCondition {
                        key: "employees".into(),
                        operator: LessThan,
                        value: Some(json!(5)),
                    })],
                }),
            ],
        });
        let rs = vec![CompiledRuleset {
            ruleset_id: "prs_1".into(),
            is_primary: true,
            rules: vec![
                rule("r1", "industry", In, "saas, fintech", 20),
                rule("r2", "employees", GreaterThanOrEqual, "100", 15),
                dq,
            ],
        }];
        let r = evaluate(
            &rs,
            &meta(json!({"industry": "SaaS", "employees": 250})),
            false,
        );
        assert_eq!((r.score, r.disqualified_by.is_none()), (35.0, true));
        // the DQ condition holds but neither branch of its OR group: no DQ
        let r = evaluate(
            &rs,
            &meta(json!({"country": "NK", "role": "cto", "employees": 50})),
            false,
        );
        assert!(r.disqualified_by.is_none());
        let r = evaluate(&rs, &meta(json!({"country": "NK", "employees": 3})), false);
        assert_eq!(r.disqualified_by.map(|(x, _)| x.id), Some("r3".to_string()));
    }

    #[test]
    fn rule_input_checks_the_value_against_the_condition() {
        let mut r = rule("r", "", ConditionOperator::Equals, "", 0);
        let bad = AttrRuleInput {
            profile_property: Some("employees".into()),
            condition: Some(ConditionOperator::GreaterThan),
            comparison_value: Some("many".into()),
            weight: Some(5),
            ..Default::default()
        };
        let e = bad.apply(&mut r, true).unwrap_err();
        assert!(e.message.contains("comparison_value"), "{}", e.message);
        let group_on_points = AttrRuleInput {
            profile_property: Some("x".into()),
            condition: Some(ConditionOperator::Exists),
            comparison_value: Some(String::new()),
            weight: Some(1),
            conditions: Some(Some(ConditionGroup {
                operator: GroupOperator::And,
                conditions: vec![],
            })),
            ..Default::default()
        };
        assert!(group_on_points.apply(&mut r, true).is_err());
        for weight in [i64::MIN, 1001] {
            let heavy = AttrRuleInput {
                profile_property: Some("x".into()),
                condition: Some(ConditionOperator::Exists),
                comparison_value: Some(String::new()),
                weight: Some(weight),
                ..Default::default()
            };
            assert!(heavy.apply(&mut r, true).is_err(), "{weight}");
        }
        assert_eq!(r.profile_property, "", "a refused change changes nothing");
    }

    #[test]
    fn mappings_respect_their_update_behaviour() {
        let m = |b: UpdateBehavior, prop: &str| FieldMapping {
            id: "pm".into(),
            org_id: "o".into(),
            unit_id: "u".into(),
            source_field: "utm.source".into(),
            profile_property: prop.into(),
            update_behavior: b,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let maps = vec![
            m(UpdateBehavior::AlwaysLatest, "latest"),
            m(UpdateBehavior::SetOnce, "first"),
            m(UpdateBehavior::Append, "all"),
        ];
        let mut md = Map::new();
        for s in ["google", "bing", "google"] {
            apply_mappings(&maps, &meta(json!({"utm": {"source": s}})), &mut md);
        }
        assert_eq!(md["latest"], "google");
        assert_eq!(md["first"], "google");
        assert_eq!(md["all_list"], json!(["bing", "google"]));
        assert!(!apply_mappings(&maps, &meta(json!({"other": 1})), &mut md));
    }
}

/// `POST /v1/scoring/profile/rules/test`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRuleTestInput {
    pub lead_id: String,
    /// The rule to try (as for create); it is tried in the primary profile ruleset.
    pub rule: AttrRuleInput,
}

/// What a profile rule would do to a lead; nothing is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfileRuleTestResult {
    pub matches: bool,
    pub reason: String,
    pub current_score: f64,
    /// The primary ruleset's score with the rule added (unchanged for hard_disqualify).
    pub projected_score: f64,
    /// The lead's value of the rule's property, as text.
    pub matching_value: Option<String>,
    /// For a hard_disqualify rule: whether it would disqualify the lead.
    pub would_disqualify: bool,
}

/// `GET /v1/scoring/disqualification-rules`: an active hard-DQ rule and how many leads
/// it disqualifies now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HardDqRule {
    pub rule_id: String,
    pub ruleset_id: String,
    pub dimension: crate::levels::Dimension,
    pub rule_name: String,
    pub match_count: u64,
}

/// `POST /v1/profile/mappings/apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplyMappingsResult {
    pub leads_processed: u64,
    pub leads_updated: u64,
}

impl AttrRulesetInput {
    pub fn apply(&self, r: &mut AttrRuleset) -> Result<(), DomainError> {
        r.name = validate::name("name", &self.name, 1, 100)?;
        if let Some(e) = self.enabled {
            r.enabled = e;
        }
        if let Some(p) = self.is_primary {
            r.is_primary = p;
        }
        Ok(())
    }
}

/// The lead's disqualification now: the first hard_disqualify rule that holds (see
/// [`evaluate`]); a disqualification by the rule already `stored` keeps its time.
pub fn disqualification(
    result: &ProfileResult,
    stored: Option<&Disqualification>,
    now: &str,
) -> Option<Disqualification> {
    let (rule, ruleset_id) = result.disqualified_by.as_ref()?;
    Some(match stored {
        Some(d) if d.rule_id == rule.id => d.clone(),
        _ => Disqualification {
            reason: format!("Disqualified: {}", rule.describe()),
            rule_id: rule.id.clone(),
            ruleset_id: ruleset_id.clone(),
            at: now.to_string(),
        },
    })
}

/// What profile and account rules make of a lead now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Judgement {
    pub profile: ProfileResult,
    /// Over its account's properties (empty without an account).
    pub account: ProfileResult,
    /// A profile rule's disqualification first, then an account rule's; one by the rule
    /// already `stored` keeps its time.
    pub disqualification: Option<Disqualification>,
}

/// Judges a lead: its properties under the profile rules, its account's (see
/// [`crate::accounts::properties`]) under the account rules.
pub fn judge(
    config: &crate::scoring::ScoringConfig,
    metadata: &Map<String, Value>,
    account: Option<&Map<String, Value>>,
    stored: Option<&Disqualification>,
    now: &str,
) -> Judgement {
    let allow = config.allow_negative_scores;
    let profile = evaluate(&config.profile, metadata, allow);
    let account = account
        .map(|a| evaluate(&config.account, a, allow))
        .unwrap_or_default();
    let disqualification =
        disqualification(&profile, stored, now).or_else(|| disqualification(&account, stored, now));
    Judgement {
        profile,
        account,
        disqualification,
    }
}

/// The profile (or account) factors of a score: one per add_points rule that holds in
/// the headline ruleset, with its share of that dimension's score. `dimension` is
/// `profile` or `account`.
pub fn factors(result: &ProfileResult, dimension: &str) -> Vec<crate::explain::Factor> {
    let total: f64 = result
        .matched
        .iter()
        .map(|r| (r.weight as f64).max(0.0))
        .sum();
    result
        .matched
        .iter()
        .map(|r| crate::explain::Factor {
            dimension: dimension.into(),
            event_type: r.describe(),
            count: 1,
            points: r.weight as f64,
            share: if total > 0.0 {
                crate::scoring::round2((r.weight as f64).max(0.0) / total)
            } else {
                0.0
            },
        })
        .collect()
}
