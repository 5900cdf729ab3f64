//! Score explanations: what made a lead's score, in numbers and in plain language. Pure
//! functions over a [`LeadBook`], so the explanation always agrees with the live score.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::scoring::{round2, Contribution, LeadBook, ScoringConfig};
use crate::time::{self, Timestamp};

/// Default explanation window.
pub const DEFAULT_HOURS: u32 = 24;
/// Longest explanation window (a year).
pub const MAX_HOURS: u32 = 24 * 366;
/// Most leads one batch "why" may name.
pub const MAX_WHY_BATCH: usize = 200;
/// How long a shared explanation link lives.
pub const SHARE_TTL_DAYS: i64 = 7;

/// Points earned by one rule (event type) within the window, valued now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Driver {
    pub event_type: String,
    pub rule_id: String,
    pub weight: i64,
    pub count: u64,
    /// Their value now (after decay and surge).
    pub points: f64,
}

/// One rule as it stood when the explanation was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleSnapshot {
    pub rule_id: String,
    pub event_type: String,
    pub weight: i64,
    pub half_life_days: Option<u32>,
    pub active: bool,
}

/// Extra points one event earned from the surge session multiplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SurgeBoost {
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: String,
    pub multiplier: f64,
    /// Points above the rule's weight, valued now.
    pub boost: f64,
}

/// What one inactivity decay rule took off the score: `count` consecutive deductions of
/// the same size, one period apart, from `first_occurred_at` to `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecayEntry {
    /// Always `DECAY`.
    pub event_type: String,
    /// Always `system`.
    pub channel: String,
    pub decay_id: String,
    /// The last deduction's time.
    pub occurred_at: String,
    /// The first deduction's time.
    pub first_occurred_at: String,
    /// How many deductions.
    pub count: u32,
    /// Points taken off by all of them (negative).
    pub points: f64,
}

/// `GET /v1/leads/{id}/explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub lead_id: String,
    pub ruleset_id: Option<String>,
    /// The ruleset's score now.
    pub score: f64,
    /// Rules that earned points within the window, most first.
    pub top_drivers: Vec<Driver>,
    pub snapshot: Vec<RuleSnapshot>,
    pub surge_boost: Vec<SurgeBoost>,
    pub surge_total: f64,
    pub surge_event_count: u64,
    /// Points lost to decay across the whole history, as of now: half-life decay of
    /// event points plus what inactivity decay rules took off.
    pub decay_applied: f64,
    /// The inactivity deductions within the window, oldest first.
    pub inactivity_decay: Vec<DecayEntry>,
    /// Events within the window an inorganic (velocity) filter flagged as bot-like.
    pub inorganic_count: u64,
    /// Events within the window an attribute filter suppressed.
    pub suppressed_count: u64,
    /// Events within the window that earned nothing in this ruleset (no rule for their
    /// type, filtered, or before a reset).
    pub unscored_count: u64,
    pub range_hours: u32,
    pub score_reset_at: Option<String>,
    /// Events dated before the last reset (kept, not counted).
    pub reset_excluded_count: u64,
}

/// One ranked factor of a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Factor {
    /// `engagement` (profile and account factors join with their scoring).
    pub dimension: String,
    pub event_type: String,
    pub count: u64,
    pub points: f64,
    /// Share of the score, 0–1.
    pub share: f64,
}

/// `GET /v1/leads/{id}/why`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Why {
    pub lead_id: String,
    pub summary: String,
    pub factors: Vec<Factor>,
    pub disqualified: bool,
    #[schema(value_type = Option<Object>)]
    pub disqualification: Option<serde_json::Value>,
}

/// `GET /v1/leads/why?lead_ids=`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct WhyBatch {
    pub summaries: BTreeMap<String, String>,
    /// Ids that name no lead of this OU.
    pub missing: Vec<String>,
    /// Ids of leads merged away, each with the lead it was merged into: its summary is
    /// that lead's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub merged_into: BTreeMap<String, String>,
}

