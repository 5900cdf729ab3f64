//! Engagement events as clients send them, and the checks that turn them into events the
//! engine accepts: identity (a lead id or aliases), type, time, metadata size, channel.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::time::Timestamp;
use crate::{ids, DomainError};

/// Largest accepted `metadata`, serialized (kenbun: "Max 100KB; larger payloads are
/// rejected with 413").
pub const MAX_METADATA_BYTES: usize = 100 * 1024;
/// Most events in one `POST /v1/events/batch`.
pub const MAX_BATCH: usize = 1000;
/// Most aliases on one event.
pub const MAX_ALIASES: usize = 20;
/// Longest accepted `idempotency_key`, in characters.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// How far in the future an event may be dated (clock skew).
pub const MAX_FUTURE_SKEW_SECONDS: i64 = 24 * 3600;
/// How far in the past an event may be dated, in calendar years (leap days counted): far
/// beyond the longest half-life (730 days), and a bound on the inactivity deductions a
/// lead's history can hold.
pub const MAX_AGE_YEARS: u32 = 10;

/// The oldest time an event may be dated at `now`.
pub fn oldest_allowed(now: Timestamp) -> Timestamp {
    now.checked_sub_months(chrono::Months::new(MAX_AGE_YEARS * 12))
        .unwrap_or(now)
}

/// The kinds of identifier that resolve to a lead.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum AliasKind {
    Email,
    Phone,
    ExternalId,
    Cookie,
    Social,
}

impl AliasKind {
    pub const ALL: [AliasKind; 5] = [
        AliasKind::Email,
        AliasKind::Phone,
        AliasKind::ExternalId,
        AliasKind::Cookie,
        AliasKind::Social,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AliasKind::Email => "email",
            AliasKind::Phone => "phone",
            AliasKind::ExternalId => "external_id",
            AliasKind::Cookie => "cookie",
            AliasKind::Social => "social",
        }
    }

    pub fn parse(s: &str) -> Option<AliasKind> {
        AliasKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An alias in its normalized form: the same person always gives the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct Alias {
    pub alias_kind: AliasKind,
    pub value: String,
}

impl Alias {
    /// Normalizes and checks a raw alias: emails are trimmed and lower-cased and need an
    /// `@`; phones keep their digits (and a leading `+`), 5–20 digits; other kinds are
    /// trimmed, 1–256 characters.
    pub fn normalize(kind: AliasKind, raw: &str, field: &str) -> Result<Alias, DomainError> {
        let raw = raw.trim();
        let value = match kind {
            AliasKind::Email => {
                let v = raw.to_lowercase();
                let valid = v.len() <= 254
                    && v.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                    })
                    && !v.chars().any(char::is_whitespace);
                if !valid {
                    return Err(DomainError::invalid(field, "not a valid email address"));
                }
                v
            }
            AliasKind::Phone => {
                let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
                let plausible = raw
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c));
                if !plausible || !(5..=20).contains(&digits.len()) {
                    return Err(DomainError::invalid(
                        field,
                        "not a valid phone number (5-20 digits)",
                    ));
                }
                if raw.starts_with('+') {
                    format!("+{digits}")
                } else {
                    digits
                }
            }
            _ => {
                if raw.is_empty() || raw.chars().count() > 256 {
                    return Err(DomainError::invalid(field, "must be 1-256 characters"));
                }
                raw.to_string()
            }
        };
        Ok(Alias {
            alias_kind: kind,
            value,
        })
    }
}

/// One alias as sent on an event.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject))]
pub struct AliasInput {
    pub alias_kind: AliasKind,
    pub raw_value: String,
}

/// `POST /v1/events` body. Identify the lead with `lead_id` or `aliases` (preferred); the
/// top-level `alias_kind` + `alias` pair is accepted but deprecated. Clients never send
/// org or unit ids: the server takes them from the caller.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// An existing lead's id.
    pub lead_id: Option<String>,
    /// Deprecated: use `aliases`.
    pub alias_kind: Option<AliasKind>,
    /// Deprecated: use `aliases`.
    pub alias: Option<String>,
    /// One or more aliases that identify the lead, or create it when none is known.
    pub aliases: Option<Vec<AliasInput>>,
    pub event_type: String,
    /// RFC 3339; defaults to the time of receipt.
    pub timestamp: Option<String>,
    /// Arbitrary JSON, at most 100 KB.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// The client's name for this event (1-255 characters), so that a retry is stored
    /// once: an event whose lead already has an event with this key is not stored again,
    /// and is answered with the stored event (`duplicate: true`).
    pub idempotency_key: Option<String>,
}

