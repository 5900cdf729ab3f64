//! `LeadActor`: one per live lead. Holds the lead's [`LeadBook`] (events in time order and
//! what they earn under the OU's config), scores new events with the pure engine, and
//! hands the result to the group-commit writer. Spawned on demand by its OU actor,
//! rehydrated from the store (once what was on its way to the store for the lead has
//! landed, see [`load_book`]), passivated after an idle timeout.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadwire_models::events::{NewEvent, StoredEvent};
use leadwire_models::ids;
use leadwire_models::leads::{RescoreSummary, ResetResult};
use leadwire_models::levels::{level_of, LevelRef};
use leadwire_models::profile::{self, Disqualification};
use leadwire_models::scoring::{round2, EventFact, LeadBook, ScoreDelta, ScoringConfig};
use leadwire_models::time::{self, Timestamp};
use leadwire_models::DomainError;
use leadwire_store::engagement::{event_row, lead_key, ProfileUpdate};
use leadwire_store::{AccountMetadataPatch, ScoreUpdate, Store, WriteBatch};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;
use tokio::sync::oneshot;

use super::bus::{BusEvent, CONFIG_CHANGE};
use super::ou::{Identities, OuMsg, DRAIN_TIMEOUT};
use super::writer::WriterHandle;

/// An event on its way into a lead, with the id and receipt time it was given.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub event_id: String,
    pub event: NewEvent,
    pub received_at: Timestamp,
}

/// What the caller of an ingest hears once the event is durable.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IngestAck {
    pub event_id: String,
    pub lead_id: String,
    /// Whether this event created the lead (its aliases were new).
    pub lead_created: bool,
    /// The score change per ruleset.
    pub deltas: Vec<ScoreDelta>,
    /// The lead already had an event with this `idempotency_key`: nothing was stored, and
    /// this is that event (its id and the score change it caused).
    pub duplicate: bool,
}

/// Each event's outcome (in order), or the error that failed them all.
pub type IngestReply = oneshot::Sender<Result<Vec<Result<IngestAck, DomainError>>, DomainError>>;

/// A lead's current scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadScores {
    pub lead_id: String,
    /// The highest score across rulesets (0 without rulesets).
    pub score: f64,
    pub scores: BTreeMap<String, f64>,
    /// The engagement level `score` is at.
    pub level: Option<LevelRef>,
    /// Profile and account scores and levels, and the disqualification, as of now.
    pub profile: ProfileUpdate,
}

pub enum LeadMsg {
    /// Score and store events. `creates` carries the lead and alias rows when the OU
    /// actor just resolved new identities to this lead: they commit with the events.
    Ingest {
        events: Vec<PendingEvent>,
        creates: Box<WriteBatch>,
        lead_created: bool,
        reply: IngestReply,
    },
    Scores(RpcReplyPort<LeadScores>),
    /// The OU's scoring config changed: rescore the same events.
    Reconfigure(Arc<ScoringConfig>),
    /// A write failed: forget the in-memory state and rebuild it from the store.
    Reload,
    /// Timer: passivate when idle long enough.
    IdleCheck,
    /// Zero the scores at `at`: events dated before stop counting (even backfilled ones);
    /// a `score_reset` entry goes on the timeline. Answers once durable.
    Reset {
        at: Timestamp,
        reply: oneshot::Sender<Result<ResetResult, DomainError>>,
    },
    /// Remove deleted events and rescore. Answers once durable.
    RemoveEvents {
        event_ids: Vec<String>,
        reply: oneshot::Sender<Result<(), DomainError>>,
    },
    /// The lead was due (an inactivity deduction fell due, or the OU's config changed):
    /// put the deductions that fell due on the timeline, store the scores and the next
    /// wake time. Answers once durable.
    Wake {
        reply: oneshot::Sender<Result<(), DomainError>>,
    },
    /// Rebuild from the store (its events changed under it, e.g. a merge) and store the
    /// new scores; answers with the scores before and after, once durable.
    Rescore {
        cause: String,
        /// The scores before, when the caller knows them better (a fresh actor has
        /// already loaded the new history).
        before: Option<BTreeMap<String, f64>>,
        reply: oneshot::Sender<Result<RescoreSummary, DomainError>>,
    },
}

pub struct LeadActor;

