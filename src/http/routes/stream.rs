//! `GET /v1/stream`: server-sent events of one OU's bus (`event_ingested`,
//! `score_update`). Unlike kenbun's stream it requires authentication: a bearer token in
//! `Authorization`, or (for browsers' `EventSource`, which cannot set headers) an
//! `access_token` query parameter.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{requested_ou, Auth, Query};
use crate::http::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The OU to stream (default: `X-OU-Id`, else the `activeOu` cookie, else your first OU).
    #[serde(rename = "ouId")]
    #[param(rename = "ouId")]
    pub ou_id: Option<String>,
    /// A JWT or personal access token, for clients that cannot send headers.
    pub access_token: Option<String>,
}

/// Server-sent events for one org unit: `event_ingested` and `score_update` (lead,
/// ruleset, before, after, delta, cause), published as soon as the write committed. A
/// listener that falls too far behind gets a `lagged` event with the number it missed.
#[utoipa::path(get, path = "/v1/stream", tag = "stream", params(StreamQuery),
    responses((status = 200, content_type = "text/event-stream", description = "the OU's events"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: axum::http::HeaderMap,
    Query(q): Query<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let requested = q.ou_id.or_else(|| requested_ou(&headers));
    let tenant = state
        .core
        .resolve_tenant(&caller, requested.as_deref())
        .await?;
    let rx = state.core.engine.bus.subscribe(&tenant.ou_id);
    // ends when the bus closes; axum drops it when the client goes away
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(e) => Event::default()
                .event(e.name())
                .json_data(e.as_ref())
                .unwrap_or_else(|_| Event::default().event("error")),
            Err(RecvError::Lagged(n)) => Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{n}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    // a server shutting down ends the stream, else it would wait for every listener to go
    let events = events.take_until(state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
