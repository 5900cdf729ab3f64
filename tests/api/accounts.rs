//! Accounts end to end: ABM gating, create and lookup, fuzzy search, the aggregated list
//! with its filters and sorts, metadata patches, merge and batch delete.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn ok(app: &TestApp, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    app.ok(method, path, body, status).await
}

async fn account(app: &TestApp, name: &str, domain: &str) -> String {
    let a = ok(
        app,
        Method::POST,
        "/v1/accounts",
        Some(json!({"name": name, "domain": domain})),
        201,
    )
    .await;
    a["account_id"].as_str().unwrap().to_string()
}

/// A lead with `weight` points of Demo, linked to an account.
async fn lead_in(app: &TestApp, id: &str, account: &str, demos: usize) {
    ok(
        app,
        Method::POST,
        "/v1/leads",
        Some(json!({"id": id, "account_id": account})),
        201,
    )
    .await;
    for _ in 0..demos {
        ok(
            app,
            Method::POST,
            "/v1/events",
            Some(json!({"event_type": "Demo", "lead_id": id})),
            201,
        )
        .await;
    }
}

async fn enable_abm(app: &TestApp) {
    let body = json!({"abm_enabled": true});
    ok(app, Method::PUT, "/v1/settings/scoring", Some(body), 200).await;
}

