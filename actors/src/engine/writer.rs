//! The group-commit writer: many callers' writes (events, new leads and aliases, score
//! rows of many leads) go to the store in one transaction. A caller hears back only after
//! its transaction committed (acknowledged == durable), and the bus hears about a write
//! only then too.
//!
//! Up to one transaction per core (at least two, at most eight; [`in_flight_limit`]) runs at
//! once: the storage engine works each one on the task that awaits it, so two use two
//! cores. Writes that touch a lead in flight wait
//! for it, and so does every later write of that lead: a lead's writes commit in the order
//! they were sent. A write that could touch anyone's rows (a merge, a deletion, an
//! account's leads) waits until nothing else is committing, and everything sent after it
//! waits for it. A settle ([`WriterHandle::settle`]) writes nothing: it answers once the
//! writes sent before it for one lead have ended, so a lead actor that reads the store
//! after it reads everything that was on its way.
//!
//! A lead actor scores ahead of the store: its next write carries scores that include
//! its earlier writes. So when a write carrying a lead's score fails, the lead is held as
//! failed: its later score-carrying writes fail too (the caller may retry) until the
//! actor reloads from the store, which it does through a settle that clears the failure
//! ([`WriterHandle::settle`]). Nothing then commits a score built on a write that never
//! landed.
//!
//! It is a task reading a channel rather than a ractor actor because group commit needs to
//! take everything waiting at once (`recv_many`), which a mailbox does not offer.

use std::collections::{HashSet, VecDeque};

use leadwire_models::DomainError;
use leadwire_store::engagement::lead_key;
use leadwire_store::{Footprint, Store, StoreError, WriteBatch};
use tokio::sync::{mpsc, oneshot};

use super::bus::{Bus, BusEvent};
use crate::Metrics;

/// Most requests merged into one transaction.
const MAX_GROUP: usize = 256;
/// Requests that may wait for the writer before senders wait too (back-pressure).
const QUEUE: usize = 8192;
/// Transactions committing at once: one per core, at least two (one can be committing while
/// the next is formed), at most eight.
pub fn in_flight_limit() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
}
/// Tries of a write that lost a conflict to a concurrent transaction.
const CONFLICT_TRIES: usize = 3;

/// One caller's write.
pub struct WriteRequest {
    pub ou_id: String,
    pub batch: WriteBatch,
    /// Published on the OU's bus once committed.
    pub publish: Vec<BusEvent>,
    /// Events the write stores (for `events_ingested_total`).
    pub event_count: usize,
    /// A settle rather than a write: no rows; answered once every write sent before it
    /// that touches this key has ended (committed or failed).
    pub settle: Option<(String, Settle)>,
    pub reply: oneshot::Sender<Result<(), DomainError>>,
}