pub struct LeadArgs {
    pub org_id: String,
    pub ou_id: String,
    pub lead_id: String,
    pub config: Arc<ScoringConfig>,
    pub store: Store,
    pub writer: WriterHandle,
    pub ou: ActorRef<OuMsg>,
    pub idle_timeout: Duration,
    /// A lead created by the ingest that spawns it: nothing stored yet to load.
    pub fresh: bool,
    /// The OU's alias map, to forget aliases whose rows a failed write did not store.
    pub identities: Identities,
    /// The lead's previous actor when it is still finishing its queued work (it was
    /// passivated): this one reads the store only after that one has stopped.
    pub predecessor: Option<ractor::ActorCell>,
}

pub struct LeadState {
    args: LeadArgs,
    book: LeadBook,
    row: RowState,
    last_used: Instant,
}

/// What the actor keeps of its lead's row (it is the row's only writer of these), and the
/// idempotency keys of its events.
#[derive(Default)]
struct RowState {
    /// The lead's events that carry a client's idempotency key, by key (a merge may bring
    /// two events of one key together; usually there is one).
    keys: HashMap<String, Vec<Keyed>>,
    /// Inactivity deductions up to this time are on the timeline.
    decay_logged_at: Option<Timestamp>,
    /// The engagement, profile and account levels last stored.
    level: Option<LevelRef>,
    profile_level: Option<LevelRef>,
    account_level: Option<LevelRef>,
    /// The lead's metadata (its profile properties).
    metadata: serde_json::Map<String, serde_json::Value>,
    /// Its account, when it links to a live one.
    account: Option<LeadAccount>,
    /// The disqualification last stored.
    disqualification: Option<Disqualification>,
}

/// An event stored with an idempotency key: what a retry of it is answered with.
struct Keyed {
    event_id: String,
    event_type: String,
    deltas: Vec<ScoreDelta>,
}

impl Keyed {
    fn new(e: &StoredEvent, deltas: Vec<ScoreDelta>) -> Keyed {
        Keyed {
            event_id: e.event_id.clone(),
            event_type: e.event_type.clone(),
            deltas,
        }
    }
}

/// The answer to a retry of an event stored with `key`: the stored event of its type, or
/// 409 when the key was used for an event of another type. `stored` is never empty.
fn retry_ack(
    stored: &[Keyed],
    key: &str,
    event_type: &str,
    lead_id: &str,
) -> Result<IngestAck, DomainError> {
    match stored.iter().find(|k| k.event_type == event_type) {
        Some(k) => Ok(IngestAck {
            event_id: k.event_id.clone(),
            lead_id: lead_id.to_string(),
            lead_created: false,
            deltas: k.deltas.clone(),
            duplicate: true,
        }),
        None => {
            let (id, t) = stored
                .first()
                .map(|k| (k.event_id.as_str(), k.event_type.as_str()))
                .unwrap_or_default();
            Err(DomainError::conflict(format!(
                "idempotency_key \"{key}\" was used for event {id} of type \"{t}\""
            )))
        }
    }
}

/// The keyed events of a history, by key.
fn keys_of(events: &[StoredEvent]) -> HashMap<String, Vec<Keyed>> {
    let mut keys: HashMap<String, Vec<Keyed>> = HashMap::new();
    for e in events {
        if let Some(key) = &e.idempotency_key {
            let keyed = Keyed::new(e, e.deltas.values().cloned().collect());
            keys.entry(key.clone()).or_default().push(keyed);
        }
    }
    keys
}

/// A lead's account as its actor keeps it.
struct LeadAccount {
    account: leadwire_models::accounts::Account,
    /// What account rules read: its metadata plus `name` and `domain`.
    properties: serde_json::Map<String, serde_json::Value>,
}

impl LeadAccount {
    fn new(account: leadwire_models::accounts::Account) -> LeadAccount {
        LeadAccount {
            properties: leadwire_models::accounts::properties(&account),
            account,
        }
    }
}

/// A lead's account, if it links to a live one.
async fn load_account(
    args: &LeadArgs,
    account_id: Option<&str>,
) -> Result<Option<LeadAccount>, DomainError> {
    let Some(id) = account_id else {
        return Ok(None);
    };
    Ok(args
        .store
        .account(&args.org_id, &args.ou_id, id)
        .await?
        .filter(|a| a.merged_into.is_none())
        .map(LeadAccount::new))
}

