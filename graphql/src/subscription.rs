//! Subscriptions fed from the OU's bus: every message reaches each matching subscriber of
//! that OU (and no one else) as soon as the write it describes committed.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::{Context, Result, SimpleObject, Subscription as GqlSubscription};
use futures::{Stream, StreamExt};
use leadwire_actors::engine::BusEvent;
use leadwire_actors::Core;
use leadwire_models::levels::{Dimension, LevelRef};
use leadwire_models::tenancy::{Access, Caller};
use tokio::sync::broadcast::error::RecvError;

use crate::session::{session, TENANT_TTL};

/// A lead's score changed in one ruleset.
#[derive(SimpleObject, Clone)]
pub struct ScoreChange {
    pub lead_id: String,
    pub ruleset_id: String,
    pub before: f64,
    pub after: f64,
    pub delta: f64,
    /// `event:<id>`, `decay`, `reset`, `rescore`, `merge`, `events_deleted` or
    /// `config_change`.
    pub cause: String,
}

/// A lead moved to another level (or out of every level) in a dimension.
#[derive(SimpleObject, Clone)]
pub struct LevelChange {
    pub lead_id: String,
    pub dimension: Dimension,
    pub before: Option<LevelRef>,
    pub after: Option<LevelRef>,
}

/// An event was stored for a lead.
#[derive(SimpleObject, Clone)]
pub struct EventIngested {
    pub event_id: String,
    pub lead_id: String,
    pub event_type: String,
    pub occurred_at: String,
    pub channel: String,
}

/// A lead's session reached a higher surge band: its events now earn `multiplier`×.
#[derive(SimpleObject, Clone)]
pub struct SurgeDetected {
    pub lead_id: String,
    pub event_id: String,
    pub session_events: u32,
    pub multiplier: f64,
}

pub struct Subscription;

/// The messages of the caller's OU from now on (a lagging subscriber skips what it
/// missed rather than ending). The caller's access is checked again every
/// [`TENANT_TTL`](crate::session::TENANT_TTL) of messages: a member removed from the OU
/// (or whose token was revoked) stops hearing it.
async fn bus(ctx: &Context<'_>) -> Result<impl Stream<Item = Arc<BusEvent>> + Send + use<>> {
    let s = session(ctx)?;
    let t = s.tenant_with(Access::Read).await?;
    let core = s.core().clone();
    let rx = core.engine.bus.subscribe(&t.ou_id);
    let (caller, requested) = s.identity();
    let state = (rx, core, caller, requested, t.ou_id.clone(), Instant::now());
    Ok(futures::stream::unfold(state, |mut st| async move {
        loop {
            match st.0.recv().await {
                Ok(e) => {
                    if st.5.elapsed() >= TENANT_TTL {
                        if !still_allowed(&st.1, st.2.as_ref(), st.3.as_deref(), &st.4).await {
                            return None;
                        }
                        st.5 = Instant::now();
                    }
                    return Some((e, st));
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "graphql-subscriber-lagged");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }))
}

/// Whether the caller may still read the OU it subscribed in.
async fn still_allowed(
    core: &Core,
    caller: Option<&Caller>,
    requested: Option<&str>,
    ou: &str,
) -> bool {
    let Some(caller) = caller else { return false };
    match core.resolve_tenant(caller, requested).await {
        Ok(t) => t.ou_id == ou && t.require(Access::Read).is_ok(),
        Err(_) => false,
    }
}

fn matches(filter: &Option<String>, value: &str) -> bool {
    filter.as_deref().is_none_or(|f| f == value)
}

#[GqlSubscription]
impl Subscription {
    /// Score changes, optionally of one lead, one ruleset, and at least `minDelta` points
    /// either way.
    async fn score_changed(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<String>,
        ruleset_id: Option<String>,
        min_delta: Option<f64>,
    ) -> Result<impl Stream<Item = ScoreChange>> {
        let min = min_delta.unwrap_or(0.0).abs();
        Ok(bus(ctx).await?.filter_map(move |e| {
            let out = match e.as_ref() {
                BusEvent::ScoreUpdate {
                    lead_id: l,
                    ruleset_id: r,
                    before,
                    after,
                    delta,
                    cause,
                } if matches(&lead_id, l) && matches(&ruleset_id, r) && delta.abs() >= min => {
                    Some(ScoreChange {
                        lead_id: l.clone(),
                        ruleset_id: r.clone(),
                        before: *before,
                        after: *after,
                        delta: *delta,
                        cause: cause.clone(),
                    })
                }
                _ => None,
            };
            async move { out }
        }))
    }

    /// Level changes, optionally of one lead and one dimension.
    async fn level_changed(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<String>,
        dimension: Option<Dimension>,
    ) -> Result<impl Stream<Item = LevelChange>> {
        Ok(bus(ctx).await?.filter_map(move |e| {
            let out = match e.as_ref() {
                BusEvent::LevelChange {
                    lead_id: l,
                    dimension: d,
                    before,
                    after,
                } if matches(&lead_id, l) => Dimension::parse(d)
                    .ok()
                    .filter(|d| dimension.is_none_or(|want| want == *d))
                    .map(|d| LevelChange {
                        lead_id: l.clone(),
                        dimension: d,
                        before: before.clone(),
                        after: after.clone(),
                    }),
                _ => None,
            };
            async move { out }
        }))
    }

    /// Events as they are stored, optionally of one type and one lead.
    async fn event_ingested(
        &self,
        ctx: &Context<'_>,
        event_type: Option<String>,
        lead_id: Option<String>,
    ) -> Result<impl Stream<Item = EventIngested>> {
        Ok(bus(ctx).await?.filter_map(move |e| {
            let out = match e.as_ref() {
                BusEvent::EventIngested {
                    event_id,
                    lead_id: l,
                    event_type: ty,
                    occurred_at,
                    channel,
                } if matches(&event_type, ty) && matches(&lead_id, l) => Some(EventIngested {
                    event_id: event_id.clone(),
                    lead_id: l.clone(),
                    event_type: ty.clone(),
                    occurred_at: occurred_at.clone(),
                    channel: channel.clone(),
                }),
                _ => None,
            };
            async move { out }
        }))
    }

    /// Leads whose session entered a higher surge band, optionally one lead's.
    async fn surge_detected(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<String>,
    ) -> Result<impl Stream<Item = SurgeDetected>> {
        Ok(bus(ctx).await?.filter_map(move |e| {
            let out = match e.as_ref() {
                BusEvent::Surge {
                    lead_id: l,
                    event_id,
                    session_events,
                    multiplier,
                } if matches(&lead_id, l) => Some(SurgeDetected {
                    lead_id: l.clone(),
                    event_id: event_id.clone(),
                    session_events: *session_events,
                    multiplier: *multiplier,
                }),
                _ => None,
            };
            async move { out }
        }))
    }
}
