//! The live scoring engine: OU actors, lead actors, the group-commit writer and the bus,
//! behind one handle, [`Engine`]. Callers never build actor messages themselves.

pub mod bus;
pub mod lead;
pub mod ou;
pub mod scheduler;
pub mod writer;

use std::collections::HashMap;
use std::time::Duration;

use leadwire_models::events::NewEvent;
use leadwire_models::leads::{MergePlan, MergeResult, RescoreSummary, ResetResult};
use leadwire_models::time;
use leadwire_models::{ids, DomainError};
use leadwire_store::Store;
use ractor::{Actor, ActorRef, RactorErr};

pub use bus::{Bus, BusEvent};
pub use lead::{IngestAck, LeadScores};
use lead::{LeadMsg, PendingEvent};
use ou::{Identities, OuActor, OuArgs, OuMsg, Prefetch};
use writer::WriterHandle;

use crate::Metrics;

/// How long a call into an actor may take before the caller gets 504.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ingest may wait for its commit.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a merge or a lead deletion may take (it waits for the leads' queued work).
const MERGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// A lead actor idle this long is passivated (its state stays in the store).
    pub lead_idle_timeout: Duration,
    /// How often the scheduler brings decaying stored scores up to date.
    pub score_refresh_period: Duration,
    /// How often predictive routing closes conversion windows and retrains due models.
    pub routing_sweep_period: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            lead_idle_timeout: Duration::from_secs(300),
            score_refresh_period: Duration::from_secs(60),
            routing_sweep_period: Duration::from_secs(60),
        }
    }
}

/// The engine handle: cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    writer: WriterHandle,
    pub bus: Bus,
    config: EngineConfig,
    ous: std::sync::Arc<tokio::sync::Mutex<HashMap<String, OuHandle>>>,
}

/// An OU's actor and its alias map.
#[derive(Clone)]
struct OuHandle {
    actor: ActorRef<OuMsg>,
    identities: Identities,
}

/// Maps an actor messaging failure: a timeout is 504, anything else 503.
fn actor_error<T>(e: RactorErr<T>) -> DomainError {
    match e {
        RactorErr::Timeout => DomainError::new(
            leadwire_models::ErrorCode::Timeout,
            "the scoring engine did not answer in time",
        ),
        other => {
            tracing::error!(error = %other, "actor-call-failed");
            DomainError::unavailable("the scoring engine is unavailable; retry")
        }
    }
}

impl Engine {
    pub fn start(store: Store, metrics: Metrics, config: EngineConfig) -> Engine {
        let bus = Bus::default();
        let writer = WriterHandle::start(store.clone(), bus.clone(), metrics);
        scheduler::start(store.clone(), bus.clone(), config.score_refresh_period);
        let engine = Engine {
            store,
            writer,
            bus,
            config,
            ous: Default::default(),
        };
        scheduler::start_inactivity(engine.clone());
        engine
    }

