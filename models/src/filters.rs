//! Event filters: inorganic (velocity) filters that flag bot-like floods, and attribute
//! (metadata) filters that suppress events whose metadata matches conditions. A flagged
//! or suppressed event is kept (it shows on the timeline) but scores nothing and does not
//! count towards surge sessions. Attribute filters are evaluated first, when the event
//! arrives; velocity filters see only the events attribute filters let through.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{validate, DomainError};

/// The longest velocity window: 30 days.
pub const MAX_WINDOW_MS: u64 = 30 * 24 * 3600 * 1000;
/// At most this many conditions per attribute filter.
pub const MAX_CONDITIONS: usize = 20;

/// A stored inorganic activity filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct InorganicFilter {
    pub filter_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub event_type: String,
    /// How many events of the type within the window are organic; the ones beyond it
    /// are flagged.
    pub count_threshold: u32,
    pub time_window_ms: u64,
    /// true: a burst (events each within the window of the previous one) is one unit:
    /// once it passes the threshold, nothing more of it scores until the type has been
    /// quiet for a whole window. false: a plain sliding window.
    pub group_events: bool,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

/// `POST /v1/filters` (all required but `group_events`) and `PUT /v1/filters/{id}` (all
/// optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InorganicFilterInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub count_threshold: Option<i64>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub time_window_ms: Option<i64>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub group_events: Option<bool>,
}

impl InorganicFilterInput {
    /// Applies the input to `f` (a new filter when `create`): event type 1–200
    /// characters, threshold 1–1,000,000, window 1 ms – 30 days.
    pub fn apply(&self, f: &mut InorganicFilter, create: bool) -> Result<(), DomainError> {
        let required = |field: &str| DomainError::invalid(field, "is required");
        match &self.event_type {
            Some(t) => {
                f.event_type =
                    validate::name("event_type", t, 1, crate::events::MAX_EVENT_TYPE_CHARS)?
            }
            None if create => return Err(required("event_type")),
            None => {}
        }
        match self.count_threshold {
            Some(n) if (1..=1_000_000).contains(&n) => f.count_threshold = n as u32,
            Some(_) => {
                return Err(DomainError::invalid(
                    "count_threshold",
                    "must be between 1 and 1000000",
                ))
            }
            None if create => return Err(required("count_threshold")),
            None => {}
        }
        match self.time_window_ms {
            Some(ms) if ms >= 1 && ms as u64 <= MAX_WINDOW_MS => f.time_window_ms = ms as u64,
            Some(_) => {
                return Err(DomainError::invalid(
                    "time_window_ms",
                    "must be between 1 and 2592000000 (30 days)",
                ))
            }
            None if create => return Err(required("time_window_ms")),
            None => {}
        }
        if let Some(g) = self.group_events {
            f.group_events = g;
        }
        Ok(())
    }
}

/// How a velocity filter judges events (the engine's compiled form).
#[derive(Debug, Clone, PartialEq)]
pub struct VelocityFilter {
    pub filter_id: String,
    pub event_type: String,
    pub count_threshold: u32,
    pub window: chrono::Duration,
    pub group_events: bool,
}

impl InorganicFilter {
    pub fn compile(&self) -> VelocityFilter {
        VelocityFilter {
            filter_id: self.filter_id.clone(),
            event_type: self.event_type.clone(),
            count_threshold: self.count_threshold,
            window: chrono::Duration::milliseconds(self.time_window_ms as i64),
            group_events: self.group_events,
        }
    }
}

impl VelocityFilter {
    /// Whether an event at `at` is inorganic, given the times of the earlier events of
    /// the same type that reached velocity filters, newest first (all ≤ `at`).
    pub fn flags(
        &self,
        earlier: impl Iterator<Item = crate::time::Timestamp>,
        at: crate::time::Timestamp,
    ) -> bool {
        let limit = self.count_threshold as usize;
        let n = if self.group_events {
            // the burst: walk back while each gap is within the window
            let mut next = at;
            earlier
                .take_while(|t| {
                    let inside = next - *t <= self.window;
                    next = *t;
                    inside
                })
                .take(limit)
                .count()
        } else {
            earlier
                .take_while(|t| at - *t < self.window)
                .take(limit)
                .count()
        };
        n + 1 > limit
    }
}

/// The comparison of one attribute condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum ConditionOperator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    Exists,
    NotExists,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    In,
    NotIn,
}

/// One condition over an event's metadata (kenbun `MetadataAttributeFilterCondition`).
/// `key` names a metadata key; a dotted key (`utm.source`) reaches into nested objects
/// when no key has that exact name. Text comparisons ignore case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "AttributeCondition")
)]
pub struct MetadataCondition {
    pub key: String,
    pub operator: ConditionOperator,
    /// Not used by `exists` / `not_exists`; an array for `in` / `not_in`; a number for
    /// the ordering operators.
    #[serde(default)]
    pub value: Option<Value>,
}

