//! Retries end to end: an event sent again with its `idempotency_key` is stored once, over
//! single ingest, batches (within one and across two), concurrent retries, CSV imports,
//! GraphQL; listeners hear it once.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn events_of(app: &TestApp, lead: &str) -> Vec<Value> {
    let (s, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(s, 200, "{events}");
    events.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_is_stored_once_and_answered_with_the_first() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Demo", "weight": 10})).await;
    let body = json!({"event_type": "Demo", "idempotency_key": "order-17/demo",
        "aliases": [{"alias_kind": "email", "raw_value": "retry@example.com"}]});
    let (s, first) = app.post("/v1/events", &app.admin_token, body.clone()).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["metadata"]["duplicate"], false);
    let lead = first["metadata"]["lead_id"].as_str().unwrap().to_string();

    // the retry: 200, the first event (its id and score change), nothing stored or scored
    let mut stream = app.stream().await;
    let (s, again) = app.post("/v1/events", &app.admin_token, body.clone()).await;
    assert_eq!(s, 200, "{again}");
    let m = &again["metadata"];
    assert_eq!(m["duplicate"], true);
    assert_eq!(m["lead_created"], false);
    assert_eq!(m["event_id"], first["metadata"]["event_id"]);
    assert_eq!(m["lead_id"], lead.as_str());
    assert_eq!(m["deltas"], first["metadata"]["deltas"]);
    assert_eq!(m["deltas"][0]["delta"], 10.0);
    assert_eq!(app.score(&lead).await, 10.0);
    let events = events_of(&app, &lead).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["idempotency_key"], "order-17/demo");

    // listeners heard nothing of the retry: the next thing they hear is a new event
    let (s, next) = app
        .post(
            "/v1/events",
            &app.admin_token,
            json!({"event_type": "Demo", "lead_id": lead, "idempotency_key": "order-18/demo"}),
        )
        .await;
    assert_eq!(s, 201, "{next}");
    let next_id = next["metadata"]["event_id"].as_str().unwrap();
    stream
        .until(Duration::from_secs(10), |s| s.contains(next_id))
        .await;
    let seen = &stream.seen;
    assert_eq!(seen.matches("event: event_ingested").count(), 1, "{seen}");
    assert!(
        !seen.contains(first["metadata"]["event_id"].as_str().unwrap()),
        "{seen}"
    );
    assert_eq!(app.score(&lead).await, 20.0);

    // the key used for another type of event on the lead: 409, nothing stored
    let (s, e) = app
        .post(
            "/v1/events",
            &app.admin_token,
            json!({"event_type": "Visit", "lead_id": lead, "idempotency_key": "order-17/demo"}),
        )
        .await;
    assert_eq!((s, TestApp::error_code(&e)), (409, "conflict"), "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains(first["metadata"]["event_id"].as_str().unwrap()));
    assert_eq!(events_of(&app, &lead).await.len(), 2);
    assert_eq!(app.score(&lead).await, 20.0);

    // keys belong to a lead: another lead's event may carry the same key
    let (s, other) = app
        .post(
            "/v1/events",
            &app.admin_token,
            json!({"event_type": "Demo", "idempotency_key": "order-17/demo",
                "aliases": [{"alias_kind": "email", "raw_value": "other@example.com"}]}),
        )
        .await;
    assert_eq!(s, 201, "{other}");
    assert_ne!(other["metadata"]["lead_id"], lead.as_str());

    // events without a key are never deduplicated
    for _ in 0..2 {
        let body = json!({"event_type": "Demo", "lead_id": lead});
        app.ok(Method::POST, "/v1/events", Some(body), 201).await;
    }
    assert_eq!(events_of(&app, &lead).await.len(), 4);

    // a deleted event frees its key
    let first_id = first["metadata"]["event_id"].as_str().unwrap();
    let (s, d) = app
        .post(
            "/v1/events/batch-delete",
            &app.admin_token,
            json!({ "ids": [first_id] }),
        )
        .await;
    assert_eq!((s, d["deleted"].as_u64()), (200, Some(1)), "{d}");
    let before = app.score(&lead).await;
    let (s, re) = app.post("/v1/events", &app.admin_token, body).await;
    assert_eq!(s, 201, "{re}");
    assert_ne!(re["metadata"]["event_id"], first_id);
    let delta = re["metadata"]["deltas"][0]["delta"].as_f64().unwrap();
    assert!(delta >= 10.0, "{re}");
    assert_eq!(app.score(&lead).await, before + delta);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_store_the_event_once() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Signup", "weight": 5})).await;
    // the same new-lead event sent 8 times at once, as a client that timed out might
    let body = json!({"event_type": "Signup", "idempotency_key": "signup-1",
        "aliases": [{"alias_kind": "cookie", "raw_value": "c-retry"}]});
    let sends = (0..8).map(|_| app.post("/v1/events", &app.admin_token, body.clone()));
    let answers = futures::future::join_all(sends).await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 201));
    let event = &created[0]["metadata"]["event_id"];
    assert!(answers
        .iter()
        .all(|(_, r)| &r["metadata"]["event_id"] == event));
    assert_eq!(
        answers
            .iter()
            .filter(|(_, r)| r["metadata"]["duplicate"] == true)
            .count(),
        7
    );
    let lead = created[0]["metadata"]["lead_id"].as_str().unwrap();
    assert_eq!(events_of(&app, lead).await.len(), 1);
    assert_eq!(app.score(lead).await, 5.0);
    let (_, leads) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(leads["total"], 1, "{leads}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_store_each_keyed_event_once_within_and_across_requests() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Open", "weight": 1})).await;
    let item = |key: &str, who: &str| {
        json!({"event_type": "Open", "idempotency_key": key,
            "aliases": [{"alias_kind": "external_id", "raw_value": who}]})
    };
    let events = vec![
        item("m-1", "u-1"),
        item("m-1", "u-1"), // the same event twice in one request
        item("m-2", "u-1"),
        item("m-1", "u-2"), // another lead's key
        json!({"event_type": "Open", "idempotency_key": "", "aliases": [{"alias_kind": "external_id", "raw_value": "u-1"}]}),
    ];
    let (s, r) = app
        .post(
            "/v1/events/batch",
            &app.admin_token,
            json!({ "events": events }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let statuses: Vec<u64> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 200, 201, 201, 422]);
    assert_eq!(
        (
            r["accepted"].as_u64(),
            r["duplicates"].as_u64(),
            r["rejected"].as_u64()
        ),
        (Some(4), Some(1), Some(1))
    );
    assert_eq!(
        r["items"][1]["result"]["event_id"],
        r["items"][0]["result"]["event_id"]
    );
    let u1 = r["items"][0]["result"]["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    let first: Vec<Value> = r["items"].as_array().unwrap()[..4].to_vec();

    // the whole batch again (the client never heard the answer): nothing new is stored
    let (s, again) = app
        .post(
            "/v1/events/batch",
            &app.admin_token,
            json!({ "events": events }),
        )
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(4), Some(4))
    );
    for (a, b) in first.iter().zip(again["items"].as_array().unwrap()) {
        assert_eq!(b["status"], 200);
        assert_eq!(a["result"]["event_id"], b["result"]["event_id"]);
        assert_eq!(a["result"]["deltas"], b["result"]["deltas"]);
    }
    assert_eq!(events_of(&app, &u1).await.len(), 2);
    assert_eq!(app.score(&u1).await, 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_file_imported_twice_stores_its_keyed_rows_once() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Demo", "weight": 10})).await;
    // days apart: no surge session, each event earns the rule's 10
    let csv = "event_type,email,idempotency_key,timestamp\n\
               Demo,csv-retry@example.com,row-1,2026-11-18T10:00:00Z\n\
               Demo,csv-retry@example.com,row-2,2026-11-20T10:00:00Z\n\
               Demo,csv-retry@example.com,,2026-11-22T10:00:00Z\n";
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let upload = app
            .req(Method::POST, "/v1/events/import", &app.admin_token)
            .header("content-type", "text/csv")
            .body(csv);
        jobs.push(app.import_csv(upload).await);
    }
    let counts = |j: &Value| {
        (
            j["imported"].as_u64(),
            j["duplicates"].as_u64(),
            j["failed"].as_u64(),
        )
    };
    assert_eq!(counts(&jobs[0]), (Some(3), Some(0), Some(0)), "{}", jobs[0]);
    // the row without a key is stored again; the keyed ones are not
    assert_eq!(counts(&jobs[1]), (Some(1), Some(2), Some(0)), "{}", jobs[1]);
    let (_, found) = app
        .get(
            "/v1/leads/lookup?value=csv-retry@example.com",
            &app.admin_token,
        )
        .await;
    let lead = found["lead_id"].as_str().unwrap();
    assert_eq!(events_of(&app, lead).await.len(), 4);
    assert_eq!(app.score(lead).await, 40.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_retry_answers_duplicate() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Demo", "weight": 3})).await;
    let query = r#"mutation { ingestEvent(input: { eventType: "Demo", idempotencyKey: "gql-1",
        aliases: [{ aliasKind: EMAIL, rawValue: "gql-retry@example.com" }] })
        { eventId leadId duplicate deltas { delta } } }"#;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (s, r) = app
            .post("/graphql", &app.admin_token, json!({ "query": query }))
            .await;
        assert_eq!(s, 200, "{r}");
        assert!(r["errors"].is_null(), "{r}");
        answers.push(r["data"]["ingestEvent"].clone());
    }
    assert_eq!(
        (&answers[0]["duplicate"], &answers[1]["duplicate"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(answers[0]["eventId"], answers[1]["eventId"]);
    assert_eq!(answers[1]["deltas"][0]["delta"], 3.0);
    let lead = answers[0]["leadId"].as_str().unwrap();
    assert_eq!(events_of(&app, lead).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_leads_keys_go_with_its_events_to_the_target() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Visit", "weight": 2})).await;
    let anon = json!({"event_type": "Visit", "idempotency_key": "visit-anon",
        "aliases": [{"alias_kind": "cookie", "raw_value": "c-anon"}]});
    let (s, first) = app.post("/v1/events", &app.admin_token, anon.clone()).await;
    assert_eq!(s, 201, "{first}");
    let source = first["metadata"]["lead_id"].as_str().unwrap().to_string();
    let (s, known) = app
        .post(
            "/v1/events",
            &app.admin_token,
            json!({"event_type": "Visit", "idempotency_key": "shared",
                "aliases": [{"alias_kind": "email", "raw_value": "known@example.com"}]}),
        )
        .await;
    assert_eq!(s, 201, "{known}");
    // the visitor's lead has an event of the same key: the two leads meet in the merge
    let shared = json!({"event_type": "Visit", "idempotency_key": "shared", "lead_id": source});
    let (s, anon_shared) = app.post("/v1/events", &app.admin_token, shared).await;
    assert_eq!(s, 201, "{anon_shared}");
    let target = known["metadata"]["lead_id"].as_str().unwrap().to_string();
    let (s, m) = app
        .post(
            "/v1/leads/merge",
            &app.admin_token,
            json!({"targetLeadId": target, "sourceLeadIds": [source]}),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    // the anonymous visitor's retry reaches the target, which has the event
    let (s, again) = app.post("/v1/events", &app.admin_token, anon).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["metadata"]["duplicate"], true);
    assert_eq!(again["metadata"]["event_id"], first["metadata"]["event_id"]);
    assert_eq!(again["metadata"]["lead_id"], target.as_str());
    assert_eq!(events_of(&app, &target).await.len(), 3);
    // the key both leads used stays taken until both its events are gone
    let retry = json!({"event_type": "Visit", "idempotency_key": "shared", "lead_id": target});
    for id in [&anon_shared, &known].map(|r| r["metadata"]["event_id"].clone()) {
        let (s, r) = app
            .post("/v1/events", &app.admin_token, retry.clone())
            .await;
        assert_eq!((s, &r["metadata"]["duplicate"]), (200, &json!(true)), "{r}");
        let (s, d) = app
            .post(
                "/v1/events/batch-delete",
                &app.admin_token,
                json!({ "ids": [id] }),
            )
            .await;
        assert_eq!((s, d["deleted"].as_u64()), (200, Some(1)), "{d}");
    }
    let (s, r) = app.post("/v1/events", &app.admin_token, retry).await;
    assert_eq!(
        (s, &r["metadata"]["duplicate"]),
        (201, &json!(false)),
        "{r}"
    );
    assert_eq!(events_of(&app, &target).await.len(), 2);
}
