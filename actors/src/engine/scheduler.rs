//! The decay scheduler: keeps the stored (materialised) scores of decaying leads current
//! as time passes, so lists, sorts and filters never serve hours-old scores. Live reads
//! (`GET /v1/leads/{id}/score`) are always exact; this keeps the stored copy within one
//! period of them.
//!
//! Each lead row carries its scores as a closed form of time ([`ScoreTerms`], written with
//! every score change), so a refresh needs no events: it pages through decaying leads,
//! evaluates the terms at now, and stores and announces the scores that moved. A lead
//! scored meanwhile by its actor keeps the actor's newer score (the update is conditional
//! on `scored_at`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use leadwire_models::levels::{level_of, Dimension, Level, LevelRef};

use leadwire_models::scoring::{age_days, round2, ScoreTerms};
use leadwire_models::time;
use leadwire_store::engagement::DecayingLead;
use leadwire_store::Store;

use super::bus::{Bus, BusEvent};

/// Leads read per page.
const PAGE: u32 = 500;
/// A decaying part smaller than this no longer moves a rounded score.
const NEGLIGIBLE: f64 = 0.001;

/// Runs `pass` every `period` (the first time one period from now), on its own task; a
/// pass that overruns delays the next rather than piling up.
pub fn every<F, Fut>(period: Duration, mut pass: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            pass().await;
        }
    });
}

/// Starts the scheduler task, refreshing every `period`.
pub fn start(store: Store, bus: Bus, period: Duration) {
    every(period, move || {
        let (store, bus) = (store.clone(), bus.clone());
        async move {
            match refresh_all(&store, &bus).await {
                Ok(n) if n > 0 => tracing::debug!(changed = n, "decay-refresh"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "decay-refresh-failed"),
            }
        }
    });
}

/// How often the wake pass looks for leads that are due.
const INACTIVITY_PERIOD: Duration = Duration::from_secs(2);

/// Starts the wake task: every few seconds, wakes the leads that are due (see
/// [`super::Engine::wake_due_leads`]).
pub fn start_inactivity(engine: super::Engine) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INACTIVITY_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match engine.wake_due_leads().await {
                Ok(n) if n > 0 => tracing::debug!(leads = n, "leads-woken"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "wake-failed"),
            }
        }
    });
}