pub fn lookup<'a>(metadata: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(v) = metadata.get(key) {
        return Some(v);
    }
    let mut parts = key.split('.');
    let mut cur = metadata.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// A value as comparable text (strings as they are, numbers and booleans printed).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) if !(a.is_string() && b.is_string()) => x == y,
        _ => match (text(a), text(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

impl MetadataCondition {
    /// Checks a condition a client sent: key 1–200 characters, a value where the
    /// operator needs one (an array for in / not_in, a number for ordering).
    pub fn validate(&self, i: usize) -> Result<(), DomainError> {
        let field = format!("conditions[{i}]");
        if self.key.trim().is_empty() || self.key.chars().count() > 200 {
            return Err(DomainError::invalid(
                &format!("{field}.key"),
                "must be 1-200 characters",
            ));
        }
        use ConditionOperator::*;
        let ok = match self.operator {
            Exists | NotExists => true,
            In | NotIn => matches!(&self.value, Some(Value::Array(a)) if !a.is_empty()),
            GreaterThan | GreaterThanOrEqual | LessThan | LessThanOrEqual => {
                self.value.as_ref().and_then(number).is_some()
            }
            Equals | NotEquals => matches!(
                &self.value,
                Some(Value::String(_) | Value::Number(_) | Value::Bool(_))
            ),
            Contains | NotContains | StartsWith | EndsWith => {
                matches!(&self.value, Some(v) if text(v).is_some())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(DomainError::invalid(
                &format!("{field}.value"),
                "does not suit the operator (in/not_in need a non-empty array, ordering operators a number, the others a string, number or boolean)",
            ))
        }
    }

    /// Whether `metadata` meets this condition. A missing key meets only `not_exists`
    /// and the negative operators.
    pub fn matches(&self, metadata: &Map<String, Value>) -> bool {
        use ConditionOperator::*;
        let found = lookup(metadata, &self.key).filter(|v| !v.is_null());
        let want = self.value.as_ref();
        match (self.operator, found) {
            (Exists, f) => f.is_some(),
            (NotExists, f) => f.is_none(),
            (NotEquals | NotContains | NotIn, None) => true,
            (_, None) => false,
            (Equals, Some(v)) => want.is_some_and(|w| equal(v, w)),
            (NotEquals, Some(v)) => !want.is_some_and(|w| equal(v, w)),
            (In | NotIn, Some(v)) => {
                let inside = want
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|w| equal(v, w)));
                inside == (self.operator == In)
            }
            (GreaterThan | GreaterThanOrEqual | LessThan | LessThanOrEqual, Some(v)) => {
                match (number(v), want.and_then(number)) {
                    (Some(x), Some(y)) => match self.operator {
                        GreaterThan => x > y,
                        GreaterThanOrEqual => x >= y,
                        LessThan => x < y,
                        _ => x <= y,
                    },
                    _ => false,
                }
            }
            (op, Some(v)) => {
                let (Some(x), Some(y)) = (text(v), want.and_then(text)) else {
                    return op == NotContains;
                };
                match op {
                    Contains => x.contains(&y),
                    NotContains => !x.contains(&y),
                    StartsWith => x.starts_with(&y),
                    _ => x.ends_with(&y),
                }
            }
        }
    }
}

/// A stored attribute (metadata) suppression filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "AttributeFilter")
)]
pub struct MetadataFilter {
    pub id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub name: String,
    /// The event type it applies to; empty: every type.
    pub event_type: String,
    /// All must hold (AND).
    pub conditions: Vec<MetadataCondition>,
    pub enabled: bool,
    /// Events this filter suppressed since it was created.
    pub suppressed_count: u64,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

impl MetadataFilter {
    /// Whether this filter suppresses an event of `event_type` with `metadata`.
    pub fn suppresses(&self, event_type: &str, metadata: &Map<String, Value>) -> bool {
        self.enabled && conditions_match(&self.event_type, &self.conditions, event_type, metadata)
    }
}

/// Scope and conditions (AND) against one event; no conditions never match.
pub fn conditions_match(
    scope: &str,
    conditions: &[MetadataCondition],
    event_type: &str,
    metadata: &Map<String, Value>,
) -> bool {
    (scope.is_empty() || scope == event_type)
        && !conditions.is_empty()
        && conditions.iter().all(|c| c.matches(metadata))
}

fn check_conditions(conditions: &[MetadataCondition]) -> Result<(), DomainError> {
    if conditions.is_empty() || conditions.len() > MAX_CONDITIONS {
        return Err(DomainError::invalid(
            "conditions",
            format!("must hold 1-{MAX_CONDITIONS} conditions"),
        ));
    }
    conditions
        .iter()
        .enumerate()
        .try_for_each(|(i, c)| c.validate(i))
}

/// `POST /v1/metadata-filters` and `PUT /v1/metadata-filters/{id}` (the PUT replaces
/// name, and whatever else it carries).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataFilterInput {
    pub name: String,
    /// Empty or absent: every event type.
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub conditions: Option<Vec<MetadataCondition>>,
    /// Default true.
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub enabled: Option<bool>,
}

