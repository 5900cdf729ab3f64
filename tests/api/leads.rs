//! Leads end to end: list, search, update, owners, aliases, merge, reset, delete.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn ok(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut rb = app.req(method, path, &app.admin_token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let (s, r) = app.call(rb).await;
    assert!((200..300).contains(&s), "{path}: {s} {r}");
    r
}

async fn event(app: &TestApp, body: Value) -> Value {
    let (s, r) = app.post("/v1/events", &app.admin_token, body).await;
    assert_eq!(s, 201, "{r}");
    r["metadata"].clone()
}

async fn by_email(app: &TestApp, event_type: &str, email: &str) -> String {
    let ack = event(
        app,
        json!({"event_type": event_type, "aliases": [{"alias_kind": "email", "raw_value": email}]}),
    )
    .await;
    ack["lead_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_moves_history_and_rescores_the_target() {
    let app = spawn_app().await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Demo", "weight": 10})),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Visit", "weight": 3})),
    )
    .await;
    // an anonymous visitor (cookie) and a known person (email), each with history
    let visitor = event(
        &app,
        json!({"event_type": "Visit", "aliases": [{"alias_kind": "cookie", "raw_value": "ck-1"}],
               "timestamp": "2026-01-01T10:00:00Z"}),
    )
    .await["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    event(
        &app,
        json!({"event_type": "Visit", "lead_id": visitor, "timestamp": "2026-01-01T10:05:00Z"}),
    )
    .await;
    let known = by_email(&app, "Demo", "sam@example.com").await;
    assert_eq!(app.score(&visitor).await, 6.0);
    assert_eq!(app.score(&known).await, 10.0);

    // bad merges change nothing
    let (_, _, other) = app.second_org().await;
    let (s, r) = app
        .post("/v1/leads", &other, json!({"id": "foreign"}))
        .await;
    assert_eq!(s, 201, "{r}");
    for (body, status) in [
        (
            json!({"targetLeadId": known, "sourceLeadIds": [known]}),
            422,
        ),
        (json!({"targetLeadId": known, "sourceLeadIds": []}), 422),
        (
            json!({"targetLeadId": known, "sourceLeadIds": ["foreign"]}),
            404,
        ),
        (
            json!({"targetLeadId": "nope", "sourceLeadIds": [visitor]}),
            404,
        ),
        (
            json!({"targetLeadId": known, "sourceLeadIds": [visitor], "truncate": {"policy": "keep_latest"}}),
            422,
        ),
        (
            json!({"targetLeadId": known, "sourceLeadIds": [visitor], "extra": 1}),
            422,
        ),
    ] {
        let (s, e) = app
            .post("/v1/leads/merge", &app.admin_token, body.clone())
            .await;
        assert_eq!(s, status, "{body}: {e}");
    }
    assert_eq!(app.score(&visitor).await, 6.0);

    let merged = ok(
        &app,
        Method::POST,
        "/v1/leads/merge",
        Some(json!({"targetLeadId": known, "sourceLeadIds": [visitor]})),
    )
    .await;
    assert_eq!(merged["mergedSources"], json!([visitor]));
    assert_eq!(merged["movedEvents"], 2);
    assert_eq!(merged["movedAliases"], 1);
    assert_eq!(merged["truncatedEvents"], 0);
    let rs = merged["rescore"]["after"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    assert_eq!(merged["rescore"]["before"][&rs], 10.0);
    assert_eq!(merged["rescore"]["after"][&rs], 16.0);
    assert_eq!(app.score(&known).await, 16.0);

    // the history is the target's now, nothing lost; the source is marked merged
    let (_, events) = app
        .get(&format!("/v1/leads/{known}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 3);
    let (_, src) = app
        .get(&format!("/v1/leads/{visitor}"), &app.admin_token)
        .await;
    assert_eq!(src["lead"]["merged_into"], known.as_str());
    let (_, aliases) = app
        .get(&format!("/v1/leads/{known}/aliases"), &app.admin_token)
        .await;
    let kinds: Vec<&str> = aliases
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alias_kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"cookie") && kinds.contains(&"email"));
    // the visitor's cookie and its old id now reach the target
    let ack = event(
        &app,
        json!({"event_type": "Visit", "aliases": [{"alias_kind": "cookie", "raw_value": "ck-1"}]}),
    )
    .await;
    assert_eq!(ack["lead_id"], known.as_str());
    let ack = event(&app, json!({"event_type": "Visit", "lead_id": visitor})).await;
    assert_eq!(ack["lead_id"], known.as_str());
    let (_, found) = app
        .get("/v1/leads/lookup?kind=cookie&value=ck-1", &app.admin_token)
        .await;
    assert_eq!(found["lead_id"], known.as_str());
    // merging it again is a conflict; merged leads are not listed
    let (s, _) = app
        .post(
            "/v1/leads/merge",
            &app.admin_token,
            json!({"targetLeadId": known, "sourceLeadIds": [visitor]}),
        )
        .await;
    assert_eq!(s, 409);
    let (_, list) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(list["total"], 1);

    // keep_latest truncation keeps only the newest events
    let third = by_email(&app, "Demo", "third@example.com").await;
    let merged = ok(
        &app,
        Method::POST,
        "/v1/leads/merge",
        Some(json!({"targetLeadId": third, "sourceLeadIds": [known],
                    "truncate": {"policy": "keep_latest", "max_events": 2}})),
    )
    .await;
    assert_eq!(merged["truncatedEvents"], 4);
    let (_, events) = app
        .get(&format!("/v1/leads/{third}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 2);

    // a merged-away id reads as the lead its history went to (through both merges)
    let score = app.score(&third).await;
    assert!(score > 0.0, "{score}");
    let (_, record) = app
        .get(&format!("/v1/leads/{visitor}"), &app.admin_token)
        .await;
    assert_eq!(record["lead"]["merged_into"], known.as_str(), "{record}");
    assert_eq!(
        (&record["lead"]["score"], &record["lead"]["scores"]),
        (&json!(0.0), &json!({})),
        "a merged record holds no score: {record}"
    );
    let (_, s) = app
        .get(&format!("/v1/leads/{visitor}/score"), &app.admin_token)
        .await;
    assert_eq!(
        (s["lead_id"].as_str(), s["score"].as_f64()),
        (Some(third.as_str()), Some(score)),
        "{s}"
    );
    for path in ["events", "aliases"] {
        let (_, via_source) = app
            .get(&format!("/v1/leads/{visitor}/{path}"), &app.admin_token)
            .await;
        let (_, direct) = app
            .get(&format!("/v1/leads/{third}/{path}"), &app.admin_token)
            .await;
        assert_eq!(via_source, direct, "{path}");
    }
    let (_, why) = app
        .get(&format!("/v1/leads/{visitor}/why"), &app.admin_token)
        .await;
    assert_eq!(why["lead_id"], third.as_str(), "{why}");
    let (_, batch) = app
        .post(
            "/v1/leads/scores",
            &app.admin_token,
            json!({"lead_ids": [visitor, third, "nope"]}),
        )
        .await;
    assert_eq!(
        batch,
        json!([
            {"lead_id": visitor, "score": score, "found": true, "merged_into": third},
            {"lead_id": third, "score": score, "found": true},
            {"lead_id": "nope", "score": 0.0, "found": false},
        ])
    );
    let (_, whys) = app
        .get(
            &format!("/v1/leads/why?lead_ids={visitor},{third}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        whys["summaries"][&visitor], whys["summaries"][&third],
        "{whys}"
    );
    assert_eq!(
        whys["merged_into"],
        json!({ visitor.as_str(): third }),
        "{whys}"
    );
    // changes asked of it are refused, naming the lead it was merged into; nothing moves
    for (method, path, body) in [
        (
            Method::POST,
            format!("/v1/leads/{visitor}/reset-score"),
            json!({}),
        ),
        (
            Method::PATCH,
            format!("/v1/leads/{visitor}"),
            json!({"plan": "pro"}),
        ),
        (
            Method::PUT,
            format!("/v1/leads/{visitor}"),
            json!({"metadata": {"plan": "pro"}}),
        ),
        (
            Method::PUT,
            format!("/v1/leads/{visitor}/owner"),
            json!({"owner_id": null}),
        ),
        (Method::DELETE, format!("/v1/leads/{visitor}"), json!({})),
    ] {
        let (s, e) = app
            .call(app.req(method.clone(), &path, &app.admin_token).json(&body))
            .await;
        assert_eq!(s, 409, "{method} {path}: {e}");
        assert_eq!(e["error"]["details"]["merged_into"], known.as_str(), "{e}");
    }
    // in bulk too: refused as a whole, naming each merged-away id's target
    let (s, e) = app
        .post(
            "/v1/leads/bulk-owner",
            &app.admin_token,
            json!({"lead_ids": [third, visitor], "owner_id": null}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(
        e["error"]["details"]["merged_into"][&visitor],
        known.as_str(),
        "{e}"
    );
    assert_eq!(app.score(&third).await, score);
    let (_, record) = app
        .get(&format!("/v1/leads/{visitor}"), &app.admin_token)
        .await;
    assert!(record["lead"]["metadata"].get("plan").is_none(), "{record}");
    assert!(record["lead"]["owner_name"].is_null(), "{record}");
    // reads that name it by a filter or a dry run follow it too
    let (_, events) = app
        .get(&format!("/v1/events?lead_id={visitor}"), &app.admin_token)
        .await;
    let owners: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["lead_id"].as_str())
        .collect();
    assert!(
        !owners.is_empty() && owners.iter().all(|l| *l == third),
        "{events}"
    );
    let (_, dry) = app
        .post(
            "/v1/rules/test",
            &app.admin_token,
            json!({"lead_id": visitor, "rule": {"event_type": "Nothing", "weight": 1}}),
        )
        .await;
    assert_eq!(dry["current_score"].as_f64(), Some(score), "{dry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_zeroes_the_score_keeps_events_and_ignores_backfills() {
    let app = spawn_app().await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Demo", "weight": 10})),
    )
    .await;
    let lead = by_email(&app, "Demo", "reset@example.com").await;
    event(&app, json!({"event_type": "Demo", "lead_id": lead})).await;
    assert_eq!(app.score(&lead).await, 20.0);

    let mut sse = app.stream().await;
    let r = ok(
        &app,
        Method::POST,
        &format!("/v1/leads/{lead}/reset-score"),
        None,
    )
    .await;
    assert_eq!(r["status"], "ok");
    let prev: Vec<f64> = r["previous_scores"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(prev, vec![20.0]);
    assert_eq!(app.score(&lead).await, 0.0);
    // listeners hear the reset
    sse.until(std::time::Duration::from_secs(5), |s| {
        s.contains("\"cause\":\"reset\"")
    })
    .await;
    assert!(
        sse.seen.contains("\"before\":20.0") && sse.seen.contains("\"after\":0.0"),
        "{}",
        sse.seen
    );

    // events are kept, with a score_reset entry on the timeline
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 3);
    let entry = events
        .iter()
        .find(|e| e["event_type"] == "score_reset")
        .unwrap();
    assert_eq!(entry["system"], true);
    assert_eq!(entry["channel"], "system");
    let deltas: Vec<(f64, f64, f64)> = entry["deltas"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| {
            (
                d["before"].as_f64().unwrap(),
                d["after"].as_f64().unwrap(),
                d["delta"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(deltas, vec![(20.0, 0.0, -20.0)], "{entry}");

    // a backfill dated before the reset does not undo it; a new event counts
    let backfill = event(
        &app,
        json!({"event_type": "Demo", "lead_id": lead, "timestamp": "2026-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(backfill["deltas"][0]["delta"], 0.0);
    event(&app, json!({"event_type": "Demo", "lead_id": lead})).await;
    assert_eq!(app.score(&lead).await, 10.0);
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert!(l["lead"]["score_reset_at"].is_string());

    // a new actor (after the OU reloads) rebuilds the same state from the store
    let (s, _) = app
        .post(
            &format!("/v1/leads/{lead}/reset-score"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post("/v1/leads/nope/reset-score", &app.admin_token, json!({}))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_list_filter_sort_search_and_export() {
    let app = spawn_app().await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Demo", "weight": 10})),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Visit", "weight": 2})),
    )
    .await;
    for (name, min, max) in [("Cold", 0, 4), ("Warm", 5, 15), ("Hot", 16, 1000)] {
        ok(
            &app,
            Method::POST,
            "/v1/levels/engagement",
            Some(json!({"name": name, "min_score": min, "max_score": max})),
        )
        .await;
    }
    let hot = by_email(&app, "Demo", "hot@acme.com").await;
    event(&app, json!({"event_type": "Demo", "lead_id": hot})).await;
    let warm = by_email(&app, "Demo", "warm@acme.com").await;
    let cold = by_email(&app, "Visit", "cold@other.org").await;
    let quiet = ok(
        &app,
        Method::POST,
        "/v1/leads",
        Some(json!({"id": "quiet-1"})),
    )
    .await;
    // a lead without events scores 0 in every ruleset, as created, read and listed
    let (_, read) = app.get("/v1/leads/quiet-1", &app.admin_token).await;
    assert_eq!(quiet["scores"], read["lead"]["scores"], "{quiet} {read}");
    assert_eq!(
        quiet["scores"].as_object().map(|m| m.len()),
        Some(1),
        "{quiet}"
    );

    let (_, page) = app.get("/v1/leads", &app.admin_token).await;
    assert_eq!(page["leads"][3]["scores"], quiet["scores"], "{page}");
    let ids: Vec<&str> = page["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![hot.as_str(), warm.as_str(), cold.as_str(), "quiet-1"]
    );
    assert_eq!(
        (
            page["total"].as_u64(),
            page["page"].as_u64(),
            page["limit"].as_u64()
        ),
        (Some(4), Some(1), Some(50))
    );
    assert_eq!(page["leads"][0]["score"], 20.0);

    let ids_of = |v: &Value| -> Vec<String> {
        v["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, want) in [
        ("min_score=5&max_score=15", vec![warm.clone()]),
        (
            "min_score=1&sort_by=score&sort_order=asc",
            vec![cold.clone(), warm.clone(), hot.clone()],
        ),
        ("event_type=Visit", vec![cold.clone()]),
        ("last_active=7d&sort_by=id&sort_order=asc", {
            let mut v = vec![hot.clone(), warm.clone(), cold.clone()];
            v.sort();
            v
        }),
        ("range=today&min_score=15", vec![hot.clone()]),
        ("search=acme", vec![hot.clone(), warm.clone()]),
        ("page=2&limit=3", vec!["quiet-1".to_string()]),
        // level names, in any case
        ("engagement_level=warm", vec![warm.clone()]),
        ("engagement_level=HOT&min_score=1", vec![hot.clone()]),
        ("engagement_level=Lukewarm", vec![]),
    ] {
        let (s, r) = app
            .get(&format!("/v1/leads?{query}"), &app.admin_token)
            .await;
        assert_eq!(s, 200, "{query}: {r}");
        assert_eq!(ids_of(&r), want, "{query}");
    }
    for query in [
        "limit=0",
        "limit=501",
        "page=0",
        "range=forever",
        "last_active=soon",
        "sort_by=nope",
        "min_score=9&max_score=1",
        "min_score=NaN",
        "max_score=inf",
        "search=a",
        "bogus=1",
    ] {
        let (s, e) = app
            .get(&format!("/v1/leads?{query}"), &app.admin_token)
            .await;
        assert!(s == 400 || s == 422, "{query}: {s} {e}");
        assert!(e["error"]["code"].is_string(), "{query}: {e}");
    }

    // search: id prefix or alias text, at most 10
    let (_, found) = app.get("/v1/leads/search?q=quiet", &app.admin_token).await;
    assert_eq!(found[0]["id"], "quiet-1");
    let (_, found) = app.get("/v1/leads/search?q=COLD@", &app.admin_token).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], cold.as_str());
    let (s, _) = app.get("/v1/leads/search?q=x", &app.admin_token).await;
    assert_eq!(s, 422);
    // aliases keep their case (only emails are lower-cased); a search matches any case
    event(
        &app,
        json!({"event_type": "Visit", "aliases": [
            {"alias_kind": "email", "raw_value": "cold@other.org"},
            {"alias_kind": "external_id", "raw_value": "CRM-Zed9"}]}),
    )
    .await;
    for q in ["crm-zed9", "ZED9"] {
        let (_, found) = app
            .get(&format!("/v1/leads/search?q={q}"), &app.admin_token)
            .await;
        assert_eq!(found[0]["id"], cold.as_str(), "{q}: {found}");
        let (_, page) = app
            .get(&format!("/v1/leads?search={q}"), &app.admin_token)
            .await;
        assert_eq!(ids_of(&page), std::slice::from_ref(&cold), "{q}");
    }

    // export: CSV of the filtered list
    let res = app
        .req(
            Method::GET,
            "/v1/leads/export?search=acme",
            &app.admin_token,
        )
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("lead_id,alias,engagement_score"));
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with(&format!("{hot},hot@acme.com,20")),
        "{csv}"
    );
    // the export takes the list's filters, levels included
    let csv = app.text("/v1/leads/export?engagement_level=Warm").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].starts_with(&format!("{warm},warm@acme.com,10")),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_owner_aliases_lookup_and_delete() {
    let app = spawn_app().await;
    let lead = by_email(&app, "Visit", "pat@example.com").await;
    ok(
        &app,
        Method::PUT,
        "/v1/settings/scoring",
        Some(json!({"abm_enabled": true})),
    )
    .await;
    let mut accounts = Vec::new();
    for (name, domain) in [("Acme", "acme.com"), ("Globex", "globex.com")] {
        let a = ok(
            &app,
            Method::POST,
            "/v1/accounts",
            Some(json!({"name": name, "domain": domain})),
        )
        .await;
        accounts.push(a["account_id"].as_str().unwrap().to_string());
    }
    let (acct_1, acct_9) = (accounts[0].as_str(), accounts[1].as_str());

    // a lead cannot point at an account the OU does not have
    let (s, e) = app
        .call(
            app.req(Method::PUT, &format!("/v1/leads/{lead}"), &app.admin_token)
                .json(&json!({"metadata": {"plan": "Pro"}, "account_id": "acct_nope"})),
        )
        .await;
    assert_eq!(
        (s, e["error"]["details"]["field"].as_str()),
        (422, Some("account_id")),
        "{e}"
    );
    let (s, _) = app
        .post(
            "/v1/leads",
            &app.admin_token,
            json!({"id": "orphan", "account_id": "acct_nope"}),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app.get("/v1/leads/orphan", &app.admin_token).await;
    assert_eq!(s, 404, "nothing was created");

    // PUT replaces metadata; PATCH merges and a null removes a key
    let l = ok(
        &app,
        Method::PUT,
        &format!("/v1/leads/{lead}"),
        Some(json!({"metadata": {"plan": "Pro", "seats": 5}, "account_id": acct_1})),
    )
    .await;
    assert_eq!(l["metadata"], json!({"plan": "Pro", "seats": 5}));
    assert_eq!(l["account_id"], acct_1);
    let l = ok(
        &app,
        Method::PATCH,
        &format!("/v1/leads/{lead}"),
        Some(json!({"industry": "SaaS", "seats": null})),
    )
    .await;
    assert_eq!(l["metadata"], json!({"plan": "Pro", "industry": "SaaS"}));
    assert_eq!(l["account_id"], acct_1);
    let l = ok(
        &app,
        Method::PUT,
        &format!("/v1/leads/{lead}"),
        Some(json!({"metadata": {}, "account_id": null})),
    )
    .await;
    assert!(l["account_id"].is_null());
    let (s, _) = app
        .call(
            app.req(Method::PUT, &format!("/v1/leads/{lead}"), &app.admin_token)
                .json(&json!({"metadata": "nope"})),
        )
        .await;
    assert_eq!(s, 422);
    // metadata keys are checked as update-by-alias checks them, on every way in
    for (method, path, body, field) in [
        (
            Method::PATCH,
            format!("/v1/leads/{lead}"),
            json!({"bad/key": 1}),
            "metadata.bad/key",
        ),
        (
            Method::PUT,
            format!("/v1/leads/{lead}"),
            json!({"metadata": {"": 1}}),
            "metadata.",
        ),
        (
            Method::POST,
            "/v1/leads".to_string(),
            json!({"metadata": {"k".repeat(65): 1}}),
            "",
        ),
    ] {
        let (s, e) = app
            .call(app.req(method.clone(), &path, &app.admin_token).json(&body))
            .await;
        assert_eq!(s, 422, "{method} {body}: {e}");
        assert!(
            e["error"]["details"]["field"]
                .as_str()
                .is_some_and(|f| f.starts_with("metadata.") && f.contains(field)),
            "{e}"
        );
    }
    let (s, _) = app
        .call(
            app.req(Method::PATCH, "/v1/leads/missing", &app.admin_token)
                .json(&json!({"a": 1})),
        )
        .await;
    assert_eq!(s, 404);
    // metadata may not grow past 100 KB key by key: each patch fits, their sum does not
    let sixty_kb = "x".repeat(60 * 1024);
    let patch = |body: serde_json::Value| {
        app.req(
            Method::PATCH,
            &format!("/v1/leads/{lead}"),
            &app.admin_token,
        )
        .json(&body)
    };
    let (s, _) = app.call(patch(json!({ "notes_a": sixty_kb }))).await;
    assert_eq!(s, 200);
    let (s, e) = app.call(patch(json!({ "notes_b": sixty_kb }))).await;
    assert_eq!((s, TestApp::error_code(&e)), (413, "payload_too_large"));
    let (s, e) = app
        .post(
            "/v1/leads/update-by-alias",
            &app.admin_token,
            json!({"alias_value": "pat@example.com", "attributes": { "notes_b": sixty_kb }}),
        )
        .await;
    assert_eq!((s, TestApp::error_code(&e)), (413, "payload_too_large"));
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert!(
        l["lead"]["metadata"].get("notes_b").is_none(),
        "nothing changed"
    );
    // replacing the big key, or removing it, is fine
    let (s, l) = app
        .call(patch(json!({ "notes_a": null, "notes_b": sixty_kb })))
        .await;
    assert_eq!(s, 200, "{l}");
    let (s, _) = app.call(patch(json!({ "notes_b": null }))).await;
    assert_eq!(s, 200);

    // update-by-alias merges attributes silently (no timeline entry) and links accounts
    let r = ok(&app, Method::POST, "/v1/leads/update-by-alias",
        Some(json!({"alias_value": "PAT@example.com", "attributes": {"title": "CTO"}, "account_id": acct_9}))).await;
    assert_eq!(
        (
            r["lead_id"].as_str(),
            r["updated"].as_u64(),
            r["account_linked"].as_bool()
        ),
        (Some(lead.as_str()), Some(1), Some(true))
    );
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 1);
    for body in [
        json!({"alias_value": "pat@example.com"}),
        json!({"alias_value": "pat@example.com", "attributes": {"bad/key": 1}}),
        json!({"alias_value": "not-an-email", "attributes": {"a": 1}}),
    ] {
        let (s, e) = app
            .post("/v1/leads/update-by-alias", &app.admin_token, body.clone())
            .await;
        assert_eq!(s, 422, "{body}: {e}");
    }
    let (s, _) = app
        .post(
            "/v1/leads/update-by-alias",
            &app.admin_token,
            json!({"alias_value": "nobody@example.com", "attributes": {"a": 1}}),
        )
        .await;
    assert_eq!(s, 404);
    let (_, found) = app
        .get("/v1/leads/lookup?value=pat@example.com", &app.admin_token)
        .await;
    assert_eq!(found["email"], "pat@example.com");
    assert_eq!(found["metadata"]["title"], "CTO");

    // owners must be members of the org; the name defaults to the member's
    let (member_id, _) = app.member("rep@example.com", "member").await;
    let r = ok(
        &app,
        Method::PUT,
        &format!("/v1/leads/{lead}/owner"),
        Some(json!({"owner_id": member_id})),
    )
    .await;
    assert_eq!(r["message"], "owner assigned");
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert_eq!(
        (
            l["lead"]["owner_id"].as_str(),
            l["lead"]["owner_name"].as_str()
        ),
        (Some(member_id.as_str()), Some("T User"))
    );
    let (s, e) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/leads/{lead}/owner"),
                &app.admin_token,
            )
            .json(&json!({"owner_id": "om_unknown"})),
        )
        .await;
    assert_eq!(
        (s, e["error"]["details"]["field"].as_str()),
        (422, Some("owner_id"))
    );
    // a body that names no owner unassigns nothing
    for (method, path, body) in [
        (Method::PUT, format!("/v1/leads/{lead}/owner"), json!({})),
        (
            Method::PUT,
            format!("/v1/leads/{lead}/owner"),
            json!({"owner_name": "Someone"}),
        ),
        (
            Method::POST,
            "/v1/leads/bulk-owner".to_string(),
            json!({"lead_ids": [lead]}),
        ),
        // an empty id is no owner (and no server error)
        (
            Method::PUT,
            format!("/v1/leads/{lead}/owner"),
            json!({"owner_id": ""}),
        ),
        (
            Method::POST,
            "/v1/leads/bulk-owner".to_string(),
            json!({"lead_ids": [lead], "owner_id": ""}),
        ),
    ] {
        let (s, e) = app
            .call(app.req(method, &path, &app.admin_token).json(&body))
            .await;
        assert_eq!(
            (s, e["error"]["details"]["field"].as_str()),
            (422, Some("owner_id")),
            "{body}: {e}"
        );
    }
    // a name for nobody would be dropped: refused
    let (s, e) = app
        .call(
            app.req(
                Method::PUT,
                &format!("/v1/leads/{lead}/owner"),
                &app.admin_token,
            )
            .json(&json!({"owner_id": null, "owner_name": "Bob"})),
        )
        .await;
    assert_eq!(
        (s, e["error"]["details"]["field"].as_str()),
        (422, Some("owner_name")),
        "{e}"
    );
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert_eq!(l["lead"]["owner_id"].as_str(), Some(member_id.as_str()));
    let other = by_email(&app, "Visit", "other@example.com").await;
    let r = ok(&app, Method::POST, "/v1/leads/bulk-owner",
        Some(json!({"lead_ids": [lead, other, "missing", other], "owner_id": member_id, "owner_name": "Rep One"}))).await;
    assert_eq!(r["affected"], 2);
    let r = ok(
        &app,
        Method::POST,
        "/v1/leads/bulk-owner",
        Some(json!({"lead_ids": [lead], "owner_id": null})),
    )
    .await;
    assert_eq!(r["affected"], 1);
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert!(l["lead"]["owner_id"].is_null());
    let too_many: Vec<String> = (0..501).map(|i| format!("l{i}")).collect();
    let (s, _) = app
        .post(
            "/v1/leads/bulk-owner",
            &app.admin_token,
            json!({"lead_ids": too_many}),
        )
        .await;
    assert_eq!(s, 422);

    // a viewer reads but cannot change
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, _) = app.get(&format!("/v1/leads/{lead}/aliases"), &viewer).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call(app.req(Method::DELETE, &format!("/v1/leads/{lead}"), &viewer))
        .await;
    assert_eq!(s, 403);

    // delete takes the lead, its aliases and events; the status says so
    let (s, gone) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/leads/{lead}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 200, "{gone}");
    assert_eq!(
        (
            gone["status"].as_str(),
            gone["deleted_events"].as_u64(),
            gone["deleted_aliases"].as_u64()
        ),
        (Some("completed"), Some(1), Some(1))
    );
    let (s, st) = app
        .get(
            &format!("/v1/leads/{lead}/deletion-status"),
            &app.admin_token,
        )
        .await;
    assert_eq!((s, st["status"].as_str()), (200, Some("completed")));
    let (s, _) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get(
            &format!("/v1/leads/{other}/deletion-status"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, 404);
    // the alias is free again: it makes a new lead
    let again = by_email(&app, "Visit", "pat@example.com").await;
    assert_ne!(again, lead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_why_batch_why_and_shared_links() {
    let app = spawn_app().await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Demo", "weight": 10, "half_life_days": 7})),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Visit", "weight": 2})),
    )
    .await;
    let lead = by_email(&app, "Visit", "why@example.com").await;
    event(&app, json!({"event_type": "Visit", "lead_id": lead})).await;
    event(&app, json!({"event_type": "Visit", "lead_id": lead})).await;
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(7)).to_rfc3339();
    event(
        &app,
        json!({"event_type": "Demo", "lead_id": lead, "timestamp": week_ago}),
    )
    .await;
    event(&app, json!({"event_type": "Webinar", "lead_id": lead})).await;

    // three visits in one session: 2 + 2 + 2.5 (surge), and a Demo a half-life ago: 5
    let (s, x) = app
        .get(&format!("/v1/leads/{lead}/explain"), &app.admin_token)
        .await;
    assert_eq!(s, 200, "{x}");
    assert_eq!(x["score"], 11.5);
    assert_eq!(x["range_hours"], 24);
    assert_eq!(x["top_drivers"][0]["event_type"], "Visit");
    assert_eq!(x["top_drivers"][0]["points"], 6.5);
    assert_eq!(
        x["top_drivers"].as_array().unwrap().len(),
        1,
        "the Demo is outside 24 h"
    );
    assert_eq!(
        (x["surge_event_count"].as_u64(), x["surge_total"].as_f64()),
        (Some(1), Some(0.5))
    );
    assert_eq!(x["decay_applied"], 5.0);
    assert_eq!(
        (
            &x["inorganic_count"],
            &x["suppressed_count"],
            &x["unscored_count"]
        ),
        (&json!(0), &json!(0), &json!(1))
    );
    assert_eq!(x["snapshot"].as_array().unwrap().len(), 2);
    let (_, x) = app
        .get(
            &format!("/v1/leads/{lead}/explain?hours=200"),
            &app.admin_token,
        )
        .await;
    assert_eq!(x["top_drivers"].as_array().unwrap().len(), 2);
    for q in ["hours=0", "hours=x", "ruleset_id=rs_nope"] {
        let (s, _) = app
            .get(&format!("/v1/leads/{lead}/explain?{q}"), &app.admin_token)
            .await;
        assert!(s == 422 || s == 404, "{q}: {s}");
    }

    let (_, why) = app
        .get(&format!("/v1/leads/{lead}/why"), &app.admin_token)
        .await;
    assert_eq!(
        why["summary"],
        "Score 11.50: 3 \"Visit\" events (6.50 pts) and 1 \"Demo\" event (5 pts)."
    );
    assert_eq!(why["factors"][0]["share"], 0.57);
    assert_eq!(why["disqualified"], false);

    // batch: a fixed number of store queries whatever N; other OUs' ids are missing
    let (_, _, other) = app.second_org().await;
    let (_, theirs) = app.post("/v1/leads", &other, json!({"id": "theirs"})).await;
    assert_eq!(theirs["id"], "theirs");
    let mut many = vec![lead.clone()];
    for i in 0..30 {
        many.push(by_email(&app, "Visit", &format!("m{i}@example.com")).await);
    }
    let count = |ids: String| {
        let app = &app;
        async move {
            let before = app.core.store.query_count();
            let (s, r) = app
                .get(&format!("/v1/leads/why?lead_ids={ids}"), &app.admin_token)
                .await;
            assert_eq!(s, 200, "{r}");
            (app.core.store.query_count() - before, r)
        }
    };
    let (one, r) = count(format!("{lead},theirs,{lead}")).await;
    assert_eq!(r["missing"], json!(["theirs"]));
    assert_eq!(r["summaries"][&lead], why["summary"]);
    let (thirty_one, r) = count(many.join(",")).await;
    assert_eq!(r["summaries"].as_object().unwrap().len(), 31);
    assert_eq!(one, thirty_one, "queries must not grow with N");
    assert!(one <= 8, "{one} queries");
    let (_, empty) = app.get("/v1/leads/why?lead_ids=", &app.admin_token).await;
    assert_eq!(empty, json!({"summaries": {}, "missing": []}));
    let too_many: Vec<String> = (0..201).map(|i| format!("l{i}")).collect();
    let (s, _) = app
        .get(
            &format!("/v1/leads/why?lead_ids={}", too_many.join(",")),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, 422);

    // shared links: public, 7 days, 404 unknown, 410 expired
    let (s, link) = app
        .post(
            &format!("/v1/leads/{lead}/share-explain"),
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{link}");
    let token = link["token"].as_str().unwrap();
    assert!(link["share_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v1/public/explain/{token}")));
    let public = app
        .client
        .get(app.url(&format!("/v1/public/explain/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 200);
    let public: Value = public.json().await.unwrap();
    assert_eq!(
        (public["lead_name"].as_str(), public["score"].as_f64()),
        (Some("why@example.com"), Some(11.5))
    );
    let unknown = app
        .client
        .get(app.url("/v1/public/explain/shx_nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    app.core
        .store
        .create_share_link(
            &leadwire_models::auth::hash_secret("shx_old"),
            "org",
            &app.ou_id,
            &lead,
            "someone",
            "2026-01-01T00:00:00.000000Z",
        )
        .await
        .unwrap();
    let expired = app
        .client
        .get(app.url("/v1/public/explain/shx_old"))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 410);
    let (s, _) = app
        .post("/v1/leads/nope/share-explain", &app.admin_token, json!({}))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_filters_events_and_shows_the_timeline() {
    let app = spawn_app().await;
    ok(
        &app,
        Method::POST,
        "/v1/rules",
        Some(json!({"event_type": "Demo", "weight": 10})),
    )
    .await;
    let lead = by_email(&app, "Demo", "act@example.com").await;
    event(
        &app,
        json!({"event_type": "Open", "lead_id": lead, "metadata": {"channel": "email"}}),
    )
    .await;
    let old = (chrono::Utc::now() - chrono::Duration::days(20)).to_rfc3339();
    event(
        &app,
        json!({"event_type": "Demo", "lead_id": lead, "timestamp": old}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        &format!("/v1/leads/{lead}/reset-score"),
        None,
    )
    .await;

    let types = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_type"].as_str().unwrap().to_string())
            .collect()
    };
    // default: the last 7 days, newest first, the reset on the timeline
    let (s, a) = app
        .get(&format!("/v1/leads/{lead}/activity"), &app.admin_token)
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(types(&a, "events"), vec!["score_reset", "Open", "Demo"]);
    assert_eq!(a["timeline"][0]["kind"], "score_reset");
    // the reset took the 20 points the two demos had earned
    assert_eq!(a["timeline"][0]["score_delta"], -20.0, "{a}");
    assert_eq!(a["timeline"][2]["score_delta"], 10.0);
    assert_eq!(a["orders"], json!([]));
    for (q, want) in [
        ("range=all", vec!["score_reset", "Open", "Demo", "Demo"]),
        ("range=all&channel=email", vec!["Open"]),
        ("range=all&hasDelta=1", vec!["score_reset", "Demo", "Demo"]),
        (
            "range=all&hasDelta=false",
            vec!["score_reset", "Open", "Demo", "Demo"],
        ),
        ("range=all&minScore=5", vec!["score_reset", "Demo", "Demo"]),
        (
            "range=all&maxLatency=60000",
            vec!["score_reset", "Open", "Demo"],
        ),
    ] {
        let (s, a) = app
            .get(&format!("/v1/leads/{lead}/activity?{q}"), &app.admin_token)
            .await;
        assert_eq!(s, 200, "{q}: {a}");
        assert_eq!(types(&a, "events"), want, "{q}");
    }
    let start = (chrono::Utc::now() - chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M:%SZ");
    let end = (chrono::Utc::now() - chrono::Duration::days(10)).format("%Y-%m-%dT%H:%M:%SZ");
    let (_, a) = app
        .get(
            &format!("/v1/leads/{lead}/activity?range=custom&start={start}&end={end}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(types(&a, "events"), vec!["Demo"]);
    for q in [
        "range=custom",
        "range=forever",
        "channel=fax",
        "minScore=-1",
        "minScore=NaN",
        "maxLatency=0",
        "hasDelta=maybe",
    ] {
        let (s, _) = app
            .get(&format!("/v1/leads/{lead}/activity?{q}"), &app.admin_token)
            .await;
        assert_eq!(s, 422, "{q}");
    }
    let (s, _) = app.get("/v1/leads/nope/activity", &app.admin_token).await;
    assert_eq!(s, 404);
}
