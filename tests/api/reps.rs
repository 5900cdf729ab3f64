//! Sales reps end to end: validation, the org-wide email, live open assignments and
//! eligibility, leads owned by reps, deletion rules, roles and OU scoping.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn rep(app: &TestApp, body: Value) -> Value {
    app.ok(Method::POST, "/v1/reps", Some(body), 201).await
}

async fn status_of(app: &TestApp, method: Method, path: &str, body: Value) -> (u16, Value) {
    app.call(app.req(method, path, &app.admin_token).json(&body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reps_are_validated_and_count_their_open_assignments_live() {
    let app = spawn_app().await;
    let ann = rep(
        &app,
        json!({"name": " Ann Lee ", "email": "Ann@Acme.io", "capacity": 1,
               "attributes": {"territory": "EMEA", "languages": ["en", "de"]}}),
    )
    .await;
    let ann_id = ann["rep_id"].as_str().unwrap().to_string();
    assert!(ann_id.starts_with("rep_"));
    assert_eq!(ann["name"], "Ann Lee");
    assert_eq!(ann["email"], "ann@acme.io");
    assert_eq!(ann["status"], "AVAILABLE");
    assert_eq!(
        (ann["capacity"].clone(), ann["weight"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(ann["attributes"]["languages"][1], "de");
    assert_eq!(ann["open_assignments"], 0);
    let bob = rep(
        &app,
        json!({"name": "Bob", "email": "bob@acme.io", "status": "BUSY"}),
    )
    .await;

    // bad input changes nothing
    for (body, code, field) in [
        (json!({"name": "X", "email": "ANN@acme.io"}), 409, ""),
        (json!({"name": "X", "email": "not-an-email"}), 422, "email"),
        (json!({"email": "x@acme.io"}), 422, "name"),
        (
            json!({"name": "X", "email": "x@acme.io", "capacity": 100_001}),
            422,
            "capacity",
        ),
        (
            json!({"name": "X", "email": "x@acme.io", "weight": 101}),
            422,
            "weight",
        ),
        (
            json!({"name": "X", "email": "x@acme.io", "member_id": "om_nobody"}),
            422,
            "member_id",
        ),
    ] {
        let (s, b) = status_of(&app, Method::POST, "/v1/reps", body).await;
        assert_eq!(s, code, "{b}");
        if !field.is_empty() {
            assert_eq!(b["error"]["details"]["field"], field, "{b}");
        }
    }
    let (s, b) = status_of(
        &app,
        Method::POST,
        "/v1/reps",
        json!({"name": "X", "email": "x@acme.io", "status": "GONE"}),
    )
    .await;
    assert_eq!(s, 422, "{b}");
    let list = app.ok(Method::GET, "/v1/reps", None, 200).await;
    assert_eq!(list["total"], 2);

    // a lead owned by a rep: its name is the owner name, and the rep's capacity fills
    app.ok(Method::POST, "/v1/leads", Some(json!({"id": "l1"})), 201)
        .await;
    app.ok(
        Method::PUT,
        "/v1/leads/l1/owner",
        Some(json!({"owner_id": ann_id})),
        200,
    )
    .await;
    let l1 = app.ok(Method::GET, "/v1/leads/l1", None, 200).await;
    assert_eq!(l1["lead"]["owner_name"], "Ann Lee");
    let ann = app
        .ok(Method::GET, &format!("/v1/reps/{ann_id}"), None, 200)
        .await;
    assert_eq!(ann["open_assignments"], 1);
    let eligible = app
        .ok(Method::GET, "/v1/reps?eligible=true", None, 200)
        .await;
    assert_eq!(eligible["total"], 0, "Ann is full and Bob busy: {eligible}");
    app.ok(
        Method::PATCH,
        &format!("/v1/reps/{}", bob["rep_id"].as_str().unwrap()),
        Some(json!({"status": "AVAILABLE"})),
        200,
    )
    .await;
    let eligible = app
        .ok(Method::GET, "/v1/reps?eligible=true", None, 200)
        .await;
    assert_eq!(eligible["reps"][0]["name"], "Bob");
    let busy = app
        .ok(Method::GET, "/v1/reps?status=BUSY&search=acme", None, 200)
        .await;
    assert_eq!(busy["total"], 0);
    let found = app.ok(Method::GET, "/v1/reps?search=ANN", None, 200).await;
    assert_eq!(found["reps"][0]["rep_id"], ann_id.as_str());
    let (s, _) = status_of(&app, Method::GET, "/v1/reps?status=gone", Value::Null).await;
    assert_eq!(s, 422);

    // a rep that owns leads is not deleted; once they are reassigned it is
    let (s, b) = status_of(
        &app,
        Method::DELETE,
        &format!("/v1/reps/{ann_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("1 lead"));
    app.ok(
        Method::PUT,
        "/v1/leads/l1/owner",
        Some(json!({"owner_id": null})),
        200,
    )
    .await;
    app.ok(Method::DELETE, &format!("/v1/reps/{ann_id}"), None, 204)
        .await;
    let (s, _) = status_of(
        &app,
        Method::GET,
        &format!("/v1/reps/{ann_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    // the email is free again
    rep(&app, json!({"name": "Ann 2", "email": "ann@acme.io"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reps_belong_to_their_org_unit_and_writes_need_an_operator() {
    let app = spawn_app().await;
    let (member_id, _) = app.member("rep-login@acme.io", "member").await;
    let r = rep(
        &app,
        json!({"name": "Cy", "email": "cy@acme.io", "member_id": member_id}),
    )
    .await;
    let id = r["rep_id"].as_str().unwrap().to_string();
    assert_eq!(r["member_id"], member_id.as_str());
    let unlinked = app
        .ok(
            Method::PATCH,
            &format!("/v1/reps/{id}"),
            Some(json!({"member_id": null})),
            200,
        )
        .await;
    assert!(unlinked["member_id"].is_null());
    // only member_id clears with null; a null elsewhere is refused, naming the field
    for field in ["name", "status", "capacity", "weight"] {
        let (s, b) = app
            .call(
                app.req(Method::PATCH, &format!("/v1/reps/{id}"), &app.admin_token)
                    .json(&json!({ field: null })),
            )
            .await;
        assert_eq!(
            (s, b["error"]["details"]["field"].as_str()),
            (422, Some(field)),
            "{b}"
        );
    }
    let kept = app
        .ok(Method::GET, &format!("/v1/reps/{id}"), None, 200)
        .await;
    assert_eq!(kept["name"], "Cy");

    let ou2 = app.new_ou("Second").await;

    let in_ou2 = |method: Method, path: &str| {
        app.req(method, path, &app.admin_token)
            .header("x-ou-id", &ou2)
    };
    let (s, _) = app
        .call(in_ou2(Method::GET, &format!("/v1/reps/{id}")))
        .await;
    assert_eq!(s, 404, "another OU's rep is not found");
    let (s, list) = app.call(in_ou2(Method::GET, "/v1/reps")).await;
    assert_eq!((s, list["total"].clone()), (200, json!(0)));
    let (s, _) = app
        .call(in_ou2(Method::POST, "/v1/leads").json(&json!({"id": "x1"})))
        .await;
    assert_eq!(s, 201);
    let (s, b) = app
        .call(in_ou2(Method::PUT, "/v1/leads/x1/owner").json(&json!({"owner_id": id})))
        .await;
    assert_eq!(s, 422, "a rep of another OU cannot own the lead: {b}");
    // the org-wide email: the same address cannot be a rep in the other OU
    let (s, _) = app
        .call(in_ou2(Method::POST, "/v1/reps").json(&json!({"name": "Cy", "email": "CY@acme.io"})))
        .await;
    assert_eq!(s, 409);

    let (_, viewer) = app.ou_member("viewer@acme.io", "Viewer").await;
    let (s, list) = app.get("/v1/reps", &viewer).await;
    assert_eq!((s, list["total"].clone()), (200, json!(1)));
    let (s, _) = app
        .post(
            "/v1/reps",
            &viewer,
            json!({"name": "V", "email": "v@acme.io"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            app.req(Method::PATCH, &format!("/v1/reps/{id}"), &viewer)
                .json(&json!({"status": "OFFLINE"})),
        )
        .await;
    assert_eq!(s, 403);
    let r = app
        .ok(Method::GET, &format!("/v1/reps/{id}"), None, 200)
        .await;
    assert_eq!(r["status"], "AVAILABLE", "the viewer changed nothing");
}
