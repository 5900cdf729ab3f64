use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
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
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let mut config = leadwire::Config::for_tests();
    config.max_body_bytes = 4096;
    let app = spawn_with(config).await;
    let big = json!({ "name": "x".repeat(8000) });
    let (s, b) = app.post("/v1/org-units", &app.admin_token, big).await;
    assert_eq!((s, TestApp::error_code(&b)), (413, "payload_too_large"));
    let (_, list) = app.get("/v1/org-units", &app.admin_token).await;
    assert_eq!(list["units"].as_array().unwrap().len(), 1);
}
