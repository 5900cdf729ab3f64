//! GraphQL object and input types that are not the models' own: the lead with its nested
//! fields, pages, mutation inputs and results.

use async_graphql::{
    ComplexObject, Context, InputObject, Json, MaybeUndefined, Result, SimpleObject,
};
use leadwire_models::accounts::Account;
use leadwire_models::events::{AliasInput, StoredEvent};
use leadwire_models::explain::Explanation;
use leadwire_models::leads::{Lead, LeadAlias, RescoreSummary, TruncatePolicy};
use leadwire_models::scoring::ScoreDelta;
use leadwire_models::DomainError;
use serde_json::{Map, Value};

use crate::loaders::MAX_LEAD_EVENTS;
use crate::session::{gql_error, session};

/// A lead: its stored fields and live scores, with its aliases, account, recent events,
/// explanation and why-summary on demand.
#[derive(SimpleObject)]
#[graphql(complex, name = "Lead")]
pub struct LeadNode {
    #[graphql(flatten)]
    pub lead: Lead,
    /// Nested fields already loaded for the whole page the lead is on.
    #[graphql(skip)]
    pub prefetched: Prefetched,
}

/// The nested fields of a lead loaded with the rest of its page (see
/// [`crate::loaders::prefetch`]); a field not loaded so goes through its DataLoader.
#[derive(Default)]
pub struct Prefetched {
    pub aliases: Option<Vec<LeadAlias>>,
    pub account: Option<Option<Account>>,
    pub events: Option<Vec<StoredEvent>>,
    pub why: Option<String>,
}

impl From<Lead> for LeadNode {
    fn from(lead: Lead) -> Self {
        LeadNode {
            lead,
            prefetched: Prefetched::default(),
        }
    }
}

#[ComplexObject]
impl LeadNode {
    /// The identifiers that resolve to this lead (batched across a page).
    async fn aliases(&self, ctx: &Context<'_>) -> Result<Vec<LeadAlias>> {
        if let Some(a) = &self.prefetched.aliases {
            return Ok(a.clone());
        }
        if self.lead.merged_into.is_some() {
            // a merged-away lead's are those of the lead its history went to
            let s = session(ctx)?;
            let t = s.tenant().await?;
            return s
                .core()
                .lead_aliases(&t, &self.lead.id)
                .await
                .map_err(gql_error);
        }
        let loaders = session(ctx)?.loaders().await?;
        Ok(loaders
            .aliases
            .load_one(self.lead.id.clone())
            .await?
            .unwrap_or_default())
    }

    /// The account the lead belongs to (batched across a page).
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        if let Some(a) = &self.prefetched.account {
            return Ok(a.clone());
        }
        let Some(id) = self.lead.account_id.clone() else {
            return Ok(None);
        };
        let loaders = session(ctx)?.loaders().await?;
        loaders.accounts.load_one(id).await
    }

    /// The lead's newest events, newest first (`limit` 1–100, default 20; batched across
    /// a page).
    #[graphql(complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn events(&self, ctx: &Context<'_>, limit: Option<i32>) -> Result<Vec<StoredEvent>> {
        let limit = limit.unwrap_or(20);
        if !(1..=MAX_LEAD_EVENTS as i32).contains(&limit) {
            return Err(gql_error(DomainError::invalid(
                "limit",
                format!("must be 1-{MAX_LEAD_EVENTS}"),
            )));
        }
        let mut events = match &self.prefetched.events {
            Some(e) => e.clone(),
            // a merged-away lead's are those of the lead its history went to
            None if self.lead.merged_into.is_some() => {
                let s = session(ctx)?;
                let t = s.tenant().await?;
                let mut all = s
                    .core()
                    .lead_events(&t, &self.lead.id)
                    .await
                    .map_err(gql_error)?;
                all.reverse();
                all
            }
            None => {
                let loaders = session(ctx)?.loaders().await?;
                loaders
                    .events
                    .load_one(self.lead.id.clone())
                    .await?
                    .unwrap_or_default()
            }
        };
        events.truncate(limit as usize);
        Ok(events)
    }

    /// The plain-language summary of why the lead has its score (batched across a page).
    async fn why_summary(&self, ctx: &Context<'_>) -> Result<String> {
        if let Some(w) = &self.prefetched.why {
            return Ok(w.clone());
        }
        let loaders = session(ctx)?.loaders().await?;
        Ok(loaders
            .why
            .load_one(self.lead.id.clone())
            .await?
            .unwrap_or_default())
    }

    /// Top drivers, rule snapshot, surge boosts and decay of the score over the last
    /// `hours` (1–8784, a year; default 24) in one ruleset (default the primary one). One lead at a
    /// time: costly in a list.
    #[graphql(complexity = 50)]
    async fn explanation(
        &self,
        ctx: &Context<'_>,
        hours: Option<u32>,
        ruleset_id: Option<String>,
    ) -> Result<Json<Explanation>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .explain_lead(&t, &self.lead.id, hours, ruleset_id.as_deref())
            .await
            .map(Json)
            .map_err(gql_error)
    }
}

