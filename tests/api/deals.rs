//! Deals end to end: create with links checked, list filters, closing and reopening,
//! owners, roles and OU scoping.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deals_link_to_the_ous_leads_and_close_with_a_time() {
    let app = spawn_app().await;
    app.ok(Method::POST, "/v1/leads", Some(json!({"id": "l1"})), 201)
        .await;
    let rep = app
        .ok(
            Method::POST,
            "/v1/reps",
            Some(json!({"name": "Ann Lee", "email": "ann@acme.io"})),
            201,
        )
        .await;
    let rep_id = rep["rep_id"].as_str().unwrap();
    let d = app
        .ok(
            Method::POST,
            "/v1/deals",
            Some(json!({"name": "Acme renewal", "lead_id": "l1", "amount": 12000.5, "owner_id": rep_id})),
            201,
        )
        .await;
    let id = d["deal_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("dl_"));
    assert_eq!(d["status"], "open");
    assert_eq!(d["stage"], "new");
    assert_eq!(d["owner_name"], "Ann Lee");
    assert!(d["closed_at"].is_null());
    app.ok(
        Method::POST,
        "/v1/deals",
        Some(json!({"name": "Side deal", "stage": "demo"})),
        201,
    )
    .await;

    // bad input changes nothing
    for (body, field) in [
        (json!({"amount": 5}), "name"),
        (json!({"name": "X", "lead_id": "nobody"}), "lead_id"),
        (
            json!({"name": "X", "account_id": "acct_nope"}),
            "account_id",
        ),
        (json!({"name": "X", "owner_id": "rep_nope"}), "owner_id"),
        (json!({"name": "X", "amount": -3}), "amount"),
        (json!({"name": "X", "closed_at": "soon"}), "closed_at"),
        (json!({"name": null}), "name"),
        (json!({"name": "X", "stage": null}), "stage"),
        (json!({"name": "X", "status": null}), "status"),
    ] {
        let (s, b) = app
            .call(
                app.req(Method::POST, "/v1/deals", &app.admin_token)
                    .json(&body),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(b["error"]["details"]["field"], field, "{b}");
    }
    let (s, _) = app
        .call(
            app.req(Method::POST, "/v1/deals", &app.admin_token)
                .json(&json!({"name": "X", "status": "maybe"})),
        )
        .await;
    assert_eq!(s, 422);
    let all = app.ok(Method::GET, "/v1/deals", None, 200).await;
    assert_eq!(all["total"], 2);

    // winning stamps closed_at; a later edit keeps it; reopening clears it
    let won = app
        .ok(
            Method::PATCH,
            &format!("/v1/deals/{id}"),
            Some(json!({"status": "won", "stage": "closed"})),
            200,
        )
        .await;
    let closed_at = won["closed_at"].as_str().unwrap().to_string();
    let kept = app
        .ok(
            Method::PATCH,
            &format!("/v1/deals/{id}"),
            Some(json!({"amount": null, "owner_id": null})),
            200,
        )
        .await;
    assert_eq!(kept["closed_at"], closed_at.as_str());
    assert!(kept["amount"].is_null() && kept["owner_name"].is_null());
    let got = app
        .ok(Method::GET, &format!("/v1/deals/{id}"), None, 200)
        .await;
    assert_eq!(got, kept, "stored as answered");
    let by_status = app.ok(Method::GET, "/v1/deals?status=won", None, 200).await;
    assert_eq!(by_status["deals"][0]["deal_id"], id.as_str());
    assert_eq!(by_status["total"], 1);
    let by_lead = app
        .ok(Method::GET, "/v1/deals?lead_id=l1&stage=closed", None, 200)
        .await;
    assert_eq!(by_lead["total"], 1);
    let page = app
        .ok(Method::GET, "/v1/deals?limit=1&page=2", None, 200)
        .await;
    assert_eq!(
        (
            page["deals"].as_array().unwrap().len(),
            page["total"].clone()
        ),
        (1, json!(2))
    );
    let reopened = app
        .ok(
            Method::PATCH,
            &format!("/v1/deals/{id}"),
            Some(json!({"status": "open"})),
            200,
        )
        .await;
    assert!(reopened["closed_at"].is_null());

    // other OUs and viewers
    let ou2 = app.new_ou("Second").await;
    let (s, _) = app
        .call(
            app.req(Method::GET, &format!("/v1/deals/{id}"), &app.admin_token)
                .header("x-ou-id", &ou2),
        )
        .await;
    assert_eq!(s, 404);
    let (_, viewer) = app.ou_member("viewer@acme.io", "Viewer").await;
    let (s, list) = app.get("/v1/deals", &viewer).await;
    assert_eq!((s, list["total"].clone()), (200, json!(2)));
    let (s, _) = app
        .call(
            app.req(Method::PATCH, &format!("/v1/deals/{id}"), &viewer)
                .json(&json!({"status": "lost"})),
        )
        .await;
    assert_eq!(s, 403);
    let d: Value = app
        .ok(Method::GET, &format!("/v1/deals/{id}"), None, 200)
        .await;
    assert_eq!(d["status"], "open");
}

/// A merge carries the source's deals to the target, and a deal made for a merged-away
/// lead is the target's: a won deal then converts the lead its history went to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deals_follow_their_lead_through_a_merge() {
    let app = spawn_app().await;
    for id in ["keep", "gone"] {
        app.ok(Method::POST, "/v1/leads", Some(json!({ "id": id })), 201)
            .await;
    }
    let deal = app
        .ok(
            Method::POST,
            "/v1/deals",
            Some(json!({"name": "On the source", "lead_id": "gone"})),
            201,
        )
        .await;
    let merged = app
        .ok(
            Method::POST,
            "/v1/leads/merge",
            Some(json!({"targetLeadId": "keep", "sourceLeadIds": ["gone"]})),
            200,
        )
        .await;
    assert_eq!(merged["mergedSources"], json!(["gone"]), "{merged}");
    let path = format!("/v1/deals/{}", deal["deal_id"].as_str().unwrap());
    let moved = app.ok(Method::GET, &path, None, 200).await;
    assert_eq!(moved["lead_id"], "keep", "{moved}");
    let later: Value = app
        .ok(
            Method::POST,
            "/v1/deals",
            Some(json!({"name": "Named by the old id", "lead_id": "gone"})),
            201,
        )
        .await;
    assert_eq!(later["lead_id"], "keep", "{later}");

    // deleting the lead or the owning rep leaves no dangling link (the owner's name stays)
    let rep = app
        .ok(
            Method::POST,
            "/v1/reps",
            Some(json!({"name": "Bo Rep", "email": "bo@acme.io"})),
            201,
        )
        .await;
    let owned = app
        .ok(
            Method::POST,
            "/v1/deals",
            Some(json!({"name": "Owned", "owner_id": rep["rep_id"]})),
            201,
        )
        .await;
    app.ok(
        Method::DELETE,
        &format!("/v1/reps/{}", rep["rep_id"].as_str().unwrap()),
        None,
        204,
    )
    .await;
    let owned = app
        .ok(
            Method::GET,
            &format!("/v1/deals/{}", owned["deal_id"].as_str().unwrap()),
            None,
            200,
        )
        .await;
    assert_eq!(
        (owned["owner_id"].is_null(), owned["owner_name"].as_str()),
        (true, Some("Bo Rep")),
        "{owned}"
    );
    app.ok(Method::DELETE, "/v1/leads/keep", None, 200).await;
    let orphan = app.ok(Method::GET, &path, None, 200).await;
    assert!(orphan["lead_id"].is_null(), "{orphan}");
}
