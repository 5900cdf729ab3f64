//! The engagement scoring engine: pure functions from (rules, surge policy, a lead's
//! events, the reset point, now) to scores. The live path (a lead actor appending one
//! event) and the batch path (rescoring from stored events) both call [`LeadBook`], so the
//! two can never disagree.
//!
//! Semantics, in the words of the kenbun document:
//! - A rule scores events of its `event_type` while it is `active` and the event's time lies
//!   inside the rule's `start_at` / `end_at` window (either bound may be open).
//! - Within one ruleset, an event is scored by the first matching rule in priority order
//!   (the order `PUT /v1/rulesets/{id}/rules/order` sets); a ruleset scores an event once.
//! - An event scored N days ago contributes `weight × 0.5^(N / half_life_days)`; a rule
//!   without `half_life_days` contributes `weight` for ever. Ages below zero (an event
//!   dated in the future) count as zero.
//! - The surge session multiplier scales an event's points by how deep into an active
//!   session it falls: events closer than `idle_reset_seconds` to the previous one form a
//!   session; the n-th event of a session gets the multiplier of the highest band whose
//!   `min_events` ≤ n, never above `multiplier_cap`.
//! - A score reset at time R removes the contribution of every event dated before R, also
//!   of events that arrive later (backfills) with such a date.
//! - Scores never go below zero unless negative scores are allowed.
//!
//! A lead's events are ordered by (time, id), whatever order they arrived in, so the score
//! depends only on the set of events.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::Timestamp;

mod deductions;
pub use deductions::{deducted, Deduction};

/// Seconds in a day, for ages in days.
const DAY_SECONDS: f64 = 86_400.0;

/// The decay factor of an event `age_days` old under a half-life of `half_life_days`:
/// `0.5^(age_days / half_life_days)`; 1 without a half-life or for non-positive ages.
pub fn half_life_factor(age_days: f64, half_life_days: Option<u32>) -> f64 {
    match half_life_days {
        Some(h) if h > 0 && age_days > 0.0 => 0.5_f64.powf(age_days / f64::from(h)),
        _ => 1.0,
    }
}

/// Age in (fractional) days of an event at `occurred_at`, seen at `now`; never negative.
pub fn age_days(occurred_at: Timestamp, now: Timestamp) -> f64 {
    let micros = (now - occurred_at).num_microseconds().unwrap_or(i64::MAX);
    (micros.max(0) as f64) / 1e6 / DAY_SECONDS
}

/// Rounds a score for reporting (2 decimals).
pub fn round2(x: f64) -> f64 {
    // `+ 0.0` turns a negative zero into zero
    (x * 100.0).round() / 100.0 + 0.0
}

/// One engagement scoring rule as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringRule {
    pub rule_id: String,
    pub event_type: String,
    pub weight: i64,
    pub half_life_days: Option<u32>,
    pub active: bool,
    pub start_at: Option<Timestamp>,
    pub end_at: Option<Timestamp>,
}

impl ScoringRule {
    /// Whether this rule scores an event of `event_type` that happened at `at`.
    pub fn matches(&self, event_type: &str, at: Timestamp) -> bool {
        self.active
            && self.event_type == event_type
            && self.start_at.is_none_or(|s| at >= s)
            && self.end_at.is_none_or(|e| at <= e)
    }
}

/// A ruleset with its rules in priority order (first = highest).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringRuleset {
    pub ruleset_id: String,
    pub is_primary: bool,
    pub rules: Vec<ScoringRule>,
}

impl ScoringRuleset {
    /// The rule that scores an event, if any: the first match in priority order.
    pub fn rule_for(&self, event_type: &str, at: Timestamp) -> Option<&ScoringRule> {
        self.rules.iter().find(|r| r.matches(event_type, at))
    }
}

/// How the surge session multiplier behaves in an org unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurgeMode {
    /// No multiplier: every event scores its weight.
    Off,
    /// Default bands: 1× for the first 2 events of a session, 1.25× from the 3rd, 1.5× from the 5th.
    Standard,
    /// Softer bands: 1.1× from the 3rd event, 1.2× from the 5th.
    Gentle,
    /// The policy's own bands.
    Custom,
}

/// From the `min_events`-th event of a session on, points are multiplied by `multiplier`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurgeBand {
    pub min_events: u32,
    pub multiplier: f64,
}

/// The OU's surge session policy (kenbun: "session-based surge multiplier policy").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SurgePolicy {
    pub mode: SurgeMode,
    pub bands: Vec<SurgeBand>,
    /// A gap longer than this between two events starts a new session.
    pub idle_reset_seconds: u32,
    /// The multiplier never exceeds this (1–3).
    pub multiplier_cap: f64,
}

impl Default for SurgePolicy {
    /// The Standard policy with a 30-minute session idle timeout.
    fn default() -> Self {
        SurgePolicy {
            mode: SurgeMode::Standard,
            bands: STANDARD_BANDS.to_vec(),
            idle_reset_seconds: 1800,
            multiplier_cap: 2.0,
        }
    }
}

const fn band(min_events: u32, multiplier: f64) -> SurgeBand {
    SurgeBand {
        min_events,
        multiplier,
    }
}

/// The Standard mode's bands.
pub const STANDARD_BANDS: [SurgeBand; 3] = [band(1, 1.0), band(3, 1.25), band(5, 1.5)];
/// The Gentle mode's bands.
pub const GENTLE_BANDS: [SurgeBand; 3] = [band(1, 1.0), band(3, 1.1), band(5, 1.2)];

impl SurgePolicy {
    /// The bands in force for the mode (custom: the policy's own).
    pub fn effective_bands(&self) -> &[SurgeBand] {
        match self.mode {
            SurgeMode::Off => &[],
            SurgeMode::Standard => &STANDARD_BANDS,
            SurgeMode::Gentle => &GENTLE_BANDS,
            SurgeMode::Custom => &self.bands,
        }
    }

    /// The multiplier of the `n`-th event (1-based) of a session.
    pub fn multiplier(&self, n: u32) -> f64 {
        let m = self
            .effective_bands()
            .iter()
            .filter(|b| b.min_events <= n)
            .map(|b| b.multiplier)
            .fold(1.0_f64, f64::max);
        m.clamp(1.0, self.multiplier_cap.clamp(1.0, 3.0))
    }

