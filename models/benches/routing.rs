//! What the routing model is worth, on synthetic history with a known truth: the share of
//! the oracle's lift it captures over round robin, its holdout metrics, training time,
//! prediction latency and size.
//!
//! `cargo bench -p leadwire-models --bench routing`. Sizes: `LW_REPS` (20), `LW_EXAMPLES`
//! (50000), `LW_EVAL_LEADS` (20000), `LW_SEEDS` (3: histories with different truths).

use std::time::{Duration, Instant};

use leadwire_models::routing::synthetic::{History, HistoryOptions};
use leadwire_models::routing::{train, TrainOptions};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let reps = env("LW_REPS", 20);
    let examples = env("LW_EXAMPLES", 50_000);
    let eval_leads = env("LW_EVAL_LEADS", 20_000);
    let seeds = env("LW_SEEDS", 3);
    println!("{reps} reps, {examples} training examples, {eval_leads} held-out leads per history");
    for seed in 0..seeds as u64 {
        let h = History::generate(&HistoryOptions {
            reps,
            examples,
            seed: 42 + seed,
            ..HistoryOptions::default()
        });
        let started = Instant::now();
        let model = train(&h.examples, &TrainOptions::default()).expect("train");
        let training = started.elapsed();
        let lift = h.lift(&model, eval_leads, 1_000 + seed);
        let ids = h.rep_ids();
        let mut latencies: Vec<Duration> = h.examples[..2_000]
            .iter()
            .map(|e| {
                let t = Instant::now();
                let ranked = model.rank(&e.lead, &ids);
                let _why = model.top_features(&e.lead, &ranked[0].rep_id, &ids, 3);
                t.elapsed()
            })
            .collect();
        latencies.sort();
        let size = serde_json::to_vec(&model).map(|v| v.len()).unwrap_or(0);
        // evidence for the choice: the same lift for simpler policies and other penalties
        let mut rate: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
        for e in &h.examples {
            let r = rate.entry(e.rep_id.as_str()).or_default();
            r.0 += f64::from(u8::from(e.converted));
            r.1 += 1.0;
        }
        let best_rate = h.lift_with(
            |_, ids| {
                ids.iter()
                    .max_by(|a, b| {
                        let (ra, rb) = (rate[a.as_str()], rate[b.as_str()]);
                        (ra.0 / ra.1).total_cmp(&(rb.0 / rb.1))
                    })
                    .cloned()
                    .unwrap_or_default()
            },
            eval_leads,
            1_000 + seed,
        );
        let alphas: Vec<String> = [0.01, 10.0, 100.0]
            .iter()
            .map(|a| {
                let m = train(
                    &h.examples,
                    &TrainOptions {
                        alpha: *a,
                        ..TrainOptions::default()
                    },
                )
                .expect("train");
                format!(
                    "alpha {a}: {:.3}",
                    h.lift(&m, eval_leads, 1_000 + seed).share_of_oracle_lift
                )
            })
            .collect();
        println!(
            "history {seed}: baseline \"the rep with the best overall conversion rate\" captures {:.3}; per-rep logistic with {}",
            best_rate.share_of_oracle_lift,
            alphas.join(", ")
        );
        println!(
            "history {seed}: share of oracle lift {:.3} (model {:.4}, round robin {:.4}, oracle {:.4} conversions per lead); \
             holdout AUC {:.3}, log loss {:.3}; trained in {:.0} ms; predict+explain 20 reps p50 {:.1} µs p99 {:.1} µs; model {} KiB stored",
            lift.share_of_oracle_lift,
            lift.model,
            lift.round_robin,
            lift.oracle,
            model.metrics.auc,
            model.metrics.log_loss,
            ms(training),
            latencies[latencies.len() / 2].as_secs_f64() * 1e6,
            latencies[latencies.len() * 99 / 100].as_secs_f64() * 1e6,
            size / 1024,
        );
    }
}