/// A page of leads.
#[derive(SimpleObject)]
pub struct LeadPage {
    pub leads: Vec<LeadNode>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

/// What an ingested event did, once it is durable.
#[derive(SimpleObject)]
pub struct IngestResult {
    pub event_id: String,
    pub lead_id: String,
    pub lead_created: bool,
    /// The score change in each ruleset.
    pub deltas: Vec<ScoreDelta>,
    /// A retry of an event the lead has (same `idempotencyKey`): nothing was stored.
    pub duplicate: bool,
}

impl From<leadwire_actors::engine::IngestAck> for IngestResult {
    fn from(a: leadwire_actors::engine::IngestAck) -> Self {
        IngestResult {
            event_id: a.event_id,
            lead_id: a.lead_id,
            lead_created: a.lead_created,
            deltas: a.deltas,
            duplicate: a.duplicate,
        }
    }
}

/// The outcome of merging leads into a target.
#[derive(SimpleObject)]
#[graphql(name = "MergeResult")]
pub struct MergeResultNode {
    pub target: LeadNode,
    pub merged_sources: Vec<String>,
    pub moved_events: u64,
    pub moved_aliases: u64,
    pub truncated_events: u64,
    pub rescore: RescoreSummary,
}

impl From<leadwire_models::leads::MergeResult> for MergeResultNode {
    fn from(m: leadwire_models::leads::MergeResult) -> Self {
        MergeResultNode {
            target: m.target.into(),
            merged_sources: m.merged_sources,
            moved_events: m.moved_events,
            moved_aliases: m.moved_aliases,
            truncated_events: m.truncated_events,
            rescore: m.rescore,
        }
    }
}

/// An engagement event to ingest: name the lead by `leadId` or by `aliases`.
#[derive(InputObject)]
#[graphql(name = "EventInput")]
pub struct EventInputGql {
    pub lead_id: Option<String>,
    pub aliases: Option<Vec<AliasInput>>,
    pub event_type: String,
    /// RFC 3339; defaults to the time of receipt.
    pub timestamp: Option<String>,
    /// A JSON object, at most 100 KB.
    pub metadata: Option<Value>,
    /// The client's name for the event (1-255 characters): a retry with the same key is
    /// not stored again and answers `duplicate: true`.
    pub idempotency_key: Option<String>,
}

impl EventInputGql {
    pub fn into_model(self) -> Result<leadwire_models::events::EventInput> {
        Ok(leadwire_models::events::EventInput {
            lead_id: self.lead_id,
            aliases: self.aliases,
            event_type: self.event_type,
            timestamp: self.timestamp,
            metadata: self.metadata.map(object).transpose()?,
            idempotency_key: self.idempotency_key,
            ..Default::default()
        })
    }
}

/// A JSON value that must be an object (metadata).
pub fn object(v: Value) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(gql_error(DomainError::invalid(
            "metadata",
            "must be a JSON object",
        ))),
    }
}