/// What a settle does once the lead's earlier writes have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Answers; the lead's failed write no longer holds its later writes back (its actor
    /// is about to rebuild its state from the store).
    Clears,
    /// Answers; a failed write of the lead still holds its later writes back.
    Waits,
    /// Answers with an error when a write of the lead failed and its actor has not
    /// reloaded since: what the actor holds may not all be stored.
    Confirms,
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
            settle: None,
            reply,
        };
        self.send(request).await;
        rx
    }

    async fn send(&self, request: WriteRequest) {
        if let Err(e) = self.tx.send(request).await {
            let _ =
                e.0.reply
                    .send(Err(DomainError::unavailable("the writer has stopped")));
        }
    }

    /// Waits until every write sent so far that touches the lead `lead_key` has ended
    /// (committed or failed): what is stored for the lead is then all it will be until
    /// the next write. Reading a lead's state before that could miss a write on its way.
    /// For the lead's actor rebuilding its state from the store: a failed write of the
    /// lead stops holding its later writes back.
    pub async fn settle(&self, ou_id: String, lead_key: String) -> Result<(), DomainError> {
        self.settle_with(ou_id, lead_key, Settle::Clears).await
    }

    /// Like [`WriterHandle::settle`], for a reader that keeps its other state: a failed
    /// write of the lead still holds its later writes back.
    pub async fn wait(&self, ou_id: String, lead_key: String) -> Result<(), DomainError> {
        self.settle_with(ou_id, lead_key, Settle::Waits).await
    }

    /// Queues a settle like [`WriterHandle::wait`]'s whose answer is an error (503, retry)
    /// when one of those writes failed and the lead's actor has not reloaded since: `Ok`
    /// means every write the actor sent for the lead before it is stored. Queued before
    /// this returns, so it is ordered before anything the caller sends next (its own
    /// reload's clearing settle included); the receiver answers.
    pub async fn confirm(
        &self,
        ou_id: String,
        lead_key: String,
    ) -> oneshot::Receiver<Result<(), DomainError>> {
        self.queue_settle(ou_id, lead_key, Settle::Confirms).await
    }

    async fn settle_with(
        &self,
        ou_id: String,
        lead_key: String,
        mode: Settle,
    ) -> Result<(), DomainError> {
        settled(self.queue_settle(ou_id, lead_key, mode).await.await)
    }

    async fn queue_settle(
        &self,
        ou_id: String,
        lead_key: String,
        mode: Settle,
    ) -> oneshot::Receiver<Result<(), DomainError>> {
        let (reply, rx) = oneshot::channel();
        self.send(WriteRequest {
            ou_id,
            batch: WriteBatch::default(),
            publish: Vec::new(),
            event_count: 0,
            settle: Some((lead_key, mode)),
            reply,
        })
        .await;
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

/// Tells the writer a flight ended when dropped, with the leads whose score-carrying
/// writes failed in it; `None` when its task panicked (it answered nobody, so every lead
/// of the flight counts as failed).
struct Landed {
    id: u64,
    failed: Option<Vec<String>>,
    tx: mpsc::UnboundedSender<(u64, Option<Vec<String>>)>,
}

impl Drop for Landed {
    fn drop(&mut self) {
        let _ = self.tx.send((self.id, self.failed.take()));
    }
}

/// The leads whose scores a write carries.
fn scored_leads(batch: &WriteBatch) -> impl Iterator<Item = String> + '_ {
    batch
        .score_updates
        .iter()
        .map(|u| lead_key(&u.ou_id, &u.lead_id))
}

/// The answer to a write held back by an earlier failed write of its lead.
/// A settle's answer, from its receiver.
pub fn settled(
    answer: Result<Result<(), DomainError>, oneshot::error::RecvError>,
) -> Result<(), DomainError> {
    answer.unwrap_or_else(|_| Err(DomainError::unavailable("the writer dropped the settle")))
}

fn held_failed() -> DomainError {
    DomainError::unavailable(
        "an earlier write of this lead failed; it is being reloaded, try again",
    )
}

/// A queued write and what it touches.
struct Queued {
    request: WriteRequest,
    footprint: Footprint,
}

/// A transaction being committed.
struct Flight {
    id: u64,
    /// `None`: exclusive.
    keys: Option<HashSet<String>>,
}