    /// Checks a policy a client sent: cap in [1, 3], idle reset ≥ 1 s, bands with
    /// `min_events` ≥ 1 and multipliers in [1, 3]; custom mode needs at least one band.
    pub fn validate(&self) -> Result<(), crate::DomainError> {
        if !(1.0..=3.0).contains(&self.multiplier_cap) || !self.multiplier_cap.is_finite() {
            return Err(crate::DomainError::invalid(
                "multiplier_cap",
                "must be between 1 and 3",
            ));
        }
        if self.idle_reset_seconds < 1 {
            return Err(crate::DomainError::invalid(
                "idle_reset_seconds",
                "must be at least 1",
            ));
        }
        for (i, b) in self.bands.iter().enumerate() {
            if b.min_events < 1 || !(1.0..=3.0).contains(&b.multiplier) {
                return Err(crate::DomainError::invalid(
                    "bands",
                    "each band needs min_events >= 1 and a multiplier between 1 and 3",
                ));
            }
            if self.bands[..i].iter().any(|x| x.min_events == b.min_events) {
                return Err(crate::DomainError::invalid(
                    "bands",
                    format!(
                        "two bands start at min_events {}: each band needs its own",
                        b.min_events
                    ),
                ));
            }
        }
        if self.mode == SurgeMode::Custom && self.bands.is_empty() {
            return Err(crate::DomainError::invalid(
                "bands",
                "custom mode needs at least one band",
            ));
        }
        Ok(())
    }
}

/// Everything the engine needs of an org unit's configuration, compiled once per change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoringConfig {
    pub rulesets: Vec<ScoringRuleset>,
    pub surge: SurgePolicy,
    pub allow_negative_scores: bool,
    /// Inorganic (velocity) filters: events they flag score nothing.
    pub velocity: Vec<crate::filters::VelocityFilter>,
    /// Attribute filters, evaluated when an event arrives (the result is stored with it).
    pub metadata_filters: Vec<crate::filters::MetadataFilter>,
    /// Inactivity decay rules.
    pub decays: Vec<crate::decay::InactivityDecay>,
    /// Engagement levels, lowest range first.
    pub levels: Vec<crate::levels::Level>,
    /// Profile and account levels, lowest range first.
    pub profile_levels: Vec<crate::levels::Level>,
    pub account_levels: Vec<crate::levels::Level>,
    /// Enabled profile rulesets, primary first.
    pub profile: Vec<crate::profile::CompiledRuleset>,
    /// Enabled account rulesets, primary first (over the lead's account's properties).
    pub account: Vec<crate::profile::CompiledRuleset>,
    /// Profile field mappings (into lead properties) and account ones (into the lead's
    /// account's).
    pub mappings: Vec<crate::profile::FieldMapping>,
    pub account_mappings: Vec<crate::profile::FieldMapping>,
    /// Event types whose processing ceiling is `observe`: stored, never scored.
    pub observe_only: std::collections::BTreeSet<String>,
}

impl ScoringConfig {
    /// Whether events of this type are only observed (never scored, no activity).
    pub fn observes_only(&self, event_type: &str) -> bool {
        !self.observe_only.is_empty() && self.observe_only.contains(event_type)
    }

    /// Whether an event is out of scoring altogether: suppressed when it arrived, or of
    /// an observe-only type.
    fn silent(&self, e: &EventFact) -> bool {
        e.suppressed || self.observes_only(&e.event_type)
    }

    pub fn primary(&self) -> Option<&ScoringRuleset> {
        self.rulesets.iter().find(|r| r.is_primary)
    }

    /// The first enabled attribute filter that suppresses an arriving event.
    pub fn suppressed_by(
        &self,
        event_type: &str,
        metadata: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<&str> {
        self.metadata_filters
            .iter()
            .find(|f| f.suppresses(event_type, metadata))
            .map(|f| f.id.as_str())
    }
}

/// An event as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFact {
    pub event_id: String,
    pub event_type: Arc<str>,
    pub occurred_at: Timestamp,
    /// An attribute filter suppressed it when it arrived: it never scores.
    pub suppressed: bool,
}

/// What one event earns in one ruleset: `points` (= weight × multiplier) at the event's
/// time, decaying by the rule's half-life from then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub event_id: String,
    pub ruleset_id: String,
    pub rule_id: String,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub weight: i64,
    pub multiplier: f64,
    pub points: f64,
    pub half_life_days: Option<u32>,
}

impl Contribution {
    /// The value of this contribution at `now`.
    pub fn value_at(&self, now: Timestamp) -> f64 {
        self.points * half_life_factor(age_days(self.occurred_at, now), self.half_life_days)
    }
}

/// A ruleset's score as a closed form of elapsed time, so stored scores can be brought
/// up to date without the events: at `d` days after the anchor the score is
/// `fixed + Σ value × 0.5^(d / half_life_days)`, floored at 0 when `floor` is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScoreTerms {
    pub fixed: f64,
    /// `(half_life_days, value at the anchor)`, one per half-life.
    pub decaying: Vec<(u32, f64)>,
    pub floor: bool,
}

impl ScoreTerms {
    /// The (unrounded) score `days` after the anchor.
    pub fn value_after(&self, days: f64) -> f64 {
        let raw = self.fixed
            + self
                .decaying
                .iter()
                .map(|(h, v)| v * half_life_factor(days, Some(*h)))
                .sum::<f64>();
        if self.floor {
            raw.max(0.0)
        } else {
            raw
        }
    }
}

/// Each ruleset's score (rounded) `days` after the anchor of its terms.
pub fn scores_after(terms: &BTreeMap<String, ScoreTerms>, days: f64) -> BTreeMap<String, f64> {
    terms
        .iter()
        .map(|(rs, t)| (rs.clone(), round2(t.value_after(days))))
        .collect()
}

/// A ruleset's contributions swept forward in time: the sum at the sweep's anchor of the
/// non-decaying points and, per half-life, of the decaying ones.
#[derive(Debug, Clone, Default)]
struct Sweep {
    next: usize,
    anchor: Option<Timestamp>,
    fixed: f64,
    decaying: Vec<(u32, f64)>,
    /// Whether any contribution so far is negative (a score at zero may rise again).
    negative: bool,
}

impl Sweep {
    /// Moves the anchor to `t` and takes in the contributions dated at or before it.
    fn advance(&mut self, contributions: &[Contribution], t: Timestamp) {
        if let Some(a) = self.anchor {
            let days = age_days(a, t);
            for (h, v) in &mut self.decaying {
                *v *= half_life_factor(days, Some(*h));
            }
        }
        self.anchor = Some(t);
        while let Some(c) = contributions.get(self.next).filter(|c| c.occurred_at <= t) {
            self.next += 1;
            self.negative |= c.points < 0.0;
            match c.half_life_days {
                None => self.fixed += c.points,
                Some(h) => {
                    let v = c.value_at(t);
                    match self.decaying.iter_mut().find(|(k, _)| *k == h) {
                        Some((_, x)) => *x += v,
                        None => self.decaying.push((h, v)),
                    }
                }
            }
        }
    }

    /// The sum at `t` (at or after the anchor).
    fn at(&self, t: Timestamp) -> f64 {
        let days = self.anchor.map(|a| age_days(a, t)).unwrap_or(0.0);
        self.fixed
            + self
                .decaying
                .iter()
                .map(|(h, v)| v * half_life_factor(days, Some(*h)))
                .sum::<f64>()
    }
}

