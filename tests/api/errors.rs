use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_mistyped_input_get_clear_errors_and_change_nothing() {
    let app = spawn_app().await;
    let send = |body: &'static str| {
        app.req(Method::POST, "/v1/org-units", &app.admin_token)
            .header("content-type", "application/json")
            .body(body)
    };
    let (s, b) = app.call(send("{\"name\": ")).await;
    assert_eq!((s, TestApp::error_code(&b)), (400, "bad_request"));
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("malformed JSON"));
    let (s, b) = app.call(send("{\"name\": 42}")).await;
    assert_eq!((s, TestApp::error_code(&b)), (422, "validation_failed"));
    // valid JSON, but no 64-bit number holds it
    let (s, b) = app
        .call(
            app.req(Method::POST, "/v1/rules", &app.admin_token)
                .header("content-type", "application/json")
                .body("{\"event_type\": \"Demo\", \"weight\": 1e400}"),
        )
        .await;
    assert_eq!(
        (s, TestApp::error_code(&b)),
        (422, "validation_failed"),
        "{b}"
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("out of range"),
        "{b}"
    );
    assert_eq!(b["error"]["details"]["field"], "weight", "{b}");
    // a query string's error names its parameter too
    for (query, field) in [
        ("/v1/leads?page=abc", "page"),
        ("/v1/leads?sort_by=loudest", "sort_by"),
        ("/v1/leads?bogus=1", "bogus"),
        ("/v1/events?logic=xor", "logic"),
        // routes that take no parameters refuse any, rather than ignore a misspelt one
        ("/v1/analytics/stats?bogus=1", "bogus"),
        ("/v1/rulesets?limit=5", "limit"),
        ("/v1/levels/engagement/history?page=0", "page"),
    ] {
        let (s, b) = app.get(query, &app.admin_token).await;
        assert_eq!(s, 422, "{query}: {b}");
        assert_eq!(b["error"]["details"]["field"], field, "{query}: {b}");
    }
    // an array is not an object, even with the fields in order
    let (s, b) = app
        .call(
            app.req(Method::POST, "/v1/rules", &app.admin_token)
                .json(&serde_json::json!(["Demo", 10])),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"]["field"].as_str()),
        (422, Some("body")),
        "{b}"
    );
    // writes too: a stray parameter is refused, and nothing is written
    let (s, b) = app
        .post(
            "/v1/rules?dry_run=1",
            &app.admin_token,
            serde_json::json!({"event_type": "Stray", "weight": 1}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"]["field"].as_str()),
        (422, Some("dry_run")),
        "{b}"
    );
    let (s, b) = app
        .get(
            "/v1/levels/engagement/history?ruleset_id=rs_any",
            &app.admin_token,
        )
        .await;
    assert_eq!(s, 200, "the seed's ruleset_id is accepted: {b}");
    // a null where a value of an enum belongs is well-formed JSON: 422 naming the field
    let (s, b) = app
        .post(
            "/v1/members",
            &app.admin_token,
            serde_json::json!({"first_name": "N", "last_name": "U", "email": "nu@example.com",
                               "password": "password-123", "role": null}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"]["field"].as_str()),
        (422, Some("role")),
        "{b}"
    );
    // and a null is never "the default": a membership's role is not reset by one
    let (member, _) = app.ou_member("kept@example.com", "Operator").await;
    let (s, b) = app
        .post(
            &format!("/v1/org-units/{}/memberships", app.ou_id),
            &app.admin_token,
            serde_json::json!({"org_member_id": member, "role": null}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"]["field"].as_str()),
        (422, Some("role")),
        "{b}"
    );
    let (s, b) = app
        .call(
            app.req(Method::PUT, "/v1/settings/surge-policy", &app.admin_token)
                .json(&serde_json::json!({"mode": null})),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"]["field"].as_str()),
        (422, Some("mode")),
        "{b}"
    );
    let (_, rules) = app.get("/v1/rules", &app.admin_token).await;
    assert_eq!(rules, serde_json::json!([]));
    let (s, _) = app
        .call(send("{\"name\": \"x\", \"unit_id\": \"ou_mine\"}"))
        .await;
    assert_eq!(s, 422, "unknown fields are refused");
    let (s, b) = app
        .call(
            app.req(Method::POST, "/v1/org-units", &app.admin_token)
                .body("{\"name\":\"x\"}"),
        )
        .await;
    assert_eq!(s, 400, "JSON needs its content type");
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Content-Type"));
    let (s, b) = app
        .post(
            "/v1/org-units",
            &app.admin_token,
            json!({ "name": "x".repeat(101) }),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"]["field"].as_str()),
        (422, Some("name"))
    );
    let (_, list) = app.get("/v1/org-units", &app.admin_token).await;
    assert_eq!(
        list["units"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    // query strings: unknown enum values and wrong types
    let (s, b) = app
        .get("/v1/admin/audit-logs?sort_by=password", &app.admin_token)
        .await;
    assert_eq!((s, TestApp::error_code(&b)), (422, "validation_failed"));
    assert_eq!(
        app.get("/v1/admin/audit-logs?limit=abc", &app.admin_token)
            .await
            .0,
        422
    );
    assert_eq!(
        app.get("/v1/admin/audit-logs?limit=501", &app.admin_token)
            .await
            .0,
        422
    );
    // unknown routes
    let (s, b) = app.get("/v1/nothing-here", &app.admin_token).await;
    assert_eq!((s, TestApp::error_code(&b)), (404, "not_found"));
    // a known path with a method it does not answer: 405 in the same format, Allow kept
    let r = app
        .req(Method::PUT, "/v1/leads", &app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let allow = r.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(TestApp::error_code(&b), "method_not_allowed");
    // GraphQL: a body that is no GraphQL request is a 400 in the API's format
    // (malformed JSON, a mistyped query, and a batch: one request per POST)
    let batch = r#"[{"query": "{ __typename }"}, {"query": "{ __typename }"}]"#;
    for body in ["{\"query\": ", "{\"query\": 42}", batch] {
        let (s, b) = app
            .call(
                app.req(Method::POST, "/graphql", &app.admin_token)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(
            (s, TestApp::error_code(&b)),
            (400, "bad_request"),
            "{body}: {b}"
        );
        assert!(b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid GraphQL request"));
    }
    // the WebSocket endpoint asked without an upgrade, or without a GraphQL subprotocol
    let (s, b) = app.get("/graphql/ws", &app.admin_token).await;
    assert_eq!((s, TestApp::error_code(&b)), (400, "bad_request"));
    let (s, b) = app
        .call(
            app.req(Method::GET, "/graphql/ws", &app.admin_token)
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("sec-websocket-protocol", "chat"),
        )
        .await;
    assert_eq!((s, TestApp::error_code(&b)), (400, "bad_request"));
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("graphql-transport-ws"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413() {
    let mut config = leadwire::Config::for_tests();
    config.max_body_bytes = 4096;
    let app = spawn_with(config).await;
    let big = json!({ "name": "x".repeat(8000) });
    let (s, b) = app.post("/v1/org-units", &app.admin_token, big).await;
    assert_eq!((s, TestApp::error_code(&b)), (413, "payload_too_large"));
    let (_, list) = app.get("/v1/org-units", &app.admin_token).await;
    assert_eq!(list["units"].as_array().unwrap().len(), 1);
    // the same limit holds for bodies read whole: GraphQL (even anonymous), CSV imports
    // and training data
    let gql = |pad: usize| {
        let query = format!("# {}\n{{ __typename }}", "x".repeat(pad));
        json!({ "query": query }).to_string()
    };
    let graphql = |body: String, authenticated: bool| {
        let rb = reqwest::Client::new()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body);
        match authenticated {
            true => rb.bearer_auth(&app.admin_token),
            false => rb,
        }
    };
    let (s, b) = app.call(graphql(gql(100), false)).await;
    assert_eq!((s, &b["data"]["__typename"]), (200, &json!("Query")));
    for authenticated in [true, false] {
        let (s, b) = app.call(graphql(gql(8000), authenticated)).await;
        assert_eq!((s, TestApp::error_code(&b)), (413, "payload_too_large"));
    }
    let csv = format!("email,event_type\n{}", "a@example.com,visit\n".repeat(400));
    for path in ["/v1/events/import", "/v1/predictive-routing/training-data"] {
        let (s, b) = app
            .call(
                app.req(Method::POST, path, &app.admin_token)
                    .header("content-type", "text/csv")
                    .body(csv.clone()),
            )
            .await;
        assert_eq!(
            (s, TestApp::error_code(&b)),
            (413, "payload_too_large"),
            "{path}"
        );
    }
    let (_, list) = app.get("/v1/org-units", &app.admin_token).await;
    assert_eq!(list["units"].as_array().unwrap().len(), 1);
}
