//! The OpenAPI document describes every REST route.

use std::collections::BTreeSet;

use crate::helpers::*;

/// Routes deliberately outside the OpenAPI document (not REST).
const UNDOCUMENTED: &[&str] = &["/openapi.json", "/graphql", "/graphql/ws", "/mcp"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_lists_every_route_with_schemas() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.client.get(app.url("/openapi.json")).into_json().await;
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/v1/auth/login",
        "/v1/settings/tokens",
        "/v1/org-units/{id}/memberships/{memberId}",
        "/v1/admin/audit-logs",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(doc["paths"]["/v1/auth/login"]["post"]["requestBody"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["basicAuth"].is_object());

    // every route registered in the source is in the document: all REST routes go through
    // utoipa_axum::routes!, and the only plain `.route(` / `.nest_service(` calls are the
    // closed list above
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs")).unwrap();
    let plain: BTreeSet<&str> = [".route(", ".nest_service(", ".nest("]
        .iter()
        .flat_map(|call| src.match_indices(call))
        .map(|(i, m)| {
            let rest = src[i + m.len()..].trim_start().trim_start_matches('"');
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(
        plain,
        UNDOCUMENTED.iter().copied().collect::<BTreeSet<_>>(),
        "a route bypasses the OpenAPI document"
    );
    let mut annotated = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/routes")).unwrap()
    {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        annotated += text.matches("#[utoipa::path(").count();
    }
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        operations, annotated,
        "every annotated handler is registered and documented"
    );
}