/// The score change one event caused in one ruleset, as recorded with the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct ScoreDelta {
    pub ruleset_id: String,
    pub rule_id: Option<String>,
    pub before: f64,
    pub after: f64,
    pub delta: f64,
    pub multiplier: f64,
}

/// A lead's scoring state: its events in (time, id) order, the contributions they earn
/// under a config, and the reset point. Pure: no clock of its own, `now` is always given.
#[derive(Debug, Clone, Default)]
pub struct LeadBook {
    events: Vec<EventFact>,
    reset_at: Option<Timestamp>,
    /// Contributions per ruleset id.
    contributions: BTreeMap<String, Vec<Contribution>>,
    /// The session the last event (in time order) belongs to: its last time and length.
    session: Option<(Timestamp, u32)>,
    /// Events a velocity filter flagged as inorganic.
    inorganic: std::collections::BTreeSet<String>,
    /// Per ruleset, its contributions summed up to the latest one, so a score read costs
    /// one term per half-life instead of one per contribution.
    sums: BTreeMap<String, Sweep>,
    /// The inactivity deductions of the stretches between its activities.
    decay: deductions::DecayMemo,
}

impl LeadBook {
    /// A book built from stored events (any order) under `config`.
    pub fn rebuild(
        config: &ScoringConfig,
        mut events: Vec<EventFact>,
        reset_at: Option<Timestamp>,
    ) -> LeadBook {
        events.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        let mut book = LeadBook {
            events: Vec::with_capacity(events.len()),
            reset_at,
            contributions: BTreeMap::new(),
            session: None,
            inorganic: Default::default(),
            sums: BTreeMap::new(),
            decay: Default::default(),
        };
        for e in events {
            book.append_in_order(config, e);
        }
        book
    }

