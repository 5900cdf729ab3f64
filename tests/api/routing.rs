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
    let ou2 = app.new_ou("Second").await;
    let (s, other) = app
        .call(
            app.req(Method::GET, CONFIG, &app.admin_token)
                .header("x-ou-id", &ou2),
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

/// `n` examples of synthetic history over `reps`, as training-data rows.
fn history_rows(reps: &[String], n: usize) -> serde_json::Value {
    use leadwire_models::routing::synthetic::{History, HistoryOptions};
    let h = History::generate(&HistoryOptions {
        reps: reps.len(),
        examples: n,
        ..HistoryOptions::default()
    });
    let ids = h.rep_ids();
    let rows: Vec<serde_json::Value> = h
        .examples
        .iter()
        .map(|e| {
            let mut attrs = serde_json::Map::new();
            for (k, v) in &e.lead.numeric {
                if k != "engagement_score" {
                    attrs.insert(k.clone(), json!(v));
                }
            }
            for (k, v) in &e.lead.categorical {
                if k != "level" {
                    attrs.insert(k.clone(), json!(v));
                }
            }
            let rep = &reps[ids.iter().position(|i| *i == e.rep_id).unwrap()];
            json!({"lead_attributes": attrs, "rep_id": rep, "converted": e.converted,
                   "occurred_at": "2026-06-01T12:00:00Z",
                   "engagement_score": e.lead.numeric["engagement_score"],
                   "level": e.lead.categorical["level"]})
        })
        .collect();
    json!(rows)
}

/// `n` reps of the OU, named Rep 0…
async fn make_reps(app: &crate::helpers::TestApp, n: usize) -> Vec<String> {
    let mut reps = Vec::new();
    for i in 0..n {
        let r = app
            .ok(
                Method::POST,
                "/v1/reps",
                Some(json!({"name": format!("Rep {i}"), "email": format!("rep{i}@acme.io")})),
                201,
            )
            .await;
        reps.push(r["rep_id"].as_str().unwrap().to_string());
    }
    reps
}

/// Imports `n` examples of synthetic history over `reps` and trains a model on them.
async fn train_on_history(app: &crate::helpers::TestApp, reps: &[String], n: usize) {
    app.ok(
        Method::POST,
        "/v1/predictive-routing/training-data",
        Some(history_rows(reps, n)),
        200,
    )
    .await;
    app.ok(
        Method::POST,
        "/v1/predictive-routing/model/retrain",
        None,
        202,
    )
    .await;
    assert_eq!(trained(app).await["status"], "ready");
}

/// Follows `GET …/model` until the retrain ended; the model info.
async fn trained(app: &crate::helpers::TestApp) -> serde_json::Value {
    let mut info = json!(null);
    for _ in 0..300 {
        info = app
            .ok(Method::GET, "/v1/predictive-routing/model", None, 200)
            .await;
        if info["status"] != "training" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    info
}

#[tokio::test]
async fn retraining_answers_at_once_and_swaps_in_a_model_with_metrics() {
    let app = spawn_app().await;
    let reps = make_reps(&app, 4).await;
    let model = app
        .ok(Method::GET, "/v1/predictive-routing/model", None, 200)
        .await;
    assert_eq!(
        (model["status"].clone(), model["version"].clone()),
        (json!("untrained"), json!(0))
    );
    let retrain = "/v1/predictive-routing/model/retrain";
    // too little data is refused with a clear message
    let (s, b) = app
        .call(app.req(Method::POST, retrain, &app.admin_token))
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not enough training data: 0 examples, at least 200"),
        "{b}"
    );
    let r = app
        .ok(
            Method::POST,
            "/v1/predictive-routing/training-data",
            Some(history_rows(&reps, 1200)),
            200,
        )
        .await;
    assert_eq!(r["imported"], 1200, "{r}");
    // an Operator may not retrain
    let (_, operator) = app.ou_member("op@acme.io", "Operator").await;
    let (s, _) = app.call(app.req(Method::POST, retrain, &operator)).await;
    assert_eq!(s, 403);

    let (s, started) = app
        .call(app.req(Method::POST, retrain, &app.admin_token))
        .await;
    assert_eq!(s, 202, "{started}");
    assert_eq!(started["training"]["examples"], 1200);
    // follow the progress until the new model is in
    let info = trained(&app).await;
    assert_eq!(info["status"], "ready", "{info}");
    assert_eq!(info["version"], 1);
    assert_eq!(info["algorithm"], "per_rep_logistic_regression_l2");
    assert_eq!(info["samples"], 960, "a fifth is held out");
    assert_eq!(info["reps_modelled"], 4);
    assert!(info["metrics"]["auc"].as_f64().unwrap() > 0.55, "{info}");
    assert!(info["last_error"].is_null() && info["training"].is_null());
    let features: Vec<&str> = info["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(
        features.contains(&"industry=saas") && features.contains(&"engagement_score"),
        "{features:?}"
    );
    // the model is stored: the core reads it back as served
    let units = app.ok(Method::GET, "/v1/org-units", None, 200).await;
    let org_id = units["organization"]["org_id"]
        .as_str()
        .expect("org id")
        .to_string();
    let stored: Option<serde_json::Value> = app
        .core
        .store
        .routing_model(&org_id, &app.ou_id)
        .await
        .unwrap();
    assert_eq!(stored.unwrap()["version"], 1);
}

#[tokio::test]
async fn predictions_name_only_eligible_reps_and_explain_the_pick() {
    let app = spawn_app().await;
    let reps = make_reps(&app, 3).await;
    let predict = "/v1/predictive-routing/predictions";
    let post =
        |body: serde_json::Value| app.req(Method::POST, predict, &app.admin_token).json(&body);
    app.ok(
        Method::POST,
        "/v1/leads",
        Some(json!({"id": "l1", "metadata": {"industry": "saas", "region": "emea", "employees": 300}})),
        201,
    )
    .await;
    // no model yet
    let (s, b) = app
        .call(post(json!({"entityType": "LEAD", "entityId": "l1"})))
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("retrain"));
    train_on_history(&app, &reps, 900).await;

    // Rep 1 goes OFFLINE, Rep 2 has no room: only Rep 0 may be predicted
    let patch = |rep: &str, body: serde_json::Value| {
        let path = format!("/v1/reps/{rep}");
        let app = &app;
        async move { app.ok(Method::PATCH, &path, Some(body), 200).await }
    };
    patch(&reps[1], json!({"status": "OFFLINE"})).await;
    patch(&reps[2], json!({"capacity": 0})).await;
    let lead = json!({"entityType": "LEAD", "entityId": "l1"});
    let p = app.ok(Method::POST, predict, Some(lead.clone()), 201).await;
    assert_eq!(p["predicted_rep_id"], reps[0].as_str());
    assert_eq!(p["predicted_rep_name"], "Rep 0");
    assert_eq!(p["alternatives"].as_array().unwrap().len(), 1);
    assert_eq!(p["status"], "PENDING");
    assert_eq!(p["model_version"], 1);
    assert_eq!(p["trigger"], "on_demand");
    assert!(p["assignedTo"].is_null());
    // nobody eligible: refused
    patch(&reps[0], json!({"status": "AWAY"})).await;
    let (s, b) = app.call(post(lead.clone())).await;
    assert_eq!(s, 409, "{b}");
    // all three eligible: ranked best first, the pick's score is the confidence
    patch(&reps[0], json!({"status": "AVAILABLE"})).await;
    patch(&reps[1], json!({"status": "AVAILABLE"})).await;
    patch(&reps[2], json!({"capacity": 10})).await;
    let p = app.ok(Method::POST, predict, Some(lead.clone()), 201).await;
    let alts = p["alternatives"].as_array().unwrap();
    assert_eq!(alts.len(), 3);
    let scores: Vec<f64> = alts.iter().map(|a| a["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(
        scores.iter().all(|s| *s > 0.0 && *s < 1.0),
        "never stuck at 0 or 1: {scores:?}"
    );
    assert_eq!(p["confidence"], alts[0]["score"]);
    assert_eq!(p["predicted_rep_id"], alts[0]["rep_id"]);
    assert!(!p["top_features"].as_array().unwrap().is_empty(), "{p}");
    let id = p["prediction_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.ok(Method::GET, &format!("{predict}/{id}"), None, 200)
            .await,
        p
    );

    // a deal routes its lead; a deal without a lead cannot be routed
    let deal = app
        .ok(
            Method::POST,
            "/v1/deals",
            Some(json!({"name": "D", "lead_id": "l1"})),
            201,
        )
        .await;
    let d = app
        .ok(
            Method::POST,
            predict,
            Some(json!({"entityType": "OPPORTUNITY", "entityId": deal["deal_id"]})),
            201,
        )
        .await;
    assert_eq!(d["lead_id"], "l1");
    let bare = app
        .ok(
            Method::POST,
            "/v1/deals",
            Some(json!({"name": "Bare"})),
            201,
        )
        .await;
    let (s, _) = app
        .call(post(
            json!({"entityType": "OPPORTUNITY", "entityId": bare["deal_id"]}),
        ))
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .call(post(json!({"entityType": "LEAD", "entityId": "nobody"})))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call(post(json!({"entityType": "ACCOUNT", "entityId": "l1"})))
        .await;
    assert_eq!(s, 422);

    let all = app.ok(Method::GET, predict, None, 200).await;
    assert_eq!(all["total"], 3);
    assert_eq!(
        all["predictions"][0]["entityType"], "OPPORTUNITY",
        "newest first"
    );
    let leads = app
        .ok(
            Method::GET,
            &format!("{predict}?entityType=LEAD&status=PENDING&limit=1"),
            None,
            200,
        )
        .await;
    assert_eq!(leads["total"], 2);
    assert_eq!(leads["predictions"].as_array().unwrap().len(), 1);
    // another OU sees none of it
    let ou2 = app.new_ou("Second").await;
    let (s, _) = app
        .call(
            app.req(Method::GET, &format!("{predict}/{id}"), &app.admin_token)
                .header("x-ou-id", &ou2),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn routing_assigns_the_owner_and_overriding_keeps_the_reason() {
    let app = spawn_app().await;
    let reps = make_reps(&app, 2).await;
    for lead in ["a", "b"] {
        app.ok(
            Method::POST,
            "/v1/leads",
            Some(json!({"id": lead, "metadata": {"industry": "fintech"}})),
            201,
        )
        .await;
    }
    train_on_history(&app, &reps, 600).await;
    let predictions = "/v1/predictive-routing/predictions";
    let predict = |lead: &str| {
        let body = json!({"entityType": "LEAD", "entityId": lead});
        let app = &app;
        async move { app.ok(Method::POST, predictions, Some(body), 201).await }
    };

    // route: the pick owns the lead and it counts against the rep's capacity
    let p = predict("a").await;
    let pick = p["predicted_rep_id"].as_str().unwrap().to_string();
    let route = format!(
        "{predictions}/{}/route",
        p["prediction_id"].as_str().unwrap()
    );
    let routed = app.ok(Method::POST, &route, None, 200).await;
    assert_eq!(routed["status"], "ACCEPTED");
    assert_eq!(routed["assignedTo"], pick.as_str());
    assert!(routed["resolved_at"].is_string() && routed["resolved_by"].is_string());
    let lead = app.ok(Method::GET, "/v1/leads/a", None, 200).await;
    assert_eq!(lead["lead"]["owner_id"], pick.as_str());
    let rep = app
        .ok(Method::GET, &format!("/v1/reps/{pick}"), None, 200)
        .await;
    assert_eq!(rep["open_assignments"], 1);
    let (s, b) = app
        .call(app.req(Method::POST, &route, &app.admin_token))
        .await;
    assert_eq!(s, 409, "routed once only: {b}");

    // a pick that filled up since is not routed
    let p = predict("b").await;
    let picked = p["predicted_rep_id"].as_str().unwrap().to_string();
    app.ok(
        Method::PATCH,
        &format!("/v1/reps/{picked}"),
        Some(json!({"capacity": 0})),
        200,
    )
    .await;
    let id = p["prediction_id"].as_str().unwrap();
    let (s, b) = app
        .call(app.req(
            Method::POST,
            &format!("{predictions}/{id}/route"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no longer eligible"));

    // override: another rep and a reason
    let other = reps.iter().find(|r| **r != picked).unwrap();
    let overridden = format!("{predictions}/{id}/override");
    for (body, code) in [
        (json!({"assignedTo": other}), 422),
        (json!({"assignedTo": other, "reason": ""}), 422),
        (json!({"assignedTo": "rep_nobody", "reason": "x"}), 422),
    ] {
        let (s, b) = app
            .call(
                app.req(Method::POST, &overridden, &app.admin_token)
                    .json(&body),
            )
            .await;
        assert_eq!(s, code, "{body}: {b}");
    }
    let o = app
        .ok(
            Method::POST,
            &overridden,
            Some(json!({"assignedTo": other, "reason": "speaks the customer's language"})),
            200,
        )
        .await;
    assert_eq!(o["status"], "OVERRIDDEN");
    assert_eq!(o["assignedTo"], other.as_str());
    assert_eq!(o["override_reason"], "speaks the customer's language");
    let lead = app.ok(Method::GET, "/v1/leads/b", None, 200).await;
    assert_eq!(lead["lead"]["owner_id"], other.as_str());
    assert_eq!(
        app.ok(Method::GET, &format!("{predictions}/{id}"), None, 200)
            .await,
        o
    );
    let by_status = app
        .ok(
            Method::GET,
            &format!("{predictions}?status=OVERRIDDEN"),
            None,
            200,
        )
        .await;
    assert_eq!(by_status["total"], 1);
    let by_rep = app
        .ok(
            Method::GET,
            &format!("{predictions}?assignedTo={pick}"),
            None,
            200,
        )
        .await;
    assert_eq!(by_rep["predictions"][0]["status"], "ACCEPTED");
    // a Viewer may not route
    let (_, viewer) = app.ou_member("viewer@acme.io", "Viewer").await;
    let p = predict("a").await;
    let (s, _) = app
        .call(app.req(
            Method::POST,
            &format!(
                "{predictions}/{}/route",
                p["prediction_id"].as_str().unwrap()
            ),
            &viewer,
        ))
        .await;
    assert_eq!(s, 403);
    // two routes of one prediction at once: exactly one wins
    let route = format!(
        "{predictions}/{}/route",
        p["prediction_id"].as_str().unwrap()
    );
    let (r1, r2) = futures::join!(
        app.call(app.req(Method::POST, &route, &app.admin_token)),
        app.call(app.req(Method::POST, &route, &app.admin_token))
    );
    let mut codes = [r1.0, r2.0];
    codes.sort_unstable();
    assert_eq!(codes, [200, 409], "{r1:?} {r2:?}");
}