impl MetadataFilterInput {
    /// Applies the input to `f` (a new filter when `create`, which needs conditions).
    pub fn apply(&self, f: &mut MetadataFilter, create: bool) -> Result<(), DomainError> {
        f.name = validate::name("name", &self.name, 1, 200)?;
        if let Some(t) = &self.event_type {
            // empty: every event type; otherwise an event type's 1-100 characters
            if t.chars().count() > crate::events::MAX_EVENT_TYPE_CHARS {
                return Err(DomainError::invalid(
                    "event_type",
                    format!(
                        "must be at most {} characters",
                        crate::events::MAX_EVENT_TYPE_CHARS
                    ),
                ));
            }
            f.event_type = t.trim().to_string();
        }
        match &self.conditions {
            Some(c) => {
                check_conditions(c)?;
                f.conditions = c.clone();
            }
            None if create => return Err(DomainError::invalid("conditions", "is required")),
            None => {}
        }
        if let Some(e) = self.enabled {
            f.enabled = e;
        }
        Ok(())
    }
}

/// `POST /v1/metadata-filters/preview`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// Omit (or empty) for every type.
    pub event_type: Option<String>,
    pub conditions: Vec<MetadataCondition>,
}

impl PreviewInput {
    pub fn validate(&self) -> Result<(), DomainError> {
        check_conditions(&self.conditions)
    }

    pub fn matches(&self, event_type: &str, metadata: &Map<String, Value>) -> bool {
        conditions_match(
            self.event_type.as_deref().unwrap_or(""),
            &self.conditions,
            event_type,
            metadata,
        )
    }
}

/// How many existing events conditions would suppress.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PreviewCount {
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use serde_json::json;

    fn cond(key: &str, operator: ConditionOperator, value: Value) -> MetadataCondition {
        MetadataCondition {
            key: key.into(),
            operator,
            value: Some(value),
        }
    }

    #[test]
    fn conditions_compare_text_numbers_and_nested_keys() {
        use ConditionOperator::*;
        let m = json!({"ua": "Mozilla HeadlessChrome", "n": 5, "utm": {"source": "Bot-Net"}, "ok": true})
            .as_object()
            .cloned()
            .unwrap();
        let yes = [
            cond("ua", Contains, json!("headless")),
            cond("ua", StartsWith, json!("mozilla")),
            cond("ua", EndsWith, json!("Chrome")),
            cond("utm.source", Equals, json!("bot-net")),
            cond("n", Equals, json!(5)),
            cond("n", Equals, json!("5")),
            cond("n", GreaterThanOrEqual, json!(5)),
            cond("n", LessThan, json!(6)),
            cond("ok", Equals, json!(true)),
            cond("n", In, json!([1, 5])),
            cond("missing", NotEquals, json!("x")),
            cond("missing", NotIn, json!(["x"])),
            cond("ua", NotContains, json!("firefox")),
            MetadataCondition {
                key: "ua".into(),
                operator: Exists,
                value: None,
            },
            MetadataCondition {
                key: "gone".into(),
                operator: NotExists,
                value: None,
            },
        ];
        for c in &yes {
            assert!(c.matches(&m), "{c:?}");
        }
        let no = [
            cond("ua", Contains, json!("firefox")),
            cond("n", GreaterThan, json!(5)),
            cond("missing", Equals, json!("x")),
            cond("missing", Contains, json!("x")),
            cond("n", NotIn, json!([5])),
            cond("ua", GreaterThan, json!(1)),
        ];
        for c in &no {
            assert!(!c.matches(&m), "{c:?}");
        }
    }

    #[test]
    fn conditions_are_checked_against_their_operator() {
        use ConditionOperator::*;
        assert!(cond("k", In, json!("x")).validate(0).is_err());
        assert!(cond("k", GreaterThan, json!("abc")).validate(0).is_err());
        assert!(cond("", Equals, json!("x")).validate(0).is_err());
        assert!(cond("k", Equals, json!({"a": 1})).validate(0).is_err());
        assert!(cond("k", In, json!(["a"])).validate(0).is_ok());
        assert!(check_conditions(&[]).is_err());
    }

    #[test]
    fn velocity_filters_count_a_sliding_window_or_a_burst() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let f = |group| VelocityFilter {
            filter_id: "f".into(),
            event_type: "Page View".into(),
            count_threshold: 2,
            window: Duration::seconds(10),
            group_events: group,
        };
        // events every 6 s: a 10 s window holds 2 of them, a burst never ends
        let times: Vec<_> = (0..6).map(|i| t0 + Duration::seconds(6 * i)).collect();
        let flagged = |group: bool| -> Vec<bool> {
            (0..times.len())
                .map(|i| f(group).flags(times[..i].iter().rev().copied(), times[i]))
                .collect()
        };
        assert_eq!(flagged(false), vec![false; 6]);
        assert_eq!(flagged(true), vec![false, false, true, true, true, true]);
        // a quiet gap longer than the window ends the burst
        let later = t0 + Duration::seconds(6 * 5 + 11);
        assert!(!f(true).flags(times.iter().rev().copied(), later));
    }
}
