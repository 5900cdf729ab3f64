//! Event filters end to end: inorganic (velocity) filters and attribute suppression
//! filters with their preview.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn ok(app: &TestApp, path: &str, body: Value, status: u16) -> Value {
    let (s, r) = app.post(path, &app.admin_token, body).await;
    assert_eq!(s, status, "{path}: {r}");
    r
}

/// The preview count of a body.
async fn preview(app: &TestApp, body: Value) -> Value {
    ok(app, "/v1/metadata-filters/preview", body, 200).await["count"].clone()
}

fn field(r: &Value) -> (&str, &str) {
    (
        r["error"]["code"].as_str().unwrap_or(""),
        r["error"]["details"]["field"].as_str().unwrap_or(""),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_flood_scores_once_then_nothing_until_the_filter_goes() {
    let app = spawn_app().await;
    ok(
        &app,
        "/v1/rules",
        json!({"event_type": "Page View", "weight": 5}),
        201,
    )
    .await;

    // bad filters are refused with the field named, and nothing is stored
    for (body, f) in [
        (
            json!({"count_threshold": 1, "time_window_ms": 1000}),
            "event_type",
        ),
        (
            json!({"event_type": "Page View", "count_threshold": 0, "time_window_ms": 1000}),
            "count_threshold",
        ),
        (
            json!({"event_type": "Page View", "count_threshold": 1, "time_window_ms": 0}),
            "time_window_ms",
        ),
        // longer than any event type can be (100 characters, as for events and rules)
        (
            json!({"event_type": "x".repeat(101), "count_threshold": 1, "time_window_ms": 1000}),
            "event_type",
        ),
    ] {
        let (s, r) = app.post("/v1/filters", &app.admin_token, body).await;
        assert_eq!((s, field(&r)), (422, ("validation_failed", f)), "{r}");
    }
    let (s, _) = app
        .post(
            "/v1/filters",
            &app.admin_token,
            json!({"event_type": "x", "count_threshold": 1, "time_window_ms": 5, "extra": 1}),
        )
        .await;
    assert_eq!(s, 422);
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, _) = app
        .post(
            "/v1/filters",
            &viewer,
            json!({"event_type": "Page View", "count_threshold": 1, "time_window_ms": 1000}),
        )
        .await;
    assert_eq!(s, 403);
    let (_, none) = app.get("/v1/filters", &app.admin_token).await;
    assert_eq!(none, json!([]));

    let f = ok(
        &app,
        "/v1/filters",
        json!({"event_type": "Page View", "count_threshold": 1, "time_window_ms": 3_600_000, "group_events": true}),
        201,
    )
    .await;
    let id = f["filter_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("flt_"));
    assert_eq!(
        (f["count_threshold"].as_u64(), f["group_events"].as_bool()),
        (Some(1), Some(true))
    );

    // a flood of 10 page views a second apart: the first scores, the other 9 are flagged
    // and kept
    let start = chrono::Utc::now() - chrono::Duration::minutes(5);
    let events: Vec<Value> = (0..10)
        .map(|i| {
            let at = (start + chrono::Duration::seconds(i)).to_rfc3339();
            json!({"event_type": "Page View", "timestamp": at, "aliases": [{"alias_kind": "cookie", "raw_value": "bot-1"}]})
        })
        .collect();
    let r = ok(&app, "/v1/events/batch", json!({ "events": events }), 200).await;
    assert_eq!(r["accepted"], 10, "{r}");
    let lead = r["items"][0]["result"]["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.score(&lead).await, 5.0);
    let (_, stored) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    let flagged = stored
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["inorganic"] == true)
        .count();
    assert_eq!(flagged, 9);
    let (_, x) = app
        .get(&format!("/v1/leads/{lead}/explain"), &app.admin_token)
        .await;
    assert_eq!(x["inorganic_count"], 9, "{x}");

    // raising the threshold rescores live leads at once: 3 organic events
    let (s, f) = app
        .call(
            app.req(Method::PUT, &format!("/v1/filters/{id}"), &app.admin_token)
                .json(&json!({"count_threshold": 3})),
        )
        .await;
    assert_eq!(
        (s, f["count_threshold"].as_u64(), f["event_type"].as_str()),
        (200, Some(3), Some("Page View"))
    );
    // standard surge: 1× for the 1st and 2nd event of a session, 1.25× for the 3rd
    assert_eq!(app.score(&lead).await, 16.25);

    // without the filter every event scores (standard surge bands over 10 events)
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/filters/{id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.score(&lead).await, 67.5);
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/filters/{id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_filters_suppress_what_their_preview_counts() {
    let app = spawn_app().await;
    ok(
        &app,
        "/v1/rules",
        json!({"event_type": "Page View", "weight": 3}),
        201,
    )
    .await;
    let shapes = [
        json!({"ua": "GoogleBot/2.1"}),
        json!({"ua": "Mozilla/5.0"}),
        json!({"ua": "bingbot", "utm": {"source": "crawler"}}),
        json!({"page": "/pricing"}),
    ];
    let send = |who: &'static str| {
        let events: Vec<Value> = shapes
            .iter()
            .map(|m| json!({"event_type": "Page View", "aliases": [{"alias_kind": "email", "raw_value": who}], "metadata": m}))
            .collect();
        json!({ "events": events })
    };
    let r = ok(&app, "/v1/events/batch", send("before@example.com"), 200).await;
    assert_eq!(r["accepted"], 4);
    let conditions = json!([{"key": "ua", "operator": "contains", "value": "BOT"}]);

    // the preview counts and changes nothing; a scope to another type counts nothing
    assert_eq!(preview(&app, json!({ "conditions": conditions })).await, 2);
    assert_eq!(
        preview(
            &app,
            json!({"event_type": "Demo", "conditions": conditions})
        )
        .await,
        0
    );
    let nested = json!([{"key": "utm.source", "operator": "equals", "value": "crawler"}]);
    assert_eq!(preview(&app, json!({ "conditions": nested })).await, 1);
    let (_, list) = app.get("/v1/metadata-filters", &app.admin_token).await;
    assert_eq!(list, json!([]));

    // bad filters are refused with the field named
    for (body, f) in [
        (json!({"name": "x", "conditions": []}), "conditions"),
        (json!({"name": "", "conditions": conditions}), "name"),
        (
            json!({"name": "x", "conditions": [{"key": "ua", "operator": "in", "value": "bot"}]}),
            "conditions[0].value",
        ),
        (
            json!({"name": "x", "conditions": [{"key": "", "operator": "exists"}]}),
            "conditions[0].key",
        ),
    ] {
        let (s, r) = app
            .post("/v1/metadata-filters", &app.admin_token, body)
            .await;
        assert_eq!((s, field(&r)), (422, ("validation_failed", f)), "{r}");
    }
    let (s, _) = app
        .post(
            "/v1/metadata-filters",
            &app.admin_token,
            json!({"name": "x", "conditions": [{"key": "ua", "operator": "like", "value": "b"}]}),
        )
        .await;
    assert_eq!(s, 422);

    let f = ok(
        &app,
        "/v1/metadata-filters",
        json!({"name": "Crawlers", "conditions": conditions}),
        201,
    )
    .await;
    let id = f["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            f["enabled"].as_bool(),
            f["suppressed_count"].as_u64(),
            f["event_type"].as_str()
        ),
        (Some(true), Some(0), Some(""))
    );

    // the same shapes again, for a new lead: what the preview counted is suppressed
    let r = ok(&app, "/v1/events/batch", send("after@example.com"), 200).await;
    let lead = r["items"][0]["result"]["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, f) = app
        .get(&format!("/v1/metadata-filters/{id}"), &app.admin_token)
        .await;
    assert_eq!(f["suppressed_count"], 2, "{f}");
    assert_eq!(app.score(&lead).await, 6.0);
    let (_, stored) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    let suppressed: Vec<&Value> = stored
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["suppressed_by"] == id.as_str())
        .collect();
    assert_eq!(suppressed.len(), 2);
    assert!(suppressed.iter().all(|e| e["metadata"]["ua"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("bot")));
    let (_, x) = app
        .get(&format!("/v1/leads/{lead}/explain"), &app.admin_token)
        .await;
    assert_eq!(
        (x["suppressed_count"].as_u64(), x["unscored_count"].as_u64()),
        (Some(2), Some(2))
    );
    // the lead scored before the filter keeps its score (filters apply from creation on):
    // 4 events, the 3rd and 4th of the session at 1.25×
    let (_, before) = app
        .get(
            "/v1/leads/lookup?kind=email&value=before@example.com",
            &app.admin_token,
        )
        .await;
    let before = before["lead_id"].as_str().unwrap().to_string();
    assert_eq!(app.score(&before).await, 13.5);

    // disabled, it suppresses nothing more; enabled filters list first
    ok(&app, "/v1/metadata-filters", json!({"name": "Later", "event_type": "Demo", "conditions": [{"key": "x", "operator": "exists"}]}), 201).await;
    let (s, f) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/metadata-filters/{id}"),
                &app.admin_token,
            )
            .json(&json!({"name": "Crawlers (off)", "enabled": false})),
        )
        .await;
    assert_eq!(
        (s, f["enabled"].as_bool(), f["suppressed_count"].as_u64()),
        (200, Some(false), Some(2)),
        "{f}"
    );
    assert_eq!(f["conditions"], conditions);
    let (_, list) = app.get("/v1/metadata-filters", &app.admin_token).await;
    assert_eq!(list[0]["name"], "Later");
    assert_eq!(list[1]["name"], "Crawlers (off)");
    let r = ok(
        &app,
        "/v1/events",
        json!({"event_type": "Page View", "lead_id": lead, "metadata": {"ua": "GoogleBot"}}),
        201,
    )
    .await;
    // (the 3rd organic event of the session: 1.25×)
    assert_eq!(r["metadata"]["deltas"][0]["delta"], 3.75, "{r}");

    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/metadata-filters/{id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .get(&format!("/v1/metadata-filters/{id}"), &app.admin_token)
        .await;
    assert_eq!(s, 404);
}