async fn run(mut rx: mpsc::Receiver<WriteRequest>, store: Store, bus: Bus, metrics: Metrics) {
    let mut queue: VecDeque<Queued> = VecDeque::new();
    let mut flights: Vec<Flight> = Vec::new();
    // leads whose score-carrying write failed, until their actor reloads
    let mut failed: HashSet<String> = HashSet::new();
    let mut refused: Vec<Queued> = Vec::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(u64, Option<Vec<String>>)>();
    let mut next_id = 0u64;
    let mut open = true;
    let mut received: Vec<WriteRequest> = Vec::with_capacity(MAX_GROUP);
    let max_in_flight = in_flight_limit();
    loop {
        while flights.len() < max_in_flight {
            let taken = take_group(&mut queue, &flights, &mut failed, &mut refused);
            for q in refused.drain(..) {
                let _ = q.request.reply.send(Err(held_failed()));
            }
            if taken.is_empty() {
                break;
            }
            // a settle taken into a group has no earlier write of its lead left to wait for
            let (settles, group): (Vec<Queued>, Vec<Queued>) =
                taken.into_iter().partition(|q| q.request.settle.is_some());
            for q in settles {
                let _ = q.request.reply.send(Ok(()));
            }
            if group.is_empty() {
                continue;
            }
            next_id += 1;
            flights.push(Flight {
                id: next_id,
                keys: footprint_keys(&group),
            });
            let (store, bus, metrics, done) =
                (store.clone(), bus.clone(), metrics.clone(), done_tx.clone());
            let landed = Landed {
                id: next_id,
                failed: None,
                tx: done,
            };
            tokio::spawn(async move {
                // the flight ends when this task does, even by a panic: its leads must not
                // stay held back for good
                let mut landed = landed;
                landed.failed = Some(commit_group(&store, group, &bus, &metrics).await);
                drop(landed);
            });
        }
        metrics.queue_depth.set((rx.len() + queue.len()) as i64);
        if !open && queue.is_empty() && flights.is_empty() {
            break;
        }
        tokio::select! {
            n = rx.recv_many(&mut received, MAX_GROUP), if open && queue.len() < MAX_GROUP * max_in_flight => {
                if n == 0 {
                    open = false;
                }
                queue.extend(received.drain(..).map(|request| Queued {
                    footprint: match &request.settle {
                        Some((key, _)) => Footprint::Keys(vec![key.clone()]),
                        None => request.batch.footprint(),
                    },
                    request,
                }));
            }
            Some((id, leads)) = done_rx.recv() => {
                let flight = flights.iter().position(|f| f.id == id).map(|i| flights.swap_remove(i));
                match leads {
                    Some(leads) => failed.extend(leads),
                    // a panicked flight: its lead keys (aliases and filters have a prefix)
                    None => failed.extend(
                        flight
                            .and_then(|f| f.keys)
                            .into_iter()
                            .flatten()
                            .filter(|k| !k.contains(':')),
                    ),
                }
            }
        }
    }
    tracing::info!("writer-stopped");
}

/// The next transaction's writes, oldest first: those not waiting for a write in flight or
/// for an earlier write of the same lead. An exclusive write waits until nothing is in
/// flight, nothing after it goes before it, and nothing commits beside its transaction.
/// A write carrying the score of a lead in `failed` goes to `refused` instead; a clearing
/// settle of the lead, taken, takes it out of `failed`.
fn take_group(
    queue: &mut VecDeque<Queued>,
    flights: &[Flight],
    failed: &mut HashSet<String>,
    refused: &mut Vec<Queued>,
) -> Vec<Queued> {
    if queue.is_empty() || flights.iter().any(|f| f.keys.is_none()) {
        return Vec::new();
    }
    let busy: HashSet<&String> = flights
        .iter()
        .flat_map(|f| f.keys.iter().flatten())
        .collect();
    let mut blocked: HashSet<String> = HashSet::new();
    // what the writes taken so far touch (`None`: anything, an exclusive write)
    let mut taken: Option<HashSet<String>> = Some(HashSet::new());
    let mut group = Vec::new();
    let mut rest = VecDeque::with_capacity(queue.len());
    let mut barrier = false;
    for q in queue.drain(..) {
        if barrier || group.len() >= MAX_GROUP {
            rest.push_back(q);
            continue;
        }
        let settle = q.request.settle.as_ref().map(|(_, mode)| *mode);
        match &q.footprint {
            // with nothing in flight there is nothing to wait for: it and the writes
            // around it share one transaction, which keeps their order
            Footprint::Exclusive if flights.is_empty() => {
                taken = None;
                group.push(q);
            }
            Footprint::Exclusive => {
                barrier = true;
                rest.push_back(q);
            }
            Footprint::Keys(keys) => {
                // a settle is answered when taken: no write before it may still be
                // going to the store, in a flight or in this very group
                let held = |k: &String| {
                    busy.contains(k)
                        || blocked.contains(k)
                        || (settle.is_some() && taken.as_ref().is_none_or(|t| t.contains(k)))
                };
                let refuses = !failed.is_empty()
                    && match settle {
                        Some(Settle::Confirms) => keys.iter().any(|k| failed.contains(k)),
                        Some(_) => false,
                        None => scored_leads(&q.request.batch).any(|k| failed.contains(&k)),
                    };
                if keys.iter().any(held) {
                    blocked.extend(keys.iter().cloned());
                    rest.push_back(q);
                } else if refuses {
                    refused.push(q);
                } else {
                    if settle == Some(Settle::Clears) {
                        for k in keys {
                            failed.remove(k);
                        }
                    }
                    if let Some(t) = taken.as_mut() {
                        t.extend(keys.iter().cloned());
                    }
                    group.push(q);
                }
            }
        }
    }
    *queue = rest;
    group
}

