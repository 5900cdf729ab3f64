//! Event-ingest load generator: drives a real Leadwire (HTTP, embedded SurrealKV) and, in
//! the same run, measures the storage limit (raw batched INSERT of the same event rows
//! into embedded SurrealKV, no server in between). The rows are the server's own: each
//! phase's events are first sampled through the server, read back from its store, and
//! their copies inserted raw, right before and right after each phase (the phase is
//! compared with the mean of the two). The batch phase runs twice: first one event in ten
//! creates its lead, then every lead is known. Prints events/s, latency percentiles and the
//! ratios, then the resident memory of 100,000 live lead actors.
//!
//! `cargo bench --bench ingest_load` (release profile). Sizes: `LW_SINGLE_EVENTS` (default
//! 20000), `LW_CONNS` (64), `LW_BATCH_EVENTS` (100000), `LW_ACTORS` (100000);
//! `LW_STORAGE_COSTS=1` also measures the storage cost of each row kind an ingest writes
//! and the design ceiling (events with their score updates, as many transactions at once
//! as the server's writer runs); `LW_COMMIT_SIZES=1` the storage limit at 1 to 1,000
//! events per transaction.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{env, percentile, rss_mib, settle, BenchServer};
use leadwire_models::events::StoredEvent;
use leadwire_store::engagement::event_row;
use leadwire_store::{Store, StoreOptions, WriteBatch};
use serde_json::{json, Value};

struct Report {
    events: usize,
    secs: f64,
    latencies: Vec<Duration>,
    /// Requests that failed, by status.
    failures: std::collections::BTreeMap<u16, usize>,
}

impl Report {
    /// Acknowledged (stored) events per second.
    fn rate(&self) -> f64 {
        self.events as f64 / self.secs
    }
    /// How many store queries (each one round trip, however many statements) the phase
    /// cost per acknowledged event.
    fn print_queries(&self, queries: u64) {
        println!(
            "{:<28} {:.2} store queries per event ({queries} in all)",
            "",
            queries as f64 / self.events.max(1) as f64
        );
    }
    fn print(&mut self, name: &str, storage: f64) {
        self.latencies.sort();
        println!(
            "{name:<28} {:>9.0} events/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ratio to storage limit {:.2}",
            self.rate(),
            percentile(&self.latencies, 0.50),
            percentile(&self.latencies, 0.99),
            self.rate() / storage
        );
        if !self.failures.is_empty() {
            println!("{:<28} failed requests by status: {:?}", "", self.failures);
        }
    }
}

type Task = tokio::task::JoinHandle<(Vec<Duration>, Vec<u16>)>;

/// Gathers the connections' latencies and failures (events are set by the caller).
async fn collect(tasks: Vec<Task>, started: Instant) -> Report {
    let mut latencies = Vec::new();
    let mut failures = std::collections::BTreeMap::new();
    for t in tasks {
        let (lat, failed) = t.await.expect("task");
        latencies.extend(lat);
        for s in failed {
            *failures.entry(s).or_insert(0) += 1;
        }
    }
    Report {
        events: 0,
        secs: started.elapsed().as_secs_f64(),
        latencies,
        failures,
    }
}

/// The event of one single-event request (`i`-th of the phase).
fn single_item(i: usize) -> Value {
    json!({
        "event_type": if i.is_multiple_of(4) { "Demo Request" } else { "Page View" },
        "aliases": [{"alias_kind": "email", "raw_value": format!("single{}@bench.io", i % 10_000)}],
        "metadata": {"page": "/pricing"},
    })
}

/// The `i`-th event of a batch phase whose aliases start with `prefix`, over `leads` leads.
fn batch_item(prefix: &str, i: usize, leads: usize) -> Value {
    json!({
        "event_type": "Page View",
        "aliases": [{"alias_kind": "cookie", "raw_value": format!("{prefix}{}", i % leads)}],
    })
}

/// A request body as JSON bytes.
fn body_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

/// The counts of a batch answer.
#[derive(Default, serde::Deserialize)]
struct BatchCounts {
    accepted: usize,
    rejected: usize,
}