/// One pass over every decaying lead; returns how many leads' scores changed.
pub async fn refresh_all(store: &Store, bus: &Bus) -> Result<usize, leadwire_store::StoreError> {
    let mut after = String::new();
    let mut changed = 0;
    let mut levels: HashMap<String, Vec<Level>> = HashMap::new();
    loop {
        let page = store.decaying_leads(&after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.key.clone();
        let n = page.len();
        for lead in page {
            if !levels.contains_key(&lead.ou_id) {
                let l = store
                    .levels(&lead.org_id, &lead.ou_id, Dimension::Engagement)
                    .await?;
                levels.insert(lead.ou_id.clone(), l);
            }
            let ou_levels = levels.get(&lead.ou_id).map(Vec::as_slice).unwrap_or(&[]);
            if refresh_one(store, bus, lead, ou_levels).await? {
                changed += 1;
            }
        }
        if n < PAGE as usize {
            break;
        }
    }
    Ok(changed)
}

/// The scores `terms` give at `days` after their anchor, and whether any part still decays.
pub fn evaluate(terms: &BTreeMap<String, ScoreTerms>, days: f64) -> (BTreeMap<String, f64>, bool) {
    let scores = leadwire_models::scoring::scores_after(terms, days);
    let decaying = terms.values().any(|t| {
        t.decaying.iter().any(|(h, v)| {
            (v * leadwire_models::scoring::half_life_factor(days, Some(*h))).abs() >= NEGLIGIBLE
        })
    });
    (scores, decaying)
}

async fn refresh_one(
    store: &Store,
    bus: &Bus,
    lead: DecayingLead,
    levels: &[Level],
) -> Result<bool, leadwire_store::StoreError> {
    let Some(scored_at) = lead.scored_at.as_deref() else {
        return Ok(false);
    };
    let Some(anchor) = time::parse(scored_at) else {
        return Ok(false);
    };
    let days = age_days(anchor, time::now());
    let (scores, decaying) = evaluate(&lead.score_terms, days);
    let moved: Vec<(&String, f64, f64)> = scores
        .iter()
        .filter_map(|(rs, after)| {
            let before = lead.scores.get(rs).copied().unwrap_or(0.0);
            (round2(after - before) != 0.0).then_some((rs, before, *after))
        })
        .collect();
    if moved.is_empty() && decaying {
        return Ok(false);
    }
    let score = scores.values().copied().fold(0.0_f64, f64::max);
    let stored = store
        .refresh_scores(&lead.key, scored_at, score, &scores, decaying)
        .await?;
    if !stored {
        return Ok(false);
    }
    // the lead's actor owns its level: wake it to store and announce the new one
    if level_of(levels, score).map(LevelRef::from) != lead.level {
        store.wake(&lead.key).await?;
    }
    for (rs, before, after) in &moved {
        bus.publish(
            &lead.ou_id,
            BusEvent::ScoreUpdate {
                lead_id: lead.lead_id.clone(),
                ruleset_id: (*rs).clone(),
                before: *before,
                after: *after,
                delta: round2(after - before),
                cause: "decay".into(),
            },
        );
    }
    Ok(!moved.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_models::leads::Lead;
    use leadwire_store::engagement::lead_row;
    use leadwire_store::{ScoreUpdate, WriteBatch};

    #[tokio::test]
    async fn stored_scores_follow_the_half_life_and_listeners_hear_it() {
        let store = Store::memory().await.unwrap();
        let bus = Bus::default();
        let mut rx = bus.subscribe("ou_a");
        let week_ago = time::format(&(time::now() - chrono::Duration::days(7)));
        let lead = Lead::new("org_1", "ou_a", "ld_1", &week_ago);
        let batch = WriteBatch {
            leads: vec![lead_row(&lead)],
            score_updates: vec![ScoreUpdate {
                ou_id: "ou_a".into(),
                lead_id: "ld_1".into(),
                score: 12.0,
                scores: BTreeMap::from([("rs_1".to_string(), 12.0)]),
                scored_at: week_ago.clone(),
                decaying: true,
                last_event: None,
                score_reset_at: None,
                terms: BTreeMap::from([(
                    "rs_1".to_string(),
                    ScoreTerms {
                        fixed: 2.0,
                        decaying: vec![(7, 10.0)],
                        floor: true,
                    },
                )]),
                wake_at: String::new(),
                decay_logged_at: None,
                level: None,
                profile: None,
            }],
            ..WriteBatch::default()
        };
        store.commit(&batch).await.unwrap();

        assert_eq!(refresh_all(&store, &bus).await.unwrap(), 1);
        let l = store.lead("org_1", "ou_a", "ld_1").await.unwrap().unwrap();
        assert_eq!((l.score, l.scores["rs_1"]), (7.0, 7.0));
        match rx.recv().await.unwrap().as_ref() {
            BusEvent::ScoreUpdate {
                before,
                after,
                cause,
                ..
            } => assert_eq!((*before, *after, cause.as_str()), (12.0, 7.0, "decay")),
            other => panic!("{other:?}"),
        }
        // nothing moved since: a second pass changes nothing
        assert_eq!(refresh_all(&store, &bus).await.unwrap(), 0);
    }

    #[test]
    fn terms_decay_to_nothing_and_stop() {
        let terms = BTreeMap::from([(
            "rs".to_string(),
            ScoreTerms {
                fixed: 2.0,
                decaying: vec![(7, 10.0)],
                floor: true,
            },
        )]);
        let (s, d) = evaluate(&terms, 7.0);
        assert_eq!((s["rs"], d), (7.0, true));
        let (s, d) = evaluate(&terms, 7.0 * 20.0);
        assert_eq!((s["rs"], d), (2.0, false));
    }
}
