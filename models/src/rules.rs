//! Engagement rulesets and rules as the API shows them, with the checks on what clients
//! send. [`crate::scoring`] holds what the engine makes of them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::scoring::{ScoringRule, ScoringRuleset};
use crate::time::Timestamp;
use crate::{validate, DomainError};

/// A stored engagement ruleset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Ruleset {
    #[serde(alias = "id")]
    pub ruleset_id: String,
    pub name: String,
    /// The lead score column this ruleset feeds (kenbun default `total_score`).
    pub score_column: String,
    pub is_primary: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /v1/rulesets`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesetInput {
    pub name: String,
    pub score_column: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
}

impl RulesetInput {
    /// (name, score_column) checked: name 1–100 characters, score column 1–64 of
    /// `[a-z0-9_]`.
    pub fn validate(&self) -> Result<(String, String), DomainError> {
        let name = validate::name("name", &self.name, 1, 100)?;
        let column = score_column(self.score_column.as_deref().unwrap_or("total_score"))?;
        Ok((name, column))
    }
}

/// A score column: 1–64 of `[a-z0-9_]`, surrounding blanks dropped.
fn score_column(raw: &str) -> Result<String, DomainError> {
    let column = raw.trim();
    if column.is_empty()
        || column.len() > 64
        || !column
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(DomainError::invalid(
            "score_column",
            "must be 1-64 characters of a-z, 0-9 and _",
        ));
    }
    Ok(column.to_string())
}

/// `PUT /v1/rulesets/{id}`: the fields sent change, the others keep their stored values.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesetPatch {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub score_column: Option<String>,
    /// `true` makes this the primary ruleset (the OU's other one loses the flag);
    /// `false` on the primary ruleset is refused: an OU always has one.
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub is_primary: Option<bool>,
}

impl RulesetPatch {
    /// The ruleset with the sent fields applied, checked as on create.
    pub fn apply(&self, mut rs: Ruleset) -> Result<Ruleset, DomainError> {
        if let Some(name) = &self.name {
            rs.name = validate::name("name", name, 1, 100)?;
        }
        if let Some(column) = &self.score_column {
            rs.score_column = score_column(column)?;
        }
        match self.is_primary {
            Some(false) if rs.is_primary => {
                return Err(DomainError::invalid(
                    "is_primary",
                    "an OU always has a primary ruleset: make another ruleset primary instead",
                ))
            }
            Some(p) => rs.is_primary = p,
            None => {}
        }
        Ok(rs)
    }
}

/// A stored engagement scoring rule (kenbun field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Rule {
    #[serde(alias = "id")]
    pub rule_id: String,
    pub ruleset_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub event_type: String,
    pub weight: i64,
    /// An event scored N days ago contributes `weight × 0.5^(N / half_life_days)`;
    /// null: no decay.
    pub half_life_days: Option<u32>,
    pub icon: Option<String>,
    pub active: bool,
    pub start_at: Option<String>,
    pub end_at: Option<String>,
    /// Position in the ruleset's priority order (0 = highest).
    pub priority: u32,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

impl Rule {
    /// The engine's view of this rule (timestamps were validated when stored).
    pub fn compile(&self) -> ScoringRule {
        ScoringRule {
            rule_id: self.rule_id.clone(),
            event_type: self.event_type.clone(),
            weight: self.weight,
            half_life_days: self.half_life_days,
            active: self.active,
            start_at: self.start_at.as_deref().and_then(crate::time::parse),
            end_at: self.end_at.as_deref().and_then(crate::time::parse),
        }
    }
}

/// `POST /v1/rules` and `PUT /v1/rules/{id}`. The kenbun schema lists the stored fields
/// (rule_id, org_id, unit_id, created_at, …) in the body too; they, and `priority` (a
/// rule as read back can be sent again), are accepted and ignored, since the server owns
/// them. Any other field is refused: a misspelt one must not pass for a change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub ruleset_id: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub weight: Option<i64>,
    /// 1–730, or null for no decay.
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<u32>)]
    pub half_life_days: Option<Option<i64>>,
    /// At most 64 characters; `null` or "" clears it.
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub icon: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub start_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub end_at: Option<Option<String>>,
    // server-owned, ignored
    #[serde(default)]
    #[schema(ignore)]
    pub rule_id: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub org_id: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub unit_id: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_at: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_at: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub created_by: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub updated_by: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub priority: Option<serde_json::Value>,
}

/// The checked fields of a rule (a create fills every field; an update only those sent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RulePatch {
    pub ruleset_id: Option<String>,
    pub event_type: Option<String>,
    pub weight: Option<i64>,
    pub half_life_days: Option<Option<u32>>,
    pub icon: Option<Option<String>>,
    pub active: Option<bool>,
    pub start_at: Option<Option<Timestamp>>,
    pub end_at: Option<Option<Timestamp>>,
}

/// Largest absolute rule weight.
pub const MAX_WEIGHT: i64 = 1_000_000;

impl RuleInput {
    /// Checks what was sent. `create` requires `event_type` and `weight`.
    pub fn validate(self, create: bool) -> Result<RulePatch, DomainError> {
        let event_type = match self.event_type {
            Some(t) => Some(validate::name(
                "event_type",
                &t,
                1,
                crate::events::MAX_EVENT_TYPE_CHARS,
            )?),
            None if create => return Err(DomainError::invalid("event_type", "is required")),
            None => None,
        };
        let weight = match self.weight {
            Some(w) if w.unsigned_abs() > MAX_WEIGHT.unsigned_abs() => {
                return Err(DomainError::invalid(
                    "weight",
                    format!("must be between -{MAX_WEIGHT} and {MAX_WEIGHT}"),
                ))
            }
            Some(w) => Some(w),
            None if create => return Err(DomainError::invalid("weight", "is required")),
            None => None,
        };
        let half_life_days = match self.half_life_days {
            Some(Some(h)) if !(1..=730).contains(&h) => {
                return Err(DomainError::invalid(
                    "half_life_days",
                    "must be between 1 and 730, or null",
                ))
            }
            Some(Some(h)) => Some(Some(h as u32)),
            Some(None) => Some(None),
            None => None,
        };
        let time = |field: &str,
                    v: Option<Option<String>>|
         -> Result<Option<Option<Timestamp>>, DomainError> {
            match v {
                None => Ok(None),
                Some(None) => Ok(Some(None)),
                Some(Some(s)) if s.trim().is_empty() => Ok(Some(None)),
                Some(Some(s)) => crate::time::parse(&s)
                    .map(|t| Some(Some(t)))
                    .ok_or_else(|| DomainError::invalid(field, "must be an RFC 3339 date-time")),
            }
        };
        let start_at = time("start_at", self.start_at)?;
        let end_at = time("end_at", self.end_at)?;
        if let (Some(Some(s)), Some(Some(e))) = (start_at, end_at) {
            if e < s {
                return Err(DomainError::invalid(
                    "end_at",
                    "must not be before start_at",
                ));
            }
        }
        let icon = match self.icon {
            Some(Some(i)) if i.chars().count() > 64 => {
                return Err(DomainError::invalid(
                    "icon",
                    "must be at most 64 characters",
                ))
            }
            Some(Some(i)) if i.trim().is_empty() => Some(None),
            Some(Some(i)) => Some(Some(i.trim().to_string())),
            Some(None) => Some(None),
            None => None,
        };
        Ok(RulePatch {
            ruleset_id: self.ruleset_id,
            event_type,
            weight,
            half_life_days,
            icon,
            active: self.active,
            start_at,
            end_at,
        })
    }
}

/// Compiles stored rulesets and rules into the engine's config rulesets, rules in
/// priority order.
pub fn compile(rulesets: &[Ruleset], rules: &[Rule]) -> Vec<ScoringRuleset> {
    rulesets
        .iter()
        .map(|rs| {
            let mut own: Vec<&Rule> = rules
                .iter()
                .filter(|r| r.ruleset_id == rs.ruleset_id)
                .collect();
            own.sort_by(|a, b| {
                (a.priority, &a.created_at, &a.rule_id).cmp(&(
                    b.priority,
                    &b.created_at,
                    &b.rule_id,
                ))
            });
            ScoringRuleset {
                ruleset_id: rs.ruleset_id.clone(),
                is_primary: rs.is_primary,
                rules: own.into_iter().map(Rule::compile).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule_input(v: serde_json::Value) -> RuleInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_rule_needs_type_and_weight_and_a_sane_half_life() {
        let field = |v: serde_json::Value, create: bool| {
            rule_input(v).validate(create).unwrap_err().details.unwrap()["field"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(field(json!({"weight": 5}), true), "event_type");
        assert_eq!(field(json!({"event_type": "x"}), true), "weight");
        // the most negative integer has no absolute value in i64: still out of range
        for w in [i64::MIN, -1_000_001, 1_000_001] {
            assert_eq!(
                field(json!({"event_type": "x", "weight": w}), true),
                "weight"
            );
        }
        assert_eq!(
            field(
                json!({"event_type": "x", "weight": 5, "half_life_days": 0}),
                true
            ),
            "half_life_days"
        );
        assert_eq!(
            field(
                json!({"event_type": "x", "weight": 5, "half_life_days": 731}),
                true
            ),
            "half_life_days"
        );
        assert_eq!(
            field(
                json!({"event_type": "x", "weight": 5, "start_at": "2026-02-01T00:00:00Z", "end_at": "2026-01-01T00:00:00Z"}),
                true
            ),
            "end_at"
        );
        let ok = rule_input(
            json!({"event_type": "x", "weight": 5, "half_life_days": null, "rule_id": "ignored"}),
        )
        .validate(true)
        .unwrap();
        assert_eq!(ok.half_life_days, Some(None));
        // an update may send only what changes
        let patch = rule_input(json!({"weight": 7})).validate(false).unwrap();
        assert_eq!((patch.weight, patch.event_type), (Some(7), None));
    }

    #[test]
    fn score_columns_are_identifiers() {
        let bad = RulesetInput {
            name: "M".into(),
            score_column: Some("total score".into()),
            is_primary: false,
        };
        assert!(bad.validate().is_err());
        let ok = RulesetInput {
            name: " Marketing ".into(),
            score_column: None,
            is_primary: true,
        };
        assert_eq!(
            ok.validate().unwrap(),
            ("Marketing".into(), "total_score".into())
        );
    }
}

/// `POST /v1/rules/test`: a rule tried against one lead's history, nothing stored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTestInput {
    pub lead_id: String,
    pub rule: RuleInput,
}

/// What a rule would do to a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleTestResult {
    /// Whether the rule matches at least one of the lead's (post-reset) events.
    pub matches: bool,
    pub reason: String,
    /// The ruleset the rule was tried in (its own, else the primary one).
    pub ruleset_id: Option<String>,
    pub current_score: f64,
    /// The ruleset's score if the rule were its first rule.
    pub projected_score: f64,
    pub matching_events: u64,
}

/// `POST /v1/scoring/{dimension}/rulesets/{id}/rescore`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RescoreResult {
    pub dimension: String,
    pub ruleset_id: String,
    /// Leads replayed through the scoring engine.
    pub leads: u64,
    /// Leads whose score in the ruleset changed.
    pub changed: u64,
}
