use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_me_with_jwt() {
    let app = spawn_app().await;
    let (s, me) = app.get("/v1/auth/me", &app.admin_token).await;
    assert_eq!(s, 200);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert!(me["org_member_id"].as_str().unwrap().starts_with("om_"));
    assert!(me.get("password_hash").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused() {
    let app = spawn_app().await;
    let (s, b) = app
        .post(
            "/v1/auth/login",
            "",
            json!({ "email": ADMIN_EMAIL, "password": "nope-nope" }),
        )
        .await;
    assert_eq!((s, TestApp::error_code(&b)), (401, "unauthorized"));
    let (s, _) = app
        .post(
            "/v1/auth/login",
            "",
            json!({ "email": "ghost@example.com", "password": "nope-nope" }),
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(app.get("/v1/auth/me", "not-a-jwt").await.0, 401);
    assert_eq!(
        app.get(
            "/v1/auth/me",
            "lw_pat_0000000000000000000000000000000000000000"
        )
        .await
        .0,
        401
    );
    let (s, _) = app.call(app.client.get(app.url("/v1/auth/me"))).await;
    assert_eq!(s, 401, "no credentials at all");
    let (s, _) = app
        .call(
            app.client
                .get(app.url("/v1/auth/me"))
                .basic_auth("lw_ci_nobody", Some("x")),
        )
        .await;
    assert_eq!(s, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_access_tokens_work_until_revoked_or_expired() {
    let app = spawn_app().await;
    let (s, t) = app
        .post(
            "/v1/settings/tokens",
            &app.admin_token,
            json!({ "name": "laptop" }),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("lw_pat_"));
    assert_eq!(t["token_prefix"].as_str().unwrap(), &token[..15]);
    let (s, me) = app.get("/v1/auth/me", &token).await;
    assert_eq!((s, me["email"].as_str()), (200, Some(ADMIN_EMAIL)));
    // listed without its value
    let (_, list) = app.get("/v1/settings/tokens", &app.admin_token).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("token").is_none() && list[0].get("token_hash").is_none());
    // another member cannot revoke it
    let (_, bob) = app.member("bob@example.com", "member").await;
    let id = t["id"].as_str().unwrap();
    let (s, _) = app
        .call(app.req(Method::DELETE, &format!("/v1/settings/tokens/{id}"), &bob))
        .await;
    assert_eq!(s, 404);
    assert_eq!(app.get("/v1/auth/me", &token).await.0, 200);
    // revoked: refused at once
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/settings/tokens/{id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get("/v1/auth/me", &token).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_validation() {
    let app = spawn_app().await;
    for body in [
        json!({ "name": "" }),
        json!({ "name": "x".repeat(101) }),
        json!({ "name": "old", "expires_at": "2001-01-01T00:00:00Z" }),
        json!({ "name": "bad", "expires_at": "tomorrow" }),
    ] {
        let (s, b) = app
            .post("/v1/settings/tokens", &app.admin_token, body.clone())
            .await;
        assert_eq!(
            (s, TestApp::error_code(&b)),
            (422, "validation_failed"),
            "{body}"
        );
    }
    let (_, list) = app.get("/v1/settings/tokens", &app.admin_token).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing was stored");
    let (s, t) = app
        .post(
            "/v1/settings/tokens",
            &app.admin_token,
            json!({ "name": "ok", "expires_at": "2999-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        app.get("/v1/auth/me", t["token"].as_str().unwrap()).await.0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_credentials_authenticate_with_basic_and_are_bound_to_their_ou() {
    let app = spawn_app().await;
    let (s, c) = app
        .post(
            "/v1/settings/credentials",
            &app.admin_token,
            json!({ "name": "CI" }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (id, secret) = (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    );
    let basic = |p: &str| app.client.get(app.url(p)).basic_auth(&id, Some(&secret));
    let (s, me) = app.call(basic("/v1/auth/me")).await;
    assert_eq!((s, me["email"].as_str()), (200, Some(ADMIN_EMAIL)));
    let (s, _) = app
        .call(
            app.client
                .get(app.url("/v1/auth/me"))
                .basic_auth(&id, Some("wrong")),
        )
        .await;
    assert_eq!(s, 401);
    // listed without the secret
    let (_, list) = app.get("/v1/settings/credentials", &app.admin_token).await;
    assert_eq!(list[0]["name"], "CI");
    assert!(list[0].get("client_secret").is_none() && list[0].get("secret_hash").is_none());
    // bound to its OU: another OU is not found
    let (_, ou2) = app
        .post(
            "/v1/org-units",
            &app.admin_token,
            json!({ "name": "Second" }),
        )
        .await;
    let (s, _) = app
        .call(basic("/v1/settings/credentials").header("x-ou-id", ou2["unit_id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 404);
    // name limits
    let (s, _) = app
        .post(
            "/v1/settings/credentials",
            &app.admin_token,
            json!({ "name": "x".repeat(51) }),
        )
        .await;
    assert_eq!(s, 422);
    // deleted: refused at once
    let sid = c["secret_id"].as_str().unwrap();
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/settings/credentials/{sid}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.call(basic("/v1/auth/me")).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_member_loses_access() {
    let app = spawn_app().await;
    let (bob_id, bob) = app.member("bob@example.com", "member").await;
    assert_eq!(app.get("/v1/auth/me", &bob).await.0, 200);
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/members/{bob_id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get("/v1/auth/me", &bob).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_expires_the_active_ou_cookie() {
    let app = spawn_app().await;
    let r = app
        .req(Method::POST, "/v1/auth/cleanup", &app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("activeOu=") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
}
