//! Predictive routing end to end: the configuration.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

const CONFIG: &str = "/v1/predictive-routing/config";

#[tokio::test]
async fn the_config_has_defaults_changes_by_field_and_only_owners_change_it() {
    let app = spawn_app().await;
    let c = app.ok(Method::GET, CONFIG, None, 200).await;
    assert_eq!(c["enabled"], false);
    assert_eq!(c["min_training_samples"], 200);
    assert_eq!(c["retrain_interval_hours"], 24);
    assert_eq!(c["triggers"]["on_lead_created"], true);
    assert!(c["auto_route_confidence"].is_null());

    let c = app
        .ok(
            Method::PUT,
            CONFIG,
            Some(json!({"enabled": true, "auto_route_confidence": 0.9,
                        "triggers": {"on_levels": ["Hot"], "score_threshold": 50},
                        "features": {"metadata_keys": ["industry", "region"]},
                        "conversion_event_types": ["Meeting Booked"]})),
            200,
        )
        .await;
    assert_eq!(c["enabled"], true);
    assert_eq!(c["triggers"]["on_lead_created"], true, "kept");
    assert_eq!(c["triggers"]["score_threshold"], 50.0);
    assert_eq!(
        c["features"]["metadata_keys"],
        json!(["industry", "region"])
    );
    assert_eq!(c["features"]["scores"], true, "kept");
    assert!(c["updated_by"].is_string());
    assert_eq!(app.ok(Method::GET, CONFIG, None, 200).await, c, "stored");

    // bad input changes nothing
    for body in [
        json!({"auto_route_confidence": 2}),
        json!({"min_training_samples": 1}),
        json!({"conversion_window_days": 400}),
        json!({"enabled": "yes"}),
        json!({"unknown": 1}),
    ] {
        let (s, b) = app
            .call(app.req(Method::PUT, CONFIG, &app.admin_token).json(&body))
            .await;
        assert_eq!(s, 422, "{body}: {b}");
    }
    assert_eq!(app.ok(Method::GET, CONFIG, None, 200).await, c);

    // an Operator reads but may not change it
    let (_, operator) = app.ou_member("op@acme.io", "Operator").await;
    let (s, got) = app.get(CONFIG, &operator).await;
    assert_eq!((s, got["enabled"].clone()), (200, json!(true)));
    let (s, b) = app
        .call(
            app.req(Method::PUT, CONFIG, &operator)
                .json(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    // each OU has its own
    let ou2 = app
        .ok(
            Method::POST,
            "/v1/org-units",
            Some(json!({"name": "Second"})),
            201,
        )
        .await;
    let (s, other) = app
        .call(
            app.req(Method::GET, CONFIG, &app.admin_token)
                .header("x-ou-id", ou2["unit_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!((s, other["enabled"].clone()), (200, json!(false)));
}

#[tokio::test]
async fn training_data_imports_row_by_row_as_json_or_csv() {
    let app = spawn_app().await;
    let rep = app
        .ok(
            Method::POST,
            "/v1/reps",
            Some(json!({"name": "Ann", "email": "ann@acme.io"})),
            201,
        )
        .await;
    let rep_id = rep["rep_id"].as_str().unwrap();
    let url = "/v1/predictive-routing/training-data";
    let rows = json!([
        {"lead_attributes": {"industry": "saas", "employees": 120}, "rep_id": rep_id,
         "converted": true, "occurred_at": "2026-03-01T09:00:00Z", "engagement_score": 55},
        {"rep_id": "rep_elsewhere", "converted": false, "occurred_at": "2026-03-01T09:00:00Z"},
        {"rep_id": rep_id, "converted": "maybe", "occurred_at": "2026-03-01T09:00:00Z"},
        {"rep_id": rep_id, "converted": false, "occurred_at": "2026-03-02T09:00:00Z"}
    ]);
    let r = app.ok(Method::POST, url, Some(rows), 200).await;
    assert_eq!(
        (
            r["total_rows"].clone(),
            r["imported"].clone(),
            r["failed"].clone(),
            r["examples"].clone()
        ),
        (json!(4), json!(2), json!(2), json!(2))
    );
    assert_eq!(r["errors"][0]["row"], 2);
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no rep rep_elsewhere"));
    assert_eq!(r["errors"][1]["row"], 3);

    let csv = format!(
        "rep_id,converted,occurred_at,industry,employees\n{rep_id},yes,2026-03-03T09:00:00Z,retail,8\n{rep_id},no,not-a-time,retail,8\n"
    );
    let (s, r) = app
        .call(
            app.req(Method::POST, url, &app.admin_token)
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["imported"].clone(), r["examples"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(r["errors"][0]["row"], 3, "spreadsheet numbering: {r}");
    // a body that is not rows at all is refused whole
    let (s, _) = app
        .call(
            app.req(Method::POST, url, &app.admin_token)
                .header("content-type", "text/csv")
                .body("who,what\n1,2\n"),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .call(
            app.req(Method::POST, url, &app.admin_token)
                .json(&json!({"rows": []})),
        )
        .await;
    assert_eq!(s, 422);
    // Owners only
    let (_, operator) = app.ou_member("op@acme.io", "Operator").await;
    let (s, _) = app.post(url, &operator, json!([])).await;
    assert_eq!(s, 403);
}