/// The keys a group holds while it commits; `None` when it is exclusive.
fn footprint_keys(group: &[Queued]) -> Option<HashSet<String>> {
    let mut keys = HashSet::new();
    for q in group {
        match &q.footprint {
            Footprint::Exclusive => return None,
            Footprint::Keys(k) => keys.extend(k.iter().cloned()),
        }
    }
    Some(keys)
}

/// Commits a group in one transaction; when that fails, each write on its own (one bad
/// write must not fail its neighbours), except that a lead's write after a failed one of
/// the same lead fails unattempted. Answers every caller; returns the leads whose
/// score-carrying writes failed.
async fn commit_group(
    store: &Store,
    group: Vec<Queued>,
    bus: &Bus,
    metrics: &Metrics,
) -> Vec<String> {
    let batches: Vec<&WriteBatch> = group.iter().map(|q| &q.request.batch).collect();
    let result = commit_retrying(store, &batches).await;
    let mut failed: Vec<String> = Vec::new();
    if result.is_ok() || group.len() == 1 {
        if let Err(e) = &result {
            tracing::warn!(error = %e, "group-commit-failed");
            failed = group
                .iter()
                .flat_map(|q| scored_leads(&q.request.batch))
                .collect();
        }
        let result = result.map_err(DomainError::from);
        for q in group {
            finish(q.request, result.clone(), bus, metrics);
        }
        return failed;
    }
    if let Err(e) = &result {
        tracing::warn!(error = %e, size = group.len(), "group-commit-split");
    }
    for q in group {
        let leads: Vec<String> = scored_leads(&q.request.batch).collect();
        let result = if leads.iter().any(|k| failed.contains(k)) {
            Err(held_failed())
        } else {
            commit_retrying(store, &[&q.request.batch])
                .await
                .map_err(DomainError::from)
        };
        if result.is_err() {
            failed.extend(leads);
        }
        finish(q.request, result, bus, metrics);
    }
    failed
}

