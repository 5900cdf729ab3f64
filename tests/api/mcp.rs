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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

/// The MCP transport's own HTTP refusals read like the rest of the API: the status, and
/// the error body with its code; the body limit is the server's, not the transport's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_http_refusals_are_in_the_error_format() {
    let mut config = leadwire::Config::for_tests();
    config.max_body_bytes = 20_000;
    let app = crate::helpers::spawn_with(config).await;
    let token = pat(&app).await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let post_accepting = |accept: &str, body: Value| {
        app.client
            .post(app.url("/mcp"))
            .bearer_auth(&token)
            .header("accept", accept)
            .json(&body)
    };
    let post = |body: Value| post_accepting("application/json, text/event-stream", body);
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"x": "a".repeat(30_000)}});
    for (request, status, code, says) in [
        (
            post(list.clone()).header("mcp-session-id", "nope"),
            404,
            "not_found",
            "Session not found",
        ),
        (
            post(list.clone()).header("host", "evil.example"),
            403,
            "forbidden",
            "Host",
        ),
        (post(big), 413, "payload_too_large", "20000 bytes"),
        (
            post_accepting("text/html", list.clone()),
            406,
            "bad_request",
            "accept",
        ),
    ] {
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status(), status);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    // a session is only its opener's: another member's token gets the unknown session's 404
    let initialize = |pad: usize| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}, "_meta": {"pad": "a".repeat(pad)}}})
    };
    let resp = post(initialize(0)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let session = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    drop(resp);
    let (_, other_jwt) = app.ou_member("other@example.com", "Operator").await;
    let (s, other) = app
        .post("/v1/settings/tokens", &other_jwt, json!({"name": "theirs"}))
        .await;
    assert_eq!(s, 201, "{other}");
    let listen = |token: &str| {
        app.client
            .get(app.url("/mcp"))
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .send()
    };
    let resp = listen(other["token"].as_str().unwrap()).await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert_eq!(
        body["error"]["message"], "Not Found: Session not found",
        "the same words as for an unknown id: {body}"
    );
    // a body that is no JSON-RPC message is malformed: 400, as on every route
    let resp = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    let resp = listen(&token).await.unwrap();
    assert_eq!(resp.status(), 200, "the opener still listens");
    drop(resp);

    // a 15 kB initialize, under the server's limit, is answered
    let resp = post(initialize(15_000)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("\"serverInfo\""));
}

fn args(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().expect("object").clone()
}

type Client = rmcp::service::RunningService<rmcp::RoleClient, ClientConfig>;

/// Calls a tool: (whether it failed, its JSON).
async fn call(client: &Client, name: &'static str, a: Value) -> (bool, Value) {
    let r = client
        .call_tool(CallToolRequestParams::new(name).with_arguments(args(a)))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (r.is_error == Some(true), tool_json(&r))
}

