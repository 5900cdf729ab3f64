//! Levels end to end: validation, a lead's level wherever its score is, level changes on
//! the stream, history snapshots and an exact revert.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn ok(app: &TestApp, method: Method, path: &str, body: Value, status: u16) -> Value {
    app.ok(method, path, Some(body), status).await
}

async fn level(app: &TestApp, name: &str, min: i64, max: i64) -> String {
    let r = ok(
        app,
        Method::POST,
        "/v1/levels/engagement",
        json!({"name": name, "min_score": min, "max_score": max}),
        201,
    )
    .await;
    r["level_id"].as_str().unwrap().to_string()
}

async fn live_level(app: &TestApp, lead: &str) -> Value {
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    l["lead"]["level"]["name"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_carry_their_level_and_a_revert_restores_levels_exactly() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Demo", "weight": 50})).await;
    level(&app, "Cold", 0, 39).await;
    level(&app, "Warm", 40, 79).await;
    let hot = level(&app, "Hot", 80, 1000).await;

    // refused: an overlap (naming the level it overlaps), a duplicate name, an upside-down
    // range, an unknown dimension, a viewer
    let (s, r) = app
        .post(
            "/v1/levels/engagement",
            &app.admin_token,
            json!({"name": "Lukewarm", "min_score": 70, "max_score": 85}),
        )
        .await;
    assert_eq!(s, 422, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Warm"),
        "{r}"
    );
    let (s, _) = app
        .post(
            "/v1/levels/engagement",
            &app.admin_token,
            json!({"name": "hot", "min_score": 2000, "max_score": 3000}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, r) = app
        .post(
            "/v1/levels/engagement",
            &app.admin_token,
            json!({"name": "Odd", "min_score": 5000, "max_score": 4000}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["details"]["field"].as_str()),
        (422, Some("max_score"))
    );
    let (s, _) = app
        .post(
            "/v1/levels/temperature",
            &app.admin_token,
            json!({"name": "X", "min_score": 0, "max_score": 1}),
        )
        .await;
    assert_eq!(s, 404);
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, _) = app
        .post(
            "/v1/levels/engagement",
            &viewer,
            json!({"name": "X", "min_score": 5000, "max_score": 6000}),
        )
        .await;
    assert_eq!(s, 403);
    let (_, listed) = app.get("/v1/levels/engagement", &viewer).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Cold", "Warm", "Hot"],
        "refused changes store nothing"
    );
    // other dimensions have their own ranges
    let p = ok(
        &app,
        Method::POST,
        "/v1/levels/profile",
        json!({"name": "Fit", "min_score": 0, "max_score": 100}),
        201,
    )
    .await;
    assert_eq!(p["dimension"], "profile");

    let (_, history) = app
        .get("/v1/levels/engagement/history", &app.admin_token)
        .await;
    assert_eq!(history.as_array().map(Vec::len), Some(3), "{history}");
    let three = history[0].clone();
    assert_eq!(
        (three["action"].as_str(), three["subject_id"].as_str()),
        (Some("create"), Some(hot.as_str()))
    );
    assert_eq!(three["levels"].as_array().map(Vec::len), Some(3));

    // a lead is at a level wherever its score is; changes are announced
    let mut stream = app.stream().await;
    let within = Duration::from_secs(20);
    let ingest = || async {
        let r = ok(
            &app,
            Method::POST,
            "/v1/events",
            json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "a@x.io"}]}),
            201,
        )
        .await;
        r["metadata"]["lead_id"].as_str().unwrap().to_string()
    };
    let lead = ingest().await;
    stream
        .until(within, |s| s.contains("event: level_change"))
        .await;
    assert!(
        stream
            .seen
            .contains("\"before\":null,\"after\":{\"level_id\""),
        "{}",
        stream.seen
    );
    assert_eq!(live_level(&app, &lead).await, "Warm");
    let (_, score) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!(score["level"]["name"], "Warm", "{score}");
    ingest().await;
    stream
        .until(within, |s| s.contains("\"name\":\"Hot\""))
        .await;
    assert_eq!(live_level(&app, &lead).await, "Hot");
    let (_, list) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(
        list["leads"][0]["level"]["name"], "Hot",
        "stored with the score"
    );

    // deleting Hot takes the lead out of every level; lists follow
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/levels/engagement/{hot}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    assert_eq!(live_level(&app, &lead).await, Value::Null);
    stream
        .until(within, |s| s.matches("event: level_change").count() >= 3)
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, list) = app.get("/v1/leads", &app.admin_token).await;
        if list["leads"][0]["level"].is_null() || tokio::time::Instant::now() > deadline {
            assert!(list["leads"][0]["level"].is_null(), "{list}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // revert to the snapshot taken after Hot was made: exactly those levels again
    let history_id = three["history_id"].as_str().unwrap();
    let reverted = ok(
        &app,
        Method::POST,
        "/v1/levels/engagement/revert",
        json!({"history_id": history_id}),
        200,
    )
    .await;
    assert_eq!(reverted, three["levels"]);
    let (_, listed) = app.get("/v1/levels/engagement", &app.admin_token).await;
    assert_eq!(listed, three["levels"], "ids, names and ranges restored");
    assert_eq!(live_level(&app, &lead).await, "Hot");
    let (_, history) = app
        .get("/v1/levels/engagement/history", &app.admin_token)
        .await;
    assert_eq!(
        (
            history[0]["action"].as_str(),
            history[0]["subject_id"].as_str()
        ),
        (Some("revert"), Some(history_id))
    );
    // a snapshot of another dimension, or none at all, is not found
    let (_, phist) = app
        .get("/v1/levels/profile/history", &app.admin_token)
        .await;
    let (s, _) = app
        .post(
            "/v1/levels/engagement/revert",
            &app.admin_token,
            json!({"history_id": phist[0]["history_id"]}),
        )
        .await;
    assert_eq!(s, 404);
}
