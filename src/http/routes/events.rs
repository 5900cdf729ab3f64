//! Event ingestion for the active OU.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use leadwire_actors::engagement::BatchItem;
use leadwire_actors::engine::IngestAck;
use leadwire_models::events::{
    DeletedEvents, EventExplanation, EventIdsInput, EventInput, EventListParams,
    EventTypeProperties, StoredEvent,
};
use leadwire_models::import::ImportJob;
use leadwire_models::DomainError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, MultiQuery, NoQuery, Path, RawBody, Scoped};
use crate::http::routes::leads::csv_attachment;
use crate::http::AppState;

#[derive(Serialize, ToSchema)]
pub struct Ingested {
    /// `event ingested`.
    pub message: &'static str,
    pub metadata: IngestAck,
}

/// Ingest one engagement event. The lead is named by `lead_id` or `aliases` (a new lead is
/// made when every alias is new). Answers 201 only once the event and the new score are
/// durable; `metadata.deltas` is the score change per ruleset. A retry carrying the
/// `idempotency_key` of an event the lead already has stores nothing and answers 200 with
/// that event (`metadata.duplicate: true`), once it is durable; 409 when the key was used
/// for an event of another type.
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = EventInput,
    responses((status = 201, body = Ingested), (status = 200, body = Ingested), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn ingest(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<EventInput>,
) -> ApiResult<(StatusCode, Json<Ingested>)> {
    let ack = state.core.ingest_event(&t, b).await?;
    Ok((
        if ack.duplicate {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
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
    /// Items stored, or retries answered with the event stored before.
    pub accepted: usize,
    /// Of `accepted`, the retries (`result.duplicate: true`): nothing new was stored.
    pub duplicates: usize,
    pub rejected: usize,
    /// One entry per event, in order: `status` 201 with `result` (200 for a retry of an
    /// event the lead has, `result.duplicate: true`), or the error.
    pub items: Vec<BatchItem>,
}

/// Ingest up to 1,000 events in one request. Each item is checked and stored on its own:
/// a bad item is reported (with its index) while the good ones are ingested.
#[utoipa::path(post, path = "/v1/events/batch", tag = "events", request_body = BatchInput,
    responses((status = 200, body = BatchResult), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn ingest_batch(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<BatchInput>,
) -> ApiResult<Json<BatchResult>> {
    // items are decoded one by one so that a malformed item fails alone
    let mut inputs = Vec::with_capacity(b.events.len());
    let mut malformed = Vec::new();
    for (i, v) in b.events.into_iter().enumerate() {
        match serde_path_to_error::deserialize::<_, EventInput>(v) {
            Ok(e) => inputs.push(e),
            Err(e) => {
                let error = leadwire_models::validate::serde_error(
                    &e.path().to_string(),
                    &e.inner().to_string(),
                );
                malformed.push((i, error.within(&format!("events[{i}]"))));
                // a placeholder keeps positions aligned; it fails validation below
                inputs.push(EventInput::default());
            }
        }
    }
    let mut items = state.core.ingest_batch(&t, inputs).await?;
    for (i, e) in malformed {
        if let Some(item) = items.get_mut(i) {
            item.status = e.code.http_status();
            item.result = None;
            item.error = Some(e.body()["error"].clone());
        }
    }
    let accepted = items.iter().filter(|i| i.result.is_some()).count();
    let duplicates = items
        .iter()
        .filter(|i| i.result.as_ref().is_some_and(|r| r.duplicate))
        .count();
    Ok(Json(BatchResult {
        accepted,
        duplicates,
        rejected: items.len() - accepted,
        items,
    }))
}

/// List the OU's events, newest first; `metadata=key:value` may repeat (combined by
/// `logic`, `and` by default).
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventListParams),
    responses((status = 200, body = Vec<StoredEvent>), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    MultiQuery(q): MultiQuery<EventListParams>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    Ok(Json(state.core.list_events(&t, q).await?))
}

/// The OU's events (same filters as the list) as CSV.
#[utoipa::path(get, path = "/v1/events/export", tag = "events", params(EventListParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn export(
    State(state): State<AppState>,
    Scoped(t): Scoped,
    MultiQuery(q): MultiQuery<EventListParams>,
) -> ApiResult<impl IntoResponse> {
    let body = state.core.export_events(&t, q).await?;
    Ok(csv_attachment("events.csv", body))
}

/// Delete events by id; their leads are rescored without them.
#[utoipa::path(post, path = "/v1/events/batch-delete", tag = "events", request_body = EventIdsInput,
    responses((status = 200, body = DeletedEvents), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn batch_delete(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Json(b): Json<EventIdsInput>,
) -> ApiResult<Json<DeletedEvents>> {
    Ok(Json(state.core.delete_events(&t, b).await?))
}

/// What one event did to each ruleset's score (before, after, delta, rule, multiplier).
#[utoipa::path(get, path = "/v1/events/{id}/explain", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = EventExplanation), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn explain(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<EventExplanation>> {
    Ok(Json(state.core.explain_event(&t, &id).await?))
}

/// Event types seen in the OU's events or named by its rules.
#[utoipa::path(get, path = "/v1/event-types", tag = "events",
    responses((status = 200, body = Vec<String>)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn event_types(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(state.core.event_types(&t).await?))
}

/// Metadata keys seen on the newest 1,000 events of a type.
#[utoipa::path(get, path = "/v1/event-types/{event_type}/properties", tag = "events", params(("event_type" = String, Path)),
    responses((status = 200, body = EventTypeProperties)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn properties(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(event_type): Path<String>,
) -> ApiResult<Json<EventTypeProperties>> {
    Ok(Json(state.core.event_properties(&t, &event_type).await?))
}

/// The channels of the OU's events (web, email, slack, webinar, crm, system).
#[utoipa::path(get, path = "/v1/channels", tag = "events",
    responses((status = 200, body = Vec<String>)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn channels(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(state.core.channels(&t).await?))
}

/// Import events from a CSV file (multipart field `file`, or the raw body with
/// `Content-Type: text/csv`). Columns: `event_type` (required), `lead_id`, `timestamp`,
/// `metadata` (JSON object), and alias columns `email`, `phone`, `external_id`, `cookie`,
/// `social`. Answers 202 with a job; bad rows are reported by row number while good rows
/// import.
#[utoipa::path(post, path = "/v1/events/import", tag = "events",
    request_body(content = String, content_type = "multipart/form-data", description = "a `file` part holding the CSV (or a text/csv body)"),
    responses((status = 202, body = ImportJob), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn import(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<ImportJob>)> {
    use axum::extract::FromRequest;
    let content_type = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let too_large = || DomainError::too_large("the file is larger than the configured body limit");
    let data: Vec<u8> = if content_type.starts_with("multipart/form-data") {
        let mut form = axum::extract::Multipart::from_request(req, &state)
            .await
            .map_err(|e| DomainError::bad_request(format!("malformed multipart body: {e}")))?;
        let mut file = None;
        while let Some(field) = form.next_field().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            _ => DomainError::bad_request(format!("malformed multipart body: {e}")),
        })? {
            if field.name() == Some("file") {
                let bytes = field.bytes().await.map_err(|e| match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                    _ => DomainError::bad_request(format!("malformed multipart body: {e}")),
                })?;
                file = Some(bytes.to_vec());
            }
        }
        file.ok_or_else(|| DomainError::invalid("file", "a multipart part named file is required"))?
    } else if content_type.starts_with("text/csv") {
        RawBody::from_request(req, &state).await?.0.to_vec()
    } else {
        return Err(DomainError::bad_request(
            "send multipart/form-data with a file part, or a text/csv body",
        )
        .into());
    };
    let job = state.core.start_import(&t, data).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// The progress and row errors of an import job.
#[utoipa::path(get, path = "/v1/events/import/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = ImportJob), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []), ("basicAuth" = [])))]
pub async fn import_status(
    _: NoQuery,
    State(state): State<AppState>,
    Scoped(t): Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<ImportJob>> {
    Ok(Json(state.core.import_job(&t, &id).await?))
}