/// How an event names its lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadRef {
    Id(String),
    Aliases(Vec<Alias>),
}

impl LeadRef {
    /// The aliases it names (none for a lead id).
    pub fn aliases(&self) -> &[Alias] {
        match self {
            LeadRef::Aliases(a) => a,
            LeadRef::Id(_) => &[],
        }
    }
}

/// An event that passed every check, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub lead: LeadRef,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub metadata: Map<String, Value>,
    pub channel: &'static str,
    pub idempotency_key: Option<String>,
}

/// The longest event type, in characters (events, rules, filters and settings alike).
pub const MAX_EVENT_TYPE_CHARS: usize = 100;

impl EventInput {
    /// Checks the event. `now` is the time of receipt (the default timestamp).
    pub fn validate(self, now: Timestamp) -> Result<NewEvent, DomainError> {
        let event_type = self.event_type.trim();
        if event_type.is_empty() || event_type.chars().count() > MAX_EVENT_TYPE_CHARS {
            return Err(DomainError::invalid(
                "event_type",
                format!("must be 1-{MAX_EVENT_TYPE_CHARS} characters"),
            ));
        }
        if event_type.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "event_type",
                "must not contain control characters",
            ));
        }
        let mut aliases = Vec::new();
        for (i, a) in self.aliases.unwrap_or_default().iter().enumerate() {
            aliases.push(Alias::normalize(
                a.alias_kind,
                &a.raw_value,
                &format!("aliases[{i}].raw_value"),
            )?);
        }
        match (self.alias_kind, self.alias) {
            (Some(kind), Some(raw)) => aliases.push(Alias::normalize(kind, &raw, "alias")?),
            (None, None) => {}
            _ => {
                return Err(DomainError::invalid(
                    "alias",
                    "alias_kind and alias go together (deprecated: use aliases)",
                ))
            }
        }
        aliases.sort();
        aliases.dedup();
        if aliases.len() > MAX_ALIASES {
            return Err(DomainError::invalid(
                "aliases",
                format!("at most {MAX_ALIASES} aliases"),
            ));
        }
        let lead = match (self.lead_id, aliases.is_empty()) {
            (Some(_), false) => {
                return Err(DomainError::invalid(
                    "lead_id",
                    "send either lead_id or aliases, not both",
                ))
            }
            (Some(id), true) => {
                if !ids::is_plausible_id(&id) {
                    return Err(DomainError::invalid("lead_id", "not a valid lead id"));
                }
                LeadRef::Id(id)
            }
            (None, false) => LeadRef::Aliases(aliases),
            (None, true) => {
                return Err(DomainError::invalid(
                    "lead_id",
                    "identify the lead with lead_id or aliases",
                ))
            }
        };
        let occurred_at = match self.timestamp.as_deref() {
            None => now,
            Some(s) => crate::time::parse(s).ok_or_else(|| {
                DomainError::invalid("timestamp", "must be an RFC 3339 date-time")
            })?,
        };
        if (occurred_at - now).num_seconds() > MAX_FUTURE_SKEW_SECONDS {
            return Err(DomainError::invalid(
                "timestamp",
                "must not be more than 24 hours in the future",
            ));
        }
        if occurred_at < oldest_allowed(now) {
            return Err(DomainError::invalid(
                "timestamp",
                "must not be more than 10 years in the past",
            ));
        }
        if let Some(key) = &self.idempotency_key {
            let n = key.chars().count();
            if n == 0 || n > MAX_IDEMPOTENCY_KEY {
                return Err(DomainError::invalid(
                    "idempotency_key",
                    format!("must be 1-{MAX_IDEMPOTENCY_KEY} characters"),
                ));
            }
            if key.chars().any(char::is_control) {
                return Err(DomainError::invalid(
                    "idempotency_key",
                    "must not contain control characters",
                ));
            }
        }
        let metadata = self.metadata.unwrap_or_default();
        check_metadata_size(&metadata)?;
        let channel = channel_of(event_type, &metadata);
        Ok(NewEvent {
            lead,
            event_type: event_type.to_string(),
            occurred_at,
            metadata,
            channel,
            idempotency_key: self.idempotency_key,
        })
    }
}

