//! GraphQL at `/graphql` and `/graphql/ws`: the same auth and OU scoping as REST, queries
//! with DataLoader-batched nested fields, mutations over the core's operations, cost
//! limits, and live subscriptions over both WebSocket subprotocols.

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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

/// Runs a GraphQL operation over HTTP as `token` (in `ou` when given); the response body.
async fn gql(app: &TestApp, token: &str, ou: Option<&str>, query: &str, vars: Value) -> Value {
    let mut rb = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }));
    if let Some(ou) = ou {
        rb = rb.header("x-ou-id", ou);
    }
    let (s, body) = app.call(rb).await;
    assert_eq!(s, 200, "{body}");
    body
}

/// The data of an operation that must succeed.
async fn data(app: &TestApp, query: &str, vars: Value) -> Value {
    let r = gql(app, &app.admin_token, None, query, vars).await;
    assert!(r.get("errors").is_none(), "{r}");
    r["data"].clone()
}

fn error_code(r: &Value) -> &str {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    assert_eq!(error_code(&anon), "unauthorized");
    // anonymous mutations change nothing either
    let anon_write: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "mutation { createRuleset(input: {name: \"X\"}) { rulesetId } }" }))
        .into_json()
        .await;
    assert_eq!(error_code(&anon_write), "unauthorized");
    assert_eq!(
        app.ok(Method::GET, "/v1/rulesets", None, 200).await,
        json!([])
    );
    let (_, t) = app
        .post(
            "/v1/settings/tokens",
            &app.admin_token,
            json!({ "name": "gql" }),
        )
        .await;
    let pat = t["token"].as_str().unwrap();
    let r = gql(&app, pat, None, q["query"].as_str().unwrap(), json!({})).await;
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
    // an OU the caller may not act in is not found, as on REST
    let (other_ou, _, _) = app.second_org().await;
    let r = gql(
        &app,
        &app.admin_token,
        Some(&other_ou),
        "{ rulesets { rulesetId } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&r), "not_found", "{r}");
}

const LEAD_PAGE: &str =
    "query($limit: Int) { leads(limit: $limit, filter: {sortBy: CREATED_AT, sortOrder: ASC}) {
    total leads { id score scores level { name } disqualified
        aliases { aliasKind value } account { name domain }
        events(limit: 2) { eventType metadata } whySummary } } }";