/// The keys of `after` whose values differ from `before`'s.
fn changed_keys(
    before: &serde_json::Map<String, serde_json::Value>,
    after: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The lead's book and what the actor keeps of its row, read once every write sent for
/// the lead has ended: a write still on its way would be missing from the book, and the
/// next score row written from it would undo that write's score.
async fn load_book(args: &LeadArgs) -> Result<(LeadBook, RowState), DomainError> {
    args.writer
        .settle(args.ou_id.clone(), lead_key(&args.ou_id, &args.lead_id))
        .await?;
    let lead = args
        .store
        .lead(&args.org_id, &args.ou_id, &args.lead_id)
        .await?;
    let events = args
        .store
        .lead_events(&args.org_id, &args.ou_id, &args.lead_id)
        .await?;
    let book = LeadBook::from_stored(
        &args.config,
        &events,
        lead.as_ref().and_then(|l| l.score_reset_at.as_deref()),
    );
    let row = match lead {
        Some(l) => RowState {
            keys: keys_of(&events),
            account: load_account(args, l.account_id.as_deref()).await?,
            decay_logged_at: l.decay_logged_at.and_then(|t| time::parse(&t)),
            level: l.level,
            profile_level: l.profile_level,
            account_level: l.account_level,
            metadata: l.metadata,
            disqualification: l.disqualification,
        },
        None => RowState::default(),
    };
    Ok((book, row))
}

impl LeadState {
    fn scores(&self, now: Timestamp) -> LeadScores {
        let scores: BTreeMap<String, f64> = self
            .book
            .scores(&self.args.config, now)
            .into_iter()
            .map(|(k, v)| (k, round2(v)))
            .collect();
        let score = scores
            .values()
            .copied()
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        let score = score.unwrap_or(0.0);
        let profile = self.evaluate_profile(now);
        LeadScores {
            lead_id: self.args.lead_id.clone(),
            level: level_of(&self.args.config.levels, score).map(LevelRef::from),
            score,
            scores,
            profile,
        }
    }

    /// The lead's profile and account scores, their levels and its disqualification
    /// now: a profile rule's disqualification first, then an account rule's; one by the
    /// rule already stored keeps its time.
    fn evaluate_profile(&self, now: Timestamp) -> ProfileUpdate {
        let config = &self.args.config;
        let j = profile::judge(
            config,
            &self.row.metadata,
            self.row.account.as_ref().map(|a| &a.properties),
            self.row.disqualification.as_ref(),
            &time::format(&now),
        );
        let (p, a) = (j.profile, j.account);
        let (score, account_score) = (round2(p.score), round2(a.score));
        ProfileUpdate {
            score,
            scores: p.scores.into_iter().map(|(k, v)| (k, round2(v))).collect(),
            account_score,
            level: level_of(&config.profile_levels, score).map(LevelRef::from),
            account_level: level_of(&config.account_levels, account_score).map(LevelRef::from),
            disqualification: j.disqualification,
        }
    }

    /// The score update to store at `now`; a change of level goes on the bus.
    fn score_update(&mut self, now: Timestamp, publish: &mut Vec<BusEvent>) -> ScoreUpdate {
        let s = self.scores(now);
        let profile = s.profile;
        for (dimension, now_at, stored) in [
            ("engagement", &s.level, &mut self.row.level),
            ("profile", &profile.level, &mut self.row.profile_level),
            (
                "account",
                &profile.account_level,
                &mut self.row.account_level,
            ),
        ] {
            if now_at != stored {
                publish.push(BusEvent::LevelChange {
                    lead_id: self.args.lead_id.clone(),
                    dimension: dimension.into(),
                    before: stored.take(),
                    after: now_at.clone(),
                });
                *stored = now_at.clone();
            }
        }
        if profile.disqualification != self.row.disqualification {
            let dq = profile.disqualification.as_ref();
            publish.push(BusEvent::Disqualification {
                lead_id: self.args.lead_id.clone(),
                disqualified: dq.is_some(),
                rule_id: dq.map(|d| d.rule_id.clone()),
                reason: dq.map(|d| d.reason.clone()),
            });
            self.row.disqualification = profile.disqualification.clone();
        }
        ScoreUpdate {
            profile: Some(profile),
            level: s.level,
            ou_id: self.args.ou_id.clone(),
            lead_id: self.args.lead_id.clone(),
            score: s.score,
            scores: s.scores,
            scored_at: time::format(&now),
            decaying: self.book.decays(),
            // the newest event (the book is in time order), stored again with every
            // update: a deletion may have taken the one stored (none left clears it)
            last_event: Some(
                self.book
                    .events()
                    .last()
                    .map(|e| (time::format(&e.occurred_at), e.event_type.to_string())),
            ),
            score_reset_at: self.book.reset_at().map(|r| time::format(&r)),
            terms: self.book.terms(&self.args.config, now),
            wake_at: self
                .book
                .next_decay_at(&self.args.config, now)
                .map(|t| time::format(&t))
                .unwrap_or_default(),
            decay_logged_at: self.row.decay_logged_at.map(|t| time::format(&t)),
        }
    }

    /// Re-reads the lead's metadata and its account's properties from the store, once
    /// the lead's writes on their way have landed (an older stored copy would undo them);
    /// answers the scores as stored, evaluated at `now` (none when the row is gone).
    async fn refresh_properties(
        &mut self,
        now: Timestamp,
    ) -> Result<Option<BTreeMap<String, f64>>, DomainError> {
        self.args
            .writer
            .wait(
                self.args.ou_id.clone(),
                lead_key(&self.args.ou_id, &self.args.lead_id),
            )
            .await?;
        let Some(stored) = self
            .args
            .store
            .stored_lead(&self.args.org_id, &self.args.ou_id, &self.args.lead_id)
            .await?
        else {
            return Ok(None);
        };
        let scores = stored.scores_at(now);
        let lead = stored.lead;
        self.row.account = load_account(&self.args, lead.account_id.as_deref()).await?;
        self.row.metadata = lead.metadata;
        Ok(Some(scores))
    }

    /// A server timeline entry (channel `system`; it never scores).
    fn timeline_entry(
        &self,
        event_type: &str,
        at: Timestamp,
        now: Timestamp,
        metadata: serde_json::Value,
    ) -> StoredEvent {
        StoredEvent {
            event_id: ids::new_id(ids::prefix::EVENT),
            org_id: self.args.org_id.clone(),
            unit_id: self.args.ou_id.clone(),
            lead_id: self.args.lead_id.clone(),
            event_type: event_type.into(),
            occurred_at: time::format(&at),
            received_at: time::format(&now),
            channel: "system".into(),
            metadata: metadata.as_object().cloned().unwrap_or_default(),
            system: true,
            suppressed_by: None,
            inorganic: false,
            deltas: Default::default(),
            idempotency_key: None,
        }
    }

    /// Applies the OU's field mappings to the lead (profile) and its account (account)
    /// from an arriving event's metadata; changes go into `batch` as metadata patches.
    fn map_fields(
        &mut self,
        event_metadata: &serde_json::Map<String, serde_json::Value>,
        batch: &mut WriteBatch,
    ) {
        let config = self.args.config.clone();
        let before = self.row.metadata.clone();
        if !config.mappings.is_empty()
            && profile::apply_mappings(&config.mappings, event_metadata, &mut self.row.metadata)
        {
            // only the keys that changed: a whole copy would undo an edit of the lead
            // made since this actor read it (patches merge key by key)
            batch.patches.push((
                lead_key(&self.args.ou_id, &self.args.lead_id),
                serde_json::json!({ "metadata": changed_keys(&before, &self.row.metadata) }),
            ));
        }
        let Some(account) = self.row.account.as_mut() else {
            return;
        };
        if config.account_mappings.is_empty() {
            return;
        }
        let before = account.account.metadata.clone();
        let metadata = &mut account.account.metadata;
        if !profile::apply_mappings(&config.account_mappings, event_metadata, metadata) {
            return;
        }
        // only the keys that changed, so leads of one account never undo each other
        let changed = changed_keys(&before, metadata);
        *account = LeadAccount::new(account.account.clone());
        batch.account_patches.push(AccountMetadataPatch {
            ou_id: self.args.ou_id.clone(),
            account_id: account.account.account_id.clone(),
            lead_id: self.args.lead_id.clone(),
            metadata: serde_json::Value::Object(changed),
        });
    }

    /// Puts the inactivity deductions that fell due since the last logged one on the
    /// timeline: one `DECAY` entry (channel `system`) listing them as runs (a rule's
    /// consecutive deductions of one size) with each ruleset's loss, and a `decay` score
    /// update per ruleset on the bus.
    fn log_decay(&mut self, now: Timestamp, batch: &mut WriteBatch, publish: &mut Vec<BusEvent>) {
        let due: Vec<_> = self
            .book
            .deductions(&self.args.config, now)
            .into_iter()
            .filter_map(|d| match self.row.decay_logged_at {
                Some(logged) => d.since(logged, false),
                None => Some(d),
            })
            .collect();
        let Some(last) = due.iter().map(|d| d.last_at()).max() else {
            return;
        };
        self.row.decay_logged_at = Some(now);
        let after = self.scores(now).scores;
        let mut deltas = BTreeMap::new();
        for (rs, a) in &after {
            let spared = leadwire_models::scoring::deducted(&due, rs);
            let before = round2(self.book.score_sparing(&self.args.config, rs, now, spared));
            let delta = round2(a - before);
            if delta == 0.0 {
                continue;
            }
            let d = ScoreDelta {
                ruleset_id: rs.clone(),
                rule_id: None,
                before,
                after: *a,
                delta,
                multiplier: 1.0,
            };
            publish.push(BusEvent::ScoreUpdate {
                lead_id: self.args.lead_id.clone(),
                ruleset_id: rs.clone(),
                before: d.before,
                after: d.after,
                delta: d.delta,
                cause: "decay".into(),
            });
            deltas.insert(rs.clone(), d);
        }
        let deductions: Vec<serde_json::Value> = due
            .iter()
            .map(|d| {
                serde_json::json!({
                    "decay_id": d.decay_id,
                    "first_at": time::format(&d.first_at),
                    "at": time::format(&d.last_at()),
                    "count": d.count,
                    "points": d.amounts.keys().map(|k| (k.clone(), -round2(d.total(k)))).collect::<BTreeMap<_, _>>(),
                })
            })
            .collect();
        let mut entry = self.timeline_entry(
            "DECAY",
            last,
            now,
            serde_json::json!({ "channel": "system", "deductions": deductions }),
        );
        entry.deltas = deltas;
        batch.events.push(event_row(&entry));
    }

    /// The bus messages for a change of scores from `before` to `after`.
    fn changes(
        &self,
        before: &BTreeMap<String, f64>,
        after: &BTreeMap<String, f64>,
        cause: &str,
    ) -> Vec<BusEvent> {
        after
            .iter()
            .filter_map(|(rs, a)| {
                let b = before.get(rs).copied().unwrap_or(0.0);
                (round2(a - b) != 0.0).then(|| BusEvent::ScoreUpdate {
                    lead_id: self.args.lead_id.clone(),
                    ruleset_id: rs.clone(),
                    before: b,
                    after: *a,
                    delta: round2(a - b),
                    cause: cause.to_string(),
                })
            })
            .collect()
    }

    /// Puts in front of `publish` a `config_change` score update for each ruleset whose
    /// score listeners last heard as `heard` and that now starts elsewhere: at the
    /// `before` of the first update `publish` has for it, or at `now` when it has none.
    /// Listeners then hear an unbroken chain from what they knew to the stored score.
    fn bridge(
        &self,
        heard: &BTreeMap<String, f64>,
        now: &BTreeMap<String, f64>,
        publish: &mut Vec<BusEvent>,
    ) {
        let bridges: Vec<BusEvent> = now
            .iter()
            .filter_map(|(rs, after)| {
                let next = publish
                    .iter()
                    .find_map(|e| match e {
                        BusEvent::ScoreUpdate {
                            ruleset_id, before, ..
                        } if ruleset_id == rs => Some(*before),
                        _ => None,
                    })
                    .unwrap_or(*after);
                let before = heard.get(rs).copied().unwrap_or(0.0);
                let delta = round2(next - before);
                (delta != 0.0).then(|| BusEvent::ScoreUpdate {
                    lead_id: self.args.lead_id.clone(),
                    ruleset_id: rs.clone(),
                    before,
                    after: next,
                    delta,
                    cause: CONFIG_CHANGE.into(),
                })
            })
            .collect();
        publish.splice(0..0, bridges);
    }

    /// Writes `batch` plus the current scores through the writer and answers `reply`
    /// with `ok` once committed; on failure the book is reloaded from the store. With
    /// `heard` (the scores listeners last heard of, when the config changed under them)
    /// the bus also hears how the scores moved from there.
    async fn commit_then<T: Send + 'static>(
        &mut self,
        myself: ActorRef<LeadMsg>,
        mut batch: WriteBatch,
        mut publish: Vec<BusEvent>,
        heard: Option<BTreeMap<String, f64>>,
        ok: T,
        reply: oneshot::Sender<Result<T, DomainError>>,
    ) {
        let now = time::now();
        self.log_decay(now, &mut batch, &mut publish);
        let update = self.score_update(now, &mut publish);
        if let Some(heard) = heard {
            self.bridge(&heard, &update.scores, &mut publish);
        }
        batch.score_updates.push(update);
        let committed = self
            .args
            .writer
            .submit(self.args.ou_id.clone(), batch, publish, 0)
            .await;
        tokio::spawn(async move {
            let result = match committed.await {
                Ok(Ok(())) => Ok(ok),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(DomainError::unavailable("the writer dropped the write")),
            };
            if result.is_err() {
                let _ = myself.send_message(LeadMsg::Reload);
            }
            let _ = reply.send(result);
        });
    }
}