/// 413 when metadata is over [`MAX_METADATA_BYTES`] serialized; 422 when it nests deeper
/// than [`crate::validate::MAX_JSON_DEPTH`] levels (whatever interface it came through).
pub fn check_metadata_size(metadata: &Map<String, Value>) -> Result<(), DomainError> {
    let text = serde_json::to_vec(metadata).unwrap_or_default();
    if crate::validate::json_nests_deeper_than(&text, crate::validate::MAX_JSON_DEPTH) {
        return Err(DomainError::invalid(
            "metadata",
            format!(
                "nests arrays and objects deeper than {} levels",
                crate::validate::MAX_JSON_DEPTH
            ),
        ));
    }
    let size = if text.is_empty() {
        usize::MAX
    } else {
        text.len()
    };
    if size > MAX_METADATA_BYTES {
        return Err(DomainError::too_large(format!(
            "metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}"
        ))
        .with_details(serde_json::json!({ "field": "metadata", "limit": MAX_METADATA_BYTES })));
    }
    Ok(())
}

/// Checks the metadata a patch would leave on a record (a `null` removes its key, any other
/// value sets it): growing a record key by key must stop at the same limit as one write.
/// The patch itself is checked by its caller's input validation, before any read.
pub fn check_patched_metadata_size(
    current: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<(), DomainError> {
    let mut merged = current.clone();
    for (k, v) in patch {
        match v {
            Value::Null => merged.remove(k),
            v => merged.insert(k.clone(), v.clone()),
        };
    }
    check_metadata_size(&merged)
}

/// The normalized channels an event can belong to.
pub const CHANNELS: [&str; 6] = ["web", "email", "slack", "webinar", "crm", "system"];

/// An event's channel: `metadata.channel` when it names a known channel, else guessed from
/// the event type's words (email, slack, webinar, crm / deal / opportunity), else `web`.
pub fn channel_of(event_type: &str, metadata: &Map<String, Value>) -> &'static str {
    if let Some(c) = metadata.get("channel").and_then(Value::as_str) {
        let c = c.trim().to_lowercase();
        if let Some(known) = CHANNELS.iter().find(|k| **k == c) {
            return known;
        }
    }
    let t = event_type.to_lowercase();
    if t.contains("email") || t.contains("newsletter") {
        "email"
    } else if t.contains("slack") {
        "slack"
    } else if t.contains("webinar") {
        "webinar"
    } else if t.contains("crm") || t.contains("deal") || t.contains("opportunity") {
        "crm"
    } else if t == "decay" || t == "score_reset" {
        "system"
    } else {
        "web"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> EventInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn aliases_are_normalized_and_deduplicated() {
        let e = input(json!({
            "event_type": " Page View ",
            "aliases": [
                {"alias_kind": "email", "raw_value": " Alex@Example.COM "},
                {"alias_kind": "email", "raw_value": "alex@example.com"},
                {"alias_kind": "phone", "raw_value": "+1 (555) 010-9999"}
            ]
        }))
        .validate(crate::time::now())
        .unwrap();
        assert_eq!(e.event_type, "Page View");
        let LeadRef::Aliases(a) = e.lead else {
            panic!()
        };
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].value, "alex@example.com");
        assert_eq!(a[1].value, "+15550109999");
    }

    #[test]
    fn the_deprecated_pair_still_identifies_a_lead() {
        let e = input(json!({"event_type": "x", "alias_kind": "cookie", "alias": "c-1"}))
            .validate(crate::time::now())
            .unwrap();
        assert_eq!(
            e.lead,
            LeadRef::Aliases(vec![Alias {
                alias_kind: AliasKind::Cookie,
                value: "c-1".into()
            }])
        );
    }

    #[test]
    fn bad_events_name_the_field() {
        let now = crate::time::now();
        let field = |v: Value| {
            input(v).validate(now).unwrap_err().details.unwrap()["field"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(field(json!({"event_type": ""})), "event_type");
        assert_eq!(field(json!({"event_type": "x"})), "lead_id");
        assert_eq!(
            field(
                json!({"event_type": "x", "lead_id": "ld_1", "aliases": [{"alias_kind": "email", "raw_value": "a@b.c"}]})
            ),
            "lead_id"
        );
        assert_eq!(
            field(
                json!({"event_type": "x", "aliases": [{"alias_kind": "email", "raw_value": "nope"}]})
            ),
            "aliases[0].raw_value"
        );
        assert_eq!(
            field(json!({"event_type": "x", "lead_id": "ld 1"})),
            "lead_id"
        );
        assert_eq!(
            field(json!({"event_type": "x", "lead_id": "l", "timestamp": "soon"})),
            "timestamp"
        );
        assert_eq!(
            field(json!({"event_type": "x", "lead_id": "l", "timestamp": "2999-01-01T00:00:00Z"})),
            "timestamp"
        );
        // ten years back is the oldest an event may be dated
        assert_eq!(
            field(json!({"event_type": "x", "lead_id": "l", "timestamp": "0001-01-01T00:00:00Z"})),
            "timestamp"
        );
        // ten calendar years, leap days counted: the day before the limit is fine
        let limit = oldest_allowed(now);
        assert!((3652..=3653).contains(&(now - limit).num_days()), "{limit}");
        let almost = crate::time::format(&(limit + chrono::Duration::days(1)));
        let old = input(json!({"event_type": "x", "lead_id": "l", "timestamp": almost}));
        assert!(old.validate(now).is_ok());
        let over = crate::time::format(&(limit - chrono::Duration::seconds(1)));
        let over = input(json!({"event_type": "x", "lead_id": "l", "timestamp": over}));
        assert!(over.validate(now).is_err());
        assert_eq!(
            field(json!({"event_type": "x", "alias_kind": "email"})),
            "alias"
        );
    }

    #[test]
    fn a_patch_may_not_grow_metadata_past_the_limit() {
        let half = |key: &str| {
            let mut m = Map::new();
            m.insert(key.into(), json!("x".repeat(MAX_METADATA_BYTES / 2 + 10)));
            m
        };
        let current = half("a");
        assert!(check_patched_metadata_size(&Map::new(), &half("b")).is_ok());
        let e = check_patched_metadata_size(&current, &half("b")).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::PayloadTooLarge);
        // replacing or removing the big key keeps it within the limit
        assert!(check_patched_metadata_size(&current, &half("a")).is_ok());
        let mut swap = half("b");
        swap.insert("a".into(), Value::Null);
        assert!(check_patched_metadata_size(&current, &swap).is_ok());
    }

    #[test]
    fn oversized_metadata_is_413() {
        let big = "x".repeat(MAX_METADATA_BYTES);
        let e = input(json!({"event_type": "x", "lead_id": "l", "metadata": {"blob": big}}))
            .validate(crate::time::now())
            .unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn channels_come_from_metadata_or_the_type() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(channel_of("Page View", &Map::new()), "web");
        assert_eq!(channel_of("Email Open", &Map::new()), "email");
        assert_eq!(
            channel_of("Page View", &m(json!({"channel": "Webinar"}))),
            "webinar"
        );
        assert_eq!(
            channel_of("Page View", &m(json!({"channel": "carrier pigeon"}))),
            "web"
        );
    }
}

