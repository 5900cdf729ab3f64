//! Predictive routing end to end: the configuration.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

const CONFIG: &str = "/v1/predictive-routing/config";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
pub(crate) async fn make_reps(app: &crate::helpers::TestApp, n: usize) -> Vec<String> {
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
pub(crate) async fn train_on_history(app: &crate::helpers::TestApp, reps: &[String], n: usize) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    let predict = |lead: &str| {
        let body = json!({"entityType": "LEAD", "entityId": lead});
        let app = &app;
        async move { app.ok(Method::POST, PREDICTIONS, Some(body), 201).await }
    };

    // route: the pick owns the lead and it counts against the rep's capacity
    let sibling = predict("a").await;
    let p = predict("a").await;
    let pick = p["predicted_rep_id"].as_str().unwrap().to_string();
    let route = format!(
        "{PREDICTIONS}/{}/route",
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
    // the lead's other waiting prediction was decided with it: nothing is left PENDING
    let sibling_path = format!(
        "{PREDICTIONS}/{}",
        sibling["prediction_id"].as_str().unwrap()
    );
    let decided = app.ok(Method::GET, &sibling_path, None, 200).await;
    assert_ne!(decided["status"], "PENDING", "{decided}");
    assert_eq!(decided["assignedTo"], pick.as_str(), "{decided}");
    route_refused(&app, sibling["prediction_id"].as_str().unwrap(), "").await;

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
    route_refused(&app, id, "no longer eligible").await;

    // override: another rep and a reason
    let other = reps.iter().find(|r| **r != picked).unwrap();
    let overridden = format!("{PREDICTIONS}/{id}/override");
    for (body, code) in [
        (json!({"assignedTo": other}), 422),
        (json!({"assignedTo": other, "reason": ""}), 422),
        (json!({"assignedTo": "rep_nobody", "reason": "x"}), 422),
        // the predicted rep is routed, not overridden to; a full rep takes no more
        (json!({"assignedTo": picked, "reason": "x"}), 422),
    ] {
        let (s, b) = app
            .call(
                app.req(Method::POST, &overridden, &app.admin_token)
                    .json(&body),
            )
            .await;
        assert_eq!(s, code, "{body}: {b}");
    }
    app.ok(
        Method::PATCH,
        &format!("/v1/reps/{other}"),
        Some(json!({"status": "OFFLINE"})),
        200,
    )
    .await;
    let (s, b) = app
        .call(
            app.req(Method::POST, &overridden, &app.admin_token)
                .json(&json!({"assignedTo": other, "reason": "x"})),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("OFFLINE"),
        "{b}"
    );
    app.ok(
        Method::PATCH,
        &format!("/v1/reps/{other}"),
        Some(json!({"status": "AVAILABLE"})),
        200,
    )
    .await;
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
        app.ok(Method::GET, &format!("{PREDICTIONS}/{id}"), None, 200)
            .await,
        o
    );
    let by_status = app
        .ok(
            Method::GET,
            &format!("{PREDICTIONS}?status=OVERRIDDEN"),
            None,
            200,
        )
        .await;
    assert_eq!(by_status["total"], 1);
    let by_rep = app
        .ok(
            Method::GET,
            &format!("{PREDICTIONS}?assignedTo={pick}"),
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
                "{PREDICTIONS}/{}/route",
                p["prediction_id"].as_str().unwrap()
            ),
            &viewer,
        ))
        .await;
    assert_eq!(s, 403);
    // two routes of one prediction at once: exactly one wins
    let route = format!(
        "{PREDICTIONS}/{}/route",
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

/// Polls `path` until `done` holds of its body (5 s at most); the last body.
async fn until(
    app: &crate::helpers::TestApp,
    path: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut body = json!(null);
    for _ in 0..100 {
        body = app.ok(Method::GET, path, None, 200).await;
        if done(&body) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never got there: {body}");
}

/// The lead's predictions, newest first.
fn of_lead<'a>(page: &'a serde_json::Value, lead: &str) -> Vec<&'a serde_json::Value> {
    page["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["lead_id"] == lead)
        .collect()
}

/// The lead's assignments in the history, newest first.
fn assignments<'a>(page: &'a serde_json::Value, lead: &str) -> Vec<&'a serde_json::Value> {
    page["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["lead_id"] == lead)
        .collect()
}