/// Calls a tool that must succeed.
async fn ok(client: &Client, name: &'static str, a: Value) -> Value {
    let (failed, v) = call(client, name, a).await;
    assert!(!failed, "{name}: {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_resource_and_prompt_works_end_to_end() {
    let app = spawn_app().await;
    let token = pat(&app).await;
    let (member_id, _) = app.member("rep@example.com", "member").await;
    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app, &token, None,
        )))
        .await
        .unwrap();

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "assign_owner",
            "create_rule",
            "explain_score",
            "get_lead",
            "ingest_event",
            "list_events",
            "list_org_units",
            "list_rules",
            "recent_score_gains",
            "routing_stats",
            "search_leads",
            "suggest_rep",
            "top_leads",
            "update_rule",
            "whoami"
        ]
    );
    for t in &tools {
        assert!(
            t.description.as_ref().is_some_and(|d| d.len() > 40),
            "{}",
            t.name
        );
        if t.name != "list_org_units" {
            assert!(
                t.input_schema["properties"].get("ou_id").is_some(),
                "{} takes ou_id",
                t.name
            );
        }
    }
    let ingest = tools.iter().find(|t| t.name == "ingest_event").unwrap();
    assert_eq!(ingest.input_schema["required"], json!(["event_type"]));
    // every schema refuses what it does not name, and says what the checks say
    for t in &tools {
        assert_eq!(
            t.input_schema.get("additionalProperties"),
            Some(&json!(false)),
            "{}",
            t.name
        );
    }
    let update = tools.iter().find(|t| t.name == "update_rule").unwrap();
    assert_eq!(
        update.input_schema["properties"]["weight"]["type"],
        "integer"
    );

    // rules: create, list, update
    let rule = ok(
        &client,
        "create_rule",
        json!({"event_type": "Demo", "weight": 20}),
    )
    .await;
    assert_eq!(rule["weight"], 20);
    let visit = ok(
        &client,
        "create_rule",
        json!({"event_type": "Visit", "weight": 5, "half_life_days": 7}),
    )
    .await;
    let visit = ok(
        &client,
        "update_rule",
        json!({"rule_id": visit["rule_id"], "weight": 7, "no_half_life": true}),
    )
    .await;
    assert_eq!(
        (visit["weight"].clone(), visit["half_life_days"].clone()),
        (json!(7), Value::Null)
    );
    let rules = ok(&client, "list_rules", json!({})).await;
    assert_eq!(rules["rules"].as_array().unwrap().len(), 2);
    assert_eq!(rules["rulesets"][0]["is_primary"], true);

    // ingest, then read it back every way
    let ack = ok(
        &client,
        "ingest_event",
        json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "Ann@Acme.io"}],
               "metadata": {"page": "/pricing"}}),
    )
    .await;
    assert_eq!(ack["lead_created"], true);
    assert_eq!(ack["deltas"][0]["delta"], 20.0);
    let lead = ack["lead_id"].as_str().unwrap().to_string();
    // an assistant that retries a tool call stores the event once
    let mut visits = Vec::new();
    for _ in 0..2 {
        visits.push(
            ok(
                &client,
                "ingest_event",
                json!({"event_type": "Visit", "lead_id": lead, "idempotency_key": "visit-1"}),
            )
            .await,
        );
    }
    assert_eq!(
        (&visits[0]["duplicate"], &visits[1]["duplicate"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(visits[0]["event_id"], visits[1]["event_id"]);
    let found = ok(&client, "search_leads", json!({"query": "ann@acme"})).await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["leads"][0]["lead_id"], lead.as_str());
    assert_eq!(found["leads"][0]["score"], 27.0);
    let by_score = ok(&client, "search_leads", json!({"min_score": 30})).await;
    assert_eq!(by_score["total"], 0);
    let profile = ok(&client, "get_lead", json!({"lead_id": lead})).await;
    assert_eq!(profile["lead"]["score"], 27.0);
    assert_eq!(profile["aliases"][0]["value"], "ann@acme.io");
    assert_eq!(profile["recent_events"][0]["event_type"], "Visit");
    assert!(profile["why"]["summary"].as_str().unwrap().contains("27"));
    let why = ok(
        &client,
        "explain_score",
        json!({"lead_id": lead, "hours": 48}),
    )
    .await;
    assert_eq!(why["why"]["factors"][0]["event_type"], "Demo", "{why}");
    assert_eq!(why["why"]["factors"][0]["share"], 0.74);
    assert_eq!(why["explanation"]["top_drivers"][1]["points"], 7.0);
    assert_eq!(why["explanation"]["lead_id"], lead.as_str());
    let top = ok(&client, "top_leads", json!({"limit": 5})).await;
    assert_eq!(top[0]["lead_id"], lead.as_str());
    let gains = ok(&client, "recent_score_gains", json!({"hours": 1})).await;
    assert_eq!(gains[0]["gain"], 27.0);
    assert_eq!(gains[0]["events"], 2);
    let events = ok(
        &client,
        "list_events",
        json!({"lead_id": lead, "event_type": "Demo"}),
    )
    .await;
    assert_eq!(events.as_array().unwrap().len(), 1);
    assert_eq!(events[0]["metadata"]["page"], "/pricing");
    let owned = ok(
        &client,
        "assign_owner",
        json!({"lead_id": lead, "owner_id": member_id}),
    )
    .await;
    assert_eq!(owned["owner_name"], "T User");
    assert_eq!(owned["owner_id"], member_id.as_str(), "{owned}");
    // a misspelt argument or a missing owner_id is refused, never an unassignment
    // (argument errors are tool errors in the API's error body, naming the argument)
    for (a, field) in [
        (json!({"lead_id": lead, "ownerId": member_id}), "ownerId"),
        (json!({"lead_id": lead}), "owner_id"),
        (json!({"lead_id": lead, "owner_name": "Bob"}), "owner_id"),
        (json!({"lead_id": lead, "owner_id": 5}), "owner_id"),
    ] {
        let (failed, e) = call(&client, "assign_owner", a.clone()).await;
        assert!(failed, "{a}");
        assert_eq!(e["error"]["code"], "validation_failed", "{e}");
        assert_eq!(e["error"]["details"]["field"], field, "{e}");
    }
    let (failed, e) = call(
        &client,
        "ingest_event",
        json!({"lead_id": lead, "event_type": "Demo", "idempotencyKey": "k-1"}),
    )
    .await;
    assert!(failed, "an unknown argument is refused");
    assert_eq!(e["error"]["details"]["field"], "idempotencyKey", "{e}");
    let (failed, e) = call(
        &client,
        "ingest_event",
        json!({"lead_id": lead, "event_type": "Demo", "aliases": [{"kind": "fax", "value": "1"}]}),
    )
    .await;
    assert!(failed, "{e}");
    assert_eq!(e["error"]["code"], "validation_failed", "{e}");
    assert!(
        e["error"]["details"]["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("aliases[0]")),
        "{e}"
    );
    for (tool, a, field) in [
        ("list_org_units", json!({"bogus": 1}), "bogus"),
        (
            "ingest_event",
            json!({"event_type": "Demo", "aliases": [{"alias_kind": "email", "raw_value": "q@q.io", "note": 1}]}),
            "aliases[0].note",
        ),
        (
            "ingest_event",
            json!({"event_type": "Demo", "aliases": [{"alias_kind": "fax", "raw_value": "1"}]}),
            "aliases[0].alias_kind",
        ),
    ] {
        let (failed, e) = call(&client, tool, a.clone()).await;
        assert!(failed, "{tool} {a}");
        assert_eq!(e["error"]["details"]["field"], field, "{tool} {a}: {e}");
    }
    let (failed, e) = call(&client, "list_events", json!({"limit": "ten"})).await;
    assert!(failed);
    assert_eq!(
        (
            e["error"]["code"].as_str(),
            e["error"]["details"]["field"].as_str()
        ),
        (Some("validation_failed"), Some("limit")),
        "{e}"
    );
    let profile = ok(&client, "get_lead", json!({"lead_id": lead})).await;
    assert_eq!(profile["lead"]["owner_id"], member_id.as_str(), "{profile}");

    // predictive routing: no model yet is a clear tool error; the stats answer
    let (failed, e) = call(&client, "suggest_rep", json!({"lead_id": lead})).await;
    assert!(failed);
    assert_eq!(e["error"]["code"], "conflict", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("retrain"));
    let stats = ok(&client, "routing_stats", json!({})).await;
    assert_eq!(stats["total_predictions"], 0);
    assert!(stats["acceptance_rate"].is_null(), "{stats}");

    // bad input is a tool error with the API's message; the session carries on
    let (failed, e) = call(&client, "ingest_event", json!({"event_type": "Demo"})).await;
    assert!(failed);
    assert_eq!(e["error"]["code"], "validation_failed", "{e}");
    let (failed, e) = call(&client, "search_leads", json!({"sort_by": "mood"})).await;
    assert!(failed && e["error"]["message"].as_str().unwrap().contains("sort_by"));
    let (failed, e) = call(&client, "get_lead", json!({"lead_id": "nobody"})).await;
    assert!(failed);
    assert_eq!(e["error"]["code"], "not_found");
    let (failed, e) = call(
        &client,
        "update_rule",
        json!({"rule_id": rule["rule_id"], "weight": 5_000_000}),
    )
    .await;
    assert!(failed, "{e}");
    // an explicit null cannot pass for "keep the weight"
    let (failed, e) = call(
        &client,
        "update_rule",
        json!({"rule_id": rule["rule_id"], "weight": null}),
    )
    .await;
    assert!(failed, "{e}");
    assert_eq!(e["error"]["details"]["field"], "weight", "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("must not be null"));
    // missing required arguments: the same body
    let (failed, e) = call(&client, "get_lead", json!({})).await;
    assert!(failed);
    assert_eq!(e["error"]["details"]["field"], "lead_id", "{e}");
    assert_eq!(ok(&client, "whoami", json!({})).await["ou_role"], "Owner");

    // resources
    let templates = client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "lead://{lead_id}");
    let listed = client.list_all_resources().await.unwrap();
    assert_eq!(listed[0].uri, format!("lead://{lead}"));
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(format!(
            "lead://{lead}"
        )))
        .await
        .unwrap();
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        _ => panic!("text contents"),
    };
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["lead"]["owner_id"], member_id.as_str());
    // a failed read carries the API's error body, so its cause is not guessed from text
    match client
        .read_resource(rmcp::model::ReadResourceRequestParams::new("lead://nobody"))
        .await
    {
        Err(rmcp::ServiceError::McpError(e)) => {
            assert_eq!(e.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND);
            assert_eq!(e.data.unwrap()["error"]["code"], "not_found");
        }
        other => panic!("expected a not-found error, got {other:?}"),
    }
    assert!(client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "file:///etc/passwd"
        ))
        .await
        .is_err());

    // the prompt
    let prompts = client.list_all_prompts().await.unwrap();
    assert_eq!(prompts[0].name, "qualify_lead");
    let arg = &prompts[0].arguments.as_ref().unwrap()[0];
    assert_eq!((arg.name.as_str(), arg.required), ("lead_id", Some(true)));
    let p = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("qualify_lead")
                .with_arguments(args(json!({"lead_id": lead}))),
        )
        .await
        .unwrap();
    let text = &p.messages[0].content.as_text().unwrap().text;
    assert!(text.contains(&lead) && text.contains("sales-ready") && text.contains("ann@acme.io"));
    let _ = client.cancel().await;

    // a Viewer's token reads but may not write
    let (_, viewer_jwt) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, t) = app
        .post("/v1/settings/tokens", &viewer_jwt, json!({ "name": "ro" }))
        .await;
    assert_eq!(s, 201, "{t}");
    let viewer = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app,
            t["token"].as_str().unwrap(),
            None,
        )))
        .await
        .unwrap();
    assert_eq!(
        ok(&viewer, "top_leads", json!({})).await[0]["lead_id"],
        lead.as_str()
    );
    let (failed, e) = call(
        &viewer,
        "create_rule",
        json!({"event_type": "X", "weight": 1}),
    )
    .await;
    assert!(failed);
    assert_eq!(e["error"]["code"], "forbidden", "{e}");
    let (failed, _) = call(&viewer, "assign_owner", json!({"lead_id": lead})).await;
    assert!(failed);
    let _ = viewer.cancel().await;
    let rules = app.ok(reqwest::Method::GET, "/v1/rules", None, 200).await;
    assert_eq!(
        rules.as_array().unwrap().len(),
        2,
        "the viewer changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ou_id_argument_picks_the_unit() {
    let app = spawn_app().await;
    let token = pat(&app).await;
    let (s, ou) = app
        .post("/v1/org-units", &app.admin_token, json!({ "name": "APAC" }))
        .await;
    assert_eq!(s, 201);
    let apac = ou["unit_id"].as_str().unwrap().to_string();
    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app, &token, None,
        )))
        .await
        .unwrap();
    ok(
        &client,
        "create_rule",
        json!({"event_type": "Demo", "weight": 3, "ou_id": apac}),
    )
    .await;
    let here = ok(&client, "list_rules", json!({})).await;
    assert_eq!(here["rules"], json!([]), "the default unit has no rules");
    let there = ok(&client, "list_rules", json!({"ou_id": apac})).await;
    assert_eq!(there["rules"][0]["unit_id"], apac.as_str());
    let me = ok(&client, "whoami", json!({"ou_id": apac})).await;
    assert_eq!(me["ou_id"], apac.as_str());
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assistant_asks_which_rep_should_get_a_lead() {
    use crate::routing::{make_reps, train_on_history};
    let app = spawn_app().await;
    let reps = make_reps(&app, 3).await;
    app.ok(
        reqwest::Method::POST,
        "/v1/leads",
        Some(json!({"id": "l1", "metadata": {"industry": "saas"}})),
        201,
    )
    .await;
    train_on_history(&app, &reps, 600).await;
    let token = pat(&app).await;
    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config(
            &app, &token, None,
        )))
        .await
        .unwrap();
    let p = ok(&client, "suggest_rep", json!({"lead_id": "l1"})).await;
    assert_eq!(p["status"], "PENDING");
    assert!(reps.contains(&p["predicted_rep_id"].as_str().unwrap().to_string()));
    assert_eq!(p["alternatives"].as_array().unwrap().len(), 3);
    assert_eq!(p["trigger"], "on_demand");
    // the same prediction is in the API, and the stats count it
    let id = p["prediction_id"].as_str().unwrap();
    let got = app
        .ok(
            reqwest::Method::GET,
            &format!("/v1/predictive-routing/predictions/{id}"),
            None,
            200,
        )
        .await;
    assert_eq!(got, p);
    let stats = ok(&client, "routing_stats", json!({})).await;
    assert_eq!(stats["by_status"]["PENDING"], 1);
    assert_eq!(stats["model_version"], 1);
    let _ = client.cancel().await;
}
