//! Profile scoring end to end: rulesets and rules, compound hard disqualification, the
//! disqualified leaving lists and counts, the "why" of a disqualified lead, the dry run,
//! field mappings (live, history, apply to existing) and lead properties.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn ok(app: &TestApp, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    app.ok(method, path, body, status).await
}

async fn lead(app: &TestApp, id: &str, metadata: Value) -> Value {
    ok(
        app,
        Method::POST,
        "/v1/leads",
        Some(json!({"id": id, "metadata": metadata})),
        201,
    )
    .await
}

async fn live(app: &TestApp, id: &str) -> Value {
    let (_, l) = app.get(&format!("/v1/leads/{id}"), &app.admin_token).await;
    l["lead"].clone()
}

async fn total(app: &TestApp, query: &str) -> u64 {
    let (_, list) = app
        .get(&format!("/v1/leads{query}"), &app.admin_token)
        .await;
    list["total"].as_u64().unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_points_and_compound_disqualification_reach_lists_and_the_why() {
    let app = spawn_app().await;
    let rs = ok(
        &app,
        Method::POST,
        "/v1/scoring/profile/rulesets",
        Some(json!({"name": "Fit"})),
        201,
    )
    .await;
    assert_eq!(rs["is_primary"], true, "the first ruleset is primary");
    let rs = rs["id"].as_str().unwrap().to_string();
    let rules = format!("/v1/scoring/profile/rulesets/{rs}/rules");

    // refused: a value that does not suit the condition, a group on add_points, a
    // missing field, an unknown ruleset
    for (body, field) in [
        (
            json!({"profile_property": "employees", "condition": "greater_than", "comparison_value": "many", "weight": 5}),
            "comparison_value",
        ),
        (
            json!({"profile_property": "x", "condition": "exists", "comparison_value": "", "weight": 5,
                   "conditions": {"operator": "and", "conditions": [{"key": "y", "operator": "exists"}]}}),
            "conditions",
        ),
        (
            json!({"condition": "equals", "comparison_value": "a", "weight": 5}),
            "profile_property",
        ),
    ] {
        let (s, r) = app.post(&rules, &app.admin_token, body).await;
        assert_eq!(
            (s, r["error"]["details"]["field"].as_str()),
            (422, Some(field)),
            "{r}"
        );
    }
    let (s, _) = app
        .post(
            "/v1/scoring/profile/rulesets/prs_nope/rules",
            &app.admin_token,
            json!({"profile_property": "a", "condition": "equals", "comparison_value": "b", "weight": 1}),
        )
        .await;
    assert_eq!(s, 404);

    for body in [
        json!({"profile_property": "industry", "condition": "in", "comparison_value": "saas, fintech", "weight": 20}),
        json!({"profile_property": "employees", "condition": "greater_than_or_equal", "comparison_value": "100", "weight": 15}),
    ] {
        ok(&app, Method::POST, &rules, Some(body), 201).await;
    }
    // disqualified: country NK and (a student, or fewer than 5 employees)
    let dq = ok(
        &app,
        Method::POST,
        &rules,
        Some(json!({"profile_property": "country", "condition": "equals", "comparison_value": "NK", "weight": 0,
                     "rule_type": "hard_disqualify",
                     "conditions": {"operator": "or", "conditions": [
                         {"key": "role", "operator": "equals", "value": "student"},
                         {"operator": "and", "conditions": [{"key": "employees", "operator": "less_than", "value": 5}]}
                     ]}})),
        201,
    )
    .await;
    let dq_id = dq["id"].as_str().unwrap().to_string();

    ok(
        &app,
        Method::POST,
        "/v1/levels/profile",
        Some(json!({"name": "Good fit", "min_score": 30, "max_score": 100})),
        201,
    )
    .await;
    let a = lead(&app, "fit", json!({"industry": "SaaS", "employees": 250})).await;
    assert_eq!(a["profile_level"]["name"], "Good fit", "{a}");
    assert_eq!(
        (a["profile_score"].as_f64(), a["disqualified"].as_bool()),
        (Some(35.0), Some(false)),
        "{a}"
    );
    let b = lead(&app, "tiny", json!({"country": "NK", "employees": 3})).await;
    assert_eq!(b["disqualified"], true, "{b}");
    lead(
        &app,
        "cto",
        json!({"country": "NK", "role": "cto", "employees": 50}),
    )
    .await;
    assert_eq!(
        live(&app, "cto").await["disqualified"],
        false,
        "neither OR branch holds"
    );

    // the score says why; lists and counts leave the disqualified out
    let (_, score) = app.get("/v1/leads/tiny/score", &app.admin_token).await;
    assert_eq!(score["disqualified"], true);
    assert_eq!(score["disqualified_by_rule_id"], dq_id.as_str());
    assert!(score["disqualified_at"].is_string(), "{score}");
    assert_eq!(total(&app, "").await, 2);
    assert_eq!(total(&app, "?include_disqualified=true").await, 3);
    let (_, stats) = app.get("/v1/analytics", &app.admin_token).await;
    assert_eq!(
        (
            stats["totals"]["leads"].as_u64(),
            stats["totals"]["disqualified_leads"].as_u64()
        ),
        (Some(2), Some(1)),
        "{stats}"
    );

    // a disqualified lead's "why" is its disqualification and nothing else
    let (_, why) = app.get("/v1/leads/tiny/why", &app.admin_token).await;
    assert_eq!(why["disqualified"], true);
    assert_eq!(why["factors"], json!([]));
    assert!(
        why["summary"]
            .as_str()
            .unwrap_or("")
            .starts_with("Disqualified: country equals"),
        "{why}"
    );
    assert_eq!(why["disqualification"]["rule_id"], dq_id.as_str());
    let (_, batch) = app
        .get("/v1/leads/why?lead_ids=tiny,fit", &app.admin_token)
        .await;
    assert!(batch["summaries"]["tiny"]
        .as_str()
        .unwrap_or("")
        .starts_with("Disqualified"));
    let (_, why) = app.get("/v1/leads/fit/why", &app.admin_token).await;
    let profile: Vec<&Value> = why["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["dimension"] == "profile")
        .collect();
    assert_eq!(profile.len(), 2, "{why}");
    assert!(
        why["summary"]
            .as_str()
            .unwrap_or("")
            .contains("Profile 35 pts"),
        "{why}"
    );

    // the overview counts what each hard-DQ rule disqualifies now
    let (_, rules_now) = app
        .get("/v1/disqualification-rules", &app.admin_token)
        .await;
    assert_eq!(rules_now[0]["rule_id"], dq_id.as_str(), "{rules_now}");
    assert_eq!(rules_now[0]["match_count"], 1);

    // a property change disqualifies at once (the AND branch now holds)
    ok(
        &app,
        Method::PATCH,
        "/v1/leads/cto",
        Some(json!({"employees": 2})),
        200,
    )
    .await;
    assert_eq!(live(&app, "cto").await["disqualified"], true);
    assert_eq!(total(&app, "").await, 1);

    // the dry run stores nothing
    let t = ok(
        &app,
        Method::POST,
        "/v1/scoring/profile/rules/test",
        Some(json!({"lead_id": "fit", "rule": {"profile_property": "industry", "condition": "equals", "comparison_value": "saas", "weight": 5}})),
        200,
    )
    .await;
    assert_eq!(
        (
            t["matches"].as_bool(),
            t["current_score"].as_f64(),
            t["projected_score"].as_f64(),
            t["matching_value"].as_str()
        ),
        (Some(true), Some(35.0), Some(40.0), Some("SaaS")),
        "{t}"
    );
    let (_, listed) = app.get(&rules, &app.admin_token).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(3));

    // removing the DQ rule requalifies everyone; lists follow within a wake pass
    ok(&app, Method::DELETE, &format!("{rules}/{dq_id}"), None, 204).await;
    assert_eq!(live(&app, "tiny").await["disqualified"], false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while total(&app, "").await != 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "lists never followed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // a second ruleset made primary, then deleted: the oldest one left is primary again
    let fit2 = ok(
        &app,
        Method::POST,
        "/v1/scoring/profile/rulesets",
        Some(json!({"name": "Fit2", "is_primary": true})),
        201,
    )
    .await;
    let primaries = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["is_primary"] == true)
            .map(|r| r["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (_, list) = app
        .get("/v1/scoring/profile/rulesets", &app.admin_token)
        .await;
    assert_eq!(primaries(&list), vec!["Fit2"], "{list}");
    ok(
        &app,
        Method::DELETE,
        &format!(
            "/v1/scoring/profile/rulesets/{}",
            fit2["id"].as_str().unwrap()
        ),
        None,
        204,
    )
    .await;
    let (_, list) = app
        .get("/v1/scoring/profile/rulesets", &app.admin_token)
        .await;
    assert_eq!(primaries(&list), vec!["Fit"], "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_mappings_copy_event_values_to_profile_properties() {
    let app = spawn_app().await;
    let rs = ok(
        &app,
        Method::POST,
        "/v1/scoring/profile/rulesets",
        Some(json!({"name": "Fit"})),
        201,
    )
    .await;
    let rs = rs["id"].as_str().unwrap().to_string();
    ok(
        &app,
        Method::POST,
        &format!("/v1/scoring/profile/rulesets/{rs}/rules"),
        Some(json!({"profile_property": "acquisition_source", "condition": "equals", "comparison_value": "google", "weight": 5})),
        201,
    )
    .await;
    let (s, r) = app
        .post(
            "/v1/scoring/profile/mappings",
            &app.admin_token,
            json!({"source_field": "utm_source", "profile_property": "utm_source"}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["details"]["field"].as_str()),
        (422, Some("profile_property"))
    );
    let m = ok(
        &app,
        Method::POST,
        "/v1/scoring/profile/mappings",
        Some(json!({"source_field": "utm_source", "profile_property": "acquisition_source"})),
        201,
    )
    .await;
    assert_eq!(m["update_behavior"], "always_latest");
    let mid = m["id"].as_str().unwrap().to_string();

    // an event carrying the source field sets the property, and the profile rescores
    lead(&app, "ld_m", json!({"name": "M"})).await;
    ok(
        &app,
        Method::POST,
        "/v1/events",
        Some(
            json!({"event_type": "Visit", "lead_id": "ld_m", "metadata": {"utm_source": "google"}}),
        ),
        201,
    )
    .await;
    let l = live(&app, "ld_m").await;
    assert_eq!(l["metadata"]["acquisition_source"], "google", "{l}");
    assert_eq!(l["profile_score"], 5.0);
    let (_, stored) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(
        stored["leads"][0]["metadata"]["acquisition_source"],
        "google"
    );

    // set_once keeps the first value
    ok(
        &app,
        Method::PUT,
        &format!("/v1/scoring/profile/mappings/{mid}"),
        Some(json!({"source_field": "utm_source", "profile_property": "acquisition_source", "update_behavior": "set_once"})),
        200,
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/events",
        Some(json!({"event_type": "Visit", "lead_id": "ld_m", "metadata": {"utm_source": "bing"}})),
        201,
    )
    .await;
    assert_eq!(
        live(&app, "ld_m").await["metadata"]["acquisition_source"],
        "google"
    );

    // applying to existing leads copies from their own metadata
    lead(&app, "ld_old", json!({"utm_source": "google"})).await;
    assert_eq!(live(&app, "ld_old").await["profile_score"], 0.0);
    let r = ok(
        &app,
        Method::POST,
        "/v1/scoring/profile/mappings/apply",
        None,
        200,
    )
    .await;
    assert_eq!(
        (r["leads_processed"].as_u64(), r["leads_updated"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    let old = live(&app, "ld_old").await;
    assert_eq!(
        (
            old["metadata"]["acquisition_source"].as_str(),
            old["profile_score"].as_f64()
        ),
        (Some("google"), Some(5.0))
    );

    // every change is in the history, newest first
    ok(
        &app,
        Method::DELETE,
        &format!("/v1/scoring/profile/mappings/{mid}"),
        None,
        204,
    )
    .await;
    let (_, h) = app
        .get("/v1/scoring/profile/mappings/history", &app.admin_token)
        .await;
    let actions: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"], "{h}");
    assert_eq!(h[1]["before"]["update_behavior"], "always_latest");
    assert_eq!(h[1]["after"]["update_behavior"], "set_once");
    let (_, props) = app.get("/v1/leads/properties", &app.admin_token).await;
    assert_eq!(props, json!(["acquisition_source", "name", "utm_source"]));
}
