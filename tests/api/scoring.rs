//! Engagement scoring end to end: rules, ingestion, live scores, the stream.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn rule(app: &TestApp, body: Value) -> Value {
    app.rule(body).await
}

async fn ingest(app: &TestApp, body: Value) -> (u16, Value) {
    app.post("/v1/events", &app.admin_token, body).await
}

async fn ingest_batch(app: &TestApp, events: Vec<Value>) -> (u16, Value) {
    app.post(
        "/v1/events/batch",
        &app.admin_token,
        json!({ "events": events }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_changes_the_score_by_exactly_the_rule() {
    let app = spawn_app().await;
    let r = rule(&app, json!({"event_type": "Demo Request", "weight": 10})).await;
    // the first rule of an OU creates its primary "Default" ruleset
    let (_, sets) = app.get("/v1/rulesets", &app.admin_token).await;
    assert_eq!(sets[0]["name"], "Default");
    assert_eq!(sets[0]["is_primary"], true);
    assert_eq!(r["ruleset_id"], sets[0]["ruleset_id"]);

    let (s, first) = ingest(
        &app,
        json!({"event_type": "Demo Request", "aliases": [{"alias_kind": "email", "raw_value": "Alex@Example.com"}]}),
    )
    .await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["message"], "event ingested");
    let ack = &first["metadata"];
    assert_eq!(ack["lead_created"], true);
    assert_eq!(ack["deltas"][0]["delta"], 10.0);
    let lead = ack["lead_id"].as_str().unwrap().to_string();

    // the same alias (any case) finds the same lead; the standard surge policy makes the
    // third event of a session worth 1.25×
    let (_, second) = ingest(
        &app,
        json!({"event_type": "Demo Request", "aliases": [{"alias_kind": "email", "raw_value": "alex@example.com"}]}),
    )
    .await;
    assert_eq!(second["metadata"]["lead_id"], lead.as_str());
    assert_eq!(second["metadata"]["lead_created"], false);
    let (_, third) = ingest(&app, json!({"event_type": "Demo Request", "lead_id": lead})).await;
    assert_eq!(third["metadata"]["deltas"][0]["before"], 20.0);
    assert_eq!(third["metadata"]["deltas"][0]["delta"], 12.5);
    // an event no rule scores changes nothing but is stored
    let (s, other) = ingest(&app, json!({"event_type": "Page View", "lead_id": lead})).await;
    assert_eq!(
        (s, other["metadata"]["deltas"][0]["delta"].as_f64()),
        (201, Some(0.0))
    );

    let (s, score) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!((s, score["score"].as_f64()), (200, Some(32.5)));
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert_eq!(l["lead"]["score"], 32.5);
    assert!(l["account"].is_null());
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 4);

    // editing the rule rescores the live lead at once: 3 events × 4 (× surge 1, 1, 1.25)
    let rule_id = r["rule_id"].as_str().unwrap();
    let (s, _) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/rules/{rule_id}"),
                &app.admin_token,
            )
            .json(&json!({"weight": 4})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, score) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!(score["score"], 13.0);

    // an explicit null is refused for what cannot be cleared (naming the field) and
    // changes nothing; the icon can be cleared with null
    for field in ["weight", "event_type", "active", "ruleset_id"] {
        let (s, body) = app
            .call(
                app.req(
                    Method::PUT,
                    &format!("/v1/rules/{rule_id}"),
                    &app.admin_token,
                )
                .json(&json!({"icon": "star", field: null})),
            )
            .await;
        assert_eq!(s, 422, "{field}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must not be null"));
    }
    let put = |body: Value| {
        app.req(
            Method::PUT,
            &format!("/v1/rules/{rule_id}"),
            &app.admin_token,
        )
        .json(&body)
    };
    let (_, r) = app.call(put(json!({"icon": "star"}))).await;
    assert_eq!(
        (r["icon"].as_str(), r["weight"].as_i64()),
        (Some("star"), Some(4))
    );
    let (_, r) = app.call(put(json!({"icon": null}))).await;
    assert_eq!(
        (r["icon"].as_str(), r["weight"].as_i64()),
        (None, Some(4)),
        "{r}"
    );
    let ruleset = r["ruleset_id"].as_str().unwrap();
    let (s, body) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/rulesets/{ruleset}"),
                &app.admin_token,
            )
            .json(&json!({"name": null})),
        )
        .await;
    assert_eq!(
        (s, body["error"]["details"]["field"].as_str()),
        (422, Some("name"))
    );
    assert_eq!(score_of(&app, &lead).await, 13.0);
}