/// An event as stored and listed (kenbun: engagement event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "Event")
)]
pub struct StoredEvent {
    #[serde(alias = "id")]
    pub event_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub lead_id: String,
    pub event_type: String,
    pub occurred_at: String,
    pub received_at: String,
    pub channel: String,
    #[schema(value_type = Object)]
    #[cfg_attr(
        feature = "graphql",
        graphql(
            skip,
            derived(
                name = "metadata",
                into = "async_graphql::Json<Map<String, Value>>",
                with = "async_graphql::Json",
                owned
            )
        )
    )]
    pub metadata: Map<String, Value>,
    /// A timeline entry written by the server (e.g. `score_reset`), never scored.
    #[serde(default)]
    pub system: bool,
    /// The attribute filter that suppressed it when it arrived (it scores nothing).
    #[serde(default)]
    pub suppressed_by: Option<String>,
    /// A velocity filter flagged it as inorganic (bot-like) when it was scored.
    #[serde(default)]
    pub inorganic: bool,
    /// The score change the event caused in each ruleset when it was scored.
    #[serde(default)]
    pub deltas: std::collections::BTreeMap<String, crate::scoring::ScoreDelta>,
    /// The client's key for the event, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// How repeated `metadata=key:value` filters combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterLogic {
    #[default]
    And,
    Or,
}