    /// Wakes every lead that is due (an inactivity deduction fell due: it lands on the
    /// timeline, the stored score and the bus; or its OU's config changed: its stored
    /// score is rewritten); returns how many leads were woken.
    pub async fn wake_due_leads(&self) -> Result<usize, DomainError> {
        use futures::StreamExt;
        let mut woken = 0;
        loop {
            let now = time::format(&time::now());
            let due = self.store.due_leads(&now, 500).await?;
            if due.is_empty() {
                return Ok(woken);
            }
            let n = due.len();
            let results: Vec<Result<(), DomainError>> = futures::stream::iter(due)
                .map(|(org, ou, lead)| async move {
                    let actor = self.lead_actor(&org, &ou, &lead).await?;
                    self.ask_lead(actor, |reply| LeadMsg::Wake { reply }).await
                })
                .buffer_unordered(8)
                .collect()
                .await;
            let failed = results.iter().filter(|r| r.is_err()).count();
            woken += n - failed;
            if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
                // the rest waits for the next pass rather than spinning on a failing lead
                return Err(e);
            }
            if n < 500 {
                return Ok(woken);
            }
        }
    }

    /// The OU's actor, spawned on first use (and again if it died).
    async fn ou(&self, org_id: &str, ou_id: &str) -> Result<ActorRef<OuMsg>, DomainError> {
        Ok(self.ou_handle(org_id, ou_id).await?.actor)
    }

    /// The OU's actor and alias map, spawned on first use (and again if it died).
    async fn ou_handle(&self, org_id: &str, ou_id: &str) -> Result<OuHandle, DomainError> {
        let mut ous = self.ous.lock().await;
        if let Some(h) = ous.get(ou_id) {
            if h.actor.get_status() == ractor::ActorStatus::Running {
                return Ok(h.clone());
            }
        }
        let identities = Identities::default();
        let args = OuArgs {
            org_id: org_id.to_string(),
            ou_id: ou_id.to_string(),
            store: self.store.clone(),
            writer: self.writer.clone(),
            idle_timeout: self.config.lead_idle_timeout,
            identities: identities.clone(),
        };
        let (actor, _) = Actor::spawn(None, OuActor, args).await.map_err(|e| {
            tracing::error!(error = %e, ou_id, "ou-actor-spawn-failed");
            DomainError::unavailable("the org unit's scoring engine could not start")
        })?;
        let handle = OuHandle { actor, identities };
        ous.insert(ou_id.to_string(), handle.clone());
        Ok(handle)
    }

    /// Writes an audit entry through the group commit (many requests' entries share a
    /// transaction); returns once it is durable.
    pub async fn audit(
        &self,
        entry: &leadwire_models::audit::AuditEntry,
    ) -> Result<(), DomainError> {
        let batch = leadwire_store::WriteBatch {
            audit: vec![leadwire_store::audit::audit_row(entry)?],
            ..Default::default()
        };
        let ou = entry.ou_id.clone().unwrap_or_default();
        self.writer.write(ou, batch, Vec::new()).await
    }

    /// Ingests events of one OU; the result for each event, in order, once durable.
    pub async fn ingest(
        &self,
        org_id: &str,
        ou_id: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Result<IngestAck, DomainError>>, DomainError> {
        let received_at = time::now();
        let n = events.len();
        let pending: Vec<PendingEvent> = events
            .into_iter()
            .map(|event| PendingEvent {
                event_id: ids::new_id(ids::prefix::EVENT),
                event,
                received_at,
            })
            .collect();
        let ou = self.ou_handle(org_id, ou_id).await?;
        // aliases the OU does not know yet are looked up here, concurrently with other
        // callers, rather than one ingest at a time inside the actor
        let epoch = ou.identities.epoch();
        let unknown = ou
            .identities
            .unknown(pending.iter().flat_map(|p| p.event.lead.aliases()));
        let found = if unknown.is_empty() {
            Vec::new()
        } else {
            self.store.leads_by_alias(ou_id, &unknown).await?
        };
        let (routed, failed) = ractor::call_t!(
            ou.actor,
            |reply| OuMsg::Ingest {
                events: pending,
                prefetch: Prefetch { epoch, found },
                reply
            },
            CALL_TIMEOUT.as_millis() as u64
        )
        .map_err(actor_error)?;
        let mut results: Vec<Option<Result<IngestAck, DomainError>>> = vec![None; n];
        for (i, e) in failed {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(Err(e));
            }
        }
        let waits = routed.into_iter().map(|(positions, rx)| async move {
            let r = match tokio::time::timeout(COMMIT_TIMEOUT, rx).await {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err(DomainError::unavailable("the lead actor stopped; retry")),
                Err(_) => Err(DomainError::timeout("the write did not commit in time")),
            };
            (positions, r)
        });
        for (positions, r) in futures::future::join_all(waits).await {
            match r {
                Ok(acks) => {
                    for (i, ack) in positions.into_iter().zip(acks) {
                        results[i] = Some(ack);
                    }
                }
                Err(e) => {
                    for i in positions {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(DomainError::internal())))
            .collect())
    }

    /// The live scores of a lead; `None` when the OU has no such lead.
    pub async fn scores(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<Option<LeadScores>, DomainError> {
        let ou = self.ou(org_id, ou_id).await?;
        let lead = ractor::call_t!(
            ou,
            |reply| OuMsg::Lead {
                lead_id: lead_id.to_string(),
                reply
            },
            CALL_TIMEOUT.as_millis() as u64
        )
        .map_err(actor_error)??;
        let Some(lead) = lead else {
            return Ok(None);
        };
        let scores = ractor::call_t!(lead, LeadMsg::Scores, CALL_TIMEOUT.as_millis() as u64)
            .map_err(actor_error)?;
        Ok(Some(scores))
    }

    /// Recompiles the OU's scoring config and rescores its live leads at once (after any
    /// rule, filter or setting change); every lead's stored score follows within a few
    /// wake passes (the leads are marked to be woken).
    ///
    /// The marks are a write of the group-commit writer that could touch any lead, so it
    /// lands after every write sent before it: such a write, scored under the old config,
    /// stores its lead's next wake time, and landing after the mark it would unmark the
    /// lead (whose actor may have stopped since), leaving its old score stored. Nothing
    /// commits beside it either, so the rescored leads' own writes cannot conflict with it.
    pub async fn reload(&self, org_id: &str, ou_id: &str) -> Result<(), DomainError> {
        let ou = self.ou(org_id, ou_id).await?;
        ractor::call_t!(ou, OuMsg::Reload, CALL_TIMEOUT.as_millis() as u64)
            .map_err(actor_error)??;
        let wake = leadwire_store::WriteBatch {
            wake_ous: vec![(org_id.to_string(), ou_id.to_string())],
            ..leadwire_store::WriteBatch::default()
        };
        self.writer.write(ou_id.to_string(), wake, Vec::new()).await
    }

    /// The live actor of a lead of the OU (404 when there is none).
    async fn lead_actor(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<ActorRef<LeadMsg>, DomainError> {
        let ou = self.ou(org_id, ou_id).await?;
        ractor::call_t!(
            ou,
            |reply| OuMsg::Lead {
                lead_id: lead_id.to_string(),
                reply
            },
            CALL_TIMEOUT.as_millis() as u64
        )
        .map_err(actor_error)??
        .ok_or_else(|| DomainError::not_found("lead"))
    }

    /// Sends a lead actor a message carrying a reply channel and waits for the answer
    /// (which its actor gives once the write is durable).
    async fn ask_lead<T>(
        &self,
        lead: ActorRef<LeadMsg>,
        msg: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, DomainError>>) -> LeadMsg,
    ) -> Result<T, DomainError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        lead.send_message(msg(tx))
            .map_err(|_| DomainError::unavailable("the lead actor stopped; retry"))?;
        match tokio::time::timeout(COMMIT_TIMEOUT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(DomainError::unavailable("the lead actor stopped; retry")),
            Err(_) => Err(DomainError::timeout("the write did not commit in time")),
        }
    }

    /// Resets a lead's scores at `at` (events kept; earlier ones stop counting).
    pub async fn reset(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        at: time::Timestamp,
    ) -> Result<ResetResult, DomainError> {
        let lead = self.lead_actor(org_id, ou_id, lead_id).await?;
        self.ask_lead(lead, |reply| LeadMsg::Reset { at, reply })
            .await
    }

    /// Removes deleted events from their leads' scores and the store.
    pub async fn remove_events(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        event_ids: Vec<String>,
    ) -> Result<(), DomainError> {
        let lead = self.lead_actor(org_id, ou_id, lead_id).await?;
        self.ask_lead(lead, |reply| LeadMsg::RemoveEvents { event_ids, reply })
            .await
    }

    /// Rebuilds a lead from its stored events and stores the scores (on-demand rescore).
    pub async fn rescore(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<RescoreSummary, DomainError> {
        let lead = self.lead_actor(org_id, ou_id, lead_id).await?;
        self.ask_lead(lead, |reply| LeadMsg::Rescore {
            cause: "rescore".into(),
            before: None,
            reply,
        })
        .await
    }

    /// Merges leads of one OU (see [`OuMsg::Merge`]).
    pub async fn merge(
        &self,
        org_id: &str,
        ou_id: &str,
        plan: MergePlan,
    ) -> Result<MergeResult, DomainError> {
        let ou = self.ou(org_id, ou_id).await?;
        ractor::call_t!(
            ou,
            |reply| OuMsg::Merge { plan, reply },
            MERGE_TIMEOUT.as_millis() as u64
        )
        .map_err(actor_error)?
    }

    /// Deletes a lead with its aliases and events.
    pub async fn delete_lead(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<(), DomainError> {
        let ou = self.ou(org_id, ou_id).await?;
        ractor::call_t!(
            ou,
            |reply| OuMsg::Delete {
                lead_id: lead_id.to_string(),
                reply
            },
            MERGE_TIMEOUT.as_millis() as u64
        )
        .map_err(actor_error)?
    }

    /// How many lead actors of the OU are live.
    pub async fn live_leads(&self, org_id: &str, ou_id: &str) -> Result<usize, DomainError> {
        let ou = self.ou(org_id, ou_id).await?;
        ractor::call_t!(ou, OuMsg::LiveLeads, CALL_TIMEOUT.as_millis() as u64).map_err(actor_error)
    }
}