async fn score_of(app: &TestApp, lead: &str) -> f64 {
    let (_, score) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    score["score"].as_f64().unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_of_the_same_leads_store_the_live_score() {
    // the writer commits several transactions at once: a lead's writes must still commit
    // in order, or the stored score (lists, sorting) would be an older one than the live
    let app = spawn_app().await;
    rule(
        &app,
        json!({"event_type": "Visit", "weight": 3, "half_life_days": null}),
    )
    .await;
    rule(
        &app,
        json!({"event_type": "Demo", "weight": 10, "half_life_days": null}),
    )
    .await;
    let event = |i: usize| {
        json!({
            "event_type": if i.is_multiple_of(3) { "Demo" } else { "Visit" },
            "aliases": [{"alias_kind": "email", "raw_value": format!("lead{}@example.com", i % 4)}],
        })
    };
    let app = &app;
    let singles = (0..120).map(|i| async move {
        let (s, r) = ingest(app, event(i)).await;
        assert_eq!(s, 201, "{r}");
        vec![r["metadata"].clone()]
    });
    let batches = (0..3).map(|b| async move {
        let events: Vec<Value> = (0..50).map(|i| event(b * 50 + i)).collect();
        let (s, r) = ingest_batch(app, events).await;
        assert_eq!((s, &r["accepted"]), (200, &json!(50)), "{r}");
        let items = r["items"].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .map(|i| i["result"].clone())
            .collect::<Vec<Value>>()
    });
    let (singles, batches) = tokio::join!(
        futures::future::join_all(singles),
        futures::future::join_all(batches)
    );
    // with no decay a lead's score is the sum of the deltas its acknowledgements reported
    let mut expected: std::collections::BTreeMap<String, f64> = Default::default();
    for ack in singles.into_iter().chain(batches).flatten() {
        let lead = ack["lead_id"].as_str().unwrap().to_string();
        *expected.entry(lead).or_default() += ack["deltas"][0]["delta"].as_f64().unwrap();
    }
    assert_eq!(expected.len(), 4);
    let (_, list) = app
        .get("/v1/leads?sort_by=score&limit=10", &app.admin_token)
        .await;
    let stored: std::collections::BTreeMap<String, f64> = list["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_string(),
                l["score"].as_f64().unwrap(),
            )
        })
        .collect();
    let rounded = |m: &std::collections::BTreeMap<String, f64>| -> Vec<(String, i64)> {
        m.iter()
            .map(|(k, v)| (k.clone(), (v * 100.0).round() as i64))
            .collect()
    };
    assert_eq!(rounded(&stored), rounded(&expected), "stored scores");
    for (lead, want) in &expected {
        let (_, live) = app
            .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
            .await;
        assert_eq!(
            (live["score"].as_f64().unwrap() * 100.0).round() as i64,
            (want * 100.0).round() as i64,
            "live score of {lead}"
        );
    }
}