/// The event rows the server stores for `items`: sent through it as one batch and read
/// back from its store, so the storage limit inserts exactly what the server writes.
async fn stored_rows(server: &BenchServer, items: Vec<Value>) -> Vec<StoredEvent> {
    let r: Value = server
        .client
        .post(format!("{}/v1/events/batch", server.base))
        .bearer_auth(&server.token)
        .json(&json!({ "events": items }))
        .send()
        .await
        .expect("sample request")
        .json()
        .await
        .expect("sample json");
    let ids: Vec<String> = r["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["result"]["event_id"].as_str().map(str::to_string))
        .collect();
    let rows = server
        .core
        .store
        .events_by_ids(&server.org_id, &server.ou_id, &ids)
        .await
        .expect("sample rows");
    assert!(!rows.is_empty(), "the sample stored no events: {r}");
    rows
}

/// The `n`-th copy of the sampled `rows`: a fresh id, the current time, the rest as stored.
fn copy_row(rows: &[StoredEvent], n: usize) -> Value {
    let mut e = rows[n % rows.len()].clone();
    e.event_id = format!("ev_raw_{n:09}");
    e.occurred_at = leadwire_models::time::format(&leadwire_models::time::now());
    e.received_at = e.occurred_at.clone();
    event_row(&e)
}

/// Raw batched INSERTs of copies of `rows` (each with a fresh id and the current time),
/// `batch` rows per transaction, into a fresh embedded SurrealKV.
async fn storage_limit(rows: &[StoredEvent], total: usize, batch: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("surrealkv://{}", dir.path().join("raw").display());
    let store = Store::open(&StoreOptions::new(url)).await.expect("store");
    settle().await;
    let started = Instant::now();
    let mut i = 0;
    while i < total {
        let rows = (i..(i + batch).min(total))
            .map(|n| copy_row(rows, n))
            .collect();
        store
            .commit(&WriteBatch {
                events: rows,
                ..WriteBatch::default()
            })
            .await
            .expect("insert");
        i += batch;
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Prints a phase's storage limit measured before and after it; returns their mean.
fn bracket(rows: &str, before: f64, after: f64) -> f64 {
    let mean = (before + after) / 2.0;
    println!(
        "{:<28} {mean:>9.0} events/s   (before {before:.0}, after {after:.0})",
        format!("  limit, {rows}")
    );
    mean
}

/// Rows per second of each kind the ingest writes, 1,000 per transaction into a fresh
/// embedded SurrealKV: what an event costs the storage engine beyond its own row.
async fn storage_costs(rows: &[StoredEvent], total: usize) {
    use leadwire_models::leads::Lead;
    use leadwire_store::engagement::{alias_row, lead_row};
    use leadwire_store::ScoreUpdate;
    println!("storage cost of each row kind an ingest writes, 1000 per transaction");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("surrealkv://{}", dir.path().join("kinds").display());
    let store = Store::open(&StoreOptions::new(url)).await.expect("store");
    let at = leadwire_models::time::format(&leadwire_models::time::now());
    let chunks = |make: &dyn Fn(usize) -> WriteBatch| -> Vec<WriteBatch> {
        (0..total).step_by(1000).map(make).collect()
    };
    // a lead's score update after an event, as its actor sends it
    let update = |i: usize| ScoreUpdate {
        ou_id: "ou_bench".into(),
        lead_id: format!("ld_{i}"),
        score: 11.0,
        scores: [("rs_1".to_string(), 11.0)].into(),
        scored_at: at.clone(),
        decaying: true,
        last_event: Some(Some((at.clone(), "Page View".into()))),
        score_reset_at: None,
        terms: [(
            "rs_1".to_string(),
            leadwire_models::scoring::ScoreTerms {
                fixed: 0.0,
                decaying: vec![(7, 11.0)],
                floor: true,
            },
        )]
        .into(),
        wake_at: String::new(),
        decay_logged_at: None,
        level: None,
        profile: Some(Default::default()),
    };
    let kinds: Vec<(&str, Vec<WriteBatch>)> = vec![
        (
            "new lead + its alias",
            chunks(&|start| WriteBatch {
                leads: (start..start + 1000)
                    .map(|i| lead_row(&Lead::new("org_bench", "ou_bench", &format!("ld_{i}"), &at)))
                    .collect(),
                aliases: (start..start + 1000)
                    .map(|i| {
                        let alias = leadwire_models::events::Alias {
                            alias_kind: leadwire_models::events::AliasKind::Cookie,
                            value: format!("c{i}"),
                        };
                        alias_row("org_bench", "ou_bench", &format!("ld_{i}"), &alias, &at)
                    })
                    .collect(),
                ..WriteBatch::default()
            }),
        ),
        (
            "lead score update",
            chunks(&|start| WriteBatch {
                score_updates: (start..start + 1000).map(&update).collect(),
                ..WriteBatch::default()
            }),
        ),
        (
            "event",
            chunks(&|start| WriteBatch {
                events: (start..start + 1000).map(|i| copy_row(rows, i)).collect(),
                ..WriteBatch::default()
            }),
        ),
        (
            "audit entry",
            chunks(&|start| WriteBatch {
                audit: (start..start + 1000)
                    .map(|i| {
                        leadwire_store::audit::audit_row(&leadwire_models::audit::AuditEntry {
                            id: format!("aud_{i:09}"),
                            org_id: "org_bench".into(),
                            ou_id: Some("ou_bench".into()),
                            member_id: Some("mem_bench".into()),
                            user_email: Some("bench@leadwire.local".into()),
                            method: "POST".into(),
                            path: "/v1/events".into(),
                            status: 201,
                            ip: "127.0.0.1".into(),
                            latency_ms: 1.5,
                            created_at: at.clone(),
                        })
                        .expect("audit row")
                    })
                    .collect(),
                ..WriteBatch::default()
            }),
        ),
    ];
    for (name, batches) in kinds {
        let started = Instant::now();
        for b in &batches {
            store.commit(b).await.expect("commit");
        }
        let rate = total as f64 / started.elapsed().as_secs_f64();
        println!(
            "{:<28} {rate:>9.0} rows/s   {:>6.1} µs per row",
            name,
            1e6 / rate
        );
    }
    // What the design asks of storage per ingested event (its row and its lead's score row
    // in one transaction), with as many transactions at once as the server's writer runs:
    // the ceiling of any server built this way on this machine, before HTTP, JSON and actors.
    let writers = leadwire_actors::engine::writer::in_flight_limit();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let batches: Vec<WriteBatch> = (0..total)
                .step_by(1000)
                .filter(|start| (start / 1000) % writers == w)
                .map(|start| WriteBatch {
                    events: (start..start + 1000)
                        .map(|i| copy_row(rows, total + i))
                        .collect(),
                    score_updates: (start..start + 1000).map(&update).collect(),
                    ..WriteBatch::default()
                })
                .collect();
            tokio::spawn(async move {
                for b in &batches {
                    store.commit(b).await.expect("commit");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer");
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "{:<28} {rate:>9.0} events/s ({writers} transactions at once, 1000 events each)",
        "event + its score update"
    );
}

async fn single_events(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    total: usize,
    conns: usize,
) -> Report {
    // bodies are serialised before the clock starts: the client shares the cores with the
    // server, and its work is not the server's
    let bodies: Arc<Vec<Vec<u8>>> =
        Arc::new((0..total).map(|i| body_bytes(&single_item(i))).collect());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (client, base, token, next, bodies) = (
                client.clone(),
                base.to_string(),
                token.to_string(),
                next.clone(),
                bodies.clone(),
            );
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut failed: Vec<u16> = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let t = Instant::now();
                    let r = client
                        .post(format!("{base}/v1/events"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(bodies[i].clone())
                        .send()
                        .await
                        .expect("request");
                    if r.status() == 201 {
                        lat.push(t.elapsed());
                    } else {
                        failed.push(r.status().as_u16());
                    }
                }
                (lat, failed)
            })
        })
        .collect();
    let mut r = collect(tasks, started).await;
    r.events = r.latencies.len();
    r
}

async fn batches(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    total: usize,
    conns: usize,
    prefix: &str,
    leads: usize,
) -> Report {
    // bodies are serialised before the clock starts (see `single_events`)
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..total)
            .step_by(1000)
            .map(|start| {
                let events: Vec<Value> = (start..(start + 1000).min(total))
                    .map(|i| batch_item(prefix, i, leads))
                    .collect();
                body_bytes(&json!({ "events": events }))
            })
            .collect(),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (client, base, token, next, bodies) = (
                client.clone(),
                base.to_string(),
                token.to_string(),
                next.clone(),
                bodies.clone(),
            );
            let acked = acked.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut failed: Vec<u16> = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(n) else { break };
                    let t = Instant::now();
                    let r = client
                        .post(format!("{base}/v1/events/batch"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("request");
                    let status = r.status().as_u16();
                    // only the counts: the per-item results are skipped, not built
                    let counts: BatchCounts = r.json().await.unwrap_or_default();
                    acked.fetch_add(counts.accepted, std::sync::atomic::Ordering::Relaxed);
                    if status == 200 && counts.rejected == 0 {
                        lat.push(t.elapsed());
                    } else {
                        failed.push(if status == 200 { 207 } else { status });
                    }
                }
                (lat, failed)
            })
        })
        .collect();
    let mut r = collect(tasks, started).await;
    r.events = acked.load(std::sync::atomic::Ordering::Relaxed);
    r
}