/// `POST /v1/leads/{id}/share-explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShareLink {
    pub token: String,
    pub expires_at: String,
    pub share_url: String,
}

/// `GET /v1/public/explain/{token}`: what a link's recipient sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublicExplanation {
    pub lead_name: String,
    pub score: f64,
    pub top_drivers: Vec<Driver>,
    pub snapshot: Vec<RuleSnapshot>,
    pub decay_applied: f64,
    pub range_hours: u32,
}

fn drivers<'a>(
    contributions: impl Iterator<Item = &'a Contribution>,
    now: Timestamp,
) -> Vec<Driver> {
    let mut by_rule: BTreeMap<(String, String), Driver> = BTreeMap::new();
    for c in contributions {
        let d = by_rule
            .entry((c.rule_id.clone(), c.event_type.clone()))
            .or_insert_with(|| Driver {
                event_type: c.event_type.clone(),
                rule_id: c.rule_id.clone(),
                weight: c.weight,
                count: 0,
                points: 0.0,
            });
        d.count += 1;
        d.points += c.value_at(now);
    }
    let mut out: Vec<Driver> = by_rule
        .into_values()
        .map(|mut d| {
            d.points = round2(d.points);
            d
        })
        .collect();
    out.sort_by(|a, b| {
        b.points
            .abs()
            .total_cmp(&a.points.abs())
            .then_with(|| a.event_type.cmp(&b.event_type))
    });
    out
}

/// The explanation of a lead's score in one ruleset over the last `hours`.
pub fn explain(
    lead_id: &str,
    book: &LeadBook,
    config: &ScoringConfig,
    ruleset_id: Option<&str>,
    now: Timestamp,
    hours: u32,
) -> Explanation {
    let since = now - Duration::hours(i64::from(hours));
    let key = ruleset_id.unwrap_or("");
    let all = book.contributions(key);
    let deductions = book.deductions(config, now);
    let recent = || all.iter().filter(|c| c.occurred_at >= since);
    let surge_boost: Vec<SurgeBoost> = recent()
        .filter(|c| c.multiplier > 1.0)
        .map(|c| SurgeBoost {
            event_id: c.event_id.clone(),
            event_type: c.event_type.clone(),
            occurred_at: time::format(&c.occurred_at),
            multiplier: c.multiplier,
            boost: round2(c.value_at(now) * (1.0 - 1.0 / c.multiplier)),
        })
        .collect();
    let scored: std::collections::HashSet<&str> = all.iter().map(|c| c.event_id.as_str()).collect();
    let reset = book.reset_at();
    let in_window: Vec<&crate::scoring::EventFact> = book
        .events()
        .iter()
        .filter(|e| e.occurred_at >= since)
        .collect();
    let count = |keep: &dyn Fn(&crate::scoring::EventFact) -> bool| {
        in_window.iter().filter(|e| keep(e)).count() as u64
    };
    let inorganic = count(&|e| book.is_inorganic(&e.event_id));
    let suppressed = count(&|e| e.suppressed);
    let unscored = count(&|e| !scored.contains(e.event_id.as_str()));
    let snapshot = config
        .rulesets
        .iter()
        .find(|r| r.ruleset_id == key)
        .map(|rs| {
            rs.rules
                .iter()
                .map(|r| RuleSnapshot {
                    rule_id: r.rule_id.clone(),
                    event_type: r.event_type.clone(),
                    weight: r.weight,
                    half_life_days: r.half_life_days,
                    active: r.active,
                })
                .collect()
        })
        .unwrap_or_default();
    Explanation {
        lead_id: lead_id.to_string(),
        ruleset_id: ruleset_id.map(str::to_string),
        score: round2(book.score(config, key, now)),
        top_drivers: drivers(recent(), now),
        snapshot,
        surge_total: round2(surge_boost.iter().map(|s| s.boost).sum()),
        surge_event_count: surge_boost.len() as u64,
        surge_boost,
        decay_applied: round2(
            all.iter().map(|c| c.points - c.value_at(now)).sum::<f64>()
                + crate::scoring::deducted(&deductions, key),
        ),
        inactivity_decay: deductions
            .iter()
            .filter_map(|d| d.since(since, true))
            .filter(|d| d.amounts.contains_key(key))
            .map(|d| DecayEntry {
                event_type: "DECAY".into(),
                channel: "system".into(),
                decay_id: d.decay_id.clone(),
                occurred_at: time::format(&d.last_at()),
                first_occurred_at: time::format(&d.first_at),
                count: d.count,
                points: -round2(d.total(key)),
            })
            .collect(),
        inorganic_count: inorganic,
        suppressed_count: suppressed,
        unscored_count: unscored,
        range_hours: hours,
        score_reset_at: reset.map(|r| time::format(&r)),
        reset_excluded_count: reset
            .map(|r| book.events().iter().filter(|e| e.occurred_at < r).count() as u64)
            .unwrap_or(0),
    }
}

