//! The cost of scoring one event in the pure engine, as a lead actor pays it: a lead with
//! 200 earlier events, then one more. "full" is an OU with 50 rules (across 2 rulesets),
//! 10 inorganic filters, 10 attribute filters, 5 inactivity decay rules, 5 levels and a
//! 10-rule profile ruleset; "minimal" is one rule and nothing else. Timed: the attribute
//! filters, adding the event (scores before and after, velocity, surge), the scores, the
//! next decay time, the level and the profile, as the lead actor does per event.
//! "decaying" is "full" with an hourly, a daily and a weekly inactivity decay rule on a
//! lead whose 200 events came 5 days apart: every stretch between them loses points.
//!
//! Run: `cargo bench -p leadwire-models --bench scoring`.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use leadwire_models::decay::InactivityDecay;
use leadwire_models::filters::{
    ConditionOperator, MetadataCondition, MetadataFilter, VelocityFilter,
};
use leadwire_models::levels::{level_of, Dimension, Level};
use leadwire_models::profile::{evaluate, AttrRule, CompiledRuleset, RuleType};
use leadwire_models::scoring::{
    EventFact, LeadBook, ScoringConfig, ScoringRule, ScoringRuleset, SurgePolicy,
};
use leadwire_models::time::Timestamp;
use serde_json::json;

const TYPES: usize = 25;

fn event_type(i: usize) -> String {
    format!("Event {}", i % TYPES)
}

fn rule(id: usize, event_type: String, half_life: Option<u32>) -> ScoringRule {
    ScoringRule {
        rule_id: format!("rl_{id}"),
        event_type,
        weight: (id % 7) as i64 + 1,
        half_life_days: half_life,
        active: true,
        start_at: None,
        end_at: None,
    }
}

fn minimal() -> ScoringConfig {
    ScoringConfig {
        rulesets: vec![ScoringRuleset {
            ruleset_id: "rs_1".into(),
            is_primary: true,
            rules: vec![rule(0, event_type(0), None)],
        }],
        ..ScoringConfig::default()
    }
}

fn full() -> ScoringConfig {
    let rules = |from: usize| -> Vec<ScoringRule> {
        (from..from + 25)
            .map(|i| rule(i, event_type(i), (i % 3 == 0).then_some(30)))
            .collect()
    };
    ScoringConfig {
        rulesets: vec![
            ScoringRuleset {
                ruleset_id: "rs_1".into(),
                is_primary: true,
                rules: rules(0),
            },
            ScoringRuleset {
                ruleset_id: "rs_2".into(),
                is_primary: false,
                rules: rules(25),
            },
        ],
        surge: SurgePolicy::default(),
        allow_negative_scores: false,
        velocity: (0..10)
            .map(|i| VelocityFilter {
                filter_id: format!("flt_{i}"),
                event_type: event_type(i),
                count_threshold: 50,
                window: Duration::minutes(10),
                group_events: i % 2 == 0,
            })
            .collect(),
        metadata_filters: (0..10)
            .map(|i| MetadataFilter {
                id: format!("mf_{i}"),
                org_id: "org".into(),
                unit_id: "ou".into(),
                name: format!("filter {i}"),
                event_type: String::new(),
                conditions: vec![MetadataCondition {
                    key: "ua".into(),
                    operator: ConditionOperator::Contains,
                    value: Some(json!(format!("bot-{i}"))),
                }],
                enabled: true,
                suppressed_count: 0,
                created_at: String::new(),
                updated_at: String::new(),
                created_by: None,
                updated_by: None,
            })
            .collect(),
        decays: (1..=5)
            .map(|i| InactivityDecay {
                decay_id: format!("dc_{i}"),
                period: Duration::days(7 * i),
                decrease: 5.0,
            })
            .collect(),
        observe_only: BTreeSet::new(),
        levels: (0..5)
            .map(|i| Level {
                level_id: format!("lv_{i}"),
                org_id: "org".into(),
                unit_id: "ou".into(),
                dimension: Dimension::Engagement,
                name: format!("L{i}"),
                min_score: i * 100,
                max_score: i * 100 + 99,
                created_at: String::new(),
                updated_at: String::new(),
                created_by: None,
                updated_by: None,
            })
            .collect(),
        profile: vec![CompiledRuleset {
            ruleset_id: "prs_1".into(),
            is_primary: true,
            rules: (0..10)
                .map(|i| AttrRule {
                    id: format!("prl_{i}"),
                    ruleset_id: "prs_1".into(),
                    org_id: "org".into(),
                    unit_id: "ou".into(),
                    profile_property: format!("p{i}"),
                    condition: ConditionOperator::Equals,
                    comparison_value: "x".into(),
                    weight: 5,
                    ui_order: i,
                    rule_type: if i == 9 {
                        RuleType::HardDisqualify
                    } else {
                        RuleType::AddPoints
                    },
                    conditions: None,
                    created_at: String::new(),
                    updated_at: String::new(),
                })
                .collect(),
        }],
        ..ScoringConfig::default()
    }
}

fn decaying() -> ScoringConfig {
    let decay = |i: usize, hours: i64, decrease: f64| InactivityDecay {
        decay_id: format!("dc_{i}"),
        period: Duration::hours(hours),
        decrease,
    };
    ScoringConfig {
        decays: vec![decay(1, 1, 1.0), decay(2, 24, 3.0), decay(3, 24 * 7, 10.0)],
        ..full()
    }
}

/// A book of 200 events `apart` from each other, the next event a day after the last,
/// and the time it is scored at (a day later).
fn setup(config: &ScoringConfig, apart: Duration) -> (LeadBook, EventFact, Timestamp) {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let facts = (0..200)
        .map(|i| EventFact {
            event_id: format!("ev_{i:04}"),
            event_type: Arc::from(event_type(i).as_str()),
            occurred_at: t0 + apart * i as i32,
            suppressed: false,
        })
        .collect();
    let book = LeadBook::rebuild(config, facts, None);
    let at = t0 + apart * 199 + Duration::days(1);
    let next = EventFact {
        event_id: "ev_9999".into(),
        event_type: Arc::from(event_type(3).as_str()),
        occurred_at: at,
        suppressed: false,
    };
    (book, next, at + Duration::days(1))
}

fn bench(c: &mut Criterion) {
    let metadata = json!({"ua": "Mozilla/5.0", "utm": {"source": "google"}})
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, config, apart) in [
        ("minimal", minimal(), Duration::hours(12)),
        ("full", full(), Duration::hours(12)),
        ("decaying", decaying(), Duration::days(5)),
    ] {
        let (book, next, now) = setup(&config, apart);
        c.bench_function(&format!("score one event ({name})"), |b| {
            // by reference: the cloned book is dropped outside the measurement (an actor
            // keeps its book)
            b.iter_batched_ref(
                || (book.clone(), next.clone()),
                |(book, next)| {
                    // what the lead actor does per event: attribute filters, then the book
                    let suppressed = config.suppressed_by(&next.event_type, &metadata).is_some();
                    let fact = EventFact {
                        suppressed,
                        ..next.clone()
                    };
                    let deltas = book.add(&config, fact, now);
                    let scores = book.scores(&config, now);
                    let due = book.next_decay_at(&config, now);
                    let top = scores.values().copied().fold(0.0, f64::max);
                    let level = level_of(&config.levels, top).map(|l| l.level_id.clone());
                    let profile =
                        evaluate(&config.profile, &metadata, config.allow_negative_scores);
                    black_box((deltas, due, level, profile.score))
                },
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