const PREDICTIONS: &str = "/v1/predictive-routing/predictions";

/// Routing the prediction answers 409 with a message containing `why`.
async fn route_refused(app: &crate::helpers::TestApp, id: &str, why: &str) {
    let (s, b) = app
        .call(app.req(
            Method::POST,
            &format!("{PREDICTIONS}/{id}/route"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 409, "{b}");
    let message = b["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{message}");
}
const HISTORY: &str = "/v1/predictive-routing/history";
const STATS: &str = "/v1/predictive-routing/stats";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_predict_new_and_hot_leads_and_outcomes_become_training_examples() {
    let app = spawn_app().await;
    let reps = make_reps(&app, 3).await;
    train_on_history(&app, &reps, 600).await;
    app.rule(json!({"event_type": "Demo", "weight": 20})).await;
    app.ok(
        Method::PUT,
        CONFIG,
        Some(
            json!({"enabled": true, "conversion_event_types": ["Meeting Booked"],
                    "triggers": {"score_threshold": 30}}),
        ),
        200,
    )
    .await;

    // a lead created through the API, and one created by an event with new aliases
    app.ok(
        Method::POST,
        "/v1/leads",
        Some(
            json!({"id": "api-lead", "metadata": {"industry": "saas", "region": "emea", "email": "ann@x.io"}}),
        ),
        201,
    )
    .await;
    let ack = app
        .ok(
            Method::POST,
            "/v1/events",
            Some(json!({"event_type": "Visit", "aliases": [{"alias_kind": "email", "raw_value": "new@x.io"}]})),
            201,
        )
        .await;
    let ingested = ack["metadata"]["lead_id"].as_str().unwrap().to_string();
    let page = until(&app, PREDICTIONS, |b| {
        !of_lead(b, "api-lead").is_empty() && !of_lead(b, &ingested).is_empty()
    })
    .await;
    let p_api = of_lead(&page, "api-lead")[0].clone();
    let p_ing = of_lead(&page, &ingested)[0].clone();
    for p in [&p_api, &p_ing] {
        assert_eq!(p["status"], "PENDING");
        assert_eq!(p["trigger"], "lead_created");
        assert!(reps.contains(&p["predicted_rep_id"].as_str().unwrap().to_string()));
    }

    // route one (the rep's capacity counts it), override the other
    let routed = app
        .ok(
            Method::POST,
            &format!(
                "{PREDICTIONS}/{}/route",
                p_api["prediction_id"].as_str().unwrap()
            ),
            None,
            200,
        )
        .await;
    let pick = routed["assignedTo"].as_str().unwrap().to_string();
    let rep = app
        .ok(Method::GET, &format!("/v1/reps/{pick}"), None, 200)
        .await;
    assert_eq!(rep["open_assignments"], 1);
    let other = reps
        .iter()
        .find(|r| **r != p_ing["predicted_rep_id"])
        .unwrap()
        .clone();
    app.ok(
        Method::POST,
        &format!(
            "{PREDICTIONS}/{}/override",
            p_ing["prediction_id"].as_str().unwrap()
        ),
        Some(json!({"assignedTo": other, "reason": "knows the account"})),
        200,
    )
    .await;
    let h = app.ok(Method::GET, HISTORY, None, 200).await;
    assert_eq!(h["total"], 2);
    let a = assignments(&h, "api-lead")[0];
    assert_eq!(
        (
            a["origin"].clone(),
            a["outcome"].clone(),
            a["rep_id"].clone()
        ),
        (json!("route"), json!("pending"), json!(pick))
    );
    assert_eq!(a["prediction_id"], p_api["prediction_id"]);
    assert_eq!(a["confidence"], p_api["confidence"]);
    assert_eq!(
        a["lead"]["metadata"]["industry"], "saas",
        "the lead as assigned"
    );
    assert!(
        a["lead"]["metadata"].get("email").is_none(),
        "only what the model may use is kept: {a}"
    );
    let o = assignments(&h, &ingested)[0];
    assert_eq!(
        (o["origin"].clone(), o["override_reason"].clone()),
        (json!("override"), json!("knows the account"))
    );
    assert_eq!(o["predicted_rep_id"], p_ing["predicted_rep_id"]);

    // outcomes: a conversion event, and a won deal
    let examples = || {
        let app = &app;
        async move { app.ok(Method::GET, STATS, None, 200).await["training_examples"].clone() }
    };
    assert_eq!(examples().await, 600);
    app.ok(
        Method::POST,
        "/v1/events",
        Some(json!({"event_type": "Meeting Booked", "lead_id": "api-lead"})),
        201,
    )
    .await;
    let h = until(&app, HISTORY, |b| {
        assignments(b, "api-lead")[0]["outcome"] == "converted"
    })
    .await;
    let a = assignments(&h, "api-lead")[0];
    assert!(
        a["converted_by"].as_str().unwrap().starts_with("event:"),
        "{a}"
    );
    assert!(a["decided_at"].is_string());
    let deal = app
        .ok(
            Method::POST,
            "/v1/deals",
            Some(json!({"name": "Big", "lead_id": ingested})),
            201,
        )
        .await;
    let deal_id = deal["deal_id"].as_str().unwrap();
    let h = app.ok(Method::GET, HISTORY, None, 200).await;
    assert_eq!(
        assignments(&h, &ingested)[0]["outcome"],
        "pending",
        "an open deal is not a conversion"
    );
    app.ok(
        Method::PATCH,
        &format!("/v1/deals/{deal_id}"),
        Some(json!({"status": "won"})),
        200,
    )
    .await;
    let h = app.ok(Method::GET, HISTORY, None, 200).await;
    let o = assignments(&h, &ingested)[0];
    assert_eq!(o["outcome"], "converted");
    assert_eq!(o["converted_by"], format!("deal:{deal_id}"));
    assert_eq!(examples().await, 602, "each outcome is a training example");

    // a lead given by hand to a rep, then to another: the first closes as reassigned
    app.ok(
        Method::PUT,
        CONFIG,
        Some(json!({"triggers": {"on_lead_created": false}})),
        200,
    )
    .await;
    app.ok(
        Method::POST,
        "/v1/leads",
        Some(json!({"id": "manual"})),
        201,
    )
    .await;
    for rep in [&reps[0], &reps[1]] {
        app.ok(
            Method::PUT,
            "/v1/leads/manual/owner",
            Some(json!({"owner_id": rep})),
            200,
        )
        .await;
    }
    // the same owner again records nothing new
    app.ok(
        Method::PUT,
        "/v1/leads/manual/owner",
        Some(json!({"owner_id": reps[1]})),
        200,
    )
    .await;
    let h = app.ok(Method::GET, HISTORY, None, 200).await;
    let m = assignments(&h, "manual");
    assert_eq!(m.len(), 2, "{h}");
    assert_eq!(
        (
            m[0]["rep_id"].clone(),
            m[0]["outcome"].clone(),
            m[0]["origin"].clone()
        ),
        (json!(reps[1]), json!("pending"), json!("manual"))
    );
    assert_eq!(
        (m[1]["rep_id"].clone(), m[1]["outcome"].clone()),
        (json!(reps[0]), json!("reassigned"))
    );
    assert!(m[0]["prediction_id"].is_null());

    // the score threshold: crossing it predicts once, staying above does not again
    app.ok(Method::POST, "/v1/leads", Some(json!({"id": "hot"})), 201)
        .await;
    let ingest = |n: usize| {
        let app = &app;
        async move {
            for _ in 0..n {
                app.ok(
                    Method::POST,
                    "/v1/events",
                    Some(json!({"event_type": "Demo", "lead_id": "hot"})),
                    201,
                )
                .await;
            }
        }
    };
    ingest(1).await; // 20: below
    ingest(2).await; // 40, then 60: crossed once
    let page = until(&app, PREDICTIONS, |b| !of_lead(b, "hot").is_empty()).await;
    assert_eq!(of_lead(&page, "hot")[0]["trigger"], "score_threshold");
    ingest(1).await;
    app.ok(
        Method::POST,
        "/v1/events",
        Some(json!({"event_type": "Visit", "lead_id": "hot"})),
        201,
    )
    .await;
    let page = until(&app, PREDICTIONS, |b| b["total"] == 3).await;
    assert_eq!(
        of_lead(&page, "hot").len(),
        1,
        "one prediction while one is pending"
    );

    // reaching a configured level predicts (the threshold is off for this one)
    app.ok(
        Method::POST,
        "/v1/levels/engagement",
        Some(json!({"name": "Hot", "min_score": 100, "max_score": 1000})),
        201,
    )
    .await;
    app.ok(
        Method::PUT,
        CONFIG,
        Some(json!({"triggers": {"score_threshold": null, "on_levels": ["hot"]}})),
        200,
    )
    .await;
    app.ok(Method::POST, "/v1/leads", Some(json!({"id": "level"})), 201)
        .await;
    for i in 0..5 {
        app.ok(
            Method::POST,
            "/v1/events",
            Some(json!({"event_type": "Demo", "lead_id": "level"})),
            201,
        )
        .await;
        if i == 3 {
            let p = app.ok(Method::GET, PREDICTIONS, None, 200).await;
            assert!(of_lead(&p, "level").is_empty(), "80 is not Hot yet");
        }
    }
    let page = until(&app, PREDICTIONS, |b| !of_lead(b, "level").is_empty()).await;
    assert_eq!(of_lead(&page, "level")[0]["trigger"], "level_reached");

    // auto-route: confident enough predictions are routed by Leadwire itself
    app.ok(
        Method::PUT,
        CONFIG,
        Some(json!({"auto_route_confidence": 0.0, "triggers": {"on_lead_created": true}})),
        200,
    )
    .await;
    app.ok(
        Method::POST,
        "/v1/leads",
        Some(json!({"id": "auto", "metadata": {"industry": "retail"}})),
        201,
    )
    .await;
    let page = until(&app, PREDICTIONS, |b| {
        of_lead(b, "auto")
            .first()
            .is_some_and(|p| p["status"] == "ACCEPTED")
    })
    .await;
    let p = of_lead(&page, "auto")[0];
    assert_eq!(p["resolved_by"], "system");
    let lead = app.ok(Method::GET, "/v1/leads/auto", None, 200).await;
    assert_eq!(lead["lead"]["owner_id"], p["assignedTo"]);

    // the window of the hand-given lead closes without a conversion: a negative example
    let report = app
        .core
        .routing_sweep(leadwire_models::time::now() + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(
        report.decided, 2,
        "the manual and the auto-routed assignment"
    );
    assert_eq!(
        report.retrains, 1,
        "a day later the model is due, with 4 new examples"
    );
    let info = trained(&app).await;
    assert_eq!(
        (info["version"].clone(), info["examples"].clone()),
        (json!(2), json!(604))
    );
    let again = app
        .core
        .routing_sweep(leadwire_models::time::now() + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(
        (again.decided, again.retrains),
        (0, 0),
        "nothing new to learn from"
    );
    let h = app.ok(Method::GET, HISTORY, None, 200).await;
    assert_eq!(assignments(&h, "manual")[0]["outcome"], "not_converted");
    assert_eq!(assignments(&h, "auto")[0]["outcome"], "not_converted");
    assert_eq!(
        assignments(&h, "api-lead")[0]["outcome"],
        "converted",
        "decided stays decided"
    );

    let s = app.ok(Method::GET, STATS, None, 200).await;
    assert_eq!(s["total_predictions"], 5);
    assert_eq!(
        s["by_status"],
        json!({"PENDING": 2, "ACCEPTED": 2, "OVERRIDDEN": 1})
    );
    assert_eq!(s["acceptance_rate"], 0.6667);
    assert_eq!(s["override_rate"], 0.3333);
    assert_eq!(s["auto_routed"], 1);
    assert_eq!(
        s["accepted_outcomes"],
        json!({"pending": 0, "converted": 1, "not_converted": 1, "reassigned": 0, "conversion_rate": 0.5})
    );
    assert_eq!(s["overridden_outcomes"]["converted"], 1);
    assert_eq!(
        s["manual_outcomes"],
        json!({"pending": 0, "converted": 0, "not_converted": 1, "reassigned": 1, "conversion_rate": 0.0})
    );
    assert_eq!(s["training_examples"], 604);
    let all = app
        .ok(Method::GET, &format!("{PREDICTIONS}?limit=500"), None, 200)
        .await;
    let confidences: Vec<f64> = all["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["confidence"].as_f64().unwrap())
        .collect();
    let mean = confidences.iter().sum::<f64>() / confidences.len() as f64;
    assert!(
        (s["average_confidence"].as_f64().unwrap() - mean).abs() < 1e-4,
        "{s}"
    );
    assert_eq!(s["model_version"], 2);
    let metrics = app.metrics().await;
    for needle in [
        "routing_predictions_total{trigger=\"lead_created\"} 3",
        "routing_predictions_total{trigger=\"score_threshold\"} 1",
        "routing_predictions_total{trigger=\"level_reached\"} 1",
    ] {
        assert!(metrics.contains(needle), "{needle}: {metrics}");
    }

    // history: pages and a date range; bad ranges are refused
    let page = app
        .ok(Method::GET, &format!("{HISTORY}?limit=2&page=2"), None, 200)
        .await;
    assert_eq!(
        (
            page["total"].clone(),
            page["assignments"].as_array().unwrap().len()
        ),
        (json!(5), 2)
    );
    let now = leadwire_models::time::now();
    let start = leadwire_models::time::format(&(now - chrono::Duration::hours(1)));
    let end = &leadwire_models::time::format(&(now + chrono::Duration::days(1)))[..10];
    let page = app
        .ok(
            Method::GET,
            &format!("{HISTORY}?startDate={start}&endDate={end}"),
            None,
            200,
        )
        .await;
    assert_eq!(page["total"], 5);
    let page = app
        .ok(
            Method::GET,
            &format!("{HISTORY}?startDate=2099-01-01"),
            None,
            200,
        )
        .await;
    assert_eq!(page["total"], 0);
    for bad in [
        "startDate=2026-13-01",
        "startDate=2026-11-02&endDate=2026-11-01",
        "limit=0",
        "nope=1",
    ] {
        let (s, b) = app.get(&format!("{HISTORY}?{bad}"), &app.admin_token).await;
        assert_eq!(s, 422, "{bad}: {b}");
    }
    // another OU has none of it
    let ou2 = app.new_ou("Second").await;
    for path in [HISTORY, STATS] {
        let (s, b) = app
            .call(
                app.req(Method::GET, path, &app.admin_token)
                    .header("x-ou-id", &ou2),
            )
            .await;
        assert_eq!(s, 200);
        assert!(b["total"] == 0 || b["total_predictions"] == 0, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_during_a_retrain_use_the_old_model_and_a_restart_serves_the_same() {
    use crate::helpers::{first_login, remote_call, start_binary};
    let dir = tempfile::tempdir().unwrap();
    let (mut first, base, out) = start_binary(dir.path()).await;
    let client = reqwest::Client::new();
    let jwt = first_login(&client, &base, &out).await;
    let call = |method: Method, path: &str, body: Option<serde_json::Value>| {
        remote_call(&client, &base, &jwt, method, path, body)
    };
    let mut reps = Vec::new();
    for i in 0..3 {
        let (s, r) = call(
            Method::POST,
            "/v1/reps",
            Some(json!({"name": format!("Rep {i}"), "email": format!("rep{i}@acme.io")})),
        )
        .await;
        assert_eq!(s, 201, "{r}");
        reps.push(r["rep_id"].as_str().unwrap().to_string());
    }
    let model = "/v1/predictive-routing/model";
    let train = |rows: usize| {
        let call = &call;
        let reps = &reps;
        async move {
            let (s, r) = call(
                Method::POST,
                "/v1/predictive-routing/training-data",
                Some(history_rows(reps, rows)),
            )
            .await;
            assert_eq!(s, 200, "{r}");
            let (s, r) = call(Method::POST, "/v1/predictive-routing/model/retrain", None).await;
            assert_eq!(s, 202, "{r}");
        }
    };
    let ready = |version: u64| {
        let call = &call;
        async move {
            for _ in 0..600 {
                let (_, info) = call(Method::GET, model, None).await;
                if info["status"] == "ready" && info["version"] == version {
                    return info;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("model {version} never became ready");
        }
    };
    train(600).await;
    ready(1).await;
    let (s, _) = call(
        Method::POST,
        "/v1/leads",
        Some(json!({"id": "l1", "metadata": {"industry": "saas", "region": "emea", "employees": 250}})),
    )
    .await;
    assert_eq!(s, 201);
    let predict = || {
        call(
            Method::POST,
            PREDICTIONS,
            Some(json!({"entityType": "LEAD", "entityId": "l1"})),
        )
    };
    let (s, p1) = predict().await;
    assert_eq!((s, p1["model_version"].clone()), (201, json!(1)), "{p1}");

    // a retrain on much more history: predictions meanwhile come from model 1, unchanged
    train(6_000).await;
    let (s, during) = predict().await;
    let (_, info) = call(Method::GET, model, None).await;
    assert_eq!(
        info["status"], "training",
        "the prediction was made during the retrain: {info}"
    );
    assert_eq!(s, 201);
    assert_eq!(during["model_version"], 1);
    assert_eq!(during["alternatives"], p1["alternatives"]);
    assert_eq!(info["version"], 1, "model 1 serves until model 2 is stored");
    let v2 = ready(2).await;
    assert_eq!(v2["examples"], 6_600);
    let (_, p2) = predict().await;
    assert_eq!(p2["model_version"], 2);

    // killed without a graceful shutdown, restarted: the stored model serves, no retrain
    first.kill().await.unwrap();
    let _ = first.wait().await;
    let (_second, base2, _) = start_binary(dir.path()).await;
    let call = |method: Method, path: &str, body: Option<serde_json::Value>| {
        remote_call(&client, &base2, &jwt, method, path, body)
    };
    let (_, info) = call(Method::GET, model, None).await;
    assert_eq!(
        (
            info["status"].clone(),
            info["version"].clone(),
            info["trained_at"].clone()
        ),
        (json!("ready"), json!(2), v2["trained_at"].clone())
    );
    assert_eq!(info["metrics"], v2["metrics"]);
    let (s, again) = call(
        Method::POST,
        PREDICTIONS,
        Some(json!({"entityType": "LEAD", "entityId": "l1"})),
    )
    .await;
    assert_eq!(s, 201, "{again}");
    assert_eq!(again["model_version"], 2);
    assert_eq!(
        again["alternatives"], p2["alternatives"],
        "the same model, bit for bit"
    );
    assert_eq!(again["top_features"], p2["top_features"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_follow_leads_through_reassignment_merge_and_deletion() {
    let app = spawn_app().await;
    let reps = make_reps(&app, 2).await;
    app.ok(
        Method::PUT,
        CONFIG,
        Some(json!({"conversion_event_types": ["Meeting Booked"]})),
        200,
    )
    .await;
    for id in ["z", "m1", "m2", "gone", "p"] {
        app.ok(Method::POST, "/v1/leads", Some(json!({"id": id})), 201)
            .await;
    }
    let give = |lead: &str, rep: &str| {
        let (path, body) = (
            format!("/v1/leads/{lead}/owner"),
            json!({ "owner_id": rep }),
        );
        let app = &app;
        async move { app.ok(Method::PUT, &path, Some(body), 200).await }
    };
    let convert = |lead: &str| {
        let body = json!({"event_type": "Meeting Booked", "lead_id": lead});
        let app = &app;
        async move { app.ok(Method::POST, "/v1/events", Some(body), 201).await }
    };

    // a conversion stored just before a reassignment counts, however far behind the
    // reactor is: the reassignment decides it first
    give("z", &reps[0]).await;
    convert("z").await;
    give("z", &reps[1]).await;
    let h = app.ok(Method::GET, HISTORY, None, 200).await;
    let z = assignments(&h, "z");
    assert_eq!(
        (z[1]["rep_id"].clone(), z[1]["outcome"].clone()),
        (json!(reps[0]), json!("converted"))
    );
    assert_eq!(z[0]["outcome"], "pending", "the new rep's window is open");

    // a merge carries the pending assignment to the target, where the conversion comes
    give("m1", &reps[0]).await;
    app.ok(
        Method::POST,
        "/v1/leads/merge",
        Some(json!({"targetLeadId": "m2", "sourceLeadIds": ["m1"]})),
        200,
    )
    .await;
    convert("m2").await;
    let h = until(&app, HISTORY, |b| {
        assignments(b, "m2")
            .first()
            .is_some_and(|a| a["outcome"] == "converted")
    })
    .await;
    assert!(assignments(&h, "m1").is_empty(), "{h}");

    // a deleted lead takes its assignments and predictions with it
    give("gone", &reps[0]).await;
    let (s, _) = app
        .call(app.req(Method::DELETE, "/v1/leads/gone", &app.admin_token))
        .await;
    assert!(s == 200 || s == 202 || s == 204, "{s}");
    let h = until(&app, HISTORY, |b| assignments(b, "gone").is_empty()).await;
    assert_eq!(h["total"], 3, "{h}");

    // a prediction whose lead was merged away cannot be routed, and stays PENDING
    train_on_history(&app, &reps, 600).await;
    let p = app
        .ok(
            Method::POST,
            PREDICTIONS,
            Some(json!({"entityType": "LEAD", "entityId": "p"})),
            201,
        )
        .await;
    app.ok(
        Method::POST,
        "/v1/leads/merge",
        Some(json!({"targetLeadId": "m2", "sourceLeadIds": ["p"]})),
        200,
    )
    .await;
    let id = p["prediction_id"].as_str().unwrap();
    route_refused(&app, id, "no longer be given").await;
    let again = app
        .ok(Method::GET, &format!("{PREDICTIONS}/{id}"), None, 200)
        .await;
    assert_eq!(again["status"], "PENDING");
    let lead = app.ok(Method::GET, "/v1/leads/m2", None, 200).await;
    assert!(
        lead["lead"]["owner_id"].is_null(),
        "the target is untouched"
    );

    // giving a lead by hand decides its pending prediction: accepted when it is the
    // predicted rep, overridden otherwise; the assignment carries the prediction
    for (lead, same) in [("h1", true), ("h2", false)] {
        app.ok(Method::POST, "/v1/leads", Some(json!({"id": lead})), 201)
            .await;
        let p = app
            .ok(
                Method::POST,
                PREDICTIONS,
                Some(json!({"entityType": "LEAD", "entityId": lead})),
                201,
            )
            .await;
        let predicted = p["predicted_rep_id"].as_str().unwrap().to_string();
        let rep = if same {
            predicted.clone()
        } else {
            reps.iter().find(|r| **r != predicted).unwrap().clone()
        };
        give(lead, &rep).await;
        let id = p["prediction_id"].as_str().unwrap();
        let after = app
            .ok(Method::GET, &format!("{PREDICTIONS}/{id}"), None, 200)
            .await;
        assert_eq!(
            after["status"],
            if same { "ACCEPTED" } else { "OVERRIDDEN" }
        );
        assert_eq!(after["assignedTo"], rep.as_str());
        let h = app.ok(Method::GET, HISTORY, None, 200).await;
        let a = assignments(&h, lead)[0];
        assert_eq!(a["prediction_id"], id);
        assert_eq!(a["origin"], if same { "route" } else { "override" });
        if !same {
            assert_eq!(after["override_reason"], "assigned by hand");
        }
    }
}
