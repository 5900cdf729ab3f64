//! Memory and answer time of routing ModelActors, one per org unit.
//!
//! `cargo bench --bench model_actor` (`LW_OUS`, default 1000; `LW_EXAMPLES`, default
//! 50000). Trains one model for 20 reps on synthetic history, stores it for `LW_OUS` org
//! units, then starts their actors the way a restart does (each loads its own copy from
//! the store) and reports the growth of resident memory per actor. Then it times the
//! actor's answer (the current model, as every prediction asks for it) when idle and while
//! the same actor retrains on the whole history on a blocking thread.

mod common;

use std::time::{Duration, Instant};

use common::{env, percentile, rss_mib, BenchServer};
use leadwire_actors::model::StoredModel;
use leadwire_models::routing::synthetic::{History, HistoryOptions};
use leadwire_models::routing::{train, TrainOptions};

fn main() {
    let ous = env("LW_OUS", 1000);
    let examples = env("LW_EXAMPLES", 50_000);
    let rt = common::runtime();
    rt.block_on(async move {
        let server = BenchServer::start(1).await;
        let core = &server.core;
        let org = &server.org_id;
        let h = History::generate(&HistoryOptions {
            reps: 20,
            examples,
            ..HistoryOptions::default()
        });
        let started = Instant::now();
        let model = train(&h.examples, &TrainOptions::default()).expect("train");
        let stored = StoredModel {
            version: 1,
            trained_at: leadwire_models::time::format(&leadwire_models::time::now()),
            training_ms: started.elapsed().as_millis() as u64,
            examples: examples as u64,
            model,
        };
        let size = serde_json::to_vec(&stored).map(|v| v.len()).unwrap_or(0);
        let ou = |i: usize| format!("ou_bench_{i}");
        for i in 0..ous {
            core.store
                .put_routing_model(org, &ou(i), &stored)
                .await
                .expect("store");
        }
        let before = rss_mib();
        for i in 0..ous {
            let m = core.models.current(org, &ou(i)).await.expect("actor");
            assert_eq!(m.map(|m| m.version), Some(1));
        }
        let after = rss_mib();
        println!(
            "{ous} model actors, each holding a 20-rep model ({} KiB stored): resident memory {before:.0} → {after:.0} MiB, {:.1} KiB per actor",
            size / 1024,
            (after - before) * 1024.0 / ous as f64
        );

        let time_calls = |n: usize| async move {
            let mut lat = Vec::with_capacity(n);
            for i in 0..n {
                let t = Instant::now();
                let m = core.models.current(org, &ou(i % 10)).await.expect("answer");
                lat.push(t.elapsed());
                assert!(m.is_some());
            }
            lat.sort();
            lat
        };
        let idle = time_calls(10_000).await;
        println!(
            "current model, idle: p50 {:.3} ms, p99 {:.3} ms",
            percentile(&idle, 0.5),
            percentile(&idle, 0.99)
        );
        // the same actor retrains on the whole history meanwhile
        core.models
            .retrain(org, &ou(0), h.examples.clone(), TrainOptions::default())
            .await
            .expect("retrain starts");
        let mut during: Vec<Duration> = Vec::new();
        let started = Instant::now();
        loop {
            let t = Instant::now();
            let m = core.models.current(org, &ou(0)).await.expect("answer");
            let elapsed = t.elapsed();
            if m.map(|m| m.version) == Some(2) {
                break;
            }
            during.push(elapsed);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        during.sort();
        println!(
            "current model during a {:.1} s retrain of the same actor: {} answers, p50 {:.3} ms, p99 {:.3} ms",
            started.elapsed().as_secs_f64(),
            during.len(),
            percentile(&during, 0.5),
            percentile(&during, 0.99)
        );
    });
}