/// A scoring rule: on create `eventType` and `weight` are required (`rulesetId` defaults to
/// the primary ruleset); on update only the fields sent change (null clears `halfLifeDays`,
/// `startAt`, `endAt`).
#[derive(InputObject)]
#[graphql(name = "RuleInput")]
pub struct RuleInputGql {
    /// Left out or a ruleset id; not null.
    pub ruleset_id: MaybeUndefined<String>,
    /// Left out (update) or 1–100 characters; not null.
    pub event_type: MaybeUndefined<String>,
    /// −1,000,000 to 1,000,000 (0 records the event type without scoring it); not null.
    pub weight: MaybeUndefined<i64>,
    /// 1–730 days, or null for no decay.
    pub half_life_days: MaybeUndefined<i64>,
    /// At most 64 characters; null or "" clears it.
    pub icon: MaybeUndefined<String>,
    /// Left out or a boolean; not null.
    pub active: MaybeUndefined<bool>,
    pub start_at: MaybeUndefined<String>,
    pub end_at: MaybeUndefined<String>,
}

/// An argument that may be left out or null, as the models' `Option<Option<T>>`.
pub(crate) fn double<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// An input field that may be left out but not cleared: an explicit `null` is refused
/// rather than taken for "keep the stored value".
pub(crate) fn not_null<T>(field: &str, v: MaybeUndefined<T>) -> Result<Option<T>> {
    match v {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(gql_error(DomainError::invalid(
            field,
            leadwire_models::validate::NOT_NULL,
        ))),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

impl RuleInputGql {
    pub fn into_model(self) -> Result<leadwire_models::rules::RuleInput> {
        Ok(leadwire_models::rules::RuleInput {
            ruleset_id: not_null("rulesetId", self.ruleset_id)?,
            event_type: not_null("eventType", self.event_type)?,
            weight: not_null("weight", self.weight)?,
            half_life_days: double(self.half_life_days),
            icon: double(self.icon),
            active: not_null("active", self.active)?,
            start_at: double(self.start_at),
            end_at: double(self.end_at),
            ..Default::default()
        })
    }
}

/// A ruleset: name 1–100 characters, `scoreColumn` 1–64 of `[a-z0-9_]` (default
/// `total_score`).
#[derive(InputObject)]
#[graphql(name = "RulesetInput")]
pub struct RulesetInputGql {
    pub name: String,
    pub score_column: Option<String>,
    #[graphql(default)]
    pub is_primary: bool,
}

impl From<RulesetInputGql> for leadwire_models::rules::RulesetInput {
    fn from(r: RulesetInputGql) -> Self {
        leadwire_models::rules::RulesetInput {
            name: r.name,
            score_column: r.score_column,
            is_primary: r.is_primary,
        }
    }
}

/// A change to a ruleset: the fields given change, the others keep their values.
/// `isPrimary: true` makes it the primary ruleset; `false` on the primary one is refused.
#[derive(InputObject)]
#[graphql(name = "RulesetPatch")]
pub struct RulesetPatchGql {
    pub name: MaybeUndefined<String>,
    pub score_column: MaybeUndefined<String>,
    pub is_primary: MaybeUndefined<bool>,
}

impl RulesetPatchGql {
    pub fn into_model(self) -> Result<leadwire_models::rules::RulesetPatch> {
        Ok(leadwire_models::rules::RulesetPatch {
            name: not_null("name", self.name)?,
            score_column: not_null("scoreColumn", self.score_column)?,
            is_primary: not_null("isPrimary", self.is_primary)?,
        })
    }
}

/// How a merge trims the combined history.
#[derive(InputObject)]
#[graphql(name = "TruncateInput")]
pub struct TruncateInputGql {
    #[graphql(default)]
    pub policy: TruncatePolicy,
    pub max_events: Option<u32>,
}
