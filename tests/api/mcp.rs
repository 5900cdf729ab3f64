//! MCP at `/mcp`: the real rmcp client over streamable HTTP, authenticated by a personal
//! access token.

use std::collections::HashMap;

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, ADMIN_EMAIL};

async fn pat(app: &TestApp) -> String {
    let (s, t) = app
        .post(
            "/v1/settings/tokens",
            &app.admin_token,
            json!({ "name": "assistant" }),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    t["token"].as_str().unwrap().to_string()
}

fn config(app: &TestApp, token: &str, ou: Option<&str>) -> StreamableHttpClientTransportConfig {
    let mut config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp"))
        .auth_header(token.to_string());
    if let Some(ou) = ou {
        let mut headers = HashMap::new();
        headers.insert(
            http::HeaderName::from_static("x-ou-id"),
            http::HeaderValue::from_str(ou).unwrap(),
        );
        config = config.custom_headers(headers);
    }
    config
}

/// The JSON a tool answered with (its one text content).
fn tool_json(result: &rmcp::model::CallToolResult) -> Value {
    let text = result.content[0]
        .as_text()
        .expect("text content")
        .text
        .clone();
    serde_json::from_str(&text).expect("tool answers JSON")
}

#[tokio::test]
async fn an_assistant_with_a_pat_lists_and_calls_tools() {
    let app = spawn_app().await;
    let token = pat(&app).await;
    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app, &token, None,
        )))
        .await
        .expect("MCP session opens with a PAT");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(
        names.contains(&"whoami") && names.contains(&"list_org_units"),
        "{names:?}"
    );

    let me = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_ne!(me.is_error, Some(true));
    let me = tool_json(&me);
    assert_eq!(me["member"]["email"], ADMIN_EMAIL);
    assert_eq!(me["ou_id"], app.ou_id.as_str());
    assert_eq!(me["ou_role"], "Owner");

    let units = client
        .call_tool(CallToolRequestParams::new("list_org_units"))
        .await
        .unwrap();
    let units = tool_json(&units);
    assert_eq!(units["units"][0]["unit_id"], app.ou_id.as_str());
    let _ = client.cancel().await;
}

#[tokio::test]
async fn the_ou_header_picks_the_unit_and_foreign_units_are_not_found() {
    let app = spawn_app().await;
    let token = pat(&app).await;
    let (s, ou) = app
        .post("/v1/org-units", &app.admin_token, json!({ "name": "EMEA" }))
        .await;
    assert_eq!(s, 201, "{ou}");
    let emea = ou["unit_id"].as_str().unwrap().to_string();

    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app,
            &token,
            Some(&emea),
        )))
        .await
        .unwrap();
    let me = tool_json(
        &client
            .call_tool(CallToolRequestParams::new("whoami"))
            .await
            .unwrap(),
    );
    assert_eq!(me["ou_id"], emea.as_str());
    let _ = client.cancel().await;

    // an OU of another org answers not_found, as REST does
    let (foreign_ou, _, _) = app.second_org().await;
    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app,
            &token,
            Some(&foreign_ou),
        )))
        .await
        .unwrap();
    let r = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(tool_json(&r)["error"]["code"], "not_found");
    let _ = client.cancel().await;
}

#[tokio::test]
async fn mcp_refuses_anything_but_a_personal_access_token() {
    let app = spawn_app().await;
    // a JWT session is not enough
    let r = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app,
            &app.admin_token,
            None,
        )))
        .await;
    assert!(r.is_err(), "a JWT must not open an MCP session");
    // a revoked PAT neither
    let token = pat(&app).await;
    let (_, list) = app.get("/v1/settings/tokens", &app.admin_token).await;
    let id = list[0]["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .call(app.req(
            reqwest::Method::DELETE,
            &format!("/v1/settings/tokens/{id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    assert!(ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app, &token, None
        )))
        .await
        .is_err());
    // the plain HTTP answer is a 401 in the API's error format
    let resp = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}
