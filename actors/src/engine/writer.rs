//! The group-commit writer: many callers' writes (events, new leads and aliases, score
//! rows of many leads) go to the store in one transaction. A caller hears back only after
//! its transaction committed (acknowledged == durable), and the bus hears about a write
//! only then too.
//!
//! It is a task reading a channel rather than a ractor actor because group commit needs to
//! take everything waiting at once (`recv_many`), which a mailbox does not offer.

use leadwire_models::DomainError;
use leadwire_store::{Store, WriteBatch};
use tokio::sync::{mpsc, oneshot};

use super::bus::{Bus, BusEvent};
use crate::Metrics;

/// Most requests merged into one transaction.
const MAX_GROUP: usize = 256;
/// Requests that may wait for the writer before senders wait too (back-pressure).
const QUEUE: usize = 8192;

/// One caller's write.
pub struct WriteRequest {
    pub ou_id: String,
    pub batch: WriteBatch,
    /// Published on the OU's bus once committed.
    pub publish: Vec<BusEvent>,
    /// Events the write stores (for `events_ingested_total`).
    pub event_count: usize,
    pub reply: oneshot::Sender<Result<(), DomainError>>,
}

/// The writer's address.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteRequest>,
}

impl WriterHandle {
    /// Starts the writer task.
    pub fn start(store: Store, bus: Bus, metrics: Metrics) -> WriterHandle {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, store, bus, metrics));
        WriterHandle { tx }
    }

    /// Queues a write; the returned receiver resolves when it committed (or failed).
    pub async fn submit(
        &self,
        ou_id: String,
        batch: WriteBatch,
        publish: Vec<BusEvent>,
        event_count: usize,
    ) -> oneshot::Receiver<Result<(), DomainError>> {
        let (reply, rx) = oneshot::channel();
        let request = WriteRequest {
            ou_id,
            batch,
            publish,
            event_count,
            reply,
        };
        if let Err(e) = self.tx.send(request).await {
            let _ =
                e.0.reply
                    .send(Err(DomainError::unavailable("the writer has stopped")));
        }
        rx
    }

    /// Queues a write and waits until it committed.
    pub async fn write(
        &self,
        ou_id: String,
        batch: WriteBatch,
        publish: Vec<BusEvent>,
    ) -> Result<(), DomainError> {
        self.submit(ou_id, batch, publish, 0)
            .await
            .await
            .unwrap_or_else(|_| Err(DomainError::unavailable("the writer dropped the write")))
    }
}

async fn run(mut rx: mpsc::Receiver<WriteRequest>, store: Store, bus: Bus, metrics: Metrics) {
    let mut group: Vec<WriteRequest> = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        metrics.queue_depth.set(rx.len() as i64);
        let batches: Vec<&WriteBatch> = group.iter().map(|r| &r.batch).collect();
        match store.commit_all(&batches).await {
            Ok(()) => {
                for r in group.drain(..) {
                    finish(r, Ok(()), &bus, &metrics);
                }
            }
            Err(e) if group.len() == 1 => {
                tracing::warn!(error = %e, "group-commit-failed");
                let e = DomainError::from(e);
                for r in group.drain(..) {
                    finish(r, Err(e.clone()), &bus, &metrics);
                }
            }
            Err(e) => {
                // one bad write must not fail its neighbours: commit each on its own
                tracing::warn!(error = %e, size = group.len(), "group-commit-split");
                for r in group.drain(..) {
                    let result = store.commit(&r.batch).await.map_err(DomainError::from);
                    finish(r, result, &bus, &metrics);
                }
            }
        }
    }
    tracing::info!("writer-stopped");
}

fn finish(r: WriteRequest, result: Result<(), DomainError>, bus: &Bus, metrics: &Metrics) {
    if result.is_ok() {
        metrics.events_ingested.inc_by(r.event_count as u64);
        for event in r.publish {
            bus.publish(&r.ou_id, event);
        }
    }
    let _ = r.reply.send(result);
}
