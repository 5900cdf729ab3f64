//! Event queries end to end: list with metadata filters, explain, types, properties,
//! channels, export, batch delete (which rescores).

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_list_filter_explain_export_and_delete() {
    let app = spawn_app().await;
    let (s, _) = app
        .post(
            "/v1/rules",
            &app.admin_token,
            json!({"event_type": "Demo", "weight": 10}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            "/v1/rules",
            &app.admin_token,
            json!({"event_type": "Webinar", "weight": 4}),
        )
        .await;
    assert_eq!(s, 201);
    let mut ids = Vec::new();
    for (i, (t, meta)) in [
        ("Demo", json!({"utm_campaign": "fall", "seats": 5})),
        (
            "Page View",
            json!({"utm_campaign": "spring", "page": "/pricing"}),
        ),
        (
            "Demo",
            json!({"utm_campaign": "fall", "seats": 10, "channel": "email"}),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (s, r) = app
            .post(
                "/v1/events",
                &app.admin_token,
                json!({"event_type": t, "metadata": meta,
                       "aliases": [{"alias_kind": "email", "raw_value": "ev@example.com"}],
                       "timestamp": format!("2026-11-2{i}T10:00:00Z")}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        ids.push(r["metadata"]["event_id"].as_str().unwrap().to_string());
    }
    let lead = {
        let (_, r) = app
            .get(&format!("/v1/events/{}/explain", ids[0]), &app.admin_token)
            .await;
        r["lead_id"].as_str().unwrap().to_string()
    };
    let ids_of = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, want) in [
        ("", vec![2, 1, 0]),
        ("?metadata=utm_campaign:fall", vec![2, 0]),
        ("?metadata=utm_campaign:fall&metadata=seats:5", vec![0]),
        (
            "?metadata=utm_campaign:spring&metadata=seats:10&logic=or",
            vec![2, 1],
        ),
        ("?event_type=Page%20View", vec![1]),
        ("?limit=1&page=2", vec![1]),
    ] {
        let (s, r) = app
            .get(&format!("/v1/events{query}"), &app.admin_token)
            .await;
        assert_eq!(s, 200, "{query}: {r}");
        let want: Vec<String> = want.into_iter().map(|i| ids[i].clone()).collect();
        assert_eq!(ids_of(&r), want, "{query}");
    }
    for query in ["?metadata=nocolon", "?logic=xor", "?limit=0", "?bogus=1"] {
        let (s, e) = app
            .get(&format!("/v1/events{query}"), &app.admin_token)
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (422, Some("validation_failed")),
            "{query}"
        );
    }

    // explain: the third event was the second Demo in a session of one per day
    let (s, ex) = app
        .get(&format!("/v1/events/{}/explain", ids[2]), &app.admin_token)
        .await;
    assert_eq!(s, 200, "{ex}");
    assert_eq!(ex["rulesets"][0]["before"], 10.0);
    assert_eq!(ex["rulesets"][0]["after"], 20.0);
    assert_eq!(
        (ex["total_before"].as_f64(), ex["total_after"].as_f64()),
        (Some(10.0), Some(20.0))
    );
    let (s, _) = app
        .get("/v1/events/ev_nope/explain", &app.admin_token)
        .await;
    assert_eq!(s, 404);
    let (_, _, other) = app.second_org().await;
    let (s, _) = app
        .get(&format!("/v1/events/{}/explain", ids[0]), &other)
        .await;
    assert_eq!(s, 404);
    let (_, theirs) = app.get("/v1/events", &other).await;
    assert_eq!(theirs, json!([]));

    // types (events and rules), properties, channels
    let (_, types) = app.get("/v1/event-types", &app.admin_token).await;
    assert_eq!(types, json!(["Demo", "Page View", "Webinar"]));
    let (_, props) = app
        .get("/v1/event-types/Demo/properties", &app.admin_token)
        .await;
    assert_eq!(
        props["properties"],
        json!(["channel", "seats", "utm_campaign"])
    );
    let (_, channels) = app.get("/v1/channels", &app.admin_token).await;
    assert_eq!(channels, json!(["email", "web"]));

    // export
    let csv = app
        .text("/v1/events/export?metadata=utm_campaign:fall")
        .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,lead_id,event_type,timestamp,channel,metadata");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with(&format!("{},{lead},Demo,2026-11-22T10:00:00", ids[2])));
    for (q, field) in [
        ("limit=0", "limit"),
        ("page=0", "page"),
        ("limit=5000", "limit"),
    ] {
        for path in ["/v1/events/export", "/v1/leads/export"] {
            let (s, r) = app.get(&format!("{path}?{q}"), &app.admin_token).await;
            assert_eq!(
                (s, r["error"]["details"]["field"].as_str()),
                (422, Some(field)),
                "{path}?{q}: {r}"
            );
        }
    }

    // batch delete rescores the lead without the deleted event
    let (_, sc) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!(sc["score"], 20.0);
    let (s, r) = app
        .post(
            "/v1/events/batch-delete",
            &app.admin_token,
            json!({"ids": [ids[0], "ev_missing"]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"deleted": 1, "missing": ["ev_missing"]}));
    let (_, sc) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!(sc["score"], 10.0);
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 2);
    // the lead's last event is the newest one left (lists filter and sort by it)
    let newest_left = events
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|e| e["occurred_at"].as_str().unwrap_or("").to_string())
        .map(|e| e["event_type"].clone())
        .unwrap();
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert_eq!(l["lead"]["last_event_type"], newest_left, "{l} {events}");
    let (s, _) = app
        .post(
            "/v1/events/batch-delete",
            &app.admin_token,
            json!({"ids": []}),
        )
        .await;
    assert_eq!(s, 422);
    // an empty id names no event: it is missing (no server error)
    let (s, r) = app
        .post(
            "/v1/events/batch-delete",
            &app.admin_token,
            json!({"ids": [""]}),
        )
        .await;
    assert_eq!((s, &r["missing"]), (200, &json!([""])), "{r}");
    // the server's timeline entries are history: a request naming one deletes nothing
    app.ok(
        Method::POST,
        &format!("/v1/leads/{lead}/reset-score"),
        Some(json!({})),
        200,
    )
    .await;
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    let reset = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "score_reset")
        .and_then(|e| e["event_id"].as_str())
        .expect("a score_reset entry")
        .to_string();
    let (s, r) = app
        .post(
            "/v1/events/batch-delete",
            &app.admin_token,
            json!({"ids": [ids[1], reset]}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["details"]["field"].as_str()),
        (422, Some("ids")),
        "{r}"
    );
    assert!(
        r["error"]["message"].as_str().unwrap().contains(&reset),
        "{r}"
    );
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 3);
    // another org cannot delete ours
    let (s, r) = app
        .post("/v1/events/batch-delete", &other, json!({"ids": [ids[1]]}))
        .await;
    assert_eq!((s, r["deleted"].as_u64()), (200, Some(0)));
    let (_, events) = app
        .get(&format!("/v1/leads/{lead}/events"), &app.admin_token)
        .await;
    assert_eq!(events.as_array().unwrap().len(), 3);
    // deleting the newest event, then the rest, moves the lead's last event back, then
    // clears it: lists filtering by it follow
    let engagement: Vec<(String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["system"] == false)
        .map(|e| {
            (
                e["occurred_at"].as_str().unwrap().to_string(),
                e["event_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let newest = engagement.iter().max().unwrap().1.clone();
    let (s, _) = app
        .post(
            "/v1/events/batch-delete",
            &app.admin_token,
            json!({"ids": [newest]}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert_eq!(l["lead"]["last_event_type"], "Page View", "{l}");
    let rest: Vec<&String> = engagement
        .iter()
        .map(|e| &e.1)
        .filter(|id| **id != newest)
        .collect();
    let (s, _) = app
        .post(
            "/v1/events/batch-delete",
            &app.admin_token,
            json!({"ids": rest}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, l) = app
        .get(&format!("/v1/leads/{lead}"), &app.admin_token)
        .await;
    assert!(
        l["lead"]["last_event_type"].is_null() && l["lead"]["last_event_at"].is_null(),
        "{l}"
    );
    let (_, listed) = app
        .get("/v1/leads?event_type=Page%20View", &app.admin_token)
        .await;
    assert_eq!(listed["total"], 0, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_totals_stats_top_leads_and_gains() {
    let app = spawn_app().await;
    let (s, _) = app
        .post(
            "/v1/rules",
            &app.admin_token,
            json!({"event_type": "Demo", "weight": 10}),
        )
        .await;
    assert_eq!(s, 201);
    let mut leads = Vec::new();
    for (email, demos) in [("a@x.io", 3), ("b@x.io", 1), ("c@x.io", 0)] {
        let (_, r) = app
            .post(
                "/v1/events",
                &app.admin_token,
                json!({"event_type": "Visit", "aliases": [{"alias_kind": "email", "raw_value": email}],
                       "timestamp": "2026-10-01T00:00:00Z"}),
            )
            .await;
        let lead = r["metadata"]["lead_id"].as_str().unwrap().to_string();
        for _ in 0..demos {
            let (s, _) = app
                .post(
                    "/v1/events",
                    &app.admin_token,
                    json!({"event_type": "Demo", "lead_id": lead}),
                )
                .await;
            assert_eq!(s, 201);
        }
        leads.push(lead);
    }
    let (_, a) = app.get("/v1/analytics", &app.admin_token).await;
    assert_eq!(a["totals"]["leads"], 3);
    assert_eq!(a["totals"]["events"], 7);
    assert_eq!(a["totals"]["events_24h"], 4);
    assert_eq!(a["totals"]["active_leads_7d"], 2);
    // 3 Demos in one session: 10 + 10 + 12.5; one Demo: 10; none: 0
    assert_eq!(a["totals"]["average_score"], 14.17);
    assert_eq!(
        a["by_type"],
        json!([{"key": "Demo", "count": 4}, {"key": "Visit", "count": 3}])
    );
    assert_eq!(a["by_channel"], json!([{"key": "web", "count": 7}]));

    let (_, st) = app.get("/v1/analytics/stats", &app.admin_token).await;
    assert_eq!(
        st["counts"],
        json!({"last_24h": 4, "last_7d": 4, "last_30d": 4, "all": 7})
    );
    assert_eq!(st["top_events"][0]["key"], "Demo");
    // 4 Demos of the last day, by two of the three leads
    assert_eq!(st["last_24h"], json!({"events": 4, "leads": 2}));

    let (_, top) = app
        .get("/v1/analytics/top-leads?limit=2", &app.admin_token)
        .await;
    let top: Vec<(&str, f64)> = top
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["lead_id"].as_str().unwrap(), l["score"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        top,
        vec![(leads[0].as_str(), 32.5), (leads[1].as_str(), 10.0)]
    );

    let (_, gains) = app
        .get("/v1/analytics/recent-gains", &app.admin_token)
        .await;
    assert_eq!(gains[0]["lead_id"], leads[0].as_str());
    assert_eq!(
        (gains[0]["gain"].as_f64(), gains[0]["events"].as_u64()),
        (Some(32.5), Some(4))
    );
    assert_eq!(gains.as_array().unwrap().len(), 2);
    // a reset in the window takes back what the lead gained: it no longer rose
    app.ok(
        Method::POST,
        &format!("/v1/leads/{}/reset-score", leads[0]),
        Some(json!({})),
        200,
    )
    .await;
    let (_, gains) = app
        .get("/v1/analytics/recent-gains", &app.admin_token)
        .await;
    let listed: Vec<&str> = gains
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["lead_id"].as_str())
        .collect();
    assert_eq!(listed, vec![leads[1].as_str()], "{gains}");
    for q in [
        "top-leads?limit=0",
        "top-leads?limit=101",
        "recent-gains?hours=0",
        "recent-gains?nope=1",
    ] {
        let (s, _) = app
            .get(&format!("/v1/analytics/{q}"), &app.admin_token)
            .await;
        assert_eq!(s, 422, "{q}");
    }
    // another org sees its own (empty) numbers
    let (_, _, other) = app.second_org().await;
    let (_, a) = app.get("/v1/analytics", &other).await;
    assert_eq!(a["totals"]["events"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_import_runs_as_a_job_and_reports_bad_rows_by_number() {
    let app = spawn_app().await;
    let (s, _) = app
        .post(
            "/v1/rules",
            &app.admin_token,
            json!({"event_type": "Demo", "weight": 10}),
        )
        .await;
    assert_eq!(s, 201);
    let csv = "event_type,email,timestamp,metadata\n\
               Demo,imp1@example.com,2026-11-20T10:00:00Z,\"{\"\"source\"\":\"\"csv\"\"}\"\n\
               Demo,imp1@example.com,2026-11-21T10:00:00Z,\n\
               Demo,not-an-email,,\n\
               ,imp2@example.com,,\n\
               Visit,imp2@example.com,,{bad json}\n\
               Visit,imp2@example.com,,\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("events.csv"),
    );
    let done = app
        .import_csv(
            app.req(Method::POST, "/v1/events/import", &app.admin_token)
                .multipart(form),
        )
        .await;
    assert_eq!(done["total_rows"], 6);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        (
            done["imported"].as_u64(),
            done["failed"].as_u64(),
            done["processed_rows"].as_u64()
        ),
        (Some(3), Some(3), Some(6))
    );
    let rows: Vec<u64> = done["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![4, 5, 6]);
    // the field is named once
    assert_eq!(
        done["errors"][0]["message"], "aliases[0].raw_value: not a valid email address",
        "{done}"
    );
    // the good rows scored like any event
    let (_, found) = app
        .get("/v1/leads/lookup?value=imp1@example.com", &app.admin_token)
        .await;
    let lead = found["lead_id"].as_str().unwrap();
    let (_, sc) = app
        .get(&format!("/v1/leads/{lead}/score"), &app.admin_token)
        .await;
    assert_eq!(sc["score"], 20.0);
    let (_, events) = app
        .get(&format!("/v1/events?lead_id={lead}"), &app.admin_token)
        .await;
    assert_eq!(events[1]["metadata"]["source"], "csv");

    // a raw text/csv body works too; a bad header or wrong type is refused as a whole
    let (s, _) = app
        .call(
            app.req(Method::POST, "/v1/events/import", &app.admin_token)
                .header("content-type", "text/csv")
                .body("event_type,lead_id\nDemo,".to_string() + lead + "\n"),
        )
        .await;
    assert_eq!(s, 202);
    for (ct, body) in [
        ("text/csv", "email\nx@y.io\n"),
        ("text/csv", "event_type,colour\nDemo,red\n"),
        ("text/csv", "event_type\n"),
    ] {
        let (s, e) = app
            .call(
                app.req(Method::POST, "/v1/events/import", &app.admin_token)
                    .header("content-type", ct)
                    .body(body.to_string()),
            )
            .await;
        assert_eq!(
            (s, e["error"]["details"]["field"].as_str()),
            (422, Some("file")),
            "{body}"
        );
    }
    let (s, _) = app
        .call(
            app.req(Method::POST, "/v1/events/import", &app.admin_token)
                .json(&json!({})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .get("/v1/events/import/imp_nope", &app.admin_token)
        .await;
    assert_eq!(s, 404);
}