/// `GET /v1/events` query (`metadata` may repeat).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventListParams {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Events per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// Repeatable `key:value` metadata filter, e.g. `utm_campaign:fall2025`.
    #[serde(default)]
    pub metadata: Vec<String>,
    /// Combine metadata filters with `and` (default) or `or`.
    pub logic: Option<FilterLogic>,
    /// Only this lead's events.
    pub lead_id: Option<String>,
    /// Only events of this type.
    pub event_type: Option<String>,
}

/// A checked metadata filter: the key and the values it may equal (the text as given,
/// and the number or boolean it spells, since metadata keeps JSON types).
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataFilter {
    pub key: String,
    pub values: Vec<Value>,
}

/// Checked event list filters.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    pub page: crate::page::PageRequest,
    pub metadata: Vec<MetadataFilter>,
    pub logic: FilterLogic,
    pub lead_id: Option<String>,
    pub event_type: Option<String>,
}

/// The most metadata filters one list may combine.
pub const MAX_METADATA_FILTERS: usize = 20;

impl EventListParams {
    pub fn validate(self) -> Result<EventFilter, DomainError> {
        let page = crate::page::PageParams {
            page: self.page,
            limit: self.limit,
        }
        .validate()?;
        if self.metadata.len() > MAX_METADATA_FILTERS {
            return Err(DomainError::invalid(
                "metadata",
                format!("at most {MAX_METADATA_FILTERS} filters"),
            ));
        }
        let metadata = self
            .metadata
            .iter()
            .map(|f| {
                let (k, v) = f
                    .split_once(':')
                    .filter(|(k, _)| !k.trim().is_empty() && k.len() <= 128)
                    .ok_or_else(|| {
                        DomainError::invalid("metadata", "each filter must be key:value")
                    })?;
                let mut values = vec![Value::String(v.to_string())];
                if let Ok(n) = v.parse::<i64>() {
                    values.push(Value::from(n));
                } else if let Some(n) = v.parse::<f64>().ok().filter(|n| n.is_finite()) {
                    // `nan` and `inf` stay text: no JSON number holds them
                    values.push(Value::from(n));
                }
                if let Ok(b) = v.parse::<bool>() {
                    values.push(Value::Bool(b));
                }
                Ok(MetadataFilter {
                    key: k.trim().to_string(),
                    values,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        Ok(EventFilter {
            page,
            metadata,
            logic: self.logic.unwrap_or_default(),
            lead_id: self.lead_id.filter(|l| !l.is_empty()),
            event_type: self.event_type.filter(|e| !e.is_empty()),
        })
    }
}

/// `GET /v1/events/{id}/explain`: what one event did to each ruleset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventExplanation {
    pub event_id: String,
    pub lead_id: String,
    pub event_type: String,
    pub occurred_at: String,
    /// What the event did to each ruleset: before, after, delta, the rule and multiplier.
    pub rulesets: Vec<crate::scoring::ScoreDelta>,
    /// The lead's highest score across rulesets just before and just after the event.
    pub total_before: f64,
    pub total_after: f64,
}

impl From<StoredEvent> for EventExplanation {
    fn from(e: StoredEvent) -> Self {
        let max = |f: fn(&crate::scoring::ScoreDelta) -> f64| {
            e.deltas.values().map(f).fold(0.0_f64, f64::max)
        };
        EventExplanation {
            total_before: max(|d| d.before),
            total_after: max(|d| d.after),
            rulesets: e.deltas.values().cloned().collect(),
            event_id: e.event_id,
            lead_id: e.lead_id,
            event_type: e.event_type,
            occurred_at: e.occurred_at,
        }
    }
}

/// `POST /v1/events/batch-delete`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIdsInput {
    pub ids: Vec<String>,
}

/// What a batch delete did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeletedEvents {
    pub deleted: u64,
    /// Ids that name no event of this OU.
    pub missing: Vec<String>,
}

/// `GET /v1/event-types/{type}/properties`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventTypeProperties {
    pub event_type: String,
    pub properties: Vec<String>,
}

/// `GET /v1/leads/{id}/activity` query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityParams {
    /// all, today, yesterday, last_24h, last_7d (default), last_30d, last_90d or custom.
    pub range: Option<String>,
    /// Start (RFC 3339), required with `range=custom`.
    pub start: Option<String>,
    /// End (RFC 3339), required with `range=custom`.
    pub end: Option<String>,
    /// all (default), web, email, slack, webinar, crm or system.
    pub channel: Option<String>,
    /// Only events that changed a score by at least this many points.
    #[serde(
        rename = "minScore",
        default,
        deserialize_with = "crate::validate::finite"
    )]
    pub min_score: Option<f64>,
    /// Only events received within this many milliseconds of when they happened.
    #[serde(rename = "maxLatency")]
    pub max_latency: Option<i64>,
    /// `1`/`true`: only events that changed a score; `0`/`false` (the toggle off): no
    /// such restriction.
    #[serde(rename = "hasDelta")]
    pub has_delta: Option<String>,
}