/// Commits, trying again when a concurrent transaction won a conflict (nothing was
/// written then).
async fn commit_retrying(store: &Store, batches: &[&WriteBatch]) -> Result<(), StoreError> {
    let mut tries = 1;
    loop {
        match store.commit_all(batches).await {
            Err(StoreError::Conflict(_)) if tries < CONFLICT_TRIES => tries += 1,
            other => return other,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn take(queue: &mut VecDeque<Queued>, flights: &[Flight]) -> Vec<Queued> {
        take_group(queue, flights, &mut HashSet::new(), &mut Vec::new())
    }

    fn queued(batch: WriteBatch) -> Queued {
        let (reply, _) = oneshot::channel();
        Queued {
            footprint: batch.footprint(),
            request: WriteRequest {
                ou_id: "ou".into(),
                batch,
                publish: Vec::new(),
                event_count: 0,
                settle: None,
                reply,
            },
        }
    }

    fn event_of(lead: &str) -> Queued {
        queued(WriteBatch {
            events: vec![json!({ "id": format!("ev_{lead}"), "ou_id": "ou", "lead_id": lead })],
            ..WriteBatch::default()
        })
    }

    fn merge() -> Queued {
        queued(WriteBatch {
            moves: vec![leadwire_store::engagement::LeadMove {
                ou_id: "ou".into(),
                from: "a".into(),
                to: "b".into(),
            }],
            ..WriteBatch::default()
        })
    }

    fn leads_of(group: &[Queued]) -> Vec<String> {
        group
            .iter()
            .map(|q| match &q.footprint {
                Footprint::Keys(k) => k.join(","),
                Footprint::Exclusive => "exclusive".into(),
            })
            .collect()
    }

    #[test]
    fn a_lead_in_flight_holds_back_its_later_writes_and_only_those() {
        let flights = vec![Flight {
            id: 1,
            keys: Some(["ou/a".to_string()].into()),
        }];
        let mut queue: VecDeque<Queued> =
            [event_of("a"), event_of("b"), event_of("a"), event_of("c")].into();
        let group = take(&mut queue, &flights);
        assert_eq!(leads_of(&group), ["ou/b", "ou/c"]);
        assert_eq!(leads_of(&Vec::from(queue)), ["ou/a", "ou/a"]);
    }

    #[test]
    fn a_held_back_write_holds_back_the_later_writes_of_its_leads() {
        // b waits for a (in flight) because one write names both; a later b must not
        // overtake it
        let both = queued(WriteBatch {
            events: vec![
                json!({ "id": "ev_1", "ou_id": "ou", "lead_id": "a" }),
                json!({ "id": "ev_2", "ou_id": "ou", "lead_id": "b" }),
            ],
            ..WriteBatch::default()
        });
        let flights = vec![Flight {
            id: 1,
            keys: Some(["ou/a".to_string()].into()),
        }];
        let mut queue: VecDeque<Queued> = [both, event_of("b"), event_of("c")].into();
        let group = take(&mut queue, &flights);
        assert_eq!(leads_of(&group), ["ou/c"]);
        assert_eq!(queue.len(), 2);
    }

    #[test]
    fn an_exclusive_write_waits_for_every_flight_and_holds_back_the_rest() {
        let mut queue: VecDeque<Queued> = [event_of("a"), merge(), event_of("c")].into();
        let flights = vec![Flight {
            id: 1,
            keys: Some(["ou/z".to_string()].into()),
        }];
        // it waits for the flight, and nothing after it goes first
        assert_eq!(leads_of(&take(&mut queue, &flights)), ["ou/a"]);
        assert!(take(&mut queue, &flights).is_empty());
        // then it and the writes after it share a transaction (which keeps their order)
        assert_eq!(leads_of(&take(&mut queue, &[])), ["exclusive", "ou/c"]);
        // and nothing commits beside an exclusive transaction
        queue.push_back(event_of("d"));
        let in_flight = vec![Flight { id: 2, keys: None }];
        assert!(take(&mut queue, &in_flight).is_empty());
    }

    fn settle_of(lead: &str) -> Queued {
        let mut q = queued(WriteBatch::default());
        q.request.settle = Some((format!("ou/{lead}"), Settle::Waits));
        q.footprint = Footprint::Keys(vec![format!("ou/{lead}")]);
        q
    }

    #[test]
    fn a_settle_is_never_taken_beside_an_earlier_write_of_its_lead() {
        // taken with the write it waits for, it would be answered before that commits
        let mut queue: VecDeque<Queued> =
            [event_of("a"), settle_of("a"), settle_of("b"), event_of("a")].into();
        let group = take(&mut queue, &[]);
        assert_eq!(leads_of(&group), ["ou/a", "ou/b"]);
        assert_eq!(leads_of(&Vec::from(queue)), ["ou/a", "ou/a"]);
        // nor beside an exclusive write, which may touch any lead
        let mut queue: VecDeque<Queued> = [merge(), settle_of("c")].into();
        assert_eq!(leads_of(&take(&mut queue, &[])), ["exclusive"]);
        // once the write has landed it is taken (and answered)
        let mut queue: VecDeque<Queued> = [settle_of("a")].into();
        assert_eq!(leads_of(&take(&mut queue, &[])), ["ou/a"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_settle_waits_for_the_earlier_writes_of_its_lead_and_only_those() {
        let store = Store::memory().await.unwrap();
        // every event write takes a second to commit
        store
            .execute("DEFINE EVENT slow ON TABLE event WHEN $event = 'CREATE' THEN sleep(1s)")
            .await
            .unwrap();
        let writer = WriterHandle::start(store.clone(), Bus::default(), Metrics::new());
        let batch = WriteBatch {
            events: vec![
                json!({ "id": "ev_1", "ou_id": "ou", "lead_id": "a", "org_id": "org",
                "event_type": "Demo", "occurred_at": "2026-11-24T10:00:00Z",
                "received_at": "2026-11-24T10:00:00Z", "channel": "web" }),
            ],
            ..WriteBatch::default()
        };
        let mut write = writer
            .submit("ou".into(), batch.clone(), Vec::new(), 1)
            .await;
        // another lead's settle does not wait for it
        writer.settle("ou".into(), "ou/b".into()).await.unwrap();
        assert!(write.try_recv().is_err(), "the write had already ended");
        // the lead's own settle answers only once it has ended
        writer.settle("ou".into(), "ou/a".into()).await.unwrap();
        assert_eq!(write.try_recv().ok(), Some(Ok(())));
        // a write that could touch any lead (a config change's wake marks) lands after
        // every write sent before it, of any lead
        let mut other = batch;
        other.events[0]["id"] = json!("ev_b");
        other.events[0]["lead_id"] = json!("b");
        let mut write = writer.submit("ou".into(), other, Vec::new(), 1).await;
        let wake = WriteBatch {
            wake_ous: vec![("org".into(), "ou".into())],
            ..WriteBatch::default()
        };
        writer.write("ou".into(), wake, Vec::new()).await.unwrap();
        assert_eq!(write.try_recv().ok(), Some(Ok(())));
        // with nothing on its way a settle answers at once, and a failed write ends too
        writer.settle("ou".into(), "ou/a".into()).await.unwrap();
        let refused = WriteBatch {
            events: vec![json!({ "id": "ev_2", "ou_id": "ou", "lead_id": "a", "metadata": "x" })],
            ..WriteBatch::default()
        };
        let mut write = writer.submit("ou".into(), refused, Vec::new(), 1).await;
        writer.settle("ou".into(), "ou/a".into()).await.unwrap();
        let r = write.try_recv();
        assert!(matches!(r, Ok(Err(_))), "{r:?}");
    }

    #[tokio::test]
    async fn a_flight_ends_even_when_its_task_panics() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let landed = Landed {
            id: 7,
            failed: None,
            tx,
        };
        let task = tokio::spawn(async move {
            let _landed = landed;
            panic!("the storage engine panicked");
        });
        assert!(task.await.is_err());
        // no word of what failed: every lead of the flight counts as failed
        assert_eq!(rx.recv().await, Some((7, None)));
    }

    fn scored(lead: &str, metadata: Value) -> WriteBatch {
        WriteBatch {
            events: vec![
                json!({ "id": format!("ev_{}", leadwire_models::ids::new_id("x")),
                "ou_id": "ou", "lead_id": lead, "org_id": "org", "event_type": "Demo",
                "occurred_at": "2026-11-24T10:00:00Z", "received_at": "2026-11-24T10:00:00Z",
                "channel": "web", "metadata": metadata }),
            ],
            score_updates: vec![leadwire_store::engagement::ScoreUpdate {
                ou_id: "ou".into(),
                lead_id: lead.into(),
                score: 1.0,
                scores: Default::default(),
                scored_at: "2026-11-24T10:00:00Z".into(),
                decaying: false,
                last_event: None,
                score_reset_at: None,
                terms: Default::default(),
                wake_at: String::new(),
                decay_logged_at: None,
                level: None,
                profile: None,
            }],
            ..WriteBatch::default()
        }
    }

    #[test]
    fn a_failed_lead_refuses_its_score_writes_until_a_clearing_settle() {
        let mut failed: HashSet<String> = ["ou/a".to_string()].into();
        let mut refused = Vec::new();
        let mut clearing = settle_of("a");
        clearing.request.settle = Some(("ou/a".into(), Settle::Clears));
        let mut confirming = settle_of("a");
        confirming.request.settle = Some(("ou/a".into(), Settle::Confirms));
        let mut queue: VecDeque<Queued> = [
            queued(scored("a", json!({}))),
            confirming,
            settle_of("a"),
            queued(scored("b", json!({}))),
            clearing,
            queued(scored("a", json!({}))),
        ]
        .into();
        let group = take_group(&mut queue, &[], &mut failed, &mut refused);
        // the write of a and the confirming settle are refused, a waiting settle leaves a
        // failed, b goes
        assert_eq!(leads_of(&refused), ["ou/a", "ou/a"]);
        assert_eq!(leads_of(&group), ["ou/a", "ou/b"]);
        assert_eq!(failed.len(), 1);
        // the clearing settle (not beside the other settle of a) lifts it: the write of a
        // after it goes
        refused.clear();
        let group = take_group(&mut queue, &[], &mut failed, &mut refused);
        assert!(refused.is_empty());
        assert_eq!(leads_of(&group), ["ou/a", "ou/a"]);
        assert!(failed.is_empty());
        assert!(queue.is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lead_whose_write_failed_commits_nothing_more_until_it_reloads() {
        let store = Store::memory().await.unwrap();
        let writer = WriterHandle::start(store.clone(), Bus::default(), Metrics::new());
        // metadata must be an object: this write fails
        let bad = writer
            .submit("ou".into(), scored("a", json!("x")), Vec::new(), 1)
            .await;
        let next = writer
            .submit("ou".into(), scored("a", json!({})), Vec::new(), 1)
            .await;
        let other = writer
            .submit("ou".into(), scored("b", json!({})), Vec::new(), 1)
            .await;
        assert!(matches!(bad.await, Ok(Err(_))));
        // the next score of a was built on the failed write: refused, nothing stored
        let r = next.await;
        assert!(
            matches!(&r, Ok(Err(e)) if e.to_string().contains("reloaded")),
            "{r:?}"
        );
        assert_eq!(other.await.ok(), Some(Ok(())));
        // a waiting settle keeps the failure; the actor's reload (a clearing settle)
        // lifts it
        writer.wait("ou".into(), "ou/a".into()).await.unwrap();
        let still = writer
            .write("ou".into(), scored("a", json!({})), Vec::new())
            .await;
        assert!(still.is_err(), "{still:?}");
        // a confirming settle (a retry answered from the actor's memory) hears of it
        let confirmed = settled(writer.confirm("ou".into(), "ou/a".into()).await.await);
        assert!(confirmed.is_err(), "{confirmed:?}");
        settled(writer.confirm("ou".into(), "ou/b".into()).await.await).unwrap();
        // a confirm queued before the reload's clearing settle still hears of the failure
        let before_reload = writer.confirm("ou".into(), "ou/a".into()).await;
        writer.settle("ou".into(), "ou/a".into()).await.unwrap();
        assert!(settled(before_reload.await).is_err());
        settled(writer.confirm("ou".into(), "ou/a".into()).await.await).unwrap();
        writer
            .write("ou".into(), scored("a", json!({})), Vec::new())
            .await
            .unwrap();
        let stored = store.lead_events("org", "ou", "a").await.unwrap();
        assert_eq!(stored.len(), 1, "{stored:?}");
    }

    #[test]
    fn a_group_holds_at_most_max_group_writes() {
        let mut queue: VecDeque<Queued> = (0..MAX_GROUP + 5)
            .map(|i| event_of(&format!("l{i}")))
            .collect();
        assert_eq!(take(&mut queue, &[]).len(), MAX_GROUP);
        assert_eq!(queue.len(), 5);
        assert_eq!(leads_of(&Vec::from(queue))[0], format!("ou/l{MAX_GROUP}"));
    }

    #[test]
    fn footprints_name_the_leads_or_say_exclusive() {
        let batch = WriteBatch {
            leads: vec![json!({ "id": "ou/a", "ou_id": "ou", "lead_id": "a" })],
            aliases: vec![json!({ "id": "ou/email/x@y.io", "ou_id": "ou", "lead_id": "a" })],
            audit: vec![json!({ "id": "aud_1" })],
            ..WriteBatch::default()
        };
        assert_eq!(
            batch.footprint(),
            Footprint::Keys(vec!["alias:ou/email/x@y.io".into(), "ou/a".into()])
        );
        let audit_only = WriteBatch {
            audit: vec![json!({ "id": "aud_1" })],
            ..WriteBatch::default()
        };
        assert_eq!(audit_only.footprint(), Footprint::Keys(Vec::new()));
        let unnamed = WriteBatch {
            events: vec![json!({ "id": "ev_1" })],
            ..WriteBatch::default()
        };
        assert_eq!(unnamed.footprint(), Footprint::Exclusive);
        let suppressed = WriteBatch {
            events: vec![json!({ "id": "ev_1", "ou_id": "ou", "lead_id": "a" })],
            suppressed: vec!["mf_1".into()],
            ..WriteBatch::default()
        };
        assert_eq!(
            suppressed.footprint(),
            Footprint::Keys(vec!["filter:mf_1".into(), "ou/a".into()])
        );
        assert_eq!(merge().footprint, Footprint::Exclusive);
    }
}
