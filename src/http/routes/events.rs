//! Event ingestion for the active OU.

use axum::extract::State;
use axum::http::StatusCode;
use leadwire_actors::engagement::BatchItem;
use leadwire_actors::engine::IngestAck;
use leadwire_models::events::EventInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, Scoped};
use crate::http::AppState;

#[derive(Serialize, ToSchema)]
pub struct Ingested {
    /// `event ingested`.
    pub message: &'static str,
    pub metadata: IngestAck,
}

/// Ingest one engagement event. The lead is named by `lead_id` or `aliases` (a new lead is
/// made when every alias is new). Answers 201 only once the event and the new score are
/// durable; `metadata.deltas` is the score change per ruleset.
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = EventInput,
    responses((status = 201, body = Ingested), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn ingest(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<EventInput>,
) -> ApiResult<(StatusCode, Json<Ingested>)> {
    let ack = state.core.ingest_event(&t, b).await?;
    Ok((
        StatusCode::CREATED,
        Json(Ingested {
            message: "event ingested",
            metadata: ack,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// 1–1000 events.
    pub events: Vec<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub accepted: usize,
    pub rejected: usize,
    /// One entry per event, in order: `status` 201 with `result`, or the error.
    pub items: Vec<BatchItem>,
}

/// Ingest up to 1,000 events in one request. Each item is checked and stored on its own:
/// a bad item is reported (with its index) while the good ones are ingested.
#[utoipa::path(post, path = "/v1/events/batch", tag = "events", request_body = BatchInput,
    responses((status = 200, body = BatchResult), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn ingest_batch(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<BatchInput>,
) -> ApiResult<Json<BatchResult>> {
    // items are decoded one by one so that a malformed item fails alone
    let mut inputs = Vec::with_capacity(b.events.len());
    let mut malformed = Vec::new();
    for (i, v) in b.events.into_iter().enumerate() {
        match serde_json::from_value::<EventInput>(v) {
            Ok(e) => inputs.push(e),
            Err(e) => {
                malformed.push((i, e.to_string()));
                // a placeholder keeps positions aligned; it fails validation below
                inputs.push(EventInput::default());
            }
        }
    }
    let mut items = state.core.ingest_batch(&t, inputs).await?;
    for (i, message) in malformed {
        if let Some(item) = items.get_mut(i) {
            let e = leadwire_models::DomainError::invalid("events", format!("item {i}: {message}"));
            item.status = e.code.http_status();
            item.result = None;
            item.error = Some(e.body()["error"].clone());
        }
    }
    let accepted = items.iter().filter(|i| i.result.is_some()).count();
    Ok(Json(BatchResult {
        accepted,
        rejected: items.len() - accepted,
        items,
    }))
}