impl Actor for LeadActor {
    type Msg = LeadMsg;
    type State = LeadState;
    type Arguments = LeadArgs;

    /// Starts empty: the spawner (the OU actor) must not wait for the store.
    async fn pre_start(
        &self,
        myself: ActorRef<LeadMsg>,
        args: LeadArgs,
    ) -> Result<LeadState, ActorProcessingErr> {
        let period = (args.idle_timeout / 2).max(Duration::from_millis(50));
        myself.send_interval(period, || LeadMsg::IdleCheck);
        Ok(LeadState {
            args,
            book: LeadBook::default(),
            row: RowState::default(),
            last_used: Instant::now(),
        })
    }

    /// Rehydrates from the store (unless the lead is new) before the first message is
    /// handled; if that fails the actor fails, its queued callers hear "retry" and the
    /// next message for the lead spawns it again.
    async fn post_start(
        &self,
        _myself: ActorRef<LeadMsg>,
        state: &mut LeadState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(previous) = state.args.predecessor.take() {
            // its last writes are sent once it has stopped; the load then waits for them
            previous.wait(Some(DRAIN_TIMEOUT)).await.map_err(|_| {
                DomainError::unavailable("the lead's previous actor did not stop; retry")
            })?;
        }
        if !state.args.fresh {
            (state.book, state.row) = load_book(&state.args).await?;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<LeadMsg>,
        msg: LeadMsg,
        state: &mut LeadState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            LeadMsg::Ingest {
                events,
                creates,
                lead_created,
                reply,
            } => {
                state.last_used = Instant::now();
                let now = time::now();
                let mut batch = *creates;
                let mut publish = Vec::new();
                if lead_created {
                    publish.push(BusEvent::LeadCreated {
                        lead_id: state.args.lead_id.clone(),
                    });
                }
                let mut acks = Vec::with_capacity(events.len());
                let mut count = 0;
                // a lead created by this ingest starts with the metadata it was created with
                let key = lead_key(&state.args.ou_id, &state.args.lead_id);
                if let Some(m) = batch
                    .leads
                    .iter()
                    .find(|l| l["id"] == key.as_str())
                    .and_then(|l| l["metadata"].as_object())
                {
                    state.row.metadata = m.clone();
                }
                for p in events {
                    // a retry of an event the lead has: answered with it, nothing stored
                    if let Some(k) = p
                        .event
                        .idempotency_key
                        .as_deref()
                        .and_then(|key| Some((key, state.row.keys.get(key)?)))
                        .map(|(key, stored)| {
                            retry_ack(stored, key, &p.event.event_type, &state.args.lead_id)
                        })
                    {
                        acks.push(k);
                        continue;
                    }
                    let suppressed_by = state
                        .args
                        .config
                        .suppressed_by(&p.event.event_type, &p.event.metadata)
                        .map(str::to_string);
                    match &suppressed_by {
                        Some(f) => batch.suppressed.push(f.clone()),
                        None => state.map_fields(&p.event.metadata, &mut batch),
                    }
                    let fact = EventFact {
                        event_id: p.event_id.clone(),
                        event_type: Arc::from(p.event.event_type.as_str()),
                        occurred_at: p.event.occurred_at,
                        suppressed: suppressed_by.is_some(),
                    };
                    let deltas = state.book.add(&state.args.config, fact, now);
                    let inorganic = state.book.is_inorganic(&p.event_id);
                    let stored = StoredEvent {
                        event_id: p.event_id.clone(),
                        org_id: state.args.org_id.clone(),
                        unit_id: state.args.ou_id.clone(),
                        lead_id: state.args.lead_id.clone(),
                        event_type: p.event.event_type.clone(),
                        occurred_at: time::format(&p.event.occurred_at),
                        received_at: time::format(&p.received_at),
                        channel: p.event.channel.to_string(),
                        metadata: p.event.metadata,
                        system: false,
                        suppressed_by,
                        inorganic,
                        deltas: deltas
                            .iter()
                            .map(|d| (d.ruleset_id.clone(), d.clone()))
                            .collect(),
                        idempotency_key: p.event.idempotency_key,
                    };
                    batch.events.push(event_row(&stored));
                    if let Some(key) = &stored.idempotency_key {
                        let keyed = Keyed::new(&stored, deltas.clone());
                        state.row.keys.entry(key.clone()).or_default().push(keyed);
                    }
                    publish.push(BusEvent::EventIngested {
                        event_id: stored.event_id.clone(),
                        lead_id: stored.lead_id.clone(),
                        event_type: stored.event_type.clone(),
                        occurred_at: stored.occurred_at.clone(),
                        channel: stored.channel.clone(),
                    });
                    for d in deltas.iter().filter(|d| d.delta != 0.0) {
                        publish.push(BusEvent::ScoreUpdate {
                            lead_id: stored.lead_id.clone(),
                            ruleset_id: d.ruleset_id.clone(),
                            before: d.before,
                            after: d.after,
                            delta: d.delta,
                            cause: format!("event:{}", stored.event_id),
                        });
                    }
                    // the event took its session into a higher surge band
                    if let Some((last, n)) = state.book.session() {
                        let surge = &state.args.config.surge;
                        if last == p.event.occurred_at
                            && n >= 2
                            && surge.multiplier(n) > surge.multiplier(n - 1)
                        {
                            publish.push(BusEvent::Surge {
                                lead_id: stored.lead_id.clone(),
                                event_id: stored.event_id.clone(),
                                session_events: n,
                                multiplier: surge.multiplier(n),
                            });
                        }
                    }
                    acks.push(Ok(IngestAck {
                        event_id: stored.event_id,
                        lead_id: stored.lead_id,
                        lead_created: lead_created && count == 0,
                        deltas,
                        duplicate: false,
                    }));
                    count += 1;
                }
                if batch.is_empty() {
                    // only retries (or refused keys): nothing to store, but the events they
                    // name may still be on their way to the store. The confirm is queued
                    // here, before this actor's next message: a reload after a failed write
                    // would otherwise clear the failure ahead of it.
                    let confirmed = state
                        .args
                        .writer
                        .confirm(state.args.ou_id.clone(), key)
                        .await;
                    tokio::spawn(async move {
                        let stored = super::writer::settled(confirmed.await);
                        let _ = reply.send(stored.map(|()| acks));
                    });
                    return Ok(());
                }
                // deductions that fell due while the lead was idle (or that a backdated
                // event's gap holds) go on the timeline
                state.log_decay(now, &mut batch, &mut publish);
                let update = state.score_update(now, &mut publish);
                batch.score_updates.push(update);
                let creates_lead = !batch.leads.is_empty();
                let creates_aliases = !batch.aliases.is_empty();
                let committed = state
                    .args
                    .writer
                    .submit(state.args.ou_id.clone(), batch, publish, count)
                    .await;
                let outcome = |committed| match committed {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(DomainError::unavailable("the writer dropped the write")),
                };
                if creates_lead {
                    // The lead's row is in this write: nothing else may be stored for the
                    // lead, or acknowledged, before the row is. If it failed, the aliases
                    // that pointed here are forgotten and the actor stops; what was queued
                    // for it fails (the callers retry) and the next ingest of those
                    // aliases creates the lead afresh.
                    let result = outcome(committed.await);
                    let failed = result.is_err();
                    if failed {
                        state.args.identities.forget(&state.args.lead_id);
                        tracing::warn!(lead_id = %state.args.lead_id, "new-lead-not-stored");
                    }
                    let _ = reply.send(result.map(|()| acks));
                    if failed {
                        myself.stop(Some("its lead was not stored".into()));
                    }
                    return Ok(());
                }
                // the actor goes on with the next message; the caller waits for the commit
                let identities = state.args.identities.clone();
                let lead_id = state.args.lead_id.clone();
                tokio::spawn(async move {
                    let result = outcome(committed.await);
                    if result.is_err() {
                        if creates_aliases {
                            // the store decides those aliases again on their next ingest
                            identities.forget(&lead_id);
                        }
                        let _ = myself.send_message(LeadMsg::Reload);
                    }
                    let _ = reply.send(result.map(|()| acks));
                });
            }
            LeadMsg::Scores(reply) => {
                state.last_used = Instant::now();
                let _ = reply.send(state.scores(time::now()));
            }
            LeadMsg::Reconfigure(config) => {
                let heard = state.scores(time::now()).scores;
                state.args.config = config;
                state.book.reconfigure(&state.args.config);
                // store the rescored row now, after any write this actor sent under the
                // old config: such a write landing after the OU's wake-all would
                // otherwise leave the old score stored until the lead's next event
                let (reply, _) = oneshot::channel();
                state
                    .commit_then(
                        myself,
                        WriteBatch::default(),
                        Vec::new(),
                        Some(heard),
                        (),
                        reply,
                    )
                    .await;
            }
            LeadMsg::Reload => {
                (state.book, state.row) = load_book(&state.args).await?;
            }
            LeadMsg::Wake { reply } => {
                // the lead's properties or its account may have changed under it, and
                // its stored scores may be from before a change of the OU's config
                let heard = match state.refresh_properties(time::now()).await {
                    Ok(heard) => heard,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return Ok(());
                    }
                };
                state
                    .commit_then(myself, WriteBatch::default(), Vec::new(), heard, (), reply)
                    .await;
            }
            LeadMsg::Reset { at, reply } => {
                state.last_used = Instant::now();
                let now = time::now();
                let before = state.scores(now).scores;
                state.book.reset(&state.args.config, at);
                let after = state.scores(now).scores;
                let mut entry = state.timeline_entry(
                    "score_reset",
                    at,
                    now,
                    serde_json::json!({ "previous_scores": before }),
                );
                // like a DECAY entry, it carries what it did to each score
                entry.deltas = before
                    .iter()
                    .filter_map(|(rs, b)| {
                        let a = after.get(rs).copied().unwrap_or(0.0);
                        let delta = round2(a - b);
                        (delta != 0.0).then(|| {
                            let d = ScoreDelta {
                                ruleset_id: rs.clone(),
                                rule_id: None,
                                before: *b,
                                after: a,
                                delta,
                                multiplier: 1.0,
                            };
                            (rs.clone(), d)
                        })
                    })
                    .collect();
                let batch = WriteBatch {
                    events: vec![event_row(&entry)],
                    ..WriteBatch::default()
                };
                let publish = state.changes(&before, &after, "reset");
                let ok = ResetResult {
                    status: "ok".into(),
                    lead_id: state.args.lead_id.clone(),
                    previous_scores: before,
                    reset_at: time::format(&at),
                };
                state
                    .commit_then(myself, batch, publish, None, ok, reply)
                    .await;
            }
            LeadMsg::RemoveEvents { event_ids, reply } => {
                state.last_used = Instant::now();
                let now = time::now();
                let before = state.scores(now).scores;
                state.book.remove(&state.args.config, &event_ids);
                state.row.keys.retain(|_, stored| {
                    stored.retain(|k| !event_ids.contains(&k.event_id));
                    !stored.is_empty()
                });
                let after = state.scores(now).scores;
                let publish = state.changes(&before, &after, "events_deleted");
                let batch = WriteBatch {
                    delete_events: event_ids,
                    ..WriteBatch::default()
                };
                state
                    .commit_then(myself, batch, publish, None, (), reply)
                    .await;
            }
            LeadMsg::Rescore {
                cause,
                before,
                reply,
            } => {
                state.last_used = Instant::now();
                let now = time::now();
                let before = before.unwrap_or_else(|| state.scores(now).scores);
                match load_book(&state.args).await {
                    Ok((book, row)) => {
                        state.book = book;
                        state.row = row;
                        let after = state.scores(now).scores;
                        let publish = state.changes(&before, &after, &cause);
                        let ok = RescoreSummary { before, after };
                        state
                            .commit_then(myself, WriteBatch::default(), publish, None, ok, reply)
                            .await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            LeadMsg::IdleCheck => {
                if state.last_used.elapsed() >= state.args.idle_timeout {
                    let _ = state.args.ou.send_message(OuMsg::Idle {
                        lead_id: state.args.lead_id.clone(),
                        actor: myself.get_id(),
                    });
                }
            }
        }
        Ok(())
    }
}