/// Leads number `from`…`to - 1` (in creation order), each with an email alias, one Demo event and an account.
async fn leads_with_accounts(app: &TestApp, from: usize, to: usize) {
    for i in from..to {
        let a = app
            .ok(
                Method::POST,
                "/v1/accounts",
                Some(json!({ "name": format!("Acme {i}"), "domain": format!("acme{i}.example") })),
                201,
            )
            .await;
        let ack = app
            .ok(
                Method::POST,
                "/v1/events",
                Some(json!({ "event_type": "Demo", "metadata": {"n": i},
                             "aliases": [{"alias_kind": "email", "raw_value": format!("p{i}@acme{i}.example")}] })),
                201,
            )
            .await;
        let id = ack["metadata"]["lead_id"].as_str().unwrap();
        app.ok(
            Method::PUT,
            &format!("/v1/leads/{id}"),
            Some(json!({ "metadata": {"i": i}, "account_id": a["account_id"] })),
            200,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_leads_with_nested_fields_costs_a_bounded_number_of_queries() {
    let app = spawn_app().await;
    app.ok(
        Method::PUT,
        "/v1/settings/scoring",
        Some(json!({"abm_enabled": true})),
        200,
    )
    .await;
    app.rule(json!({"event_type": "Demo", "weight": 25})).await;
    app.ok(
        Method::POST,
        "/v1/levels/engagement",
        Some(json!({"name": "Warm", "min_score": 20, "max_score": 100})),
        201,
    )
    .await;
    leads_with_accounts(&app, 0, 3).await;
    let cost = |limit: u32| {
        let app = &app;
        async move {
            // the leads' own background work (account wake-ups, rescoring) runs on other
            // threads: let it end, so that only the page's queries are counted
            loop {
                let before = app.core.store.query_count();
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                if app.core.store.query_count() == before {
                    break;
                }
            }
            let before = app.core.store.query_count();
            let d = data(app, LEAD_PAGE, json!({ "limit": limit })).await;
            (app.core.store.query_count() - before, d)
        }
    };
    let (small, d) = cost(3).await;
    let leads = d["leads"]["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 3);
    let first = &leads[0];
    assert_eq!(first["score"], 25.0);
    assert_eq!(first["level"]["name"], "Warm");
    assert_eq!(
        first["aliases"],
        json!([{"aliasKind": "EMAIL", "value": "p0@acme0.example"}])
    );
    assert_eq!(first["account"]["domain"], "acme0.example");
    assert_eq!(
        first["events"],
        json!([{"eventType": "Demo", "metadata": {"n": 0}}])
    );
    assert!(
        first["whySummary"].as_str().unwrap().contains("25"),
        "{first}"
    );
    leads_with_accounts(&app, 3, 40).await;
    let (large, d) = cost(100).await;
    assert_eq!(d["leads"]["total"], 40);
    assert_eq!(d["leads"]["leads"][39]["account"]["name"], "Acme 39");
    assert_eq!(
        d["leads"]["leads"][39]["aliases"][0]["value"],
        "p39@acme39.example"
    );
    eprintln!("store queries: {small} for 3 leads, {large} for 40");
    // one batch per nested field whatever the page size (a lead each would be 160+),
    // loaded before the page's resolvers run: the same count however they are scheduled
    assert!(small <= 16, "queries: {small} for 3");
    assert_eq!(small, large, "queries: {small} for 3, {large} for 40");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_manage_rules_and_leads_through_the_core() {
    let app = spawn_app().await;
    let d = data(
        &app,
        "mutation { createRuleset(input: {name: \"Main\"}) { rulesetId name isPrimary } }",
        json!({}),
    )
    .await;
    let rs = d["createRuleset"]["rulesetId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(d["createRuleset"]["isPrimary"], true);
    let create = "mutation($i: RuleInput!) { createRule(input: $i) { ruleId weight halfLifeDays priority } }";
    let demo = data(
        &app,
        create,
        json!({"i": {"rulesetId": rs, "eventType": "Demo", "weight": 10, "halfLifeDays": 30}}),
    )
    .await["createRule"]
        .clone();
    let visit = data(
        &app,
        create,
        json!({"i": {"rulesetId": rs, "eventType": "Visit", "weight": 1}}),
    )
    .await["createRule"]
        .clone();
    // validation is the core's: a zero weight is refused and nothing is stored
    let r = gql(
        &app,
        &app.admin_token,
        None,
        create,
        json!({"i": {"rulesetId": rs, "eventType": "X", "weight": 2_000_000}}),
    )
    .await;
    assert_eq!(error_code(&r), "validation_failed", "{r}");
    assert_eq!(
        data(&app, "{ rules { eventType } }", json!({})).await["rules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // ingest through GraphQL: the ack carries the delta
    let ingest = "mutation($i: EventInput!) { ingestEvent(input: $i) { leadId leadCreated deltas { rulesetId delta after } } }";
    let ack = data(
        &app,
        ingest,
        json!({"i": {"aliases": [{"aliasKind": "EMAIL", "rawValue": "Ann@Example.com"}], "eventType": "Demo", "metadata": {"page": "/pricing"}}}),
    )
    .await["ingestEvent"]
        .clone();
    assert_eq!(ack["leadCreated"], true);
    assert_eq!(ack["deltas"][0]["delta"], 10.0);
    let lead = ack["leadId"].as_str().unwrap().to_string();
    let r = gql(
        &app,
        &app.admin_token,
        None,
        ingest,
        json!({"i": {"leadId": lead, "eventType": "Demo", "metadata": [1]}}),
    )
    .await;
    assert_eq!(
        error_code(&r),
        "validation_failed",
        "metadata must be an object: {r}"
    );
    // metadata nested past the limit is refused here too, not only over REST
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!({ "a": deep });
    }
    let r = gql(
        &app,
        &app.admin_token,
        None,
        ingest,
        json!({"i": {"leadId": lead, "eventType": "Demo", "metadata": deep}}),
    )
    .await;
    assert_eq!(error_code(&r), "validation_failed", "{r}");
    // update a rule: null clears the half-life; the live score follows the new weight
    let upd = data(
        &app,
        "mutation($id: String!) { updateRule(id: $id, input: {weight: 40, halfLifeDays: null}) { weight halfLifeDays } }",
        json!({"id": demo["ruleId"]}),
    )
    .await;
    assert_eq!(
        upd["updateRule"],
        json!({"weight": 40, "halfLifeDays": null})
    );
    // an explicit null for a field that cannot be cleared is refused, naming it; the rule
    // keeps its weight
    for (input, field) in [
        ("{weight: null}", "weight"),
        ("{eventType: null}", "eventType"),
        ("{active: null, weight: 1}", "active"),
    ] {
        let r = gql(
            &app,
            &app.admin_token,
            None,
            &format!(
                "mutation($id: String!) {{ updateRule(id: $id, input: {input}) {{ weight }} }}"
            ),
            json!({"id": demo["ruleId"]}),
        )
        .await;
        assert_eq!(error_code(&r), "validation_failed", "{r}");
        assert_eq!(
            r["errors"][0]["extensions"]["details"]["field"], field,
            "{r}"
        );
    }
    let r = gql(
        &app,
        &app.admin_token,
        None,
        "mutation($id: String!) { updateRuleset(id: $id, input: {name: null}) { name } }",
        json!({"id": rs}),
    )
    .await;
    assert_eq!(
        r["errors"][0]["extensions"]["details"]["field"], "name",
        "{r}"
    );
    let q = "query($id: String!) { lead(id: $id) { score ownerName metadata aliases { value } } }";
    assert_eq!(
        data(&app, q, json!({"id": lead})).await["lead"]["score"],
        40.0
    );
    // reorder, then delete a rule
    let order = data(
        &app,
        "mutation($rs: String!, $ids: [String!]!) { reorderRules(rulesetId: $rs, ruleIds: $ids) { ruleId } }",
        json!({"rs": rs, "ids": [visit["ruleId"], demo["ruleId"]]}),
    )
    .await;
    assert_eq!(order["reorderRules"][0]["ruleId"], visit["ruleId"]);
    let r = gql(
        &app,
        &app.admin_token,
        None,
        "mutation($rs: String!) { reorderRules(rulesetId: $rs, ruleIds: []) { ruleId } }",
        json!({"rs": rs}),
    )
    .await;
    assert_eq!(error_code(&r), "validation_failed");
    data(
        &app,
        "mutation($id: String!) { deleteRule(id: $id) }",
        json!({"id": visit["ruleId"]}),
    )
    .await;
    // rename the ruleset (what is left out keeps its value); its primary flag cannot be dropped
    let r = data(
        &app,
        "mutation($id: String!) { updateRuleset(id: $id, input: {name: \"Renamed\"}) { name isPrimary scoreColumn } }",
        json!({"id": rs}),
    )
    .await;
    assert_eq!(
        r["updateRuleset"],
        json!({"name": "Renamed", "isPrimary": true, "scoreColumn": "total_score"})
    );
    let r = gql(
        &app,
        &app.admin_token,
        None,
        "mutation($id: String!) { updateRuleset(id: $id, input: {isPrimary: false}) { name } }",
        json!({"id": rs}),
    )
    .await;
    assert_eq!(error_code(&r), "validation_failed", "{r}");
    // leads: create, update, patch, owner, merge, reset
    let (member_id, _) = app.member("rep@example.com", "member").await;
    data(
        &app,
        "mutation { createLead(id: \"lead-b\", metadata: {title: \"CTO\", tier: 1}) { id } }",
        json!({}),
    )
    .await;
    data(
        &app,
        "mutation { patchLead(id: \"lead-b\", metadata: {tier: null, city: \"Oslo\"}) { id } }",
        json!({}),
    )
    .await;
    let b = data(&app, q, json!({"id": "lead-b"})).await;
    assert_eq!(
        b["lead"]["metadata"],
        json!({"title": "CTO", "city": "Oslo"})
    );
    let b = data(
        &app,
        "mutation { updateLead(id: \"lead-b\", metadata: {title: \"CEO\"}) { metadata } }",
        json!({}),
    )
    .await;
    assert_eq!(b["updateLead"]["metadata"], json!({"title": "CEO"}));
    let owner = data(
        &app,
        "mutation($m: String!) { assignOwner(leadId: \"lead-b\", ownerId: $m) { ownerId ownerName } }",
        json!({"m": member_id}),
    )
    .await;
    assert_eq!(owner["assignOwner"]["ownerId"], member_id.as_str());
    assert_eq!(owner["assignOwner"]["ownerName"], "T User");
    // leaving ownerId out is an error, never an unassignment
    for m in [
        "mutation { assignOwner(leadId: \"lead-b\") { ownerId } }",
        "mutation { assignOwner(leadId: \"lead-b\", ownerName: \"Bob\") { ownerId } }",
    ] {
        let r = gql(&app, &app.admin_token, None, m, json!({})).await;
        assert_eq!(error_code(&r), "validation_failed", "{r}");
    }
    let b = data(&app, "{ lead(id: \"lead-b\") { ownerId } }", json!({})).await;
    assert_eq!(b["lead"]["ownerId"], member_id.as_str());
    app.ok(
        Method::POST,
        "/v1/events",
        Some(json!({"lead_id": "lead-b", "event_type": "Demo"})),
        201,
    )
    .await;
    let m = data(
        &app,
        "mutation($t: String!) { mergeLeads(targetLeadId: $t, sourceLeadIds: [\"lead-b\"]) { target { id score aliases { value } } mergedSources movedEvents } }",
        json!({"t": lead}),
    )
    .await;
    assert_eq!(m["mergeLeads"]["movedEvents"], 1);
    assert_eq!(m["mergeLeads"]["target"]["score"], 80.0);
    assert_eq!(
        m["mergeLeads"]["target"]["aliases"][0]["value"],
        "ann@example.com"
    );
    // the merged-away lead reads as REST reads it: its record, the target's history
    let both = "query($a: String!, $b: String!) {
        a: lead(id: $a) { aliases { value } events(limit: 100) { eventId } whySummary }
        b: lead(id: $b) { mergedInto score aliases { value } events(limit: 100) { eventId } whySummary } }";
    let r = data(&app, both, json!({"a": lead, "b": "lead-b"})).await;
    assert_eq!(r["b"]["mergedInto"], lead.as_str(), "{r}");
    assert_eq!(r["b"]["score"], 0.0, "{r}");
    for field in ["aliases", "events", "whySummary"] {
        assert_eq!(r["a"][field], r["b"][field], "{field}: {r}");
    }
    assert!(!r["b"]["events"].as_array().unwrap().is_empty(), "{r}");
    let reset = data(
        &app,
        "mutation($l: String!) { resetScore(leadId: $l) { status previousScores } }",
        json!({"l": lead}),
    )
    .await;
    assert_eq!(reset["resetScore"]["previousScores"][&rs], 80.0);
    assert_eq!(
        data(&app, q, json!({"id": lead})).await["lead"]["score"],
        0.0
    );
    // a viewer reads but may not write
    let (_, viewer) = app.ou_member("viewer@example.com", "Viewer").await;
    let r = gql(&app, &viewer, None, "{ rules { ruleId } }", json!({})).await;
    assert_eq!(r["data"]["rules"].as_array().unwrap().len(), 1, "{r}");
    let r = gql(
        &app,
        &viewer,
        None,
        "mutation($id: String!) { deleteRule(id: $id) }",
        json!({"id": demo["ruleId"]}),
    )
    .await;
    assert_eq!(error_code(&r), "forbidden", "{r}");
    // another OU's lead is not found
    let ou2 = app.new_ou("Second").await;
    let r = gql(&app, &app.admin_token, Some(&ou2), q, json!({"id": lead})).await;
    assert_eq!(error_code(&r), "not_found", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_over_the_depth_or_complexity_limits_are_refused() {
    let app = spawn_app().await;
    let deep = "{ leads { leads { account { name } } } me { email } orgUnits { name } }";
    assert!(gql(&app, &app.admin_token, None, deep, json!({})).await["errors"].is_null());
    let too_deep = "query { __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }";
    let r = gql(&app, &app.admin_token, None, too_deep, json!({})).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{r}"
    );
    let costly = "{ leads(limit: 500) { leads { id events(limit: 100) { eventId eventType } } } }";
    let r = gql(&app, &app.admin_token, None, costly, json!({})).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{r}"
    );
    assert!(r["data"].is_null());
}

/// Errors async-graphql raises itself carry REST's codes, a failed field is null where the
/// spec puts it (async-graphql alone leaves it out), and a body without a query is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_coded_and_a_failed_field_nulls_as_the_spec_says() {
    let app = spawn_app().await;
    let t = app.admin_token.clone();
    // Documents that do not parse or validate, and the complexity limit: bad_request.
    for (query, vars, says) in [
        ("{ leads { total ", json!({}), "expected"),
        ("{ nope }", json!({}), "Unknown field"),
        ("{ leads(limit: -1) { total } }", json!({}), "Int"),
        (
            "{ leads(filter: {sortBy: LOUDEST}) { total } }",
            json!({}),
            "LOUDEST",
        ),
        (
            "query($l: Int) { leads(limit: $l) { total } }",
            json!({"l": -1}),
            "Int",
        ),
        (
            "{ leads(limit: 500) { leads { id events(limit: 100) { eventId } } } }",
            json!({}),
            "too complex",
        ),
    ] {
        let r = gql(&app, &t, None, query, vars).await;
        assert!(r["data"].is_null(), "{query}: {r}");
        assert_eq!(error_code(&r), "bad_request", "{query}: {r}");
        let message = r["errors"][0]["message"].as_str().unwrap_or("");
        assert!(message.contains(says), "{query}: {r}");
    }

    data(
        &app,
        "mutation { createLead(id: \"ld_gqlerr\") { id } }",
        json!({}),
    )
    .await;
    // `events` is non-null: its failure nulls the nullable `lead` above it, once.
    let r = gql(
        &app,
        &t,
        None,
        "{ lead(id: \"ld_gqlerr\") { id events(limit: 0) { eventId } } me { email } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["lead"], Value::Null, "{r}");
    assert_eq!(r["data"]["me"]["email"], "admin@example.com", "{r}");
    assert_eq!(r["errors"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(error_code(&r), "validation_failed", "{r}");
    assert_eq!(r["errors"][0]["path"], json!(["lead", "events"]), "{r}");
    // An unknown id: not_found, and the rest of the operation answers.
    let r = gql(
        &app,
        &t,
        None,
        "{ lead(id: \"ld_none\") { id } me { email } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["lead"], Value::Null, "{r}");
    assert_eq!(r["data"]["me"]["email"], "admin@example.com", "{r}");
    assert_eq!(error_code(&r), "not_found", "{r}");
    // ... also when it was the operation's only field
    let r = gql(
        &app,
        &t,
        None,
        "{ lead(id: \"ld_none\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"], json!({"lead": null}), "{r}");
    // Through the non-null page, list and item: up to `data` itself.
    let r = gql(
        &app,
        &t,
        None,
        "{ leads { total leads { id events(limit: 0) { eventId } } } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"], Value::Null, "{r}");
    assert_eq!(error_code(&r), "validation_failed", "{r}");
    // Paging on the field and in the filter: both may be given only when they agree.
    let r = gql(
        &app,
        &t,
        None,
        "{ leads(limit: 5, filter: {limit: 2}) { limit } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&r), "validation_failed", "{r}");
    assert_eq!(
        r["errors"][0]["extensions"]["details"]["field"], "limit",
        "{r}"
    );
    let r = data(
        &app,
        "{ leads(limit: 2, filter: {limit: 2, page: 1}) { limit page } }",
        json!({}),
    )
    .await;
    assert_eq!(r["leads"], json!({"limit": 2, "page": 1}));

    // A required variable not sent is a request error; a nullable one not sent leaves
    // its argument out (it is not an explicit null)
    let r = gql(
        &app,
        &t,
        None,
        "query($v: Boolean!) { me { email @include(if: $v) } }",
        json!({}),
    )
    .await;
    assert_eq!(
        (r["data"].clone(), error_code(&r)),
        (Value::Null, "bad_request"),
        "{r}"
    );
    assert!(
        r["errors"][0]["message"].as_str().unwrap().contains("$v"),
        "{r}"
    );
    let r = gql(
        &app,
        &t,
        None,
        "mutation($o: String) { assignOwner(leadId: \"ld_gqlerr\", ownerId: $o) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&r), "validation_failed", "ownerId left out: {r}");
    let rule = data(
        &app,
        "mutation { createRule(input: {eventType: \"Var\", weight: 3, halfLifeDays: 30}) { ruleId } }",
        json!({}),
    )
    .await;
    let updated = data(
        &app,
        "mutation($id: String!, $h: Int) { updateRule(id: $id, input: {halfLifeDays: $h, weight: 4}) { weight halfLifeDays } }",
        json!({"id": rule["createRule"]["ruleId"]}),
    )
    .await;
    assert_eq!(
        updated["updateRule"],
        json!({"weight": 4, "halfLifeDays": 30}),
        "an unsent $h keeps the half-life"
    );
    let updated = data(
        &app,
        "mutation($id: String!, $h: Int) { updateRule(id: $id, input: {halfLifeDays: $h}) { halfLifeDays } }",
        json!({"id": rule["createRule"]["ruleId"], "h": null}),
    )
    .await;
    assert_eq!(
        updated["updateRule"]["halfLifeDays"],
        Value::Null,
        "a sent null clears it"
    );

    // No query at all, or a batch: the request itself is malformed.
    for body in [
        json!({}),
        json!({"query": "  "}),
        json!(["{ me { email } }"]),
        json!([{"query": "{ me { email } }"}]),
    ] {
        let (s, body) = app
            .call(
                app.client
                    .post(app.url("/graphql"))
                    .bearer_auth(&t)
                    .json(&body),
            )
            .await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid GraphQL request"));
    }
}

// ----- WebSocket subscriptions -----

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A GraphQL WebSocket client speaking `graphql-transport-ws` or the legacy `graphql-ws`.
struct GqlWs {
    ws: Socket,
    legacy: bool,
}

impl GqlWs {
    /// Connects and sends `connection_init` with `payload`: the socket once acknowledged,
    /// else the close reason.
    async fn connect(app: &TestApp, protocol: &str, payload: Value) -> Result<GqlWs, String> {
        let url = app.url("/graphql/ws").replacen("http", "ws", 1);
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(
            resp.headers()["sec-websocket-protocol"],
            protocol,
            "the server speaks the protocol asked for"
        );
        let mut c = GqlWs {
            ws,
            legacy: protocol == "graphql-ws",
        };
        c.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        match c.next().await {
            Ok(m) if m["type"] == "connection_ack" => Ok(c),
            Ok(m) => Err(m.to_string()),
            Err(reason) => Err(reason),
        }
    }

    async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next protocol message (keep-alives skipped), or the close reason.
    async fn next(&mut self) -> Result<Value, String> {
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(10), self.ws.next())
                .await
                .map_err(|_| "timed out".to_string())?;
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "ka" || v["type"] == "ping" || v["type"] == "pong" {
                        continue;
                    }
                    return Ok(v);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map(|f| f.reason.to_string()).unwrap_or_default());
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("closed".into()),
            }
        }
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        let kind = if self.legacy { "start" } else { "subscribe" };
        self.send(json!({"id": id, "type": kind, "payload": {"query": query}}))
            .await;
    }

    /// The data of the next result of any subscription, with its id.
    async fn data(&mut self) -> (String, Value) {
        let m = self.next().await.expect("a message");
        let kind = if self.legacy { "data" } else { "next" };
        assert_eq!(m["type"], kind, "{m}");
        assert!(m["payload"]["errors"].is_null(), "{m}");
        (
            m["id"].as_str().unwrap().to_string(),
            m["payload"]["data"].clone(),
        )
    }
}

fn bearer(token: &str) -> Value {
    json!({ "Authorization": format!("Bearer {token}") })
}

async fn ingest(app: &TestApp, ou: &str, body: Value) -> Value {
    let (s, b) = app
        .call(
            app.req(Method::POST, "/v1/events", &app.admin_token)
                .header("x-ou-id", ou)
                .json(&body),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["metadata"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_receive_exactly_their_ous_score_changes() {
    let app = spawn_app().await;
    let ou1 = app.ou_id.clone();
    let ou2 = app.new_ou("Second").await;
    for ou in [&ou1, &ou2] {
        let (s, b) = app
            .call(
                app.req(Method::POST, "/v1/rules", &app.admin_token)
                    .header("x-ou-id", ou.as_str())
                    .json(&json!({"event_type": "Demo", "weight": 10})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let mut a = GqlWs::connect(&app, "graphql-transport-ws", bearer(&app.admin_token))
        .await
        .expect("subscriber in the default OU");
    let mut b_payload = bearer(&app.admin_token);
    b_payload["ouId"] = json!(ou2);
    let mut b = GqlWs::connect(&app, "graphql-transport-ws", b_payload)
        .await
        .expect("subscriber in the second OU");
    let sub = "subscription { scoreChanged { leadId rulesetId before after delta cause } }";
    a.subscribe("a1", sub).await;
    a.subscribe(
        "a2",
        "subscription { scoreChanged(leadId: \"lead-x\", minDelta: 15) { leadId delta } }",
    )
    .await;
    a.subscribe(
        "a3",
        "subscription { eventIngested(eventType: \"Demo\") { leadId eventType channel } }",
    )
    .await;
    b.subscribe("b1", sub).await;
    // let the subscriptions reach the bus before publishing
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for (ou, lead) in [
        (&ou1, "lead-x"),
        (&ou1, "lead-y"),
        (&ou1, "marker"),
        (&ou2, "lead-z"),
    ] {
        let (s, _) = app
            .call(
                app.req(Method::POST, "/v1/leads", &app.admin_token)
                    .header("x-ou-id", ou.as_str())
                    .json(&json!({"id": lead})),
            )
            .await;
        assert_eq!(s, 201);
    }

    let mut acks = Vec::new();
    for (lead, ty) in [("lead-x", "Demo"), ("lead-y", "Demo"), ("lead-x", "Other")] {
        acks.push(ingest(&app, &ou1, json!({"lead_id": lead, "event_type": ty})).await);
    }
    // a1: every score change of the OU, in order, exactly as the ingest acks said
    let mut got = Vec::new();
    let mut demo_events = Vec::new();
    while got.len() < 2 || demo_events.len() < 2 {
        let (id, d) = a.data().await;
        match id.as_str() {
            "a1" => got.push(d["scoreChanged"].clone()),
            "a3" => demo_events.push(d["eventIngested"].clone()),
            other => panic!("unexpected {other}: {d}"),
        }
    }
    for (change, ack) in got.iter().zip(&acks) {
        let delta = &ack["deltas"][0];
        assert_eq!(change["leadId"], ack["lead_id"]);
        assert_eq!(change["rulesetId"], delta["ruleset_id"]);
        assert_eq!(change["after"], delta["after"]);
        assert_eq!(change["delta"], 10.0);
        assert_eq!(
            change["cause"],
            format!("event:{}", ack["event_id"].as_str().unwrap())
        );
    }
    assert_eq!(demo_events[0]["leadId"], "lead-x");
    assert_eq!(demo_events[1]["leadId"], "lead-y");
    assert_eq!(demo_events[0]["channel"], "web");
    // the unscored "Other" event changes no score; the next message anyone in OU1 hears
    // is the marker's, so nothing else was sent (a2's minDelta 15 filtered 10-point changes)
    ingest(
        &app,
        &ou1,
        json!({"lead_id": "marker", "event_type": "Demo"}),
    )
    .await;
    // (one socket interleaves its subscriptions in any order)
    let mut next_two = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let (id, d) = a.data().await;
        next_two.insert(id, d);
    }
    assert_eq!(next_two["a1"]["scoreChanged"]["leadId"], "marker");
    assert_eq!(next_two["a3"]["eventIngested"]["leadId"], "marker");
    // the other OU's subscriber heard none of it: its first message is its own OU's change
    let own = ingest(
        &app,
        &ou2,
        json!({"lead_id": "lead-z", "event_type": "Demo"}),
    )
    .await;
    let (id, d) = b.data().await;
    assert_eq!(id, "b1");
    assert_eq!(d["scoreChanged"]["leadId"], "lead-z");
    assert_eq!(d["scoreChanged"]["after"], own["deltas"][0]["after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_protocol_level_changes_and_surges() {
    let app = spawn_app().await;
    app.rule(json!({"event_type": "Demo", "weight": 30})).await;
    app.ok(
        Method::POST,
        "/v1/levels/engagement",
        Some(json!({"name": "Hot", "min_score": 50, "max_score": 1000})),
        201,
    )
    .await;
    let mut ws = GqlWs::connect(&app, "graphql-ws", bearer(&app.admin_token))
        .await
        .expect("legacy subprotocol");
    ws.subscribe(
        "1",
        "subscription { levelChanged(dimension: ENGAGEMENT) { leadId dimension before { name } after { name } } }",
    )
    .await;
    ws.subscribe(
        "2",
        "subscription { surgeDetected(leadId: \"lv\") { leadId sessionEvents multiplier } }",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.ok(Method::POST, "/v1/leads", Some(json!({"id": "lv"})), 201)
        .await;
    // the 2nd event lifts the lead into "Hot"; the 3rd of the session surges (1.25x)
    for _ in 0..3 {
        app.ok(
            Method::POST,
            "/v1/events",
            Some(json!({"lead_id": "lv", "event_type": "Demo"})),
            201,
        )
        .await;
    }
    let (id, d) = ws.data().await;
    assert_eq!(id, "1");
    assert_eq!(
        d["levelChanged"],
        json!({"leadId": "lv", "dimension": "ENGAGEMENT", "before": null, "after": {"name": "Hot"}})
    );
    let (id, d) = ws.data().await;
    assert_eq!(id, "2");
    assert_eq!(
        d["surgeDetected"],
        json!({"leadId": "lv", "sessionEvents": 3, "multiplier": 1.25})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_connections_need_credentials() {
    let app = spawn_app().await;
    let none = GqlWs::connect(&app, "graphql-transport-ws", json!({})).await;
    assert!(
        none.as_ref()
            .err()
            .is_some_and(|e| e.contains("authentication required")),
        "{:?}",
        none.err()
    );
    let bad = GqlWs::connect(&app, "graphql-transport-ws", bearer("lw_pat_nope")).await;
    assert!(
        bad.as_ref()
            .err()
            .is_some_and(|e| e.contains("invalid credentials")),
        "{:?}",
        bad.err()
    );
    let legacy = GqlWs::connect(&app, "graphql-ws", json!({"Authorization": "Bearer x"})).await;
    assert!(legacy.is_err(), "legacy refuses too");
    let (other_ou, _, _) = app.second_org().await;
    let mut p = bearer(&app.admin_token);
    p["ouId"] = json!(other_ou);
    let foreign = GqlWs::connect(&app, "graphql-transport-ws", p).await;
    assert!(foreign.is_err(), "another org's OU is refused");
    // a bare token works, and a subscription to a missing field is an error, not a hang
    let mut ok = GqlWs::connect(
        &app,
        "graphql-transport-ws",
        json!({"token": app.admin_token}),
    )
    .await
    .expect("bare token");
    ok.subscribe("1", "subscription { nope }").await;
    let m = ok.next().await.unwrap();
    assert!(
        m["payload"]["errors"][0]["message"]
            .as_str()
            .is_some_and(|e| e.contains("Unknown field")),
        "{m}"
    );
}