/// Listeners hear a config change move a score, once, for a lead whose actor is live and
/// for one whose actor was passivated (rescored when the wake pass reaches it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_that_moves_scores_is_heard_once_per_lead() {
    let mut config = leadwire::Config::for_tests();
    config.lead_idle_seconds = 1;
    let app = crate::helpers::spawn_with(config).await;
    let units = app.ok(Method::GET, "/v1/org-units", None, 200).await;
    let org_id = units["organization"]["org_id"]
        .as_str()
        .unwrap()
        .to_string();
    let demo = rule(&app, json!({"event_type": "Demo", "weight": 10})).await;
    let event = |email: &str| json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": email}]});
    let (s, r) = ingest(&app, event("asleep@example.com")).await;
    assert_eq!(s, 201, "{r}");
    let asleep = r["metadata"]["lead_id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    while app
        .core
        .engine
        .live_leads(&org_id, &app.ou_id)
        .await
        .unwrap()
        > 0
    {
        assert!(started.elapsed().as_secs() < 10, "never passivated");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (s, r) = ingest(&app, event("awake@example.com")).await;
    assert_eq!(s, 201, "{r}");
    let awake = r["metadata"]["lead_id"].as_str().unwrap().to_string();

    let mut stream = app.stream().await;
    let id = demo["rule_id"].as_str().unwrap();
    app.ok(
        Method::PUT,
        &format!("/v1/rules/{id}"),
        Some(json!({"event_type": "Demo", "weight": 30})),
        200,
    )
    .await;
    let heard = crate::helpers::Sse::score_updates;
    let within = std::time::Duration::from_secs(15);
    stream
        .until(within, |seen| {
            !heard(seen, &awake).is_empty() && !heard(seen, &asleep).is_empty()
        })
        .await;
    // the wake pass (every 2 s) has reached every lead by now: nothing more is heard
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    stream.catch_up(std::time::Duration::from_millis(500)).await;
    for lead in [&awake, &asleep] {
        let updates = heard(&stream.seen, lead);
        assert_eq!(updates.len(), 1, "{lead}: {updates:?}");
        for part in [
            "\"before\":10.0",
            "\"after\":30.0",
            "\"delta\":20.0",
            "\"cause\":\"config_change\"",
        ] {
            assert!(updates[0].contains(part), "{part} in {}", updates[0]);
        }
        assert_eq!(app.score(lead).await, 30.0);
    }
}

/// A lead whose actor was passivated while a write of its second event ("Demo") is on its
/// way: every event write takes five seconds to commit until `REMOVE EVENT slow ON TABLE
/// event`. Returns the lead, the first event's answer and the second's pending answer.
async fn passivated_with_a_write_on_its_way(
    app: &TestApp,
    demo: &Value,
) -> (String, Value, tokio::task::JoinHandle<(u16, Value)>) {
    let units = app.ok(Method::GET, "/v1/org-units", None, 200).await;
    let org_id = units["organization"]["org_id"]
        .as_str()
        .unwrap()
        .to_string();
    let live = || app.core.engine.live_leads(&org_id, &app.ou_id);
    let (s, first) = ingest(app, demo.clone()).await;
    assert_eq!(s, 201, "{first}");
    let lead = first["metadata"]["lead_id"].as_str().unwrap().to_string();

    // every event write now takes five seconds to commit (room for the passivation)
    app.core
        .store
        .execute("DEFINE EVENT slow ON TABLE event WHEN $event = 'CREATE' THEN sleep(5s)")
        .await
        .unwrap();
    let second = tokio::spawn({
        let (client, base, token, body) = (
            app.client.clone(),
            app.base.clone(),
            app.admin_token.clone(),
            demo.clone(),
        );
        async move {
            let r = client
                .post(format!("{base}/v1/events"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    });
    // the lead's actor goes idle and is passivated while that write is on its way
    let started = std::time::Instant::now();
    while live().await.unwrap() > 0 {
        assert!(
            started.elapsed().as_secs() < 10,
            "the lead was never passivated"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        !second.is_finished(),
        "the write landed before the passivation"
    );
    (lead, first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_passivated_with_a_write_on_its_way_comes_back_with_that_write() {
    let mut config = leadwire::Config::for_tests();
    config.lead_idle_seconds = 1;
    let app = crate::helpers::spawn_with(config).await;
    rule(&app, json!({"event_type": "Demo", "weight": 10})).await;
    let demo = json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "slow@example.com"}]});
    let (lead, first, second) = passivated_with_a_write_on_its_way(&app, &demo).await;
    let store = &app.core.store;
    // the next event spawns a new actor, which must start from the write on its way
    let (s, third) = ingest(&app, demo.clone()).await;
    assert_eq!(s, 201, "{third}");
    let (s, second) = second.await.unwrap();
    assert_eq!(s, 201, "{second}");
    store
        .execute("REMOVE EVENT slow ON TABLE event")
        .await
        .unwrap();

    let delta = |ack: &Value, field: &str| ack["metadata"]["deltas"][0][field].as_f64().unwrap();
    assert_eq!(delta(&third, "before"), delta(&second, "after"));
    let total: f64 = [&first, &second, &third]
        .iter()
        .map(|a| delta(a, "delta"))
        .sum();
    let (_, score) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!(score["score"].as_f64(), Some(total), "live score {score}");
    let (_, row) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert_eq!(
        row["lead"]["score"].as_f64(),
        Some(total),
        "stored score {row}"
    );
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 3);
}

/// A config change while a lead's actor is passivating (a write of its still on its way):
/// the successor the OU spawns stores the lead rescored under the new config after that
/// write, and listeners hear the change once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_reaches_a_lead_passivating_with_a_write_on_its_way() {
    let mut config = leadwire::Config::for_tests();
    config.lead_idle_seconds = 1;
    let app = crate::helpers::spawn_with(config).await;
    let r = rule(&app, json!({"event_type": "Demo", "weight": 10})).await;
    let rule_id = r["rule_id"].as_str().unwrap().to_string();
    let demo = json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "drain@example.com"}]});
    let (lead, _first, second) = passivated_with_a_write_on_its_way(&app, &demo).await;
    let mut stream = app.stream().await;
    // the change commits after the write on its way (its wake marks are an exclusive write)
    app.ok(
        Method::PUT,
        &format!("/v1/rules/{rule_id}"),
        Some(json!({"event_type": "Demo", "weight": 30})),
        200,
    )
    .await;
    let (s, second) = second.await.unwrap();
    assert_eq!(s, 201, "{second}");
    app.core
        .store
        .execute("REMOVE EVENT slow ON TABLE event")
        .await
        .unwrap();

    // both events now earn 30: live, stored (what lists read) and heard
    assert_eq!(app.score(&lead).await, 60.0);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, row) = app
            .get(&format!("/v1/leads/{lead}"), &app.admin_token)
            .await;
        let (_, list) = app.get("/v1/leads", &app.admin_token).await;
        let listed = list["leads"][0]["score"].as_f64();
        if row["lead"]["score"].as_f64() == Some(60.0) && listed == Some(60.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stored score {row}, listed {listed:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let within = std::time::Duration::from_secs(10);
    stream
        .until(within, |seen| {
            seen.contains("\"cause\":\"config_change\"") && seen.contains("\"after\":60.0")
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    stream.catch_up(std::time::Duration::from_millis(500)).await;
    let changes = stream.seen.matches("\"cause\":\"config_change\"").count();
    assert_eq!(changes, 1, "{}", stream.seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_whose_write_failed_are_decided_again_by_the_store() {
    let app = spawn_app().await;
    let store = &app.core.store;
    let email = |v: &str| json!({"alias_kind": "email", "raw_value": v});
    // the store refuses one alias value: every write carrying its row fails
    let refuse = |on: bool| {
        let assert = if on {
            " ASSERT $value != 'refused@example.com'"
        } else {
            ""
        };
        format!("DEFINE FIELD OVERWRITE value ON lead_alias TYPE string{assert}")
    };
    store.execute(&refuse(true)).await.unwrap();

    // a new lead whose first write failed: nothing is acknowledged, nothing is stored
    let (s, body) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [email("refused@example.com")]}),
    )
    .await;
    assert!(s >= 500, "{s} {body}");
    let (_, leads) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(leads["total"], 0, "{leads}");
    // an existing lead that gains the alias in a failed write does not keep it
    let (s, first) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [email("kept@example.com")]}),
    )
    .await;
    assert_eq!(s, 201, "{first}");
    let kept = first["metadata"]["lead_id"].as_str().unwrap().to_string();
    let (s, body) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [email("kept@example.com"), email("refused@example.com")]}),
    )
    .await;
    assert!(s >= 500, "{s} {body}");

    // once the store takes the alias, the next ingest stores it, with the lead of the
    // other alias; and new leads are created as usual
    store.execute(&refuse(false)).await.unwrap();
    let (s, again) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [email("kept@example.com"), email("refused@example.com")]}),
    )
    .await;
    assert_eq!(s, 201, "{again}");
    assert_eq!(again["metadata"]["lead_id"], kept.as_str());
    let (s, found) = app
        .get(
            "/v1/leads/lookup?kind=email&value=refused@example.com",
            &app.admin_token,
        )
        .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["lead_id"], kept.as_str(), "{found}");
    let (s, alone) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [email("alone@example.com")]}),
    )
    .await;
    assert_eq!(s, 201, "{alone}");
    let (_, leads) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(leads["total"], 2, "{leads}");
    for lead in [
        &kept,
        &alone["metadata"]["lead_id"].as_str().unwrap().to_string(),
    ] {
        let (s, row) = app
            .get(&format!("/v1/leads/{lead}"), &app.admin_token)
            .await;
        assert_eq!(s, 200, "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_life_decay_at_a_known_age() {
    let app = spawn_app().await;
    rule(
        &app,
        json!({"event_type": "Webinar", "weight": 10, "half_life_days": 7}),
    )
    .await;
    let week_ago = leadwire_models::time::format(&(chrono::Utc::now() - chrono::Duration::days(7)));
    let (s, r) = ingest(
        &app,
        json!({"event_type": "Webinar", "timestamp": week_ago, "aliases": [{"alias_kind": "external_id", "raw_value": "crm-1"}]}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let lead = r["metadata"]["lead_id"].as_str().unwrap();
    let (_, score) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    // 10 × 0.5^(7/7) = 5, give or take the seconds the test took
    let s = score["score"].as_f64().unwrap();
    assert!((4.99..=5.0).contains(&s), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_hears_the_score_change() {
    let app = spawn_app().await;
    rule(&app, json!({"event_type": "Trial Start", "weight": 25})).await;
    let mut stream = app.stream().await;
    let (s, r) = ingest(
        &app,
        json!({"event_type": "Trial Start", "aliases": [{"alias_kind": "cookie", "raw_value": "c-42"}]}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let lead = r["metadata"]["lead_id"].as_str().unwrap().to_string();
    let within = std::time::Duration::from_secs(10);
    stream
        .until(within, |s| {
            s.contains("event: score_update") && s.contains("\"delta\":25.0")
        })
        .await;
    assert!(
        stream.seen.contains("event: event_ingested"),
        "{}",
        stream.seen
    );
    assert!(stream.seen.contains(&lead), "{}", stream.seen);

    // the third event of a session enters the 1.25× surge band: listeners hear it once
    for _ in 0..3 {
        let (s, _) = ingest(&app, json!({"event_type": "Trial Start", "lead_id": lead})).await;
        assert_eq!(s, 201);
    }
    stream
        .until(within, |s| s.matches("event: event_ingested").count() >= 4)
        .await;
    let seen = &stream.seen;
    assert_eq!(seen.matches("event: surge").count(), 1, "{seen}");
    assert!(
        seen.contains("\"session_events\":3,\"multiplier\":1.25"),
        "{seen}"
    );

    // without credentials the stream is refused
    let r = app.client.get(app.url("/v1/stream")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    rule(&app, json!({"event_type": "Demo", "weight": 5})).await;
    let cases = [
        (json!({"event_type": "Demo"}), 422),
        (json!({"event_type": "", "lead_id": "ld_x"}), 422),
        (json!({"event_type": "Demo", "lead_id": "ld_missing"}), 404),
        (
            json!({"event_type": "Demo", "unit_id": "ou_x", "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
            422,
        ),
        (
            json!({"event_type": "Demo", "aliases": [{"alias_kind": "fax", "raw_value": "1"}]}),
            422,
        ),
        (
            json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "not-an-email"}]}),
            422,
        ),
        (
            json!({"event_type": "Demo", "timestamp": "yesterday", "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
            422,
        ),
        (
            json!({"event_type": "Demo", "metadata": {"blob": "x".repeat(101 * 1024)}, "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
            413,
        ),
        (
            json!({"event_type": "Demo", "idempotency_key": "", "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
            422,
        ),
        (
            json!({"event_type": "Demo", "idempotency_key": "k".repeat(256), "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
            422,
        ),
        (
            json!({"event_type": "Demo", "idempotency_key": "a\nb", "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
            422,
        ),
        (
            json!({"event_type": "Demo", "idempotency_key": 7, "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
            422,
        ),
    ];
    for (body, status) in cases {
        let (s, e) = ingest(&app, body.clone()).await;
        assert_eq!(s, status, "{body} -> {e}");
        assert!(e["error"]["code"].is_string(), "{e}");
    }
    // a mistyped or missing field is named, as the hand-written checks name theirs
    for (body, field) in [
        (json!({"event_type": 5, "lead_id": "ld_x"}), "event_type"),
        (json!({"lead_id": "ld_x"}), "event_type"),
        (
            json!({"event_type": "Demo", "aliases": [{"alias_kind": "email"}]}),
            "aliases[0].raw_value",
        ),
    ] {
        let (s, e) = ingest(&app, body.clone()).await;
        assert_eq!(
            (s, e["error"]["details"]["field"].as_str()),
            (422, Some(field)),
            "{body} -> {e}"
        );
    }
    // metadata nested past the limit is refused before anything reads it (the storage
    // engine's recursion once took the whole server down at 70 levels)
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!({ "a": deep });
    }
    let (s, e) = ingest(
        &app,
        json!({"event_type": "Demo", "metadata": deep, "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("validation_failed")),
        "{e}"
    );
    // nothing was stored: the alias is still unknown and the first good event makes the lead
    let (s, ok) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}),
    )
    .await;
    assert_eq!(
        (s, ok["metadata"]["lead_created"].as_bool()),
        (201, Some(true))
    );
    let lead = ok["metadata"]["lead_id"].as_str().unwrap();
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 1);

    // a Viewer may read but not ingest
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, e) = app
        .post("/v1/events", &viewer, json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "a@b.co"}]}))
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reports_each_item_and_ingests_the_good_ones() {
    let app = spawn_app().await;
    rule(&app, json!({"event_type": "Open", "weight": 1})).await;
    let good = |i: usize| json!({"event_type": "Open", "aliases": [{"alias_kind": "external_id", "raw_value": format!("u-{}", i % 3)}]});
    let mut events: Vec<Value> = (0..9).map(good).collect();
    events.insert(2, json!({"event_type": "Open"}));
    events.insert(5, json!({"event_type": "Open", "lead_id": 7}));
    events.push(json!({"event_type": "Open", "aliases": [
        {"alias_kind": "external_id", "raw_value": "u-9"},
        {"alias_kind": "email", "raw_value": "not an email"}]}));
    events.push(json!({"event_type": "Open", "lead_id": "x", "bogus": 1}));
    let (s, r) = ingest_batch(&app, events).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["accepted"].as_u64(), r["rejected"].as_u64()),
        (Some(9), Some(4))
    );
    // each error names its field from the request's top, as a whole body's would
    for (i, field) in [
        (5, "events[5].lead_id"),
        (11, "events[11].aliases[1].raw_value"),
        (12, "events[12].bogus"),
    ] {
        let item = &r["items"][i];
        assert_eq!(item["status"], 422, "{item}");
        assert_eq!(item["error"]["details"]["field"], field, "{item}");
        assert!(
            item["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{item}"
        );
    }
    assert_eq!(r["items"][2]["status"], 422);
    assert_eq!(
        r["items"][2]["error"]["details"]["field"]
            .as_str()
            .map(|f| f.starts_with("events[2]")),
        Some(true),
        "{}",
        r["items"][2]
    );
    assert_eq!(r["items"][0]["status"], 201);
    // three distinct identities made three leads, three events each
    let leads: std::collections::BTreeSet<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["result"]["lead_id"].as_str())
        .collect();
    assert_eq!(leads.len(), 3);
    for lead in leads {
        let (_, score) = app
            .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
            .await;
        // 1 + 1 + 1.25 (the third event of the session)
        assert_eq!(score["score"], 3.25, "{lead}");
    }
    // over the limit
    let too_many: Vec<Value> = (0..1001).map(good).collect();
    let (s, e) = ingest_batch(&app, too_many).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("validation_failed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_and_rules_of_another_ou_are_not_found() {
    let app = spawn_app().await;
    let r = rule(&app, json!({"event_type": "Demo", "weight": 5})).await;
    let (s, lead) = app
        .post(
            "/v1/leads",
            &app.admin_token,
            json!({"id": "crm-lead-7", "metadata": {"plan": "Pro"}}),
        )
        .await;
    assert_eq!((s, lead["id"].as_str()), (201, Some("crm-lead-7")));
    let (s, _) = app
        .post("/v1/leads", &app.admin_token, json!({"id": "crm-lead-7"}))
        .await;
    assert_eq!(s, 409);
    let (s, _) = ingest(&app, json!({"event_type": "Demo", "lead_id": "crm-lead-7"})).await;
    assert_eq!(s, 201);

    let (_, _, other) = app.second_org().await;
    let rule_id = r["rule_id"].as_str().unwrap();
    for path in [
        "/v1/leads/crm-lead-7".to_string(),
        "/v1/leads/crm-lead-7/score".to_string(),
        "/v1/leads/crm-lead-7/events".to_string(),
        format!("/v1/rulesets/{}/rules", r["ruleset_id"].as_str().unwrap()),
    ] {
        let (s, e) = app.get(&path, &other).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let (s, _) = app
        .call(app.req(Method::DELETE, &format!("/v1/rules/{rule_id}"), &other))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            "/v1/events",
            &other,
            json!({"event_type": "Demo", "lead_id": "crm-lead-7"}),
        )
        .await;
    assert_eq!(s, 404);
    // the same client id in the other org is another lead
    let (s, _) = app
        .post("/v1/leads", &other, json!({"id": "crm-lead-7"}))
        .await;
    assert_eq!(s, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_validate_and_reorder_atomically() {
    let app = spawn_app().await;
    for (body, field) in [
        (json!({"weight": 5}), "event_type"),
        (json!({"event_type": "x"}), "weight"),
        (
            json!({"event_type": "x", "weight": 5, "half_life_days": 0}),
            "half_life_days",
        ),
        (
            json!({"event_type": "x", "weight": 5, "half_life_days": 731}),
            "half_life_days",
        ),
        (
            json!({"event_type": "x", "weight": 5, "ruleset_id": "rs_nope"}),
            "",
        ),
    ] {
        let (s, e) = app.post("/v1/rules", &app.admin_token, body.clone()).await;
        if field.is_empty() {
            assert_eq!(s, 404, "{body}");
        } else {
            assert_eq!(
                (s, e["error"]["details"]["field"].as_str()),
                (422, Some(field)),
                "{body}"
            );
        }
    }
    let (_, rs) = app
        .post(
            "/v1/rulesets",
            &app.admin_token,
            json!({"name": "Marketing"}),
        )
        .await;
    let rs = rs["ruleset_id"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            "/v1/rulesets",
            &app.admin_token,
            json!({"name": "Marketing"}),
        )
        .await;
    assert_eq!(s, 409);
    let a = rule(
        &app,
        json!({"event_type": "Demo", "weight": 30, "ruleset_id": rs}),
    )
    .await;
    let b = rule(
        &app,
        json!({"event_type": "Demo", "weight": 5, "ruleset_id": rs}),
    )
    .await;
    let (a, b) = (
        a["rule_id"].as_str().unwrap(),
        b["rule_id"].as_str().unwrap(),
    );
    // the first rule in priority order scores the event
    let (_, r) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "p@q.io"}]}),
    )
    .await;
    assert_eq!(r["metadata"]["deltas"][0]["delta"], 30.0);
    let lead = r["metadata"]["lead_id"].as_str().unwrap().to_string();
    // an order that leaves a rule out is refused and changes nothing
    let (s, _) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/rulesets/{rs}/rules/order"),
                &app.admin_token,
            )
            .json(&json!({"rule_ids": [b]})),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/rulesets/{rs}/rules/order"),
                &app.admin_token,
            )
            .json(&json!({"rule_ids": [b, a]})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, rules) = app
        .get(&format!("/v1/rulesets/{rs}/rules"), &app.admin_token)
        .await;
    assert_eq!(rules[0]["rule_id"], b);
    // the live lead is rescored under the new order
    let (_, score) = app
        .get(
            &format!("/v1/leads/{lead}/score?ruleset_id={rs}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(score["score"], 5.0);
}

// several worker threads, as in the server: the collision needs true parallelism
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_with_live_leads_answer_success_once_and_apply_once() {
    let app = spawn_app().await;
    rule(&app, json!({"event_type": "Demo", "weight": 10})).await;
    for i in 0..3 {
        let (s, _) = ingest(
            &app,
            json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": format!("l{i}@q.io")}]}),
        )
        .await;
        assert_eq!(s, 201);
    }
    // (the leads' first writes and the wake pass after them are over)
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // every change rescores the live leads while it marks them all for rescoring: the
    // two must not collide into an error for a change that was in fact made
    for i in 0..6 {
        let (s, r) = app
            .post(
                "/v1/rules",
                &app.admin_token,
                json!({"event_type": format!("T{i}"), "weight": i}),
            )
            .await;
        assert_eq!(s, 201, "change {i}: {r}");
    }
    let (_, rules) = app.get("/v1/rules", &app.admin_token).await;
    assert_eq!(rules.as_array().map(Vec::len), Some(7));
    let demo = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event_type"] == "Demo")
        .unwrap();
    let (s, r) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/rules/{}", demo["rule_id"].as_str().unwrap()),
                &app.admin_token,
            )
            .json(&json!({"weight": 4})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // the stored scores follow the live ones (the leads' own writes, just after)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, page) = app.get("/v1/leads", &app.admin_token).await;
        let scores: Vec<f64> = page["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["score"].as_f64().unwrap())
            .collect();
        if scores == [4.0, 4.0, 4.0] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rulesets_keep_one_primary_and_a_moved_rule_goes_last() {
    let app = spawn_app().await;
    let mut sets = Vec::new();
    for name in ["First", "Second", "Third"] {
        let rs = app
            .ok(
                Method::POST,
                "/v1/rulesets",
                Some(json!({"name": name})),
                201,
            )
            .await;
        sets.push(rs["ruleset_id"].as_str().unwrap().to_string());
    }
    let primary = |list: &Value| -> Vec<String> {
        let list = list.as_array().unwrap();
        list.iter()
            .filter(|r| r["is_primary"] == true)
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    // a PUT changes only what it sends
    let put = |id: &str, body: Value| {
        app.call(
            app.req(Method::PUT, &format!("/v1/rulesets/{id}"), &app.admin_token)
                .json(&body),
        )
    };
    let (s, r) = put(&sets[0], json!({"score_column": "mql_score"})).await;
    assert_eq!(
        (s, &r["name"], &r["is_primary"], &r["score_column"]),
        (200, &json!("First"), &json!(true), &json!("mql_score"))
    );
    let (s, r) = put(&sets[0], json!({"name": "Renamed"})).await;
    assert_eq!((s, &r["score_column"]), (200, &json!("mql_score")));
    for (body, field) in [
        (json!({"is_primary": false}), "is_primary"),
        (json!({"score_column": "Bad Column"}), "score_column"),
        (json!({"name": ""}), "name"),
        (json!({"nmae": "typo"}), ""),
    ] {
        let (s, e) = put(&sets[0], body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        if !field.is_empty() {
            assert_eq!(e["error"]["details"]["field"], field, "{body}");
        }
    }
    let (_, list) = app.get("/v1/rulesets", &app.admin_token).await;
    assert_eq!(primary(&list), ["Renamed"]);

    // deleting the primary ruleset hands the flag to the oldest one left
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/rulesets/{}", sets[0]),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    let (_, list) = app.get("/v1/rulesets", &app.admin_token).await;
    assert_eq!(primary(&list), ["Second"]);
    // and the primary ruleset is the one that scores by default
    rule(
        &app,
        json!({"event_type": "Demo", "weight": 7, "ruleset_id": sets[1]}),
    )
    .await;
    let (_, r) = ingest(
        &app,
        json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "p@q.io"}]}),
    )
    .await;
    let lead = r["metadata"]["lead_id"].as_str().unwrap().to_string();
    let (_, scores) = app
        .post(
            "/v1/leads/scores",
            &app.admin_token,
            json!({"lead_ids": [lead]}),
        )
        .await;
    assert_eq!(scores[0]["score"], 7.0, "{scores}");

    // a rule moved to another ruleset goes after that ruleset's rules
    let first = rule(
        &app,
        json!({"event_type": "Demo", "weight": 1, "ruleset_id": sets[2]}),
    )
    .await;
    let moved = rule(
        &app,
        json!({"event_type": "Demo", "weight": 2, "ruleset_id": sets[1]}),
    )
    .await;
    assert_eq!(moved["priority"], 1);
    let moved = moved["rule_id"].as_str().unwrap();
    // a rule as read back may be sent again; a misspelt field is refused
    let (s, e) = app
        .call(
            app.req(Method::PUT, &format!("/v1/rules/{moved}"), &app.admin_token)
                .json(&json!({"wieght": 9})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, r) = app
        .call(
            app.req(Method::PUT, &format!("/v1/rules/{moved}"), &app.admin_token)
                .json(&json!({"ruleset_id": sets[2], "priority": 0})),
        )
        .await;
    assert_eq!((s, &r["priority"]), (200, &json!(1)), "{r}");
    let (_, rules) = app
        .get(&format!("/v1/rulesets/{}/rules", sets[2]), &app.admin_token)
        .await;
    let order: Vec<&Value> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["rule_id"])
        .collect();
    assert_eq!(order, [&first["rule_id"], &json!(moved)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_dry_run_changes_nothing_and_rescore_replays_history() {
    let app = spawn_app().await;
    let r = rule(&app, json!({"event_type": "Demo", "weight": 10})).await;
    let rs = r["ruleset_id"].as_str().unwrap().to_string();
    let (_, first) = ingest(
        &app,
        json!({"event_type": "Webinar", "aliases": [{"alias_kind": "email", "raw_value": "dry@example.com"}],
               "timestamp": "2026-11-01T10:00:00Z"}),
    )
    .await;
    let lead = first["metadata"]["lead_id"].as_str().unwrap().to_string();
    for ts in ["2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"] {
        ingest(
            &app,
            json!({"event_type": "Webinar", "lead_id": lead, "timestamp": ts}),
        )
        .await;
    }
    ingest(
        &app,
        json!({"event_type": "Demo", "lead_id": lead, "timestamp": "2026-11-04T10:00:00Z"}),
    )
    .await;

    let (s, t) = app
        .post(
            "/v1/rules/test",
            &app.admin_token,
            json!({"lead_id": lead, "rule": {"event_type": "Webinar", "weight": 4}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["matches"], true);
    assert_eq!(t["matching_events"], 3);
    assert_eq!(
        (t["current_score"].as_f64(), t["projected_score"].as_f64()),
        (Some(10.0), Some(22.0))
    );
    assert_eq!(t["ruleset_id"], rs.as_str());
    let (_, t) = app
        .post("/v1/rules/test", &app.admin_token,
            json!({"lead_id": lead, "rule": {"event_type": "Webinar", "weight": 4, "start_at": "2026-11-20T00:00:00Z"}}))
        .await;
    assert_eq!(
        (t["matches"].as_bool(), t["projected_score"].as_f64()),
        (Some(false), Some(10.0))
    );
    assert!(t["reason"].as_str().unwrap().contains("window"), "{t}");
    let (_, t) = app
        .post(
            "/v1/rules/test",
            &app.admin_token,
            json!({"lead_id": lead, "rule": {"event_type": "Signup", "weight": 4}}),
        )
        .await;
    assert!(
        t["reason"]
            .as_str()
            .unwrap()
            .contains("no \"Signup\" events"),
        "{t}"
    );
    for (body, status) in [
        (
            json!({"lead_id": "nope", "rule": {"event_type": "Demo", "weight": 1}}),
            404,
        ),
        (
            json!({"lead_id": lead, "rule": {"event_type": "Demo"}}),
            422,
        ),
        (json!({"lead_id": lead}), 422),
    ] {
        let (s, _) = app
            .post("/v1/rules/test", &app.admin_token, body.clone())
            .await;
        assert_eq!(s, status, "{body}");
    }
    // the rule's own errors are named within it
    let (_, e) = app
        .post(
            "/v1/rules/test",
            &app.admin_token,
            json!({"lead_id": lead, "rule": {"event_type": "Demo", "weight": 5_000_000}}),
        )
        .await;
    assert_eq!(e["error"]["details"]["field"], "rule.weight", "{e}");
    // the dry run stored nothing
    let (_, sc) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!(sc["score"], 10.0);
    let (_, rules) = app.get("/v1/rules", &app.admin_token).await;
    assert_eq!(rules.as_array().unwrap().len(), 1);

    // rescore replays stored history; unknown dimension or ruleset is refused
    let (s, r) = app
        .post(
            &format!("/v1/scoring/engagement/rulesets/{rs}/rescore"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["leads"].as_u64(), r["changed"].as_u64()),
        (Some(1), Some(0))
    );
    let (s, e) = app
        .post(
            &format!("/v1/scoring/mood/rulesets/{rs}/rescore"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("not_found")),
        "an unknown dimension, as on every scoring route"
    );
    let (s, _) = app
        .post(
            "/v1/scoring/engagement/rulesets/rs_nope/rescore",
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_waits_for_writes_under_the_old_rule_and_every_stored_score_follows() {
    let mut config = leadwire::Config::for_tests();
    config.lead_idle_seconds = 1;
    let app = crate::helpers::spawn_with(config).await;
    let r = rule(&app, json!({"event_type": "Demo", "weight": 10})).await;
    let demo = json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "rechange@example.com"}]});
    // the lead's actor has stopped; its second event's write (scored under weight 10, and
    // carrying the lead's next wake time) is still on its way
    let (lead, _, second) = passivated_with_a_write_on_its_way(&app, &demo).await;
    let rule_id = r["rule_id"].as_str().unwrap();
    let (s, updated) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/rules/{rule_id}"),
                &app.admin_token,
            )
            .json(&json!({"weight": 30})),
        )
        .await;
    assert_eq!(s, 200, "{updated}");
    // the leads are marked to be rescored only once that write has landed (landing after
    // the mark it would clear it, and leave the score of weight 10 stored)
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().map(Vec::len), Some(2), "{events}");
    app.core
        .store
        .execute("REMOVE EVENT slow ON TABLE event")
        .await
        .unwrap();
    let (s, second) = second.await.unwrap();
    assert_eq!(s, 201, "{second}");
    assert_eq!(second["metadata"]["deltas"][0]["delta"], 10.0);
    // the stored score (lists, sorts) follows the new weight: 2 × 30
    let started = std::time::Instant::now();
    loop {
        let (_, row) = app
            .get(&format!("/v1/leads/{lead}"), &app.admin_token)
            .await;
        if row["lead"]["score"] == 60.0 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "the stored score stayed {}",
            row["lead"]["score"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(app.score(&lead).await, 60.0);
}
