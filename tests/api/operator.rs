use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_root() {
    let app = spawn_app().await;
    let (s, b) = app.call(app.client.get(app.url("/healthz"))).await;
    assert_eq!((s, b), (200, json!({ "status": "ok" })));
    let (s, b) = app.call(app.client.get(app.url("/readyz"))).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    let (s, b) = app.call(app.client.get(app.url("/"))).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    let html = app
        .client
        .get(app.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<h1>Leadwire</h1>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_show_seed_series() {
    let app = spawn_app().await;
    let _ = app.get("/v1/auth/me", &app.admin_token).await;
    let _ = app.get("/v1/auth/me", "bad").await;
    let text = app.metrics().await;
    for needle in [
        "events_ingested_total 0",
        "queue_depth 0",
        "routing_predictions_total{trigger=\"lead_created\"} 0",
        "routing_reactor_backlog 0",
        "# TYPE event_to_notification_latency_seconds histogram",
        "http_requests_total{method=\"GET\",status=\"401\"} 1",
        "http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    let ok = text
        .lines()
        .find(|l| l.starts_with("http_requests_total{method=\"GET\",status=\"200\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(ok >= 1, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_refuses_with_retry_after_and_reports_itself() {
    let mut config = leadwire::Config::for_tests();
    config.rate_limit.rps = 0.5;
    config.rate_limit.burst = 5;
    let app = spawn_with(config).await;
    // login itself took one token of the IP bucket; the member bucket is fresh
    let (s, rl) = app.get("/v1/me/rate-limit", &app.admin_token).await;
    assert_eq!(s, 200);
    assert_eq!(rl["enabled"], true);
    assert_eq!(rl["mode"], "enforce");
    assert_eq!(rl["key_by"], "member");
    assert_eq!(rl["burst"], 5);
    assert!(rl["key"].as_str().unwrap().starts_with("member:om_"));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = app
            .req(Method::GET, "/v1/auth/me", &app.admin_token)
            .send()
            .await
            .unwrap();
        statuses.push((
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string()),
        ));
    }
    assert_eq!(
        statuses.iter().filter(|(s, _)| *s == 200).count(),
        4,
        "{statuses:?}"
    );
    let (s, retry) = statuses.last().unwrap().clone();
    assert_eq!(s, 429);
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // guessing credentials spends the IP's tokens: refused with 429 once they are gone
    let mut guesses = Vec::new();
    for _ in 0..6 {
        guesses.push(app.get("/v1/auth/me", "not-a-valid-jwt").await.0);
    }
    assert_eq!(
        guesses.iter().filter(|s| **s == 401).count(),
        4,
        "{guesses:?}"
    );
    assert_eq!(guesses.last(), Some(&429));
    // health checks are never limited
    for _ in 0..10 {
        assert_eq!(app.call(app.client.get(app.url("/healthz"))).await.0, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_records_mutations_with_filters_and_sorts() {
    let app = spawn_app().await;
    let _ = app
        .post(
            "/v1/settings/credentials",
            &app.admin_token,
            json!({ "name": "one" }),
        )
        .await;
    let _ = app
        .post(
            "/v1/settings/credentials",
            &app.admin_token,
            json!({ "name": "" }),
        )
        .await; // 422
    let _ = app.get("/v1/settings/credentials", &app.admin_token).await; // not audited
    let (_, bob) = app.ou_member("bob@example.com", "Operator").await;
    let _ = app
        .post("/v1/settings/credentials", &bob, json!({ "name": "bobs" }))
        .await;
    let (s, page) = app.get("/v1/admin/audit-logs", &app.admin_token).await;
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    let creds: Vec<&Value> = items
        .iter()
        .filter(|e| e["path"] == "/v1/settings/credentials")
        .collect();
    assert_eq!(creds.len(), 3, "{page}");
    assert!(items.iter().all(|e| e["method"] != "GET"));
    let newest = &creds[0];
    assert_eq!(newest["user_email"], "bob@example.com");
    assert_eq!(newest["status"], 201);
    assert_eq!(newest["ip"], "127.0.0.1");
    assert!(newest["latency_ms"].as_f64().unwrap() >= 0.0);
    let (_, f) = app
        .get(
            "/v1/admin/audit-logs?status_min=400&status_max=499",
            &app.admin_token,
        )
        .await;
    assert_eq!(f["items"].as_array().unwrap().len(), 1);
    assert_eq!(f["items"][0]["status"], 422);
    let (_, f) = app
        .get(
            "/v1/admin/audit-logs?user_email=bob@example.com",
            &app.admin_token,
        )
        .await;
    assert_eq!(f["total"], 1);
    let (_, f) = app
        .get("/v1/admin/audit-logs?search=BOB", &app.admin_token)
        .await;
    assert_eq!(f["total"], 1);
    let (_, f) = app
        .get("/v1/admin/audit-logs?method=DELETE", &app.admin_token)
        .await;
    assert_eq!(f["total"], 0);
    let (_, f) = app
        .get(
            "/v1/admin/audit-logs?sort_by=status&sort_order=ASC&limit=1",
            &app.admin_token,
        )
        .await;
    assert_eq!(f["items"].as_array().unwrap().len(), 1);
    assert_eq!(f["items"][0]["status"], 201);
    assert_eq!(f["limit"], 1);
    let (_, f) = app
        .get(
            "/v1/admin/audit-logs?sort_by=status&sort_order=DESC",
            &app.admin_token,
        )
        .await;
    assert_eq!(f["items"][0]["status"], 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_surrealkv_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, base, out) = start_binary(dir.path()).await;
    assert!(
        out.contains(&format!("admin email: {ADMIN_EMAIL}")),
        "{out}"
    );
    for what in ["REST", "GraphQL", "MCP", "Metrics"] {
        assert!(out.contains(what), "{out}");
    }
    let client = reqwest::Client::new();
    let jwt = first_login(&client, &base, &out).await;
    let t: Value = client
        .post(format!("{base}/v1/settings/tokens"))
        .bearer_auth(&jwt)
        .json(&json!({ "name": "persist" }))
        .into_json()
        .await;
    let pat = t["token"].as_str().unwrap().to_string();
    let r = client
        .post(format!("{base}/v1/org-units"))
        .bearer_auth(&jwt)
        .json(&json!({ "name": "Kept" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // acknowledged means durable: kill without a graceful shutdown
    first.kill().await.unwrap();
    let _ = first.wait().await;

    // the admin commands work on the stopped server's data
    let ou_id = out
        .split("with org unit ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("ou id")
        .to_string();
    let admin = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_leadwire"))
            .args(args)
            .env(
                "LEADWIRE_DB",
                format!("surrealkv://{}", dir.path().join("data").display()),
            )
            .env("RUST_LOG", "warn")
            .output()
            .expect("cli runs")
    };
    let created = admin(&[
        "admin",
        "create-member",
        "--email",
        "cli@example.com",
        "--password",
        "password-123",
        "--ou",
        &ou_id,
        "--ou-role",
        "Operator",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = admin(&[
        "admin",
        "create-token",
        "--email",
        "cli@example.com",
        "--name",
        "cli",
    ]);
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let cli_pat = String::from_utf8(token.stdout).unwrap().trim().to_string();
    assert!(cli_pat.starts_with("lw_pat_"), "{cli_pat}");
    let bad = admin(&["admin", "create-token", "--email", "nobody@example.com"]);
    assert!(!bad.status.success());
    let migrate = admin(&["migrate"]);
    assert!(String::from_utf8_lossy(&migrate.stdout).contains(&format!(
        "database is at migration {}",
        leadwire_store::MIGRATIONS.len()
    )));

    let (_second, base, out) = start_binary(dir.path()).await;
    assert!(
        !out.contains("admin password"),
        "no second bootstrap: {out}"
    );
    let me = client
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me = client
        .get(format!("{base}/v1/auth/me"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the JWT secret survives the restart");
    let units: Value = client
        .get(format!("{base}/v1/org-units"))
        .bearer_auth(&pat)
        .into_json()
        .await;
    assert_eq!(units["units"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_surrealkv_finds_every_acknowledged_event_and_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, base, out) = start_binary(dir.path()).await;
    let client = reqwest::Client::new();
    let jwt = first_login(&client, &base, &out).await;
    for (t, w, hl) in [("Demo", 10, json!(null)), ("Visit", 3, json!(30))] {
        let r = client
            .post(format!("{base}/v1/rules"))
            .bearer_auth(&jwt)
            .json(&json!({"event_type": t, "weight": w, "half_life_days": hl}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // many concurrent single events over 10 leads, and a batch
    let mut acked: Vec<(String, String)> = Vec::new();
    let sends = (0..60).map(|i| {
        let client = client.clone();
        let (base, jwt) = (base.clone(), jwt.clone());
        async move {
            let body = json!({
                "event_type": if i % 3 == 0 { "Demo" } else { "Visit" },
                "aliases": [{"alias_kind": "email", "raw_value": format!("p{}@example.com", i % 10)}],
            });
            let r = client
                .post(format!("{base}/v1/events"))
                .bearer_auth(&jwt)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: Value = r.json().await.unwrap();
            (
                v["metadata"]["event_id"].as_str().unwrap().to_string(),
                v["metadata"]["lead_id"].as_str().unwrap().to_string(),
            )
        }
    });
    acked.extend(futures::future::join_all(sends).await);
    let batch: Vec<Value> = (0..40)
        .map(|i| json!({"event_type": "Visit", "aliases": [{"alias_kind": "cookie", "raw_value": format!("c{}", i % 5)}]}))
        .collect();
    let r: Value = client
        .post(format!("{base}/v1/events/batch"))
        .bearer_auth(&jwt)
        .json(&json!({ "events": batch }))
        .into_json()
        .await;
    assert_eq!(r["accepted"], 40, "{r}");
    for item in r["items"].as_array().unwrap() {
        acked.push((
            item["result"]["event_id"].as_str().unwrap().to_string(),
            item["result"]["lead_id"].as_str().unwrap().to_string(),
        ));
    }
    // an event with a client's key: after the restart its retry is still a duplicate
    let keyed = json!({"event_type": "Demo", "idempotency_key": "k-restart",
        "aliases": [{"alias_kind": "email", "raw_value": "p0@example.com"}]});
    let r: Value = client
        .post(format!("{base}/v1/events"))
        .bearer_auth(&jwt)
        .json(&keyed)
        .into_json()
        .await;
    let keyed_id = r["metadata"]["event_id"].as_str().unwrap().to_string();
    acked.push((
        keyed_id.clone(),
        r["metadata"]["lead_id"].as_str().unwrap().to_string(),
    ));
    let mut leads: Vec<String> = acked.iter().map(|(_, l)| l.clone()).collect();
    leads.sort();
    leads.dedup();
    assert_eq!(leads.len(), 15);
    let scores_of = |base: String, jwt: String, leads: Vec<String>| {
        let client = client.clone();
        async move {
            let mut out = Vec::new();
            for l in leads {
                let v: Value = client
                    .get(format!("{base}/v1/leads/{l}"))
                    .bearer_auth(&jwt)
                    .into_json()
                    .await;
                out.push((l, v["lead"]["scores"].clone()));
            }
            out
        }
    };
    let before = scores_of(base.clone(), jwt.clone(), leads.clone()).await;
    // acknowledged means durable: kill without a graceful shutdown
    first.kill().await.unwrap();
    let _ = first.wait().await;

    let (_second, base, _) = start_binary(dir.path()).await;
    let mut stored = Vec::new();
    for l in &leads {
        let events: Value = client
            .get(format!("{base}/v1/leads/{l}/events"))
            .bearer_auth(&jwt)
            .into_json()
            .await;
        for e in events.as_array().unwrap() {
            stored.push((
                e["event_id"].as_str().unwrap().to_string(),
                e["lead_id"].as_str().unwrap().to_string(),
            ));
        }
    }
    stored.sort();
    acked.sort();
    assert_eq!(stored, acked, "every acknowledged event, on its lead");
    let after = scores_of(base.clone(), jwt.clone(), leads.clone()).await;
    // the 30-day half-life moves scores by far less than a cent between the two reads
    assert_eq!(before, after);
    // the lead's actor is new and knows the key from the store
    let r = client
        .post(format!("{base}/v1/events"))
        .bearer_auth(&jwt)
        .json(&keyed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (
            v["metadata"]["event_id"].as_str(),
            &v["metadata"]["duplicate"]
        ),
        (Some(keyed_id.as_str()), &json!(true))
    );
    assert_eq!(scores_of(base, jwt, leads).await, after);
}