/// A score's factors (all history, valued now), largest first. Inactivity decay is one
/// factor of its own (dimension `decay`, event type `DECAY`).
pub fn factors(
    book: &LeadBook,
    config: &ScoringConfig,
    ruleset_id: Option<&str>,
    now: Timestamp,
) -> Vec<Factor> {
    let key = ruleset_id.unwrap_or("");
    let mut by_type: BTreeMap<(&str, String), (u64, f64)> = BTreeMap::new();
    for c in book.contributions(key) {
        let e = by_type
            .entry(("engagement", c.event_type.clone()))
            .or_default();
        e.0 += 1;
        e.1 += c.value_at(now);
    }
    for d in book.deductions(config, now) {
        if d.amounts.contains_key(key) {
            let e = by_type.entry(("decay", "DECAY".into())).or_default();
            e.0 += u64::from(d.count);
            e.1 -= d.total(key);
        }
    }
    let total: f64 = by_type.values().map(|(_, p)| p.max(0.0)).sum();
    let mut out: Vec<Factor> = by_type
        .into_iter()
        .filter(|(_, (_, p))| round2(*p) != 0.0)
        .map(|((dimension, event_type), (count, points))| Factor {
            dimension: dimension.into(),
            event_type,
            count,
            points: round2(points),
            share: if total > 0.0 {
                round2(points.max(0.0) / total)
            } else {
                0.0
            },
        })
        .collect();
    out.sort_by(|a, b| {
        b.points
            .total_cmp(&a.points)
            .then_with(|| a.event_type.cmp(&b.event_type))
    });
    out
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// The plain-language line for a score and its factors, e.g.
/// `Score 42: mostly 3 "Demo Request" events (30 pts) and 4 "Page View" events (12 pts).`
pub fn summary(score: f64, factors: &[Factor], reset_at: Option<&str>) -> String {
    let engagement: Vec<&Factor> = factors
        .iter()
        .filter(|f| f.dimension != "profile" && f.dimension != "account")
        .collect();
    let mut s = engagement_summary(score, &engagement, reset_at);
    for (dimension, label) in [("profile", "Profile"), ("account", "Account")] {
        let matched: Vec<&Factor> = factors
            .iter()
            .filter(|f| f.dimension == dimension)
            .collect();
        if matched.is_empty() {
            continue;
        }
        let points: f64 = matched.iter().map(|f| f.points).sum();
        let rules: Vec<&str> = matched
            .iter()
            .take(2)
            .map(|f| f.event_type.as_str())
            .collect();
        s.push_str(&format!(
            " {label} {} pts: {}.",
            num(round2(points)),
            rules.join("; ")
        ));
    }
    s
}

fn engagement_summary(score: f64, factors: &[&Factor], reset_at: Option<&str>) -> String {
    let positive: Vec<&Factor> = factors.iter().copied().filter(|f| f.points > 0.0).collect();
    if positive.is_empty() {
        return match reset_at {
            Some(r) => format!(
                "Score {}: reset on {}; no scored activity since.",
                num(score),
                &r[..10.min(r.len())]
            ),
            None => format!("Score {}: no scored activity yet.", num(score)),
        };
    }
    let parts: Vec<String> = positive
        .iter()
        .take(2)
        .map(|f| {
            let noun = if f.count == 1 { "event" } else { "events" };
            format!(
                "{} \"{}\" {noun} ({} pts)",
                f.count,
                f.event_type,
                num(f.points)
            )
        })
        .collect();
    let lead = if positive.len() > 2 { "mostly " } else { "" };
    let lost = |dimension: &str| -> f64 {
        factors
            .iter()
            .filter(|f| f.points < 0.0 && (f.dimension == "decay") == (dimension == "decay"))
            .map(|f| f.points)
            .sum()
    };
    let (negative, decay) = (lost("engagement"), lost("decay"));
    let mut s = format!("Score {}: {lead}{}", num(score), parts.join(" and "));
    if negative < 0.0 {
        s.push_str(&format!(
            ", less {} pts from negative signals",
            num(-round2(negative))
        ));
    }
    if decay < 0.0 {
        s.push_str(&format!(
            ", less {} pts lost to inactivity",
            num(-round2(decay))
        ));
    }
    s.push('.');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{EventFact, ScoringRule, ScoringRuleset, SurgeMode, SurgePolicy};
    use chrono::TimeZone;
    use std::sync::Arc;

    fn config() -> ScoringConfig {
        let rule = |id: &str, t: &str, w: i64, hl: Option<u32>| ScoringRule {
            rule_id: id.into(),
            event_type: t.into(),
            weight: w,
            half_life_days: hl,
            active: true,
            start_at: None,
            end_at: None,
        };
        ScoringConfig {
            rulesets: vec![ScoringRuleset {
                ruleset_id: "rs".into(),
                is_primary: true,
                rules: vec![
                    rule("r1", "Demo", 10, Some(7)),
                    rule("r2", "Visit", 2, None),
                    rule("r3", "Unsub", -5, None),
                ],
            }],
            surge: SurgePolicy {
                mode: SurgeMode::Standard,
                ..SurgePolicy::default()
            },
            allow_negative_scores: false,
            ..ScoringConfig::default()
        }
    }

    fn ev(id: &str, t: &str, at: Timestamp) -> EventFact {
        EventFact {
            event_id: id.into(),
            event_type: Arc::from(t),
            occurred_at: at,
            suppressed: false,
        }
    }

    #[test]
    fn explanation_numbers_add_up() {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .unwrap();
        let cfg = config();
        let old = now - Duration::days(7);
        let book = LeadBook::rebuild(
            &cfg,
            vec![
                ev("e1", "Demo", old),
                ev("e2", "Visit", now - Duration::minutes(30)),
                ev("e3", "Visit", now - Duration::minutes(20)),
                ev("e4", "Visit", now - Duration::minutes(10)),
                ev("e5", "Other", now - Duration::minutes(5)),
            ],
            None,
        );
        let x = explain("ld", &book, &cfg, Some("rs"), now, 24);
        // Demo decayed one half-life: 5 of 10 lost; Visits 2 + 2 + 2×1.25 (3rd of a session)
        assert_eq!(x.score, 11.5);
        assert_eq!(x.decay_applied, 5.0);
        assert_eq!(x.top_drivers.len(), 1);
        assert_eq!((x.top_drivers[0].count, x.top_drivers[0].points), (3, 6.5));
        assert_eq!((x.surge_event_count, x.surge_total), (1, 0.5));
        assert_eq!(
            (x.inorganic_count, x.suppressed_count, x.unscored_count),
            (0, 0, 1)
        );
        assert_eq!(x.snapshot.len(), 3);

        let f = factors(&book, &cfg, Some("rs"), now);
        assert_eq!(f[0].event_type, "Visit");
        assert_eq!((f[1].event_type.as_str(), f[1].points), ("Demo", 5.0));
        assert_eq!(
            summary(x.score, &f, None),
            "Score 11.50: 3 \"Visit\" events (6.50 pts) and 1 \"Demo\" event (5 pts)."
        );
        assert_eq!(summary(0.0, &[], None), "Score 0: no scored activity yet.");
    }
}
