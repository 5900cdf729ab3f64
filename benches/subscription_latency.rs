//! Live-subscription latency: events ingested over REST at a fixed offered rate, heard by
//! many GraphQL WebSocket subscribers of `scoreChanged`. For every delivery, the time from
//! sending the `POST /v1/events` to the subscriber receiving the `scoreChanged` it caused
//! (the commit is inside that time: the bus publishes only after it). Prints p50 / p99 of
//! deliveries, the request latency, the achieved rate, and deliveries missed.
//!
//! `cargo bench --bench subscription_latency` (release profile). Sizes: `LW_RATE` events/s
//! offered (default 1000), `LW_SUBSCRIBERS` (100), `LW_SECONDS` (10), `LW_LEADS` (200),
//! `LW_MAX_IN_FLIGHT` requests at once (256).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{env, percentile, BenchServer};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// One subscriber: connects, subscribes to every score change, and records when each
/// event's change arrived until `stop` turns true.
async fn subscriber(
    url: String,
    token: String,
    ready: tokio::sync::mpsc::Sender<()>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<(String, Instant)> {
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket");
    let init =
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    ws.send(Message::text(init.to_string()))
        .await
        .expect("init");
    let ack = ws.next().await.expect("ack").expect("ack");
    assert!(ack.to_text().unwrap_or("").contains("connection_ack"));
    let sub = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { scoreChanged { cause } }"}});
    ws.send(Message::text(sub.to_string()))
        .await
        .expect("subscribe");
    let _ = ready.send(()).await;
    let mut got = Vec::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            msg = ws.next() => {
                let Some(Ok(Message::Text(text))) = msg else {
                    if msg.is_none() { break } else { continue }
                };
                let at = Instant::now();
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(cause) = v["payload"]["data"]["scoreChanged"]["cause"].as_str() {
                    if let Some(id) = cause.strip_prefix("event:") {
                        got.push((id.to_string(), at));
                    }
                }
            }
        }
    }
    got
}

fn main() {
    let rt = common::runtime();
    rt.block_on(async {
        let rate = env("LW_RATE", 1000).max(1);
        let subscribers = env("LW_SUBSCRIBERS", 100);
        let seconds = env("LW_SECONDS", 10);
        let leads = env("LW_LEADS", 200).max(1);
        let max_in_flight = env("LW_MAX_IN_FLIGHT", 256);

        let server = BenchServer::start(max_in_flight).await;
        let (client, base, token) = (&server.client, &server.base, &server.token);
        server
            .create("/v1/rules", json!({"event_type": "Page View", "weight": 1}))
            .await;
        for i in 0..leads {
            server.create("/v1/leads", json!({"id": format!("sub-{i}")})).await;
        }

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(subscribers.max(1));
        let ws_url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
        let subs: Vec<_> = (0..subscribers)
            .map(|_| {
                tokio::spawn(subscriber(
                    ws_url.clone(),
                    token.clone(),
                    ready_tx.clone(),
                    stop_rx.clone(),
                ))
            })
            .collect();
        for _ in 0..subscribers {
            ready_rx.recv().await;
        }
        // the last subscribe message reaches the bus
        tokio::time::sleep(Duration::from_millis(300)).await;

        let total = rate * seconds;
        println!(
            "offering {rate} events/s for {seconds} s ({total} events over REST, {leads} leads) to {subscribers} scoreChanged subscribers"
        );
        let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let request_latency: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let in_flight = Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1)));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(total);
        for i in 0..total {
            let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let permit = in_flight.clone().acquire_owned().await.expect("semaphore");
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let (sent, request_latency, failed) =
                (sent.clone(), request_latency.clone(), failed.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({"lead_id": format!("sub-{}", i % leads), "event_type": "Page View"});
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/v1/events"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        v["metadata"]["event_id"].as_str().map(|id| {
                            sent.lock().insert(id.to_string(), t);
                            request_latency.lock().push(t.elapsed());
                        })
                    }
                    _ => None,
                };
                if ok.is_none() {
                    failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                drop(permit);
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        // let the last deliveries arrive
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = stop_tx.send(true);
        let sent = sent.lock().clone();
        let mut deliveries = Vec::new();
        for s in subs {
            for (id, at) in s.await.expect("subscriber") {
                if let Some(t) = sent.get(&id) {
                    deliveries.push(at.saturating_duration_since(*t));
                }
            }
        }
        deliveries.sort();
        let mut req = request_latency.lock().clone();
        req.sort();
        let acked = sent.len();
        let expected = acked * subscribers;
        println!(
            "acknowledged {acked} events in {elapsed:.1} s: {:.0} events/s achieved ({} failed); request p50 {:.1} ms, p99 {:.1} ms",
            acked as f64 / elapsed,
            failed.load(std::sync::atomic::Ordering::Relaxed),
            percentile(&req, 0.5),
            percentile(&req, 0.99)
        );
        println!(
            "REST ingest -> scoreChanged at the subscriber: p50 {:.1} ms, p99 {:.1} ms over {} deliveries ({} expected, {} missed)",
            percentile(&deliveries, 0.5),
            percentile(&deliveries, 0.99),
            deliveries.len(),
            expected,
            expected.saturating_sub(deliveries.len())
        );
    });
}