    /// A book built from a lead's stored events and its reset point (RFC 3339). Server
    /// timeline entries (`system`, e.g. `score_reset`) never score.
    pub fn from_stored<'a>(
        config: &ScoringConfig,
        events: impl IntoIterator<Item = &'a crate::events::StoredEvent>,
        reset_at: Option<&str>,
    ) -> LeadBook {
        let facts = events
            .into_iter()
            .filter(|e| !e.system)
            .filter_map(|e| {
                Some(EventFact {
                    event_id: e.event_id.clone(),
                    event_type: Arc::from(e.event_type.as_str()),
                    occurred_at: crate::time::parse(&e.occurred_at)?,
                    suppressed: e.suppressed_by.is_some(),
                })
            })
            .collect();
        LeadBook::rebuild(config, facts, reset_at.and_then(crate::time::parse))
    }

    pub fn events(&self) -> &[EventFact] {
        &self.events
    }

    pub fn reset_at(&self) -> Option<Timestamp> {
        self.reset_at
    }

    /// The session of the latest event: its last time and how many events it holds.
    pub fn session(&self) -> Option<(Timestamp, u32)> {
        self.session
    }

    /// Whether a velocity filter flagged this event as inorganic.
    pub fn is_inorganic(&self, event_id: &str) -> bool {
        self.inorganic.contains(event_id)
    }

    /// How many of the events velocity filters flagged.
    pub fn inorganic_count(&self) -> usize {
        self.inorganic.len()
    }

    pub fn contributions(&self, ruleset_id: &str) -> &[Contribution] {
        self.contributions
            .get(ruleset_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether any contribution still decays (so the score changes as time passes).
    pub fn decays(&self) -> bool {
        self.contributions
            .values()
            .flatten()
            .any(|c| c.half_life_days.is_some() && c.points != 0.0)
    }

    /// The score in one ruleset at `now` (unrounded).
    pub fn score(&self, config: &ScoringConfig, ruleset_id: &str, now: Timestamp) -> f64 {
        let deducted = self.deducted_until(config, now, None);
        let d = deducted.get(ruleset_id).copied().unwrap_or(0.0);
        self.score_less(config, ruleset_id, now, d)
    }

    /// The score in one ruleset at `now` as if the inactivity deductions worth `spared`
    /// points (the last ones to fall due) had not been taken (unrounded): the score a
    /// deduction that just fell due took its points from.
    pub fn score_sparing(
        &self,
        config: &ScoringConfig,
        ruleset_id: &str,
        now: Timestamp,
        spared: f64,
    ) -> f64 {
        let deducted = self.deducted_until(config, now, None);
        let d = deducted.get(ruleset_id).copied().unwrap_or(0.0);
        self.score_less(config, ruleset_id, now, d - spared)
    }

    /// The score in one ruleset at `now` after `deducted` inactivity points.
    fn score_less(
        &self,
        config: &ScoringConfig,
        ruleset_id: &str,
        now: Timestamp,
        deducted: f64,
    ) -> f64 {
        let sum = match self.sums.get(ruleset_id) {
            // the running sum holds for any time at or after its latest contribution
            Some(sweep) if sweep.anchor.is_none_or(|a| now >= a) => sweep.at(now),
            Some(_) => self
                .contributions(ruleset_id)
                .iter()
                .map(|c| c.value_at(now))
                .sum::<f64>(),
            None => 0.0,
        };
        let raw = sum - deducted;
        if config.allow_negative_scores {
            raw
        } else {
            raw.max(0.0)
        }
    }

    /// The times that count as activity: events neither suppressed, nor inorganic, nor
    /// dated before the reset; in time order.
    fn activity<'a>(&'a self, config: &'a ScoringConfig) -> impl Iterator<Item = Timestamp> + 'a {
        self.events
            .iter()
            .filter(|e| {
                !config.silent(e)
                    && !self.inorganic.contains(&e.event_id)
                    && self.reset_at.is_none_or(|r| e.occurred_at >= r)
            })
            .map(|e| e.occurred_at)
    }

    /// Every inactivity deduction up to `now`, as runs in time order (see
    /// [`deductions`]). A rule takes `decrease` off each ruleset's score at every full
    /// period of a stretch without activity; with negative scores disallowed a deduction
    /// takes no more than the score has left.
    pub fn deductions(&self, config: &ScoringConfig, now: Timestamp) -> Vec<Deduction> {
        let mut out = Vec::new();
        self.deducted_until(config, now, Some(&mut out));
        out
    }

    /// When the next inactivity deduction falls due after `now`, if one would take
    /// anything off (none while every score is at zero for good).
    pub fn next_decay_at(&self, config: &ScoringConfig, now: Timestamp) -> Option<Timestamp> {
        let last = self.activity(config).last()?;
        if last > now {
            return None;
        }
        if !config.allow_negative_scores {
            let deducted = self.deducted_until(config, now, None);
            let settled = config.rulesets.iter().all(|r| {
                self.score_less(
                    config,
                    &r.ruleset_id,
                    now,
                    deducted.get(&r.ruleset_id).copied().unwrap_or(0.0),
                ) <= 0.0
                    && self
                        .contributions(&r.ruleset_id)
                        .iter()
                        .all(|c| c.points >= 0.0)
            });
            if settled {
                return None;
            }
        }
        config
            .decays
            .iter()
            .filter_map(|d| {
                let period = d.period.num_seconds().max(1);
                let elapsed = (now - last).num_seconds().max(0);
                let k = elapsed / period + 1;
                (k <= i64::from(crate::decay::MAX_STEPS_PER_GAP))
                    .then(|| last + chrono::Duration::seconds(period * k))
            })
            .min()
    }

    /// Each ruleset's score at `now` as [`ScoreTerms`] anchored at `now`.
    pub fn terms(&self, config: &ScoringConfig, now: Timestamp) -> BTreeMap<String, ScoreTerms> {
        let deducted = self.deducted_until(config, now, None);
        config
            .rulesets
            .iter()
            .map(|r| {
                let mut t = ScoreTerms {
                    fixed: -deducted.get(&r.ruleset_id).copied().unwrap_or(0.0),
                    floor: !config.allow_negative_scores,
                    ..ScoreTerms::default()
                };
                for c in self.contributions(&r.ruleset_id) {
                    match c.half_life_days {
                        None => t.fixed += c.points,
                        Some(h) => match t.decaying.iter_mut().find(|(k, _)| *k == h) {
                            Some((_, v)) => *v += c.value_at(now),
                            None => t.decaying.push((h, c.value_at(now))),
                        },
                    }
                }
                t.decaying.sort_by_key(|(h, _)| *h);
                (r.ruleset_id.clone(), t)
            })
            .collect()
    }

    /// Scores of every ruleset of the config at `now`.
    pub fn scores(&self, config: &ScoringConfig, now: Timestamp) -> BTreeMap<String, f64> {
        let deducted = self.deducted_until(config, now, None);
        config
            .rulesets
            .iter()
            .map(|r| {
                let d = deducted.get(&r.ruleset_id).copied().unwrap_or(0.0);
                (
                    r.ruleset_id.clone(),
                    self.score_less(config, &r.ruleset_id, now, d),
                )
            })
            .collect()
    }

    /// Adds an event and returns the score change it caused in each ruleset, seen at `now`.
    /// An event dated after every other is added incrementally; an older one (a backfill)
    /// rebuilds the book, since it may move later events to another session band.
    pub fn add(
        &mut self,
        config: &ScoringConfig,
        event: EventFact,
        now: Timestamp,
    ) -> Vec<ScoreDelta> {
        let before = self.scores(config, now);
        let in_order = self.events.last().is_none_or(|last| {
            (last.occurred_at, &last.event_id) <= (event.occurred_at, &event.event_id)
        });
        let event_id = event.event_id.clone();
        if in_order {
            self.append_in_order(config, event);
        } else {
            let mut events = std::mem::take(&mut self.events);
            events.push(event);
            *self = LeadBook::rebuild(config, events, self.reset_at);
        }
        let after = self.scores(config, now);
        config
            .rulesets
            .iter()
            .map(|r| {
                let b = before.get(&r.ruleset_id).copied().unwrap_or(0.0);
                let a = after.get(&r.ruleset_id).copied().unwrap_or(0.0);
                let own = self
                    .contributions(&r.ruleset_id)
                    .iter()
                    .find(|c| c.event_id == event_id);
                ScoreDelta {
                    ruleset_id: r.ruleset_id.clone(),
                    rule_id: own.map(|c| c.rule_id.clone()),
                    before: round2(b),
                    after: round2(a),
                    delta: round2(a - b),
                    multiplier: own.map(|c| c.multiplier).unwrap_or(1.0),
                }
            })
            .collect()
    }

    /// Applies a new config (rules edited): the same events, rescored.
    pub fn reconfigure(&mut self, config: &ScoringConfig) {
        let events = std::mem::take(&mut self.events);
        *self = LeadBook::rebuild(config, events, self.reset_at);
    }

    /// Resets the scores at `at`: events dated before it stop counting, now and later.
    pub fn reset(&mut self, config: &ScoringConfig, at: Timestamp) {
        let events = std::mem::take(&mut self.events);
        *self = LeadBook::rebuild(config, events, Some(at));
    }

    /// Removes events (deleted or moved away by a merge) and rescores.
    pub fn remove(&mut self, config: &ScoringConfig, event_ids: &[String]) {
        let events = std::mem::take(&mut self.events)
            .into_iter()
            .filter(|e| !event_ids.contains(&e.event_id))
            .collect();
        *self = LeadBook::rebuild(config, events, self.reset_at);
    }

    /// Whether a velocity filter flags `event` (appended after every event of the book).
    fn flagged(&self, config: &ScoringConfig, event: &EventFact) -> bool {
        config
            .velocity
            .iter()
            .filter(|f| *f.event_type == *event.event_type)
            .any(|f| {
                let earlier = self
                    .events
                    .iter()
                    .rev()
                    .filter(|e| !config.silent(e) && e.event_type == event.event_type)
                    .map(|e| e.occurred_at);
                f.flags(earlier, event.occurred_at)
            })
    }

    fn append_in_order(&mut self, config: &ScoringConfig, event: EventFact) {
        // suppressed events reach no velocity filter; flagged ones score nothing and do
        // not count towards sessions (they still count as traffic for velocity)
        let silent = config.silent(&event);
        let inorganic = !silent && self.flagged(config, &event);
        if inorganic {
            self.inorganic.insert(event.event_id.clone());
        }
        let excluded = silent || inorganic || self.reset_at.is_some_and(|r| event.occurred_at < r);
        if !excluded {
            self.decay
                .activity(config, &self.contributions, event.occurred_at);
            // sessions count the events that score at all (not those erased by a reset)
            let idle = i64::from(config.surge.idle_reset_seconds);
            let n = match self.session {
                Some((last, n)) if (event.occurred_at - last).num_seconds() <= idle => n + 1,
                _ => 1,
            };
            self.session = Some((event.occurred_at, n));
            let multiplier = config.surge.multiplier(n);
            for ruleset in &config.rulesets {
                if let Some(rule) = ruleset.rule_for(&event.event_type, event.occurred_at) {
                    let own = self
                        .contributions
                        .entry(ruleset.ruleset_id.clone())
                        .or_default();
                    own.push(Contribution {
                        event_id: event.event_id.clone(),
                        ruleset_id: ruleset.ruleset_id.clone(),
                        rule_id: rule.rule_id.clone(),
                        event_type: event.event_type.to_string(),
                        occurred_at: event.occurred_at,
                        weight: rule.weight,
                        multiplier,
                        points: rule.weight as f64 * multiplier,
                        half_life_days: rule.half_life_days,
                    });
                    self.sums
                        .entry(ruleset.ruleset_id.clone())
                        .or_default()
                        .advance(own, event.occurred_at);
                }
            }
        }
        self.events.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use proptest::prelude::*;

    fn t0() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn rule(id: &str, event_type: &str, weight: i64, hl: Option<u32>) -> ScoringRule {
        ScoringRule {
            rule_id: id.into(),
            event_type: event_type.into(),
            weight,
            half_life_days: hl,
            active: true,
            start_at: None,
            end_at: None,
        }
    }

    fn config(rules: Vec<ScoringRule>, surge: SurgeMode) -> ScoringConfig {
        ScoringConfig {
            rulesets: vec![ScoringRuleset {
                ruleset_id: "rs_1".into(),
                is_primary: true,
                rules,
            }],
            surge: SurgePolicy {
                mode: surge,
                ..SurgePolicy::default()
            },
            allow_negative_scores: false,
            ..ScoringConfig::default()
        }
    }

    fn ev(id: &str, event_type: &str, at: Timestamp) -> EventFact {
        EventFact {
            event_id: id.into(),
            event_type: Arc::from(event_type),
            occurred_at: at,
            suppressed: false,
        }
    }

    #[test]
    fn half_life_follows_the_seed_formula() {
        // weight × 0.5^(N / half_life_days)
        assert_eq!(half_life_factor(7.0, Some(7)), 0.5);
        assert_eq!(half_life_factor(14.0, Some(7)), 0.25);
        assert!((half_life_factor(3.0, Some(7)) - 0.5_f64.powf(3.0 / 7.0)).abs() < 1e-15);
        assert_eq!(half_life_factor(100.0, None), 1.0);
        assert_eq!(half_life_factor(-2.0, Some(7)), 1.0);
        let c = config(vec![rule("rl_1", "Page View", 10, Some(7))], SurgeMode::Off);
        let book = LeadBook::rebuild(&c, vec![ev("ev_1", "Page View", t0())], None);
        assert_eq!(book.score(&c, "rs_1", t0() + Duration::days(7)), 5.0);
        assert_eq!(
            round2(book.score(&c, "rs_1", t0() + Duration::days(3))),
            7.43
        );
        assert!(book.decays());
    }

    #[test]
    fn inactive_and_out_of_window_rules_score_nothing() {
        let mut r = rule("rl_1", "Demo", 20, None);
        r.active = false;
        let c = config(vec![r.clone()], SurgeMode::Off);
        let book = LeadBook::rebuild(&c, vec![ev("ev_1", "Demo", t0())], None);
        assert_eq!(book.score(&c, "rs_1", t0()), 0.0);
        r.active = true;
        r.start_at = Some(t0() + Duration::days(1));
        let c = config(vec![r.clone()], SurgeMode::Off);
        let book = LeadBook::rebuild(
            &c,
            vec![
                ev("ev_1", "Demo", t0()),
                ev("ev_2", "Demo", t0() + Duration::days(2)),
            ],
            None,
        );
        assert_eq!(book.score(&c, "rs_1", t0() + Duration::days(3)), 20.0);
        r.start_at = None;
        r.end_at = Some(t0());
        let c = config(vec![r], SurgeMode::Off);
        let book = LeadBook::rebuild(
            &c,
            vec![
                ev("ev_1", "Demo", t0()),
                ev("ev_2", "Demo", t0() + Duration::days(2)),
            ],
            None,
        );
        assert_eq!(book.score(&c, "rs_1", t0() + Duration::days(3)), 20.0);
    }

    #[test]
    fn the_first_rule_in_priority_order_scores_an_event_once() {
        let c = config(
            vec![
                rule("rl_hi", "Demo", 30, None),
                rule("rl_lo", "Demo", 5, None),
            ],
            SurgeMode::Off,
        );
        let book = LeadBook::rebuild(&c, vec![ev("ev_1", "Demo", t0())], None);
        assert_eq!(book.score(&c, "rs_1", t0()), 30.0);
        assert_eq!(book.contributions("rs_1")[0].rule_id, "rl_hi");
    }

    #[test]
    fn surge_multiplies_by_session_depth_and_resets_when_idle() {
        let c = config(
            vec![rule("rl_1", "Page View", 10, None)],
            SurgeMode::Standard,
        );
        let mut book = LeadBook::default();
        let mut deltas = Vec::new();
        for i in 0..5 {
            let at = t0() + Duration::minutes(i);
            let d = book.add(&c, ev(&format!("ev_{i}"), "Page View", at), at);
            deltas.push(d[0].delta);
        }
        // 1×, 1×, 1.25×, 1.25×, 1.5×
        assert_eq!(deltas, vec![10.0, 10.0, 12.5, 12.5, 15.0]);
        // after more than 30 idle minutes a new session starts at 1×
        let at = t0() + Duration::minutes(4 + 31);
        let d = book.add(&c, ev("ev_9", "Page View", at), at);
        assert_eq!((d[0].delta, d[0].multiplier), (10.0, 1.0));
        // the cap bounds the multiplier
        let mut capped = c.clone();
        capped.surge = SurgePolicy {
            mode: SurgeMode::Custom,
            bands: vec![SurgeBand {
                min_events: 2,
                multiplier: 3.0,
            }],
            idle_reset_seconds: 60,
            multiplier_cap: 1.75,
        };
        assert_eq!(capped.surge.multiplier(1), 1.0);
        assert_eq!(capped.surge.multiplier(2), 1.75);
        let mut gentle = SurgePolicy {
            mode: SurgeMode::Gentle,
            ..SurgePolicy::default()
        };
        assert_eq!(gentle.multiplier(5), 1.2);
        gentle.mode = SurgeMode::Off;
        assert_eq!(gentle.multiplier(50), 1.0);
    }

    #[test]
    fn reset_excludes_earlier_events_even_when_backfilled() {
        let c = config(vec![rule("rl_1", "Demo", 10, None)], SurgeMode::Off);
        let mut book = LeadBook::rebuild(&c, vec![ev("ev_1", "Demo", t0())], None);
        assert_eq!(book.score(&c, "rs_1", t0()), 10.0);
        let reset = t0() + Duration::hours(1);
        book.reset(&c, reset);
        assert_eq!(book.score(&c, "rs_1", reset), 0.0);
        // a backfill dated before the reset does not undo it
        let d = book.add(&c, ev("ev_0", "Demo", t0() - Duration::days(1)), reset);
        assert_eq!(d[0].delta, 0.0);
        // an event after the reset counts
        let later = reset + Duration::minutes(1);
        let d = book.add(&c, ev("ev_2", "Demo", later), later);
        assert_eq!((d[0].before, d[0].after), (0.0, 10.0));
        assert_eq!(book.events().len(), 3);
    }

    #[test]
    fn score_terms_bring_a_stored_score_up_to_date() {
        let cfg = config(
            vec![
                rule("r1", "Demo", 10, Some(7)),
                rule("r2", "Visit", 3, Some(30)),
                rule("r3", "Signup", 4, None),
                rule("r4", "Bounce", -20, Some(7)),
            ],
            SurgeMode::Off,
        );
        let book = LeadBook::rebuild(
            &cfg,
            vec![
                ev("e1", "Demo", t0()),
                ev("e2", "Visit", t0() + Duration::days(2)),
                ev("e3", "Signup", t0() + Duration::days(3)),
                ev("e4", "Demo", t0() + Duration::days(4)),
            ],
            None,
        );
        let anchor = t0() + Duration::days(5);
        let terms = book.terms(&cfg, anchor);
        let t = &terms["rs_1"];
        assert_eq!(t.fixed, 4.0);
        assert_eq!(t.decaying.len(), 2);
        for later in [0.0, 1.5, 7.0, 40.0] {
            let at = anchor + Duration::milliseconds((later * 86_400_000.0) as i64);
            let live = book.score(&cfg, "rs_1", at);
            assert!(
                (t.value_after(later) - live).abs() < 1e-9,
                "{later}: {live}"
            );
        }
        // the floor applies to the total, as the live score does
        let neg = LeadBook::rebuild(&cfg, vec![ev("e5", "Bounce", t0())], None);
        assert_eq!(neg.terms(&cfg, t0())["rs_1"].value_after(3.0), 0.0);
    }

    #[test]
    fn negative_weights_floor_at_zero_unless_allowed() {
        let mut c = config(
            vec![
                rule("rl_1", "Demo", 10, None),
                rule("rl_2", "Unsubscribe", -25, None),
            ],
            SurgeMode::Off,
        );
        let events = vec![ev("ev_1", "Demo", t0()), ev("ev_2", "Unsubscribe", t0())];
        let book = LeadBook::rebuild(&c, events.clone(), None);
        assert_eq!(book.score(&c, "rs_1", t0()), 0.0);
        c.allow_negative_scores = true;
        let book = LeadBook::rebuild(&c, events, None);
        assert_eq!(book.score(&c, "rs_1", t0()), -15.0);
    }

    #[test]
    fn policy_validation_names_the_field() {
        let mut p = SurgePolicy {
            multiplier_cap: 3.5,
            ..SurgePolicy::default()
        };
        assert_eq!(
            p.validate().unwrap_err().details.unwrap()["field"],
            "multiplier_cap"
        );
        p.multiplier_cap = 2.0;
        p.mode = SurgeMode::Custom;
        p.bands.clear();
        assert_eq!(p.validate().unwrap_err().details.unwrap()["field"], "bands");
    }

    proptest! {
        /// Adding events one at a time, in any arrival order, gives the same scores as
        /// rebuilding from the stored set: live == rescored.
        #[test]
        fn live_equals_rescored(
            offsets in proptest::collection::vec((0i64..20_000, 0usize..3, any::<bool>()), 1..40),
            surge in prop_oneof![Just(SurgeMode::Off), Just(SurgeMode::Standard), Just(SurgeMode::Gentle)],
            reset_after in proptest::option::of(0usize..40),
            velocity in proptest::option::of((1u32..4, 1i64..600, any::<bool>())),
            decay in proptest::option::of((1i64..96, 1u32..30)),
            negative in any::<bool>(),
            changed in any::<bool>(),
            observe in any::<bool>(),
        ) {
            let types = ["Page View", "Demo", "Email Open"];
            let c = ScoringConfig {
                rulesets: vec![
                    ScoringRuleset { ruleset_id: "rs_a".into(), is_primary: true, rules: vec![
                        rule("rl_1", "Page View", 3, Some(7)),
                        rule("rl_2", "Demo", 25, None),
                        rule("rl_3", "Email Open", -2, Some(30)),
                    ]},
                    ScoringRuleset { ruleset_id: "rs_b".into(), is_primary: false, rules: vec![
                        rule("rl_4", "Demo", 5, Some(1)),
                    ]},
                ],
                surge: SurgePolicy { mode: surge, ..SurgePolicy::default() },
                velocity: velocity.map(|(n, minutes, group)| crate::filters::VelocityFilter {
                    filter_id: "flt".into(),
                    event_type: "Page View".into(),
                    count_threshold: n,
                    window: Duration::minutes(minutes),
                    group_events: group,
                }).into_iter().collect(),
                decays: decay.map(|(hours, decrease)| crate::decay::InactivityDecay {
                    decay_id: "dc".into(),
                    period: Duration::hours(hours),
                    decrease: f64::from(decrease),
                }).into_iter().collect(),
                allow_negative_scores: negative,
                observe_only: if observe {
                    std::collections::BTreeSet::from(["Email Open".to_string()])
                } else {
                    Default::default()
                },
                ..ScoringConfig::default()
            };
            // the live book may have scored under another config and been reconfigured
            let before = ScoringConfig {
                rulesets: vec![ScoringRuleset { ruleset_id: "rs_a".into(), is_primary: true, rules: vec![
                    rule("rl_9", "Email Open", 7, Some(2)),
                ]}],
                ..ScoringConfig::default()
            };
            let live_config = if changed { &before } else { &c };
            let events: Vec<EventFact> = offsets.iter().enumerate().map(|(i, (m, t, suppressed))| {
                EventFact {
                    suppressed: *suppressed,
                    ..ev(&format!("ev_{i:03}"), types[*t], t0() + Duration::minutes(*m))
                }
            }).collect();
            let now = t0() + Duration::days(20);
            let mut live = LeadBook::default();
            for (i, e) in events.iter().enumerate() {
                if reset_after == Some(i) {
                    live.reset(live_config, t0() + Duration::minutes(10_000));
                }
                live.add(live_config, e.clone(), now);
            }
            if changed {
                live.reconfigure(&c);
            }
            let reset_at = reset_after
                .filter(|i| *i < events.len())
                .map(|_| t0() + Duration::minutes(10_000));
            let rescored = LeadBook::rebuild(&c, events, reset_at);
            for r in ["rs_a", "rs_b"] {
                let (a, b) = (live.score(&c, r, now), rescored.score(&c, r, now));
                prop_assert!((a - b).abs() < 1e-9, "{r}: live {a} != rescored {b}");
            }
            prop_assert_eq!(live.inorganic_count(), rescored.inorganic_count());
            prop_assert_eq!(live.deductions(&c, now), rescored.deductions(&c, now));
            if !negative {
                for r in ["rs_a", "rs_b"] {
                    prop_assert!(live.score(&c, r, now) >= 0.0);
                }
            }
        }
    }

    /// The deductions one step at a time, as first defined (before runs and the memo):
    /// the reference the engine must match.
    fn reference_steps(
        book: &LeadBook,
        config: &ScoringConfig,
        now: Timestamp,
    ) -> Vec<(Timestamp, String, BTreeMap<String, f64>)> {
        let mut out = Vec::new();
        let floor = !config.allow_negative_scores;
        let mut sweeps: Vec<(&str, Sweep, f64)> = config
            .rulesets
            .iter()
            .map(|r| (r.ruleset_id.as_str(), Sweep::default(), 0.0))
            .collect();
        let mut times = book.activity(config).peekable();
        while let Some(start) = times.next() {
            if times.peek() == Some(&start) {
                continue;
            }
            let end = times.peek().copied();
            if start > now {
                break;
            }
            for (rs, sweep, _) in &mut sweeps {
                sweep.advance(book.contributions(rs), start);
            }
            let mut next: Vec<(Timestamp, usize, u32)> = config
                .decays
                .iter()
                .enumerate()
                .map(|(i, d)| (start + d.period, i, 1))
                .collect();
            while let Some(k) = (0..next.len()).min_by_key(|&k| (next[k].0, next[k].1)) {
                let (at, i, steps) = next[k];
                if !(end.is_none_or(|e| at < e) && at <= now) {
                    break;
                }
                let rule = &config.decays[i];
                let mut amounts = BTreeMap::new();
                let mut settled = floor;
                for (rs, sweep, deducted) in &mut sweeps {
                    let left = sweep.at(at) - *deducted;
                    let amount = if floor {
                        rule.decrease.min(left.max(0.0))
                    } else {
                        rule.decrease
                    };
                    *deducted += amount;
                    settled &= left - amount <= 0.0 && !sweep.negative;
                    if amount > 0.0 {
                        amounts.insert(rs.to_string(), amount);
                    }
                }
                if !amounts.is_empty() {
                    out.push((at, rule.decay_id.clone(), amounts));
                }
                if settled {
                    break;
                }
                if steps >= crate::decay::MAX_STEPS_PER_GAP {
                    next.swap_remove(k);
                } else {
                    next[k] = (at + rule.period, i, steps + 1);
                }
            }
        }
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out
    }

    proptest! {
        /// Runs, their closed-form counting and the memo of closed stretches take exactly
        /// the deductions of the one-step-at-a-time definition, live or rebuilt, read at
        /// any time (before the latest event too).
        #[test]
        fn deductions_match_the_step_by_step_definition(
            offsets in proptest::collection::vec((0i64..90 * 24, 0usize..3), 1..30),
            decays in proptest::collection::vec((1i64..400, 1u32..60), 1..4),
            weights in (1i64..400, -50i64..200, 1i64..120),
            half_life in proptest::option::of(1u32..30),
            negative in any::<bool>(),
            reads in proptest::collection::vec(0i64..200 * 24, 1..5),
        ) {
            let types = ["Page View", "Demo", "Email Open"];
            let c = ScoringConfig {
                rulesets: vec![
                    ScoringRuleset { ruleset_id: "rs_a".into(), is_primary: true, rules: vec![
                        rule("rl_1", "Page View", weights.0, half_life),
                        rule("rl_2", "Demo", weights.1, None),
                    ]},
                    ScoringRuleset { ruleset_id: "rs_b".into(), is_primary: false, rules: vec![
                        rule("rl_3", "Email Open", weights.2, Some(3)),
                        rule("rl_4", "Demo", weights.2 * 10, half_life),
                    ]},
                ],
                decays: decays.iter().enumerate().map(|(i, (hours, decrease))| {
                    crate::decay::InactivityDecay {
                        decay_id: format!("dc_{i}"),
                        period: Duration::hours(*hours),
                        decrease: f64::from(*decrease),
                    }
                }).collect(),
                allow_negative_scores: negative,
                ..ScoringConfig::default()
            };
            let events: Vec<EventFact> = offsets.iter().enumerate().map(|(i, (h, t))| {
                ev(&format!("ev_{i:03}"), types[*t], t0() + Duration::hours(*h))
            }).collect();
            let mut live = LeadBook::default();
            for e in &events {
                live.add(&c, e.clone(), t0() + Duration::days(200));
            }
            let rebuilt = LeadBook::rebuild(&c, events, None);
            for h in reads {
                let now = t0() + Duration::hours(h);
                let want = reference_steps(&rebuilt, &c, now);
                for book in [&live, &rebuilt] {
                    let got = steps(&book.deductions(&c, now));
                    prop_assert_eq!(got.len(), want.len(), "{:?} != {:?}", got, want);
                    for (g, w) in got.iter().zip(&want) {
                        prop_assert_eq!((g.0, &g.1), (w.0, &w.1));
                        prop_assert_eq!(g.2.keys().collect::<Vec<_>>(), w.2.keys().collect::<Vec<_>>());
                        for (k, v) in &w.2 {
                            prop_assert!((g.2[k] - v).abs() < 1e-9, "{}: {} != {}", k, g.2[k], v);
                        }
                    }
                    for r in ["rs_a", "rs_b"] {
                        let taken: f64 = want.iter().filter_map(|w| w.2.get(r)).sum();
                        let d = book.deducted_until(&c, now, None);
                        prop_assert!((d.get(r).copied().unwrap_or(0.0) - taken).abs() < 1e-6);
                    }
                }
            }
        }
    }

    #[test]
    fn a_long_idle_stretch_is_one_run_of_full_deductions() {
        // a huge score under an hourly rule: a year idle is 8,760 full deductions
        let mut c = config(vec![rule("rl_1", "Demo", 1_000_000, None)], SurgeMode::Off);
        c.decays = vec![crate::decay::InactivityDecay {
            decay_id: "dc_h".into(),
            period: Duration::hours(1),
            decrease: 1.0,
        }];
        let book = LeadBook::rebuild(&c, vec![ev("ev_1", "Demo", t0())], None);
        let now = t0() + Duration::days(365);
        let d = book.deductions(&c, now);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].count, d[0].total("rs_1")), (8_760, 8_760.0));
        assert_eq!(d[0].first_at, t0() + Duration::hours(1));
        assert_eq!(d[0].last_at(), now);
        assert_eq!(book.score(&c, "rs_1", now), 1_000_000.0 - 8_760.0);
        // a run read from a time on: the steps at or after it
        let tail = d[0].since(now - Duration::minutes(150), true);
        assert_eq!(
            tail.map(|t| (t.count, t.first_at)),
            Some((3, now - Duration::hours(2)))
        );
        assert_eq!(d[0].since(now, false), None);
        // more than 10,000 periods idle: the rule stops at 10,000
        let later = t0() + Duration::days(1000);
        assert_eq!(book.score(&c, "rs_1", later), 1_000_000.0 - 10_000.0);
        // fifty such rules, negative scores allowed: still one run each
        c.allow_negative_scores = true;
        c.decays = (0..50)
            .map(|i| crate::decay::InactivityDecay {
                decay_id: format!("dc_{i:02}"),
                period: Duration::hours(1 + i),
                decrease: 1_000_000.0,
            })
            .collect();
        let book = LeadBook::rebuild(&c, vec![ev("ev_1", "Demo", t0())], None);
        let d = book.deductions(&c, later);
        assert_eq!(d.len(), 50);
        assert_eq!(d[0].count, 10_000);
        assert!(book.score(&c, "rs_1", later) < -1e9);
    }

    /// Runs of deductions as single steps in (time, decay id) order.
    fn steps(runs: &[Deduction]) -> Vec<(Timestamp, String, BTreeMap<String, f64>)> {
        let mut out: Vec<_> = runs
            .iter()
            .flat_map(|d| {
                d.steps()
                    .map(|at| (at, d.decay_id.clone(), d.amounts.clone()))
            })
            .collect();
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out
    }

    fn decay(days: i64, decrease: u32) -> crate::decay::InactivityDecay {
        crate::decay::InactivityDecay {
            decay_id: format!("dc_{days}"),
            period: Duration::days(days),
            decrease: f64::from(decrease),
        }
    }

    #[test]
    fn inactivity_decay_takes_points_per_idle_period_and_never_crosses_zero() {
        let mut c = config(vec![rule("rl_1", "Demo", 60, None)], SurgeMode::Off);
        c.decays = vec![decay(30, 25)];
        let book = LeadBook::rebuild(&c, vec![ev("ev_1", "Demo", t0())], None);
        let at = |d: i64| t0() + Duration::days(d);
        // day 29: nothing yet; due at day 30
        assert_eq!(book.score(&c, "rs_1", at(29)), 60.0);
        assert_eq!(book.next_decay_at(&c, at(29)), Some(at(30)));
        // day 95: 25 at day 30 and 60, then only the 10 left at day 90
        let d = book.deductions(&c, at(95));
        let taken: Vec<(i64, f64)> = steps(&d)
            .into_iter()
            .map(|(at, _, amounts)| ((at - t0()).num_days(), amounts["rs_1"]))
            .collect();
        assert_eq!(taken, vec![(30, 25.0), (60, 25.0), (90, 10.0)]);
        // as runs: two full deductions, then the rest
        let runs: Vec<(u32, f64)> = d.iter().map(|d| (d.count, d.total("rs_1"))).collect();
        assert_eq!(runs, vec![(2, 50.0), (1, 10.0)]);
        assert_eq!(book.score(&c, "rs_1", at(95)), 0.0);
        assert_eq!(book.next_decay_at(&c, at(95)), None, "nothing left to take");
        // negative scores allowed: every period takes the full decrease
        c.allow_negative_scores = true;
        assert_eq!(book.score(&c, "rs_1", at(95)), -15.0);
        assert_eq!(book.next_decay_at(&c, at(95)), Some(at(120)));
        // the closed form agrees with the score
        let terms = book.terms(&c, at(95));
        assert_eq!(terms["rs_1"].value_after(0.0), -15.0);
    }

    #[test]
    fn activity_restarts_the_inactivity_clock() {
        let mut c = config(vec![rule("rl_1", "Demo", 100, None)], SurgeMode::Off);
        c.decays = vec![decay(30, 10), decay(7, 1)];
        let at = |d: i64| t0() + Duration::days(d);
        let events = vec![
            ev("ev_1", "Demo", t0()),
            // exactly 30 days later: that period is not idle
            ev("ev_2", "Demo", at(30)),
            ev("ev_3", "Demo", at(45)),
        ];
        let book = LeadBook::rebuild(&c, events, None);
        let d = book.deductions(&c, at(80));
        let taken: Vec<(String, i64)> = steps(&d)
            .into_iter()
            .map(|(at, id, _)| (id, (at - t0()).num_days()))
            .collect();
        // weekly rule: 7, 14, 21, 28 after day 0; 37, 44 after day 30; 52, 59, 66, 73
        // and 80 after day 45; the 30-day rule only at day 75
        assert_eq!(
            taken,
            [
                ("dc_7", 7),
                ("dc_7", 14),
                ("dc_7", 21),
                ("dc_7", 28),
                ("dc_7", 37),
                ("dc_7", 44),
                ("dc_7", 52),
                ("dc_7", 59),
                ("dc_7", 66),
                ("dc_7", 73),
                ("dc_30", 75),
                ("dc_7", 80),
            ]
            .map(|(a, b)| (a.to_string(), b))
        );
        assert_eq!(book.score(&c, "rs_1", at(80)), 300.0 - 11.0 - 10.0);
        // a flagged or suppressed event is no activity
        let suppressed = LeadBook::rebuild(
            &c,
            vec![
                ev("ev_1", "Demo", t0()),
                EventFact {
                    suppressed: true,
                    ..ev("ev_2", "Demo", at(20))
                },
            ],
            None,
        );
        assert!(suppressed
            .deductions(&c, at(31))
            .iter()
            .any(|d| d.decay_id == "dc_30"));
    }

    #[test]
    fn a_bot_flood_scores_once_then_nothing_and_suppressed_events_never_score() {
        let mut c = config(vec![rule("rl_1", "Page View", 5, None)], SurgeMode::Off);
        c.velocity = vec![crate::filters::VelocityFilter {
            filter_id: "flt".into(),
            event_type: "Page View".into(),
            count_threshold: 1,
            window: Duration::minutes(1),
            group_events: true,
        }];
        let now = t0() + Duration::hours(1);
        let mut book = LeadBook::default();
        let mut deltas = Vec::new();
        for i in 0..20 {
            let d = book.add(
                &c,
                ev(
                    &format!("e{i:02}"),
                    "Page View",
                    t0() + Duration::seconds(i),
                ),
                now,
            );
            deltas.push(d[0].delta);
        }
        assert_eq!(deltas[0], 5.0);
        assert!(deltas[1..].iter().all(|d| *d == 0.0), "{deltas:?}");
        assert_eq!(
            (book.inorganic_count(), book.score(&c, "rs_1", now)),
            (19, 5.0)
        );
        // after a quiet window the type scores again
        let d = book.add(&c, ev("e99", "Page View", t0() + Duration::minutes(5)), now);
        assert_eq!(d[0].delta, 5.0);
        // a suppressed event scores nothing and is not traffic for the velocity filter
        let quiet = EventFact {
            suppressed: true,
            ..ev("s1", "Page View", t0() + Duration::minutes(30))
        };
        assert_eq!(book.add(&c, quiet, now)[0].delta, 0.0);
        let d = book.add(
            &c,
            ev(
                "s2",
                "Page View",
                t0() + Duration::minutes(30) + Duration::seconds(1),
            ),
            now,
        );
        assert_eq!(d[0].delta, 5.0);
        assert!(!book.is_inorganic("s1"));
    }
}