fn ids(page: &Value) -> Vec<String> {
    page["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_aggregate_their_leads_and_merge() {
    let app = spawn_app().await;
    // account-based marketing is off until enabled
    let (s, r) = app.get("/v1/accounts", &app.admin_token).await;
    assert_eq!(s, 403, "{r}");
    enable_abm(&app).await;
    ok(
        &app,
        Method::PUT,
        "/v1/settings/surge-policy",
        Some(json!({"mode": "off"})),
        200,
    )
    .await;
    app.rule(json!({"event_type": "Demo", "weight": 30})).await;

    let acme = account(&app, "Acme Corporation", "https://www.ACME.com/about").await;
    let globex = account(&app, "Globex", "globex.io").await;
    let initech = account(&app, "Initech", "initech.com").await;
    // refused: a taken domain, a bad domain, an empty name
    let (s, _) = app
        .post(
            "/v1/accounts",
            &app.admin_token,
            json!({"name": "Acme 2", "domain": "acme.com"}),
        )
        .await;
    assert_eq!(s, 409);
    for body in [
        json!({"name": "X", "domain": "not a domain"}),
        json!({"name": ""}),
    ] {
        let (s, _) = app.post("/v1/accounts", &app.admin_token, body).await;
        assert_eq!(s, 422);
    }

    // lookup: domain first, then the exact name; null when nothing matches
    let (_, a) = app
        .get("/v1/accounts/lookup?domain=acme.com", &app.admin_token)
        .await;
    assert_eq!(a["account_id"], acme.as_str());
    let (_, a) = app
        .get(
            "/v1/accounts/lookup?domain=nope.com&name=globex",
            &app.admin_token,
        )
        .await;
    assert_eq!(a["account_id"], globex.as_str());
    let (_, a) = app
        .get("/v1/accounts/lookup?name=Umbrella", &app.admin_token)
        .await;
    assert!(a.is_null());

    // fuzzy search
    let (_, m) = app
        .get("/v1/accounts/search?name=ACME%20Corp.", &app.admin_token)
        .await;
    assert_eq!(m["matches"][0]["account_id"], acme.as_str(), "{m}");
    assert_eq!(m["matches"].as_array().map(Vec::len), Some(1), "{m}");

    // leads: Acme 60 + 30, Globex 90, Initech none
    lead_in(&app, "a1", &acme, 2).await;
    lead_in(&app, "a2", &acme, 1).await;
    lead_in(&app, "g1", &globex, 3).await;
    let (_, page) = app.get("/v1/accounts", &app.admin_token).await;
    assert_eq!(
        ids(&page),
        ["Globex", "Acme Corporation", "Initech"],
        "{page}"
    );
    let a = page["accounts"][1].clone();
    assert_eq!(
        (
            a["top_score"].as_f64(),
            a["engagement"].as_f64(),
            a["leads_count"].as_u64()
        ),
        (Some(60.0), Some(90.0), Some(2))
    );
    assert_eq!(
        (a["intent_level"].as_str(), page["total"].as_u64()),
        (Some("medium"), Some(3))
    );
    let (_, page) = app
        .get(
            "/v1/accounts?sort_by=engagement&sort_order=asc&has_leads=true",
            &app.admin_token,
        )
        .await;
    assert_eq!(ids(&page), ["Acme Corporation", "Globex"]);
    let (_, page) = app
        .get("/v1/accounts?intent_level=high", &app.admin_token)
        .await;
    assert_eq!(ids(&page), ["Globex"]);
    let (_, page) = app
        .get("/v1/accounts?search=initech&min_score=0", &app.admin_token)
        .await;
    assert_eq!(ids(&page), ["Initech"]);
    for query in ["sort_order=sideways", "min_score=NaN"] {
        let (s, e) = app
            .get(&format!("/v1/accounts?{query}"), &app.admin_token)
            .await;
        assert_eq!(
            (s, TestApp::error_code(&e)),
            (422, "validation_failed"),
            "{query}"
        );
    }

    // the lead shows its account; the account shows its leads and events
    let (_, l) = app.get("/v1/leads/a1", &app.admin_token).await;
    assert_eq!(l["account"]["name"], "Acme Corporation");
    let d = ok(
        &app,
        Method::GET,
        &format!("/v1/accounts/{acme}"),
        None,
        200,
    )
    .await;
    assert_eq!(d["domain"], "acme.com");
    assert_eq!(d["leads"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["recent_events"].as_array().map(Vec::len), Some(3));

    // metadata merges, null removes a key
    ok(
        &app,
        Method::PATCH,
        &format!("/v1/accounts/{acme}"),
        Some(json!({"metadata": {"tier": 1, "region": "EU"}})),
        200,
    )
    .await;
    let a = ok(
        &app,
        Method::PATCH,
        &format!("/v1/accounts/{acme}"),
        Some(json!({"name": "Acme Corp", "metadata": {"tier": null}})),
        200,
    )
    .await;
    assert_eq!(
        (a["name"].as_str(), a["metadata"].clone()),
        (Some("Acme Corp"), json!({"region": "EU"}))
    );

    // null clears a domain; a null name is refused and changes nothing
    let solo = account(&app, "Solo", "solo.io").await;
    let cleared = ok(
        &app,
        Method::PATCH,
        &format!("/v1/accounts/{solo}"),
        Some(json!({"domain": null})),
        200,
    )
    .await;
    assert!(cleared["domain"].is_null(), "{cleared}");
    let refused = ok(
        &app,
        Method::PATCH,
        &format!("/v1/accounts/{solo}"),
        Some(json!({"name": null, "domain": "solo.dev"})),
        422,
    )
    .await;
    assert_eq!(refused["error"]["details"]["field"], "name", "{refused}");
    let (_, kept) = app
        .get(&format!("/v1/accounts/{solo}"), &app.admin_token)
        .await;
    assert_eq!(
        (kept["name"].as_str(), kept["domain"].is_null()),
        (Some("Solo"), true),
        "{kept}"
    );
    // (an empty id in a batch delete is simply missing)
    let gone = ok(
        &app,
        Method::POST,
        "/v1/accounts/batch-delete",
        Some(json!({"ids": [solo, ""]})),
        200,
    )
    .await;
    assert_eq!(gone["missing"], json!([""]), "{gone}");

    // merge Acme into Globex: its leads move, it is archived
    let (s, _) = app
        .post(
            &format!("/v1/accounts/{acme}/merge"),
            &app.admin_token,
            json!({"target_id": acme}),
        )
        .await;
    assert_eq!(s, 422);
    let r = ok(
        &app,
        Method::POST,
        &format!("/v1/accounts/{acme}/merge"),
        Some(json!({"target_id": globex})),
        200,
    )
    .await;
    assert_eq!(r, json!({"leads_reassigned": 2, "deals_reassigned": 0}));
    let (s, _) = app
        .get(&format!("/v1/accounts/{acme}"), &app.admin_token)
        .await;
    assert_eq!(s, 404);
    let (_, page) = app.get("/v1/accounts", &app.admin_token).await;
    assert_eq!(ids(&page), ["Globex", "Initech"]);
    assert_eq!(page["accounts"][0]["leads_count"], 3);

    // batch delete: leads unlinked, accounts gone, unknown ids listed
    let r = ok(
        &app,
        Method::POST,
        "/v1/accounts/batch-delete",
        Some(json!({"ids": [globex, initech, "acct_nope", acme]})),
        200,
    )
    .await;
    // (Acme, archived by its merge, reads as gone: it is not deleted again)
    assert_eq!(
        r,
        json!({"leads_unlinked": 3, "accounts_deleted": 2, "missing": [acme, "acct_nope"]})
    );
    let (_, l) = app.get("/v1/leads/g1", &app.admin_token).await;
    assert!(
        l["lead"]["account_id"].is_null() && l["account"].is_null(),
        "{l}"
    );
}

/// Polls a lead until `pred` holds for it (the wake pass runs every 2 s), or 20 s pass.
async fn lead_becomes(app: &TestApp, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, l) = app.get(&format!("/v1/leads/{id}"), &app.admin_token).await;
        if pred(&l["lead"]) || tokio::time::Instant::now() > deadline {
            return l["lead"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_rules_score_and_disqualify_the_accounts_leads() {
    let app = spawn_app().await;
    enable_abm(&app).await;
    let (s, _) = app
        .post(
            "/v1/scoring/engagement/rulesets",
            &app.admin_token,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(s, 404, "engagement rulesets live at /v1/rulesets");
    let rs = ok(
        &app,
        Method::POST,
        "/v1/scoring/account/rulesets",
        Some(json!({"name": "ICP"})),
        201,
    )
    .await;
    assert_eq!(
        (rs["dimension"].as_str(), rs["is_primary"].as_bool()),
        (Some("account"), Some(true))
    );
    let rules = format!(
        "/v1/scoring/account/rulesets/{}/rules",
        rs["id"].as_str().unwrap()
    );
    for body in [
        json!({"profile_property": "industry", "condition": "equals", "comparison_value": "fintech", "weight": 30}),
        json!({"profile_property": "employees", "condition": "greater_than_or_equal", "comparison_value": "500", "weight": 20}),
    ] {
        ok(&app, Method::POST, &rules, Some(body), 201).await;
    }
    let dq = ok(
        &app,
        Method::POST,
        &rules,
        Some(json!({"profile_property": "domain", "condition": "ends_with", "comparison_value": ".gov",
                     "weight": 0, "rule_type": "hard_disqualify",
                     "conditions": {"operator": "or", "conditions": [
                         {"key": "employees", "operator": "not_exists"},
                         {"operator": "and", "conditions": [{"key": "employees", "operator": "less_than", "value": 10}]}]}})),
        201,
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/levels/account",
        Some(json!({"name": "Target", "min_score": 40, "max_score": 100})),
        201,
    )
    .await;

    let acme = ok(
        &app,
        Method::POST,
        "/v1/accounts",
        Some(json!({"name": "Acme", "domain": "acme.com", "metadata": {"industry": "Fintech", "employees": 1000}})),
        201,
    )
    .await["account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let gov = account(&app, "Agency", "agency.gov").await;
    let big = ok(
        &app,
        Method::POST,
        "/v1/accounts",
        Some(json!({"name": "Big Agency", "domain": "big.gov", "metadata": {"employees": 5000}})),
        201,
    )
    .await;
    lead_in(&app, "a1", &acme, 0).await;
    lead_in(&app, "g1", &gov, 0).await;
    lead_in(&app, "b1", big["account_id"].as_str().unwrap(), 0).await;
    // .gov, but neither branch of the OR group holds: not disqualified
    let (_, b) = app.get("/v1/leads/b1", &app.admin_token).await;
    assert_eq!(b["lead"]["disqualified"], false, "{b}");

    let (_, l) = app.get("/v1/leads/a1", &app.admin_token).await;
    let l = &l["lead"];
    assert_eq!(
        (
            l["account_score"].as_f64(),
            l["account_level"]["name"].as_str(),
            l["disqualified"].as_bool()
        ),
        (Some(50.0), Some("Target"), Some(false)),
        "{l}"
    );
    let (_, g) = app.get("/v1/leads/g1", &app.admin_token).await;
    assert_eq!(g["lead"]["disqualification"]["rule_id"], dq["id"], "{g}");
    let (_, list) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(list["total"], 2, "the disqualified lead is left out");
    // the "why" of a lead its account's rules score names them
    let (_, why) = app.get("/v1/leads/a1/why", &app.admin_token).await;
    let account_factors: Vec<(&str, f64)> = why["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["dimension"] == "account")
        .map(|f| {
            (
                f["event_type"].as_str().unwrap(),
                f["points"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(account_factors.len(), 2, "{why}");
    assert_eq!(account_factors.iter().map(|f| f.1).sum::<f64>(), 50.0);
    let summary = why["summary"].as_str().unwrap_or("");
    assert!(summary.contains("Account 50 pts: industry equals"), "{why}");
    let (_, batch) = app.get("/v1/leads/why?lead_ids=a1", &app.admin_token).await;
    assert_eq!(batch["summaries"]["a1"], summary, "{batch}");
    let (_, why) = app.get("/v1/leads/g1/why", &app.admin_token).await;
    assert!(
        why["summary"]
            .as_str()
            .unwrap_or("")
            .contains("domain ends with"),
        "{why}"
    );
    let (_, overview) = app
        .get("/v1/disqualification-rules", &app.admin_token)
        .await;
    assert_eq!(
        (
            overview[0]["dimension"].as_str(),
            overview[0]["match_count"].as_u64()
        ),
        (Some("account"), Some(1)),
        "{overview}"
    );

    // the account dry run reads the lead's account
    let t = ok(
        &app,
        Method::POST,
        "/v1/scoring/account/rules/test",
        Some(json!({"lead_id": "a1", "rule": {"profile_property": "name", "condition": "starts_with", "comparison_value": "ac", "weight": 5}})),
        200,
    )
    .await;
    assert_eq!(
        (
            t["matches"].as_bool(),
            t["current_score"].as_f64(),
            t["projected_score"].as_f64()
        ),
        (Some(true), Some(50.0), Some(55.0)),
        "{t}"
    );
    // an account ruleset rescores like a profile one: every lead replayed, none moved
    // (the stored scores are current), the same answer shape
    let rescored = ok(
        &app,
        Method::POST,
        &format!(
            "/v1/scoring/account/rulesets/{}/rescore",
            rs["id"].as_str().unwrap()
        ),
        None,
        200,
    )
    .await;
    assert_eq!(
        (
            rescored["dimension"].as_str(),
            rescored["leads"].as_u64(),
            rescored["changed"].as_u64()
        ),
        (Some("account"), Some(3), Some(0)),
        "{rescored}"
    );
    ok(
        &app,
        Method::POST,
        "/v1/scoring/account/rulesets/ars_nope/rescore",
        None,
        404,
    )
    .await;

    // an account change reaches its leads: fewer employees, 30 points, below Target
    ok(
        &app,
        Method::PATCH,
        &format!("/v1/accounts/{acme}"),
        Some(json!({"metadata": {"employees": 100}})),
        200,
    )
    .await;
    let l = lead_becomes(&app, "a1", |l| l["account_score"] == 30.0).await;
    assert_eq!(
        (l["account_score"].as_f64(), l["account_level"].is_null()),
        (Some(30.0), true),
        "{l}"
    );
    // moving the agency's lead to Acme requalifies it
    ok(
        &app,
        Method::POST,
        &format!("/v1/accounts/{gov}/merge"),
        Some(json!({"target_id": acme})),
        200,
    )
    .await;
    let g = lead_becomes(&app, "g1", |l| l["disqualified"] == false).await;
    assert_eq!(
        (g["disqualified"].as_bool(), g["account_score"].as_f64()),
        (Some(false), Some(30.0)),
        "{g}"
    );

    // account field mappings: an event of one lead updates its account, and the
    // account's other leads rescore
    let m = ok(
        &app,
        Method::POST,
        "/v1/scoring/account/mappings",
        Some(json!({"source_field": "employees_reported", "profile_property": "employees"})),
        201,
    )
    .await;
    assert_eq!(m["update_behavior"], "always_latest");
    ok(
        &app,
        Method::POST,
        "/v1/events",
        Some(json!({"event_type": "Visit", "lead_id": "a1", "metadata": {"employees_reported": 900}})),
        201,
    )
    .await;
    let (_, a1) = app.get("/v1/leads/a1", &app.admin_token).await;
    assert_eq!(a1["lead"]["account_score"], 50.0, "{a1}");
    assert_eq!(a1["account"]["metadata"]["employees"], 900);
    let g = lead_becomes(&app, "g1", |l| l["account_score"] == 50.0).await;
    assert_eq!(g["account_score"], 50.0, "{g}");
    let (_, h) = app
        .get("/v1/scoring/account/mappings/history", &app.admin_token)
        .await;
    assert_eq!(h[0]["action"], "create", "{h}");
    let (s, _) = app
        .post(
            "/v1/scoring/account/mappings/apply",
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(s, 422);
}
