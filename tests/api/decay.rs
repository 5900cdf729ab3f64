//! Inactivity decay rules, scoring settings and the surge session policy end to end.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Sse, TestApp};

async fn ok(app: &TestApp, method: Method, path: &str, body: Value, status: u16) -> Value {
    app.ok(method, path, Some(body), status).await
}

/// Ingests one event `ago` before now for an email; the lead id.
async fn event_ago(app: &TestApp, event_type: &str, email: &str, ago: chrono::Duration) -> String {
    let at = leadwire_models::time::format(&(chrono::Utc::now() - ago));
    let r = ok(
        app,
        Method::POST,
        "/v1/events",
        json!({"event_type": event_type, "timestamp": at,
               "aliases": [{"alias_kind": "email", "raw_value": email}]}),
        201,
    )
    .await;
    r["metadata"]["lead_id"].as_str().unwrap().to_string()
}

/// The stored score (what lists and sorts use), polled until it equals `want` (the wake
/// pass runs every 2 s) or 20 s pass; the last value seen.
async fn stored_score_becomes(app: &TestApp, lead: &str, want: f64) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, list) = app.get("/v1/leads?limit=500", &app.admin_token).await;
        let seen = list["leads"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["id"] == lead))
            .and_then(|x| x["score"].as_f64())
            .unwrap_or(f64::NAN);
        if seen == want || tokio::time::Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn field(r: &Value) -> &str {
    r["error"]["details"]["field"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactivity_decay_takes_points_per_idle_period_and_never_crosses_zero() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Demo", "weight": 60})).await;
    let idle = event_ago(&app, "Demo", "idle@example.com", chrono::Duration::days(95)).await;
    let recent = event_ago(
        &app,
        "Demo",
        "recent@example.com",
        chrono::Duration::days(45),
    )
    .await;
    assert_eq!(app.score(&idle).await, 60.0);

    // bad rules are refused with the field named, and nothing is stored
    for (body, f) in [
        (json!({"unit": "days", "decrease": 5}), "inactive_for"),
        (
            json!({"inactive_for": 0, "unit": "days", "decrease": 5}),
            "inactive_for",
        ),
        (
            json!({"inactive_for": 800, "unit": "days", "decrease": 5}),
            "inactive_for",
        ),
        (
            json!({"inactive_for": 3, "unit": "days", "decrease": 0}),
            "decrease",
        ),
        (json!({"inactive_for": 3, "decrease": 5}), "unit"),
    ] {
        let (s, r) = app.post("/v1/decays", &app.admin_token, body).await;
        assert_eq!((s, field(&r)), (422, f), "{r}");
    }
    let (s, _) = app
        .post(
            "/v1/decays",
            &app.admin_token,
            json!({"inactive_for": 3, "unit": "months", "decrease": 5}),
        )
        .await;
    assert_eq!(s, 422, "an unknown unit");
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, _) = app
        .post(
            "/v1/decays",
            &viewer,
            json!({"inactive_for": 30, "unit": "days", "decrease": 25}),
        )
        .await;
    assert_eq!(s, 403);
    let (_, none) = app.get("/v1/decays", &app.admin_token).await;
    assert_eq!(none, json!([]));

    let mut stream = app.stream().await;
    let rule = ok(
        &app,
        Method::POST,
        "/v1/decays",
        json!({"inactive_for": 30, "unit": "days", "decrease": 25}),
        201,
    )
    .await;
    let id = rule["decay_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("dc_"), "{rule}");
    assert_eq!(
        (rule["unit"].as_str(), rule["decrease"].as_u64()),
        (Some("days"), Some(25))
    );

    // live at once: 95 idle days take 25 at day 30 and 60, then only the 10 left at day 90
    assert_eq!(app.score(&idle).await, 0.0);
    assert_eq!(app.score(&recent).await, 35.0);
    // the stored score follows (every lead of the OU is woken after a config change), and
    // the deductions go on the timeline as one DECAY entry, channel system
    assert_eq!(stored_score_becomes(&app, &idle, 0.0).await, 0.0);
    let (_, timeline) = app
        .get(&format!("/v1/leads/{idle}/events"), &app.admin_token)
        .await;
    let decay: Vec<&Value> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "DECAY")
        .collect();
    assert_eq!(decay.len(), 1, "{timeline}");
    assert_eq!(decay[0]["channel"], "system");
    assert_eq!(decay[0]["metadata"]["channel"], "system");
    // as runs of one rule's deductions of one size: 25 twice (days 30 and 60), then 10
    let runs: Vec<(u64, f64)> = decay[0]["metadata"]["deductions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| {
            let points = d["points"].as_object()?.values().next()?.as_f64()?;
            Some((d["count"].as_u64()?, points))
        })
        .collect();
    assert_eq!(runs, vec![(2, -50.0), (1, -10.0)], "{}", decay[0]);
    // listeners hear each lead's loss once, as a decay, from the score they knew
    let updates = Sse::score_updates;
    let within = Duration::from_secs(10);
    stream
        .until(within, |seen| {
            !updates(seen, &idle).is_empty() && !updates(seen, &recent).is_empty()
        })
        .await;
    for (lead, heard) in [
        (
            &idle,
            "\"before\":60.0,\"after\":0.0,\"delta\":-60.0,\"cause\":\"decay\"",
        ),
        (
            &recent,
            "\"before\":60.0,\"after\":35.0,\"delta\":-25.0,\"cause\":\"decay\"",
        ),
    ] {
        let heard_of = updates(&stream.seen, lead);
        assert_eq!(heard_of.len(), 1, "{heard_of:?}");
        assert!(heard_of[0].contains(heard), "{heard} in {}", heard_of[0]);
    }

    // the explanation and the why show it
    let (_, x) = app
        .get(
            &format!("/v1/leads/{recent}/explain?hours=2000"),
            &app.admin_token,
        )
        .await;
    assert_eq!(x["score"], 35.0, "{x}");
    assert_eq!(x["decay_applied"], 25.0, "{x}");
    assert_eq!(x["inactivity_decay"][0]["event_type"], "DECAY", "{x}");
    assert_eq!(x["inactivity_decay"][0]["channel"], "system");
    assert_eq!(x["inactivity_decay"][0]["points"], -25.0);
    assert_eq!(x["inactivity_decay"][0]["count"], 1);
    let (_, why) = app
        .get(&format!("/v1/leads/{recent}/why"), &app.admin_token)
        .await;
    assert!(
        why["summary"]
            .as_str()
            .unwrap_or("")
            .contains("25 pts lost to inactivity"),
        "{why}"
    );

    // new activity restarts the clock; a decay in the past stays taken
    event_ago(&app, "Demo", "recent@example.com", chrono::Duration::zero()).await;
    assert_eq!(app.score(&recent).await, 95.0);

    // negative scores allowed (Owner only): every period takes the full 25
    let (s, _) = app
        .call(
            app.req(Method::PUT, "/v1/settings/scoring", &viewer)
                .json(&json!({"allow_negative_scores": true})),
        )
        .await;
    assert_eq!(s, 403);
    let settings = ok(
        &app,
        Method::PUT,
        "/v1/settings/scoring",
        json!({"allow_negative_scores": true}),
        200,
    )
    .await;
    assert_eq!(settings["allow_negative_scores"], true);
    assert_eq!(app.score(&idle).await, -15.0);
    assert_eq!(stored_score_becomes(&app, &idle, -15.0).await, -15.0);

    // a changed rule applies at once; a deleted one gives its points back
    let changed = ok(
        &app,
        Method::PUT,
        &format!("/v1/decays/{id}"),
        json!({"inactive_for": 60}),
        200,
    )
    .await;
    assert_eq!(
        (
            changed["inactive_for"].as_u64(),
            changed["decrease"].as_u64()
        ),
        (Some(60), Some(25))
    );
    assert_eq!(app.score(&idle).await, 35.0);
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/decays/{id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.score(&idle).await, 60.0);
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/decays/{id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_applies_a_deduction_the_moment_it_falls_due() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Demo", "weight": 10})).await;
    ok(
        &app,
        Method::POST,
        "/v1/decays",
        json!({"inactive_for": 1, "unit": "hours", "decrease": 4}),
        201,
    )
    .await;
    let mut stream = app.stream().await;
    // idle for an hour in 3 seconds
    let lead = event_ago(
        &app,
        "Demo",
        "soon@example.com",
        chrono::Duration::hours(1) - chrono::Duration::seconds(3),
    )
    .await;
    assert_eq!(app.score(&lead).await, 10.0);
    stream
        .until(Duration::from_secs(20), |s| {
            s.contains("\"cause\":\"decay\"")
        })
        .await;
    let line = stream
        .seen
        .lines()
        .find(|l| l.contains("\"cause\":\"decay\""))
        .unwrap_or_default();
    assert!(line.contains(&lead), "{line}");
    assert!(
        line.contains("\"after\":6.0") && line.contains("\"delta\":-4.0"),
        "{line}"
    );
    assert_eq!(stored_score_becomes(&app, &lead, 6.0).await, 6.0);
    let (_, timeline) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    let entry = timeline
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "DECAY")
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["channel"], "system", "{timeline}");
    let delta = entry["deltas"]
        .as_object()
        .and_then(|d| d.values().next())
        .map(|d| d["delta"].clone());
    assert_eq!(delta, Some(json!(-4.0)), "{entry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_surge_policy_and_the_session_timeout_are_one_setting() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Visit", "weight": 4})).await;
    let (_, p) = app.get("/v1/settings/surge-policy", &app.admin_token).await;
    assert_eq!(
        (p["mode"].as_str(), p["customised"].as_bool()),
        (Some("standard"), Some(false))
    );
    assert_eq!(p["bands"].as_array().map(Vec::len), Some(3));
    let (_, s) = app.get("/v1/settings/scoring", &app.admin_token).await;
    assert_eq!(
        s,
        json!({"allow_negative_scores": false, "abm_enabled": false, "session_timeout_minutes": 30})
    );

    // refused: custom without bands, a cap over 3, an Operator
    let (s, r) = app
        .call(
            app.req(Method::PUT, "/v1/settings/surge-policy", &app.admin_token)
                .json(&json!({"mode": "custom"})),
        )
        .await;
    assert_eq!((s, field(&r)), (422, "bands"), "{r}");
    let (s, r) = app
        .call(
            app.req(Method::PUT, "/v1/settings/surge-policy", &app.admin_token)
                .json(&json!({"multiplier_cap": 3.5})),
        )
        .await;
    assert_eq!((s, field(&r)), (422, "multiplier_cap"), "{r}");
    let (_, operator) = app.ou_member("op@example.com", "Operator").await;
    let (s, _) = app
        .call(
            app.req(Method::PUT, "/v1/settings/surge-policy", &operator)
                .json(&json!({"mode": "off"})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, r) = app
        .call(
            app.req(Method::PUT, "/v1/settings/scoring", &app.admin_token)
                .json(&json!({"session_timeout_minutes": 0})),
        )
        .await;
    assert_eq!((s, field(&r)), (422, "session_timeout_minutes"), "{r}");
    let (_, p) = app.get("/v1/settings/surge-policy", &app.admin_token).await;
    assert_eq!(p["customised"], false, "refused changes store nothing");

    // a custom policy: 2× from the 2nd event of a session, capped at 1.5
    let p = ok(
        &app,
        Method::PUT,
        "/v1/settings/surge-policy",
        json!({"mode": "custom", "bands": [{"min_events": 2, "multiplier": 2.0}], "multiplier_cap": 1.5}),
        200,
    )
    .await;
    assert_eq!(p["customised"], true);
    let mut lead = String::new();
    for _ in 0..2 {
        lead = event_ago(
            &app,
            "Visit",
            "surfer@example.com",
            chrono::Duration::zero(),
        )
        .await;
    }
    assert_eq!(app.score(&lead).await, 4.0 + 6.0);

    // switching surge off rescores the same events at once
    ok(
        &app,
        Method::PUT,
        "/v1/settings/surge-policy",
        json!({"mode": "off"}),
        200,
    )
    .await;
    assert_eq!(app.score(&lead).await, 8.0);

    // the session timeout is the policy's idle reset
    let s = ok(
        &app,
        Method::PUT,
        "/v1/settings/scoring",
        json!({"session_timeout_minutes": 45, "abm_enabled": true}),
        200,
    )
    .await;
    assert_eq!(
        (
            s["session_timeout_minutes"].as_u64(),
            s["abm_enabled"].as_bool()
        ),
        (Some(45), Some(true))
    );
    let (_, p) = app.get("/v1/settings/surge-policy", &app.admin_token).await;
    assert_eq!(
        (p["idle_reset_seconds"].as_u64(), p["mode"].as_str()),
        (Some(2700), Some("off"))
    );
}
