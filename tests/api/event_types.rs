//! Event-type settings (hidden, processing ceiling), deleting every event of a type, and
//! research half-life defaults, end to end.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn ok(app: &TestApp, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    app.ok(method, path, body, status).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_only_types_stop_scoring_and_a_type_can_be_deleted_whole() {
    let app = spawn_app().await;
    ok(
        &app,
        Method::PUT,
        "/v1/settings/surge-policy",
        Some(json!({"mode": "off"})),
        200,
    )
    .await;
    let mut rule_ids = Vec::new();
    for body in [
        json!({"event_type": "Page View", "weight": 5}),
        json!({"event_type": "Custom Signal", "weight": 3}),
        json!({"event_type": "Demo", "weight": 10, "half_life_days": 730}),
    ] {
        let r = app.rule(body).await;
        rule_ids.push(r["rule_id"].as_str().unwrap().to_string());
    }
    let mut lead = String::new();
    for t in ["Page View", "Page View", "Custom Signal", "Demo"] {
        let r = ok(
            &app,
            Method::POST,
            "/v1/events",
            Some(json!({"event_type": t, "aliases": [{"alias_kind": "email", "raw_value": "e@x.io"}]})),
            201,
        )
        .await;
        lead = r["metadata"]["lead_id"].as_str().unwrap().to_string();
    }
    let s = app.score(&lead).await;
    assert!((22.99..=23.0).contains(&s), "{s}");

    let (_, types) = app.get("/v1/settings/event-types", &app.admin_token).await;
    let pv = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["event_type"] == "Page View")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        pv,
        json!({"event_type": "Page View", "hidden": false, "max_processing_scope": "activate", "events_count": 2})
    );

    // refused: an unknown ceiling, a viewer
    let (s, _) = app
        .call(
            app.req(
                Method::PUT,
                "/v1/settings/event-types/Page%20View",
                &app.admin_token,
            )
            .json(&json!({"max_processing_scope": "ignore"})),
        )
        .await;
    assert_eq!(s, 422);
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, _) = app
        .call(
            app.req(Method::PUT, "/v1/settings/event-types/Page%20View", &viewer)
                .json(&json!({"hidden": true})),
        )
        .await;
    assert_eq!(s, 403);

    // observe-only: stored, shown, never scored; hidden from the event-type list
    ok(
        &app,
        Method::PUT,
        "/v1/settings/event-types/Page%20View",
        Some(json!({"max_processing_scope": "observe", "hidden": true})),
        200,
    )
    .await;
    let s = app.score(&lead).await;
    assert!((12.99..=13.0).contains(&s), "{s}");
    let (_, listed) = app.get("/v1/event-types", &app.admin_token).await;
    assert!(
        !listed.as_array().unwrap().iter().any(|t| t == "Page View"),
        "{listed}"
    );
    assert!(
        listed.as_array().unwrap().iter().any(|t| t == "Demo"),
        "{listed}"
    );
    ok(
        &app,
        Method::PUT,
        "/v1/settings/event-types/Page%20View",
        Some(json!({"max_processing_scope": "decide"})),
        200,
    )
    .await;
    let s = app.score(&lead).await;
    assert!((22.99..=23.0).contains(&s), "{s}");

    // deleting a whole type: the dry run counts, the delete removes and rescores
    let p = ok(
        &app,
        Method::GET,
        "/v1/settings/event-types/Custom%20Signal/delete-preview",
        None,
        200,
    )
    .await;
    assert_eq!(p, json!({"events_count": 1, "event_scores_count": 1}));
    let s = app.score(&lead).await;
    assert!(
        (22.99..=23.0).contains(&s),
        "the dry run changes nothing: {s}"
    );
    let d = ok(
        &app,
        Method::DELETE,
        "/v1/settings/event-types/Custom%20Signal/events",
        None,
        200,
    )
    .await;
    assert_eq!(d, json!({"events_deleted": 1, "event_scores_deleted": 1}));
    let s = app.score(&lead).await;
    assert!((19.99..=20.0).contains(&s), "{s}");
    let (_, timeline) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert!(!timeline
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event_type"] == "Custom Signal"));

    // research half-life defaults: Page View has one, Custom Signal none, Demo is set
    let (s, _) = app
        .get(
            "/v1/rules/half-life-suggestions?dimension=profile",
            &app.admin_token,
        )
        .await;
    assert_eq!(s, 400);
    let (_, sug) = app
        .get("/v1/rules/half-life-suggestions", &app.admin_token)
        .await;
    assert_eq!(
        (
            sug["eligible_count"].as_u64(),
            sug["ineligible_count"].as_u64()
        ),
        (Some(1), Some(1)),
        "{sug}"
    );
    let pv = sug["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["event_type"] == "Page View")
        .cloned()
        .unwrap_or_default();
    assert_eq!(pv["suggested_half_life_days"], 7);
    let (s, _) = app
        .post(
            "/v1/rules/half-life-suggestions/apply",
            &app.admin_token,
            json!({"rule_ids": []}),
        )
        .await;
    assert_eq!(s, 422);
    let mut ids = rule_ids.clone();
    ids.push("rl_nope".into());
    let r = ok(
        &app,
        Method::POST,
        "/v1/rules/half-life-suggestions/apply",
        Some(json!({"rule_ids": ids})),
        200,
    )
    .await;
    assert_eq!(
        (r["applied_count"].as_u64(), r["skipped_count"].as_u64()),
        (Some(1), Some(3)),
        "{r}"
    );
    let reasons: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["skip_reason"].as_str().unwrap_or("applied"))
        .collect();
    assert_eq!(
        reasons,
        [
            "applied",
            "no_research_default",
            "already_configured",
            "not_found"
        ]
    );
    // applied: the default it got; already configured: the half-life it keeps
    let days: Vec<Option<u64>> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["half_life_days"].as_u64())
        .collect();
    assert_eq!(days, [Some(7), None, Some(730), None], "{r}");
    let (_, rules) = app.get("/v1/rules", &app.admin_token).await;
    let pv_rule = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["event_type"] == "Page View")
        .cloned()
        .unwrap_or_default();
    assert_eq!(pv_rule["half_life_days"], 7, "{rules}");
    let (_, audit) = app
        .get("/v1/admin/audit-logs?limit=200", &app.admin_token)
        .await;
    assert!(
        audit["items"].as_array().unwrap().iter().any(|e| e["path"]
            .as_str()
            .unwrap_or("")
            .contains("research default")),
        "{audit}"
    );
}