/// Checked activity filters.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityFilter {
    pub window: Option<(Timestamp, Timestamp)>,
    pub channel: Option<String>,
    pub min_score: Option<f64>,
    pub max_latency_ms: Option<i64>,
    /// Only events that changed a score.
    pub has_delta: bool,
}

impl ActivityParams {
    pub fn validate(self, now: Timestamp) -> Result<ActivityFilter, DomainError> {
        use crate::leads::CreatedRange;
        let named = |r: &str| -> Option<CreatedRange> {
            serde_json::from_value(Value::String(r.to_string())).ok()
        };
        let window = match self.range.as_deref().unwrap_or("last_7d") {
            "custom" => {
                let at = |field: &str, v: &Option<String>| {
                    v.as_deref()
                        .and_then(crate::time::parse)
                        .ok_or_else(|| DomainError::invalid(field, "an RFC 3339 date-time is required with range=custom"))
                };
                let (start, end) = (at("start", &self.start)?, at("end", &self.end)?);
                if start > end {
                    return Err(DomainError::invalid("start", "must not be after end"));
                }
                Some((start, end))
            }
            r => named(r)
                .ok_or_else(|| DomainError::invalid("range", "must be all, today, yesterday, last_24h, last_7d, last_30d, last_90d or custom"))?
                .bounds(now),
        };
        let channel = match self.channel.as_deref() {
            None | Some("all") => None,
            Some(c) if CHANNELS.contains(&c) => Some(c.to_string()),
            Some(_) => {
                return Err(DomainError::invalid(
                    "channel",
                    format!("must be all or one of {}", CHANNELS.join(", ")),
                ))
            }
        };
        if self.min_score.is_some_and(|m| m < 0.0) {
            return Err(DomainError::invalid("minScore", "must be 0 or more"));
        }
        if self.max_latency.is_some_and(|m| m < 1) {
            return Err(DomainError::invalid("maxLatency", "must be 1 or more"));
        }
        let has_delta = match self.has_delta.as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(_) => {
                return Err(DomainError::invalid(
                    "hasDelta",
                    "must be 1, true, 0 or false",
                ))
            }
        };
        Ok(ActivityFilter {
            window,
            channel,
            min_score: self.min_score,
            max_latency_ms: self.max_latency,
            has_delta,
        })
    }
}

impl ActivityFilter {
    /// Whether an event passes every filter.
    pub fn keeps(&self, e: &StoredEvent) -> bool {
        let Some(at) = crate::time::parse(&e.occurred_at) else {
            return false;
        };
        if self.window.is_some_and(|(from, to)| at < from || at >= to) {
            return false;
        }
        if self.channel.as_deref().is_some_and(|c| c != e.channel) {
            return false;
        }
        let biggest = e.deltas.values().map(|d| d.delta.abs()).fold(0.0, f64::max);
        if self.min_score.is_some_and(|m| biggest < m) {
            return false;
        }
        if self.has_delta && biggest == 0.0 {
            return false;
        }
        if let Some(max) = self.max_latency_ms {
            let latency = crate::time::parse(&e.received_at)
                .map(|r| (r - at).num_milliseconds())
                .unwrap_or(i64::MAX);
            if latency > max {
                return false;
            }
        }
        true
    }
}

/// One entry of a lead's unified timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    /// `event`, or the server entry's type (e.g. `score_reset`).
    pub kind: String,
    pub at: String,
    pub event_id: String,
    pub event_type: String,
    pub channel: String,
    /// The largest score change the entry caused in any ruleset.
    pub score_delta: f64,
}

/// `GET /v1/leads/{id}/activity`: engagement events, orders and the unified timeline,
/// newest first. Leadwire has no order source, so `orders` is always empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    pub events: Vec<StoredEvent>,
    #[schema(value_type = Vec<Object>)]
    pub orders: Vec<Value>,
    pub timeline: Vec<TimelineEntry>,
}
