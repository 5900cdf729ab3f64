use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_units_list_create_rename_and_activate() {
    let app = spawn_app().await;
    let (s, list) = app.get("/v1/org-units", &app.admin_token).await;
    assert_eq!(s, 200);
    assert_eq!(list["units"].as_array().unwrap().len(), 1);
    assert_eq!(list["organization"]["name"], "Leadwire");
    let (s, ou) = app
        .post(
            "/v1/org-units",
            &app.admin_token,
            json!({ "name": "EMEA Sales" }),
        )
        .await;
    assert_eq!(s, 201, "{ou}");
    assert_eq!(ou["slug"], "emea-sales");
    let id = ou["unit_id"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            "/v1/org-units",
            &app.admin_token,
            json!({ "name": "EMEA  sales" }),
        )
        .await;
    assert_eq!(s, 409, "same slug");
    let (s, r) = app
        .call(
            app.req(
                Method::PATCH,
                &format!("/v1/org-units/{id}"),
                &app.admin_token,
            )
            .json(&json!({ "name": "EMEA" })),
        )
        .await;
    assert_eq!((s, r["name"].as_str()), (200, Some("EMEA")));
    // activate: cookie + headers, and the cookie then selects the OU
    let r = app
        .req(Method::POST, "/v1/org-units/active", &app.admin_token)
        .json(&json!({ "ouId": id }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ou-id"].to_str().unwrap(), id);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.starts_with(&format!("activeOu={id}")),
        "{cookie}"
    );
    let (s, creds) = app
        .call(
            app.req(Method::POST, "/v1/settings/credentials", &app.admin_token)
                .header("cookie", format!("activeOu={id}"))
                .json(&json!({"name": "emea"})),
        )
        .await;
    assert_eq!((s, creds["ou_id"].as_str()), (201, Some(id.as_str())));
    let (s, _) = app
        .post(
            "/v1/org-units/active",
            &app.admin_token,
            json!({ "ouId": "ou_doesnotexist" }),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_assign_idempotent_roles_and_owner_rules() {
    let app = spawn_app().await;
    let ou = app.ou_id.clone();
    let (bob_id, bob) = app.member("bob@example.com", "member").await;
    let path = format!("/v1/org-units/{ou}/memberships");
    // a non-member cannot even see the OU
    assert_eq!(app.get(&path, &bob).await.0, 404);
    let (s, m) = app
        .post(&path, &app.admin_token, json!({ "org_member_id": bob_id }))
        .await;
    assert_eq!(
        (s, m["role"].as_str()),
        (201, Some("Viewer")),
        "default role"
    );
    let (s, _) = app
        .post(&path, &app.admin_token, json!({ "org_member_id": bob_id }))
        .await;
    assert_eq!(s, 200, "idempotent");
    let (_, list) = app.get(&path, &bob).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Viewer cannot manage memberships
    let (carol_id, carol) = app.member("carol@example.com", "member").await;
    let (s, b) = app
        .post(
            &path,
            &bob,
            json!({ "org_member_id": carol_id, "role": "Viewer" }),
        )
        .await;
    assert_eq!((s, TestApp::error_code(&b)), (403, "forbidden"));
    // Operator may assign Viewers but not grant Owner
    let member_path = format!("{path}/{bob_id}");
    let (s, _) = app
        .call(
            app.req(Method::PATCH, &member_path, &app.admin_token)
                .json(&json!({ "role": "Operator" })),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.post(
            &path,
            &bob,
            json!({ "org_member_id": carol_id, "role": "Viewer" })
        )
        .await
        .0,
        201
    );
    assert_eq!(
        app.post(
            &path,
            &bob,
            json!({ "org_member_id": carol_id, "role": "Owner" })
        )
        .await
        .0,
        403
    );
    assert_eq!(app.get(&path, &carol).await.0, 200);
    // unknown role value
    let (s, _) = app
        .call(
            app.req(Method::PATCH, &member_path, &app.admin_token)
                .json(&json!({ "role": "King" })),
        )
        .await;
    assert_eq!(s, 422);
    // the last Owner cannot be removed or demoted
    let (_, me) = app.get("/v1/auth/me", &app.admin_token).await;
    let admin_path = format!("{path}/{}", me["org_member_id"].as_str().unwrap());
    let (s, _) = app
        .call(app.req(Method::DELETE, &admin_path, &app.admin_token))
        .await;
    assert_eq!(s, 409);
    let (s, _) = app
        .call(
            app.req(Method::PATCH, &admin_path, &app.admin_token)
                .json(&json!({ "role": "Viewer" })),
        )
        .await;
    assert_eq!(s, 409);
    // removal
    let (s, _) = app
        .call(app.req(Method::DELETE, &format!("{path}/{carol_id}"), &bob))
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get(&path, &carol).await.0, 404);
    let (s, _) = app
        .call(app.req(Method::DELETE, &format!("{path}/{carol_id}"), &bob))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_admin_only_validation_and_slack_id() {
    let app = spawn_app().await;
    let (bob_id, bob) = app.member("bob@example.com", "member").await;
    let (s, b) = app
        .post("/v1/members", &bob, json!({ "first_name": "X", "email": "x@example.com", "password": "password-123", "role": "member" }))
        .await;
    assert_eq!((s, TestApp::error_code(&b)), (403, "forbidden"));
    let (s, _) = app
        .post("/v1/members", &app.admin_token, json!({ "first_name": "B", "email": "BOB@example.com", "password": "password-123", "role": "member" }))
        .await;
    assert_eq!(s, 409, "emails are unique, case-insensitively");
    for bad in [
        json!({ "first_name": "B", "email": "not-an-email", "password": "password-123", "role": "member" }),
        json!({ "first_name": "B", "email": "z@example.com", "password": "short", "role": "member" }),
        json!({ "first_name": "B", "email": "z@example.com", "password": "password-123", "role": "emperor" }),
        json!({ "first_name": "", "email": "z@example.com", "password": "password-123", "role": "member" }),
    ] {
        let (s, _) = app.post("/v1/members", &app.admin_token, bad.clone()).await;
        assert_eq!(s, 422, "{bad}");
    }
    let (_, list) = app.get("/v1/members", &bob).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "nothing invalid was stored"
    );
    let slack = format!("/v1/members/{bob_id}/slack-user-id");
    let (s, _) = app
        .call(
            app.req(Method::PUT, &slack, &app.admin_token)
                .json(&json!({ "slack_user_id": "u123" })),
        )
        .await;
    assert_eq!(s, 422);
    let (s, m) = app
        .call(
            app.req(Method::PUT, &slack, &app.admin_token)
                .json(&json!({ "slack_user_id": "U012AB3CD" })),
        )
        .await;
    assert_eq!((s, m["slack_user_id"].as_str()), (200, Some("U012AB3CD")));
    let (s, _) = app
        .call(
            app.req(Method::PUT, &slack, &bob)
                .json(&json!({ "slack_user_id": "U012AB3CD" })),
        )
        .await;
    assert_eq!(s, 403);
    let (s, m) = app
        .call(
            app.req(
                Method::PATCH,
                &format!("/v1/members/{bob_id}"),
                &app.admin_token,
            )
            .json(&json!({ "first_name": "Robert" })),
        )
        .await;
    assert_eq!((s, m["first_name"].as_str()), (200, Some("Robert")));
    let (_, me) = app.get("/v1/auth/me", &app.admin_token).await;
    let me_id = me["org_member_id"].as_str().unwrap();
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/members/{me_id}"),
            &app.admin_token,
        ))
        .await;
    assert_eq!(s, 409, "cannot delete yourself");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_writes_are_forbidden() {
    let app = spawn_app().await;
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let (s, b) = app
        .post(
            "/v1/settings/credentials",
            &viewer,
            json!({ "name": "mine" }),
        )
        .await;
    assert_eq!((s, TestApp::error_code(&b)), (403, "forbidden"));
    let (s, _) = app.get("/v1/settings/credentials", &viewer).await;
    assert_eq!(s, 200, "reads are allowed");
    let (s, _) = app
        .call(
            app.req(
                Method::PATCH,
                &format!("/v1/org-units/{}", app.ou_id),
                &viewer,
            )
            .json(&json!({ "name": "Mine" })),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(app.get("/v1/admin/audit-logs", &viewer).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_ou_ids_answer_404_on_every_id_taking_route() {
    let app = spawn_app().await;
    // an OU the member does not belong to, with a credential in it
    let (_, ou2) = app
        .post(
            "/v1/org-units",
            &app.admin_token,
            json!({ "name": "Hidden" }),
        )
        .await;
    let ou2 = ou2["unit_id"].as_str().unwrap().to_string();
    let (_, cred) = app
        .call(
            app.req(Method::POST, "/v1/settings/credentials", &app.admin_token)
                .header("x-ou-id", &ou2)
                .json(&json!({"name": "hidden"})),
        )
        .await;
    let cred_id = cred["secret_id"].as_str().unwrap().to_string();
    let (bob_id, bob) = app.ou_member("bob@example.com", "Owner").await;
    let (_, admin_me) = app.get("/v1/auth/me", &app.admin_token).await;
    let admin_id = admin_me["org_member_id"].as_str().unwrap().to_string();
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::PATCH,
            format!("/v1/org-units/{ou2}"),
            json!({ "name": "x" }),
        ),
        (
            Method::POST,
            "/v1/org-units/active".into(),
            json!({ "ouId": ou2 }),
        ),
        (
            Method::GET,
            format!("/v1/org-units/{ou2}/memberships"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/v1/org-units/{ou2}/memberships"),
            json!({ "org_member_id": bob_id }),
        ),
        (
            Method::PATCH,
            format!("/v1/org-units/{ou2}/memberships/{admin_id}"),
            json!({ "role": "Viewer" }),
        ),
        (
            Method::DELETE,
            format!("/v1/org-units/{ou2}/memberships/{admin_id}"),
            Value::Null,
        ),
        (Method::GET, "/v1/settings/credentials".into(), Value::Null),
        (
            Method::DELETE,
            format!("/v1/settings/credentials/{cred_id}"),
            Value::Null,
        ),
        (Method::GET, "/v1/admin/audit-logs".into(), Value::Null),
    ];
    for (method, path, body) in cases {
        let mut rb = app.req(method.clone(), &path, &bob).header("x-ou-id", &ou2);
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let (s, b) = app.call(rb).await;
        assert_eq!(
            (s, TestApp::error_code(&b)),
            (404, "not_found"),
            "{method} {path}"
        );
    }
    // the credential of the hidden OU is not deletable from bob's own OU either
    let (s, _) = app
        .call(app.req(
            Method::DELETE,
            &format!("/v1/settings/credentials/{cred_id}"),
            &bob,
        ))
        .await;
    assert_eq!(s, 404);
    let (_, list) = app
        .call(
            app.req(Method::GET, "/v1/settings/credentials", &app.admin_token)
                .header("x-ou-id", &ou2),
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_org_ids_answer_404() {
    let app = spawn_app().await;
    let (org_b_ou, org_b_member, org_b_token) = app.second_org().await;
    let cases: Vec<(Method, String, Value)> = vec![
        (
            Method::PATCH,
            format!("/v1/org-units/{org_b_ou}"),
            json!({ "name": "x" }),
        ),
        (
            Method::POST,
            "/v1/org-units/active".into(),
            json!({ "ouId": org_b_ou }),
        ),
        (
            Method::GET,
            format!("/v1/org-units/{org_b_ou}/memberships"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/v1/org-units/{org_b_ou}/memberships"),
            json!({ "org_member_id": org_b_member }),
        ),
        (
            Method::PATCH,
            format!("/v1/org-units/{org_b_ou}/memberships/{org_b_member}"),
            json!({ "role": "Viewer" }),
        ),
        (
            Method::DELETE,
            format!("/v1/org-units/{org_b_ou}/memberships/{org_b_member}"),
            Value::Null,
        ),
        (
            Method::PATCH,
            format!("/v1/members/{org_b_member}"),
            json!({ "first_name": "x" }),
        ),
        (
            Method::DELETE,
            format!("/v1/members/{org_b_member}"),
            Value::Null,
        ),
        (
            Method::PUT,
            format!("/v1/members/{org_b_member}/slack-user-id"),
            json!({ "slack_user_id": "U1" }),
        ),
        (Method::GET, "/v1/settings/credentials".into(), Value::Null),
    ];
    for (method, path, body) in cases {
        let mut rb = app
            .req(method.clone(), &path, &app.admin_token)
            .header("x-ou-id", &org_b_ou);
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let (s, b) = app.call(rb).await;
        assert_eq!(
            (s, TestApp::error_code(&b)),
            (404, "not_found"),
            "{method} {path}: {b}"
        );
    }
    // org A's own member is likewise invisible to org B's admin
    let (_, me) = app.get("/v1/auth/me", &app.admin_token).await;
    let a_id = me["org_member_id"].as_str().unwrap();
    let (s, _) = app
        .call(
            app.req(Method::PATCH, &format!("/v1/members/{a_id}"), &org_b_token)
                .json(&json!({ "first_name": "x" })),
        )
        .await;
    assert_eq!(s, 404);
    let (_, members) = app.get("/v1/members", &org_b_token).await;
    assert_eq!(
        members.as_array().unwrap().len(),
        1,
        "org B sees only itself"
    );
    let (_, units) = app.get("/v1/org-units", &org_b_token).await;
    assert_eq!(units["units"].as_array().unwrap().len(), 1);
}
