//! The HTTP surface: REST under `/v1`, GraphQL at `/graphql`, the OpenAPI document, and
//! the middleware every request passes through.

pub mod error;
pub mod extract;
pub mod middleware;
pub mod ratelimit;
pub mod routes;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leadwire_actors::Core;
use leadwire_models::tenancy::Caller;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use ratelimit::RateLimiter;

/// The application state every handler receives: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub core: Core,
    pub config: Config,
    pub limiter: RateLimiter,
    pub graphql: leadwire_graphql::LeadwireSchema,
    /// Cancelled when the server shuts down: ends long-lived streams (MCP sessions).
    pub shutdown: leadwire_mcp::CancellationToken,
    /// The member who opened each MCP session.
    pub mcp_sessions: leadwire_mcp::SessionOwners,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    pub fn new(core: Core, config: Config) -> Self {
        let limiter = RateLimiter::new(config.rate_limit.clone());
        let graphql = leadwire_graphql::build_schema(core.clone());
        AppState(Arc::new(AppInner {
            core,
            config,
            limiter,
            graphql,
            shutdown: leadwire_mcp::CancellationToken::new(),
            mcp_sessions: leadwire_mcp::SessionOwners::default(),
        }))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Leadwire API", description = "Real-time lead scoring, routing and enrichment. Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`."),
    modifiers(&SecurityAddon),
    components(schemas(error::ErrorBody)),
    tags(
        (name = "root", description = "Health, readiness and metrics"),
        (name = "auth", description = "Login and the current user"),
        (name = "org-units", description = "Org units and the active OU"),
        (name = "ou-memberships", description = "Members of an org unit and their roles"),
        (name = "members", description = "Org members"),
        (name = "settings", description = "API credentials, personal access tokens, scoring settings and the surge session policy"),
        (name = "me", description = "The caller's own settings"),
        (name = "admin", description = "Administration"),
        (name = "events", description = "Engagement event ingestion"),
        (name = "leads", description = "Leads and their live scores"),
        (name = "rules", description = "Engagement rulesets and scoring rules"),
        (name = "filters", description = "Inorganic (bot) filters and attribute suppression filters"),
        (name = "decays", description = "Inactivity decay rules"),
        (name = "levels", description = "Named score ranges per dimension, with history and revert"),
        (name = "accounts", description = "Accounts (account-based marketing; needs abm_enabled)"),
        (name = "profile", description = "Profile scoring: rulesets, rules, hard disqualification and field mappings"),
        (name = "stream", description = "Server-sent events"),
        (name = "public", description = "Shared content that needs no authentication"),
        (name = "analytics", description = "Totals, event statistics, top leads and score gains"),
        (name = "reps", description = "Sales reps: availability, capacity and routing attributes"),
        (name = "deals", description = "Deals (opportunities): amount, stage, owner, won / lost"),
        (name = "predictive-routing", description = "Predictive routing: configuration, model, predictions")
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or lw_pat_ token")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basicAuth",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// Every documented route, and the OpenAPI document describing them.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::root::index))
        .routes(routes!(routes::root::healthz))
        .routes(routes!(routes::root::readyz))
        .routes(routes!(routes::root::metrics))
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::me))
        .routes(routes!(routes::auth::cleanup))
        .routes(routes!(routes::org_units::list, routes::org_units::create))
        .routes(routes!(routes::org_units::rename))
        .routes(routes!(routes::org_units::set_active))
        .routes(routes!(
            routes::org_units::memberships,
            routes::org_units::assign
        ))
        .routes(routes!(
            routes::org_units::update_role,
            routes::org_units::remove
        ))
        .routes(routes!(routes::members::list, routes::members::create))
        .routes(routes!(routes::members::update, routes::members::delete))
        .routes(routes!(routes::members::set_slack))
        .routes(routes!(
            routes::settings::list_credentials,
            routes::settings::create_credential
        ))
        .routes(routes!(routes::settings::delete_credential))
        .routes(routes!(
            routes::settings::list_tokens,
            routes::settings::create_token
        ))
        .routes(routes!(routes::settings::revoke_token))
        .routes(routes!(routes::me::rate_limit))
        .routes(routes!(routes::admin::audit_logs))
        .routes(routes!(
            routes::rules::list_rulesets,
            routes::rules::create_ruleset
        ))
        .routes(routes!(
            routes::rules::update_ruleset,
            routes::rules::delete_ruleset
        ))
        .routes(routes!(routes::rules::ruleset_rules))
        .routes(routes!(routes::rules::reorder_rules))
        .routes(routes!(
            routes::rules::list_rules,
            routes::rules::create_rule
        ))
        .routes(routes!(
            routes::rules::update_rule,
            routes::rules::delete_rule
        ))
        .routes(routes!(
            routes::filters::list_inorganic,
            routes::filters::create_inorganic
        ))
        .routes(routes!(
            routes::filters::update_inorganic,
            routes::filters::delete_inorganic
        ))
        .routes(routes!(
            routes::filters::list_metadata,
            routes::filters::create_metadata
        ))
        .routes(routes!(routes::filters::preview_metadata))
        .routes(routes!(routes::decays::list, routes::decays::create))
        .routes(routes!(routes::accounts::list, routes::accounts::create))
        .routes(routes!(routes::accounts::lookup))
        .routes(routes!(routes::accounts::search))
        .routes(routes!(routes::accounts::batch_delete))
        .routes(routes!(routes::accounts::get, routes::accounts::patch))
        .routes(routes!(routes::accounts::merge))
        .routes(routes!(routes::levels::list, routes::levels::create))
        .routes(routes!(
            routes::profile::list_rulesets,
            routes::profile::create_ruleset
        ))
        .routes(routes!(
            routes::profile::update_ruleset,
            routes::profile::delete_ruleset
        ))
        .routes(routes!(
            routes::profile::list_rules,
            routes::profile::create_rule
        ))
        .routes(routes!(
            routes::profile::update_rule,
            routes::profile::delete_rule
        ))
        .routes(routes!(routes::profile::test_rule))
        .routes(routes!(routes::profile::hard_dq_rules))
        .routes(routes!(
            routes::profile::list_mappings,
            routes::profile::create_mapping
        ))
        .routes(routes!(routes::profile::mapping_history))
        .routes(routes!(routes::profile::apply_mappings))
        .routes(routes!(
            routes::profile::update_mapping,
            routes::profile::delete_mapping
        ))
        .routes(routes!(routes::profile::lead_properties))
        .routes(routes!(routes::levels::history))
        .routes(routes!(routes::levels::revert))
        .routes(routes!(routes::levels::update, routes::levels::delete))
        .routes(routes!(routes::decays::update, routes::decays::delete))
        .routes(routes!(
            routes::settings::get_scoring,
            routes::settings::put_scoring
        ))
        .routes(routes!(
            routes::settings::get_surge,
            routes::settings::put_surge
        ))
        .routes(routes!(routes::settings::event_types))
        .routes(routes!(routes::settings::put_event_type))
        .routes(routes!(routes::settings::delete_preview))
        .routes(routes!(routes::settings::delete_events_of_type))
        .routes(routes!(routes::rules::half_life_suggestions))
        .routes(routes!(routes::rules::apply_research_defaults))
        .routes(routes!(
            routes::filters::get_metadata,
            routes::filters::update_metadata,
            routes::filters::delete_metadata
        ))
        .routes(routes!(routes::rules::test_rule))
        .routes(routes!(routes::rules::rescore))
        .routes(routes!(routes::events::ingest, routes::events::list))
        .routes(routes!(routes::events::export))
        .routes(routes!(routes::events::import))
        .routes(routes!(routes::events::import_status))
        .routes(routes!(routes::events::batch_delete))
        .routes(routes!(routes::events::explain))
        .routes(routes!(routes::events::event_types))
        .routes(routes!(routes::events::properties))
        .routes(routes!(routes::events::channels))
        .routes(routes!(routes::events::ingest_batch))
        .routes(routes!(routes::leads::create, routes::leads::list))
        .routes(routes!(routes::leads::export))
        .routes(routes!(routes::leads::search))
        .routes(routes!(routes::leads::lookup))
        .routes(routes!(routes::leads::update_by_alias))
        .routes(routes!(routes::leads::bulk_owner))
        .routes(routes!(routes::leads::merge))
        .routes(routes!(routes::leads::batch_scores))
        .routes(routes!(
            routes::leads::get,
            routes::leads::update,
            routes::leads::patch,
            routes::leads::delete
        ))
        .routes(routes!(routes::leads::deletion_status))
        .routes(routes!(routes::leads::aliases))
        .routes(routes!(routes::leads::owner))
        .routes(routes!(routes::leads::reset_score))
        .routes(routes!(routes::leads::explain))
        .routes(routes!(routes::leads::why))
        .routes(routes!(routes::leads::activity))
        .routes(routes!(routes::leads::why_batch))
        .routes(routes!(routes::leads::share_explain))
        .routes(routes!(routes::public::explain))
        .routes(routes!(routes::analytics::overview))
        .routes(routes!(routes::analytics::stats))
        .routes(routes!(routes::analytics::top_leads))
        .routes(routes!(routes::analytics::recent_gains))
        .routes(routes!(routes::leads::score))
        .routes(routes!(routes::leads::events))
        .routes(routes!(routes::stream::stream))
        .routes(routes!(routes::reps::list, routes::reps::create))
        .routes(routes!(routes::deals::list, routes::deals::create))
        .routes(routes!(routes::deals::get, routes::deals::update))
        .routes(routes!(
            routes::routing::get_config,
            routes::routing::put_config
        ))
        .routes(routes!(routes::routing::import_training_data))
        .routes(routes!(routes::routing::model))
        .routes(routes!(routes::routing::retrain))
        .routes(routes!(
            routes::routing::list_predictions,
            routes::routing::create_prediction
        ))
        .routes(routes!(routes::routing::get_prediction))
        .routes(routes!(routes::routing::route_prediction))
        .routes(routes!(routes::routing::override_prediction))
        .routes(routes!(routes::routing::stats))
        .routes(routes!(routes::routing::history))
        .routes(routes!(
            routes::reps::get,
            routes::reps::update,
            routes::reps::delete
        ))
        .split_for_parts()
}

/// The whole application router with its middleware.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api_router();
    let openapi = Arc::new(openapi);
    // Non-REST endpoints, which the OpenAPI document does not describe by design
    // (the test in tests/api/openapi.rs keeps this list closed).
    let extra = Router::new()
        .route(
            "/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        .route("/graphql", get(graphiql).post(graphql_handler))
        .route("/graphql/ws", get(graphql_ws))
        .nest_service("/mcp", mcp_service(&state))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mcp_gate,
        ));
    api.merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::audit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::metrics,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(state)
}

/// The MCP tool server, accepting the loopback names, the bind address and the public URL's
/// host as `Host` (rmcp refuses any other: DNS-rebinding protection).
fn mcp_service(state: &AppState) -> leadwire_mcp::McpService {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Ok(addr) = state.config.bind.parse::<std::net::SocketAddr>() {
        hosts.push(addr.ip().to_string());
    }
    if let Some(host) = state
        .config
        .public_url
        .as_deref()
        .and_then(|u| u.parse::<axum::http::Uri>().ok())
        .and_then(|u| u.host().map(str::to_string))
    {
        hosts.push(host);
    }
    leadwire_mcp::service(
        state.core.clone(),
        hosts,
        state.shutdown.clone(),
        state.config.max_body_bytes,
    )
}

/// `/mcp` answers only callers with a personal access token (401 in the API's error
/// format otherwise); a session only the member who opened it (anyone else gets the 404
/// of an unknown session); and its HTTP-level refusals (unknown session, a `Host` not
/// allowed, a body over the limit, a wrong `Accept`) in the API's error format with their
/// status. The other paths pass through untouched.
async fn mcp_gate(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    const SESSION: &str = "mcp-session-id";
    if !req.uri().path().starts_with("/mcp") {
        return next.run(req).await;
    }
    let member = match leadwire_mcp::require_personal_access_token(req.extensions().get::<Caller>())
    {
        Ok(()) => req
            .extensions()
            .get::<Caller>()
            .map(|c| c.member_id.clone())
            .unwrap_or_default(),
        Err(e) => {
            let mut response = error::ApiError(e).into_response();
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    };
    let session = req
        .headers()
        .get(SESSION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session {
        if !state.mcp_sessions.may_use(id, &member) {
            // word for word the transport's answer for an unknown session: whether the
            // id exists does not show
            return error::ApiError(leadwire_models::DomainError::new(
                leadwire_models::ErrorCode::NotFound,
                "Not Found: Session not found",
            ))
            .into_response();
        }
    }
    let closing = req.method() == axum::http::Method::DELETE;
    let response = next.run(req).await;
    if response.status().is_success() {
        match (&session, response.headers().get(SESSION)) {
            (None, Some(opened)) => {
                if let Ok(opened) = opened.to_str() {
                    state.mcp_sessions.opened(opened, &member);
                }
            }
            (Some(id), _) if closing => state.mcp_sessions.closed(id),
            _ => {}
        }
    }
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json") || v.contains("event-stream"));
    if response.status().as_u16() < 400 || json {
        return response;
    }
    error::in_error_format(response, |status, text| {
        // a body that is not a JSON-RPC message is malformed (400), as on every other
        // route; the transport calls it an unsupported media type
        if status == axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE && text.contains("deserialize")
        {
            axum::http::StatusCode::BAD_REQUEST
        } else {
            status
        }
    })
    .await
}

async fn not_found() -> error::ApiError {
    error::ApiError(leadwire_models::DomainError::not_found("route"))
}

/// A known path asked with a method it does not answer (the `Allow` header stays).
async fn method_not_allowed(method: axum::http::Method) -> error::ApiError {
    error::ApiError(leadwire_models::DomainError::new(
        leadwire_models::ErrorCode::MethodNotAllowed,
        format!("method {method} is not allowed on this path"),
    ))
}

/// A handler that panicked answers 500 in the API's error format (logged, never shown).
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(panic = what, "handler-panicked");
    error::ApiError(leadwire_models::DomainError::internal()).into_response()
}

async fn graphiql() -> Html<String> {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

async fn graphql_handler(
    State(state): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    headers: axum::http::HeaderMap,
    extract::RawBody(body): extract::RawBody,
) -> Result<Response, error::ApiError> {
    let session = leadwire_graphql::Session::new(
        state.core.clone(),
        caller.map(|axum::Extension(c)| c),
        extract::requested_ou(&headers),
    );
    let gql = graphql_request(&headers, &body).await?.data(session);
    let response = state.graphql.execute(gql).await;
    Ok(async_graphql_axum::GraphQLResponse::from(response).into_response())
}

/// The GraphQL request in a POST body (JSON, or a multipart upload), failures in the
/// API's error format. The body was read within the configured limit: GraphQL's own
/// extractor streams it, which no body limit reaches.
async fn graphql_request(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<async_graphql::Request, leadwire_models::DomainError> {
    use leadwire_models::DomainError;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // one operation per request: a JSON array is a batch, which is not served (and an
    // array of strings would otherwise be read as one request's fields in order)
    let json = content_type
        .as_deref()
        .is_none_or(|c| c.starts_with("application/json"));
    if json && body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(DomainError::bad_request(
            "invalid GraphQL request: batch requests are not supported; send one operation",
        ));
    }
    let parse_error = |e: async_graphql::ParseRequestError| match e {
        async_graphql::ParseRequestError::PayloadTooLarge => {
            DomainError::too_large(error::BODY_TOO_LARGE)
        }
        other => DomainError::bad_request(format!("invalid GraphQL request: {other}")),
    };
    async_graphql::http::receive_batch_body(
        content_type,
        body,
        async_graphql::http::MultipartOptions::default(),
    )
    .await
    .map_err(parse_error)?
    .into_single()
    .map_err(parse_error)
    .and_then(|request| {
        if request.query.trim().is_empty() {
            Err(DomainError::bad_request(
                "invalid GraphQL request: `query` is required",
            ))
        } else {
            Ok(request)
        }
    })
}

/// GraphQL over WebSocket (`graphql-transport-ws`, and the legacy `graphql-ws`): the
/// `connection_init` payload authenticates (else the upgrade request's own headers).
async fn graphql_ws(
    State(state): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    headers: axum::http::HeaderMap,
    protocol: Result<async_graphql_axum::GraphQLProtocol, axum::http::StatusCode>,
    upgrade: Result<
        axum::extract::ws::WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(r) => {
            let message = format!("a WebSocket upgrade is required: {}", r.body_text());
            return error::ApiError(leadwire_models::DomainError::bad_request(message))
                .into_response();
        }
    };
    let Ok(protocol) = protocol else {
        return error::ApiError(leadwire_models::DomainError::bad_request(
            "Sec-WebSocket-Protocol must name graphql-transport-ws or graphql-ws",
        ))
        .into_response();
    };
    let caller = caller.map(|axum::Extension(c)| c);
    let ou = extract::requested_ou(&headers);
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let core = state.core.clone();
            async_graphql_axum::GraphQLWebSocket::new(socket, state.graphql.clone(), protocol)
                .on_connection_init(move |payload| {
                    leadwire_graphql::connection_init(core, payload, caller, ou)
                })
                .serve()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_a_500_in_the_error_format_without_its_message() {
        for panic in [
            Box::new("index out of bounds") as Box<dyn std::any::Any + Send>,
            Box::new(String::from("secret detail")),
            Box::new(42_u8),
        ] {
            let response = panicked(panic);
            assert_eq!(
                response.status(),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            );
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"]["code"], "internal");
            assert_eq!(body["error"]["message"], "internal error");
        }
    }
}