fn main() {
    // the server's own log filter: without a subscriber every trace-level span of the
    // storage engine would be built (and its keys formatted), which the server never does
    let rt = common::runtime();
    rt.block_on(async {
        let single = env("LW_SINGLE_EVENTS", 20_000);
        let conns = env("LW_CONNS", 64);
        let batch_total = env("LW_BATCH_EVENTS", 100_000);
        let actors = env("LW_ACTORS", 100_000);

        let server = BenchServer::start(conns).await;
        for (t, w, hl) in [("Demo Request", 10, json!(30)), ("Page View", 1, json!(7))] {
            server
                .create("/v1/rules", json!({"event_type": t, "weight": w, "half_life_days": hl}))
                .await;
        }
        // each phase's rows as the server stores them (1,000 events shaped like the
        // phase's, on leads of their own), for the storage limit to insert raw
        let single_rows = stored_rows(&server, (0..1000).map(|i| {
            let mut item = single_item(i);
            item["aliases"][0]["raw_value"] = json!(format!("sample{i}@bench.io"));
            item
        }).collect()).await;
        let batch_rows = stored_rows(&server, (0..1000).map(|i| batch_item("sample", i, 1000)).collect()).await;

        if env("LW_STORAGE_COSTS", 0) > 0 {
            storage_costs(&batch_rows, batch_total).await;
        }
        if env("LW_COMMIT_SIZES", 0) > 0 {
            // what a transaction costs beyond its rows: small commits pay it per few events
            println!("storage limit by transaction size (rows of batched events)");
            for size in [1usize, 8, 32, 128, 1000] {
                let rate = storage_limit(&batch_rows, if size < 32 { 2_000 } else { 10_000 }, size).await;
                println!("{:<28} {rate:>9.0} events/s", format!("  {size} per transaction"));
            }
        }
        let (client, base, token, core) = (&server.client, &server.base, &server.token, &server.core);
        let (org_id, ou_id) = (&server.org_id, &server.ou_id);

        // Each phase's limit is measured right before and right after it, and the phase is
        // compared with the mean: on a shared machine one measurement moves by ±10 %.
        println!("storage limit: raw INSERT of the server's event rows into embedded SurrealKV, 1000 per transaction, before and after each phase");
        println!("server: real HTTP, {conns} connections for single events, 4 for batches of 1000");
        let before = storage_limit(&single_rows, batch_total, 1000).await;
        settle().await;
        let queries = core.store.query_count();
        let mut r = single_events(client, base, token, single, conns).await;
        let single_queries = core.store.query_count() - queries;
        let single_limit = bracket("rows of single events", before, storage_limit(&single_rows, batch_total, 1000).await);
        r.print("single event @64 conns", single_limit);
        r.print_queries(single_queries);

        let before = storage_limit(&batch_rows, batch_total, 1000).await;
        settle().await;
        let queries = core.store.query_count();
        let mut first = batches(client, base, token, batch_total, 4, "batch", 10_000).await;
        let first_queries = core.store.query_count() - queries;
        // the same events again: every lead now known and live, nothing created
        settle().await;
        let mut again = batches(client, base, token, batch_total, 4, "batch", 10_000).await;

        // live actors' memory, before the store of the next limit measurement allocates
        // (and frees) its own
        let before_live = core.engine.live_leads(org_id, ou_id).await.unwrap_or(0);
        let rss_before = rss_mib();
        batches(client, base, token, actors, 4, "actor", actors).await;
        let live = core.engine.live_leads(org_id, ou_id).await.unwrap_or(0);
        let rss_after = rss_mib();

        let batch_limit = bracket("rows of batched events", before, storage_limit(&batch_rows, batch_total, 1000).await);
        first.print("batch of 1000 @4 conns", batch_limit);
        first.print_queries(first_queries);
        again.print("  again, all leads known", batch_limit);
        println!(
            "live lead actors: {live} (was {before_live}); resident memory {rss_after:.0} MiB (+{:.0} MiB, {:.1} KiB per added actor)",
            rss_after - rss_before,
            (rss_after - rss_before) * 1024.0 / (live.saturating_sub(before_live).max(1)) as f64
        );
    });
}
