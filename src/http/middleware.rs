//! The request pipeline: metrics → authentication → rate limit → audit → handler.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leadwire_actors::Credentials;
use leadwire_models::audit::AuditEntry;
use leadwire_models::ids::new_id;
use leadwire_models::ratelimit::{Admission, RateLimitMode};
use leadwire_models::tenancy::Caller;
use leadwire_models::{time, DomainError, ErrorCode};

use super::error::ApiError;
use super::extract::{requested_ou, AuditOu};
use super::AppState;

/// The client address of a request (from the socket).
#[derive(Clone)]
pub struct ClientIp(pub String);

/// Counts every request by status and method and times it.
pub async fn metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let m = &state.core.metrics;
    m.http_requests
        .with_label_values(&[res.status().as_str(), method.as_str()])
        .inc();
    m.http_duration
        .with_label_values(&[method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    res
}

/// Resolves the caller from `Authorization` (refusing bad credentials at once with 401),
/// then applies the caller's rate limit.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    req.extensions_mut().insert(ClientIp(ip.clone()));
    let header: Option<String> = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("").to_string())
        .or_else(|| stream_query_token(&req));
    let header = header.as_deref();
    // a failed authentication still spends a token of the client IP's bucket, so that
    // guessing credentials is rate limited like everything else
    let (caller, refusal) = match header {
        None => (None, None),
        Some(value) => match Credentials::parse(value) {
            None => (
                None,
                Some(DomainError::unauthorized(
                    "unsupported Authorization header: use Bearer or Basic",
                )),
            ),
            Some(creds) => match state.core.authenticate(&creds).await {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e)),
            },
        },
    };
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics");
    if !probe {
        if let Some(limited) = rate_limit(&state, caller.as_ref(), &ip) {
            return limited;
        }
    }
    if let Some(e) = refusal {
        return ApiError(e).into_response();
    }
    if let Some(c) = caller {
        req.extensions_mut().insert(c);
    }
    next.run(req).await
}

/// `GET /v1/stream?access_token=…`: browsers' `EventSource` cannot send headers, so the
/// stream (and only the stream) takes a bearer token from the query.
fn stream_query_token(req: &Request) -> Option<String> {
    if req.uri().path() != "/v1/stream" {
        return None;
    }
    let query = req.uri().query()?;
    url_token(query).map(|t| format!("Bearer {t}"))
}

fn url_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "access_token" && !v.is_empty()).then(|| v.to_string())
    })
}

/// Takes a token of the request's bucket; the 429 response when it is empty (and enforced).
fn rate_limit(state: &AppState, caller: Option<&Caller>, ip: &str) -> Option<Response> {
    let limiter = &state.limiter;
    if !limiter.config.enabled {
        return None;
    }
    let key = limiter.key(caller, ip);
    let Admission::Limited {
        retry_after_seconds,
    } = limiter.admit(&key)
    else {
        return None;
    };
    state.core.metrics.rate_limited.inc();
    if limiter.config.mode != RateLimitMode::Enforce {
        return None;
    }
    let secs = retry_after_seconds.ceil().clamp(1.0, 3600.0) as u64;
    let error = DomainError::new(
        ErrorCode::RateLimited,
        format!("rate limit exceeded; retry after {secs}s"),
    )
    .with_details(serde_json::json!({ "retry_after_seconds": secs, "key": key }));
    Some(ApiError(error).into_response())
}

/// Records every mutating request of an authenticated caller in the audit log, durably,
/// before the response is returned.
pub async fn audit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mutating = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let caller = req.extensions().get::<Caller>().cloned();
    let (true, Some(caller)) = (mutating, caller) else {
        return next.run(req).await;
    };
    let slot = AuditOu::default();
    req.extensions_mut().insert(slot.clone());
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let fallback_ou = caller
        .bound_ou
        .clone()
        .or_else(|| requested_ou(req.headers()));
    let res = next.run(req).await;
    let ou_id = slot.0.lock().clone().or(fallback_ou);
    let entry = AuditEntry {
        id: new_id(leadwire_models::ids::prefix::AUDIT),
        org_id: caller.org_id.clone(),
        ou_id,
        member_id: Some(caller.member_id.clone()),
        user_email: Some(caller.email.clone()),
        method,
        path,
        status: res.status().as_u16(),
        ip,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        created_at: time::format(&time::now()),
    };
    if let Err(e) = state.core.engine.audit(&entry).await {
        tracing::error!(error = %e, path = %entry.path, "audit-write-failed");
    }
    res
}
