use serde_json::{json, Value};

use crate::helpers::*;

#[test]
fn schema_graphql_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let sdl = leadwire_graphql::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok() {
        std::fs::write(path, &sdl).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == sdl,
        "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test --test api schema_graphql`"
    );
}

#[tokio::test]
async fn graphql_uses_the_same_auth_as_rest() {
    let app = spawn_app().await;
    let q = json!({ "query": "{ me { email role activeOuId } orgUnits { unitId name role } }" });
    let anon: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&q)
        .into_json()
        .await;
    assert!(anon["data"].is_null(), "{anon}");
    assert_eq!(anon["errors"][0]["extensions"]["code"], "unauthorized");
    let (_, t) = app
        .post(
            "/v1/settings/tokens",
            &app.admin_token,
            json!({ "name": "gql" }),
        )
        .await;
    let pat = t["token"].as_str().unwrap();
    let r: Value = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(pat)
        .json(&q)
        .into_json()
        .await;
    assert_eq!(r["data"]["me"]["email"], ADMIN_EMAIL, "{r}");
    assert_eq!(r["data"]["me"]["activeOuId"], app.ou_id.as_str());
    assert_eq!(r["data"]["orgUnits"][0]["role"], "Owner");
    let bad = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth("lw_pat_revoked")
        .json(&q)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.status(),
        401,
        "bad credentials are refused before GraphQL runs"
    );
}
