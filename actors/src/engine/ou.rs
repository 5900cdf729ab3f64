//! `OuActor`: one per org unit. Holds the OU's compiled scoring config, resolves identity
//! (aliases → lead, creating the lead when every alias is new) and keeps the registry of
//! live lead actors, which it spawns, supervises and passivates.
//!
//! Identity is resolved here, one message at a time, so two events carrying the same new
//! alias can never create two leads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leadwire_models::event_types::ProcessingScope;
use leadwire_models::events::{Alias, LeadRef};
use leadwire_models::leads::{Lead, MergePlan, MergeResult};
use leadwire_models::levels::{Dimension, Level};
use leadwire_models::profile::CompiledRuleset;
use leadwire_models::scoring::ScoringConfig;
use leadwire_models::time;
use leadwire_models::{ids, rules, DomainError};
use leadwire_store::engagement::{alias_row, lead_key, lead_row, LeadDeletion, LeadMove};
use leadwire_store::{Store, WriteBatch};
use parking_lot::RwLock;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::sync::oneshot;

use super::lead::{IngestAck, LeadActor, LeadArgs, LeadMsg, PendingEvent};
use super::writer::WriterHandle;

/// Where each event of an ingest went: the positions (in the caller's list) of the events
/// one lead actor took, and the receiver of that lead's acknowledgement.
pub type Routed = Vec<(
    Vec<usize>,
    oneshot::Receiver<Result<Vec<Result<IngestAck, DomainError>>, DomainError>>,
)>;

/// One lead's share of an ingest: lead id, positions, events, rows to create, created?
type LeadGroup = (String, Vec<usize>, Vec<PendingEvent>, WriteBatch, bool);

/// The OU's alias → lead map. The OU actor is its only writer; ingest callers read it to
/// look up, before their message reaches the actor, only the aliases it lacks (so the
/// store read does not hold up the actor's other messages).
#[derive(Clone, Default)]
pub struct Identities {
    map: Arc<RwLock<HashMap<Alias, String>>>,
    /// Bumped after anything removes or repoints entries (a merge, a deletion, a lead
    /// that could not be loaded), once the store has the change: a lookup begun under an
    /// older epoch may be stale.
    epoch: Arc<AtomicU64>,
}

impl Identities {
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The aliases the map lacks, sorted and without repeats.
    pub fn unknown<'a>(&self, aliases: impl Iterator<Item = &'a Alias>) -> Vec<Alias> {
        let map = self.map.read();
        let mut unknown: Vec<Alias> = aliases.filter(|a| !map.contains_key(*a)).cloned().collect();
        unknown.sort();
        unknown.dedup();
        unknown
    }

    fn get(&self, alias: &Alias) -> Option<String> {
        self.map.read().get(alias).cloned()
    }

    fn insert(&self, alias: Alias, lead_id: String) {
        self.map.write().insert(alias, lead_id);
    }

    /// Adds stored aliases the map lacks (what the map has is newer: its writes may not
    /// have committed yet).
    fn add_found(&self, found: Vec<(Alias, String)>) {
        let mut map = self.map.write();
        for (alias, lead_id) in found {
            map.entry(alias).or_insert(lead_id);
        }
    }

    /// The aliases of `from` leads now belong to `to` (a merge).
    fn repoint(&self, from: &[String], to: &str) {
        for lead in self.map.write().values_mut() {
            if from.contains(lead) {
                *lead = to.to_string();
            }
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets a lead's aliases (deleted, or its actor could not be loaded).
    pub(crate) fn forget(&self, lead_id: &str) {
        self.map.write().retain(|_, l| l != lead_id);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// The stored leads of the aliases an ingest carried that [`Identities`] lacked, read by
/// the caller under `epoch`.
pub struct Prefetch {
    pub epoch: u64,
    pub found: Vec<(Alias, String)>,
}

pub enum OuMsg {
    /// Resolve and hand events to their lead actors. Events that cannot be placed (an
    /// unknown `lead_id`) are answered in `failed` with their position.
    Ingest {
        events: Vec<PendingEvent>,
        prefetch: Prefetch,
        reply: RpcReplyPort<(Routed, Vec<(usize, DomainError)>)>,
    },
    /// The live actor of a lead (spawned if needed); `None` when the lead does not exist.
    Lead {
        lead_id: String,
        reply: RpcReplyPort<Result<Option<ActorRef<LeadMsg>>, DomainError>>,
    },
    /// Rules changed: recompile and rescore every live lead.
    Reload(RpcReplyPort<Result<(), DomainError>>),
    /// A lead actor has been idle: stop it once its queued messages are done.
    Idle { lead_id: String, actor: ActorId },
    /// How many lead actors are live (tests, metrics).
    LiveLeads(RpcReplyPort<usize>),
    /// Merge source leads into a target: events and aliases move, sources are marked
    /// merged, the target is rescored. Answers once durable.
    Merge {
        plan: MergePlan,
        reply: RpcReplyPort<Result<MergeResult, DomainError>>,
    },
    /// Delete a lead with its aliases and events, leaving a deletion record.
    Delete {
        lead_id: String,
        reply: RpcReplyPort<Result<(), DomainError>>,
    },
}

/// How long stopping a lead actor (after its queued work) may take; a new actor of the lead
/// waits as long for its passivated predecessor.
pub(super) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct OuActor;

pub struct OuArgs {
    pub org_id: String,
    pub ou_id: String,
    pub store: Store,
    pub writer: WriterHandle,
    pub idle_timeout: Duration,
    pub identities: Identities,
}

pub struct OuState {
    args: OuArgs,
    config: Arc<ScoringConfig>,
    leads: HashMap<String, ActorRef<LeadMsg>>,
    /// Passivated lead actors still finishing their queued work, until they stop: a new
    /// actor of the lead waits for its predecessor before reading the store.
    passivating: HashMap<String, ActorRef<LeadMsg>>,
}

/// Compiles the OU's stored rulesets, rules and filters (one store round trip).
pub async fn load_config(
    store: &Store,
    org_id: &str,
    ou_id: &str,
) -> Result<ScoringConfig, DomainError> {
    let setup = store.scoring_setup(org_id, ou_id).await?;
    let (profile, account) = (
        compile_dimension(&setup, Dimension::Profile),
        compile_dimension(&setup, Dimension::Account),
    );
    Ok(ScoringConfig {
        rulesets: rules::compile(&setup.rulesets, &setup.rules),
        velocity: setup
            .inorganic_filters
            .iter()
            .map(|f| f.compile())
            .collect(),
        metadata_filters: setup.metadata_filters,
        decays: setup.decays.iter().map(|d| d.compile()).collect(),
        surge: setup.surge.unwrap_or_default(),
        allow_negative_scores: setup.org.allow_negative_scores,
        levels: of_dimension(&setup.levels, Dimension::Engagement),
        profile_levels: of_dimension(&setup.levels, Dimension::Profile),
        account_levels: of_dimension(&setup.levels, Dimension::Account),
        profile,
        account,
        mappings: setup.mappings,
        account_mappings: setup.account_mappings,
        observe_only: setup
            .event_types
            .into_iter()
            .filter(|s| s.max_processing_scope == ProcessingScope::Observe)
            .map(|s| s.event_type)
            .collect(),
    })
}

fn of_dimension(levels: &[Level], dim: Dimension) -> Vec<Level> {
    levels
        .iter()
        .filter(|l| l.dimension == dim)
        .cloned()
        .collect()
}

fn compile_dimension(setup: &leadwire_store::ScoringSetup, dim: Dimension) -> Vec<CompiledRuleset> {
    let rulesets: Vec<_> = setup
        .attr_rulesets
        .iter()
        .filter(|r| r.dimension == dim)
        .cloned()
        .collect();
    leadwire_models::profile::compile(&rulesets, &setup.attr_rules)
}

impl OuState {
    /// The live actor of a lead known to exist, spawning (and rehydrating) it if needed.
    async fn spawn_lead(
        &mut self,
        myself: &ActorRef<OuMsg>,
        lead_id: &str,
    ) -> Result<ActorRef<LeadMsg>, DomainError> {
        self.spawn(myself, lead_id, false).await
    }

    /// Spawns a lead's actor; a `fresh` lead (created by this very ingest, not yet
    /// stored) starts empty instead of reading the store.
    async fn spawn(
        &mut self,
        myself: &ActorRef<OuMsg>,
        lead_id: &str,
        fresh: bool,
    ) -> Result<ActorRef<LeadMsg>, DomainError> {
        if let Some(a) = self.leads.get(lead_id) {
            return Ok(a.clone());
        }
        let args = LeadArgs {
            org_id: self.args.org_id.clone(),
            ou_id: self.args.ou_id.clone(),
            lead_id: lead_id.to_string(),
            config: self.config.clone(),
            store: self.args.store.clone(),
            writer: self.args.writer.clone(),
            ou: myself.clone(),
            idle_timeout: self.args.idle_timeout,
            fresh,
            identities: self.args.identities.clone(),
            // kept until it has stopped (see the supervision events): should this actor
            // fail to start, the next one must still wait for it
            predecessor: self.passivating.get(lead_id).map(|a| a.get_cell()),
        };
        let (actor, _) = Actor::spawn_linked(None, LeadActor, args, myself.get_cell())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, lead_id, "lead-actor-spawn-failed");
                DomainError::unavailable("the lead could not be loaded")
            })?;
        self.leads.insert(lead_id.to_string(), actor.clone());
        Ok(actor)
    }

    /// The live actor of an existing lead, or `None` when the OU has no such lead.
    async fn existing_lead(
        &mut self,
        myself: &ActorRef<OuMsg>,
        lead_id: &str,
    ) -> Result<Option<(String, ActorRef<LeadMsg>)>, DomainError> {
        if let Some(a) = self.leads.get(lead_id) {
            return Ok(Some((lead_id.to_string(), a.clone())));
        }
        match self
            .args
            .store
            .lead(&self.args.org_id, &self.args.ou_id, lead_id)
            .await?
        {
            Some(l) if l.merged_into.is_none() => {
                let actor = self.spawn_lead(myself, lead_id).await?;
                Ok(Some((lead_id.to_string(), actor)))
            }
            Some(l) => {
                // events for a merged lead go to the lead it was merged into
                let target = l.merged_into.unwrap_or_default();
                Box::pin(self.existing_lead(myself, &target)).await
            }
            None => Ok(None),
        }
    }

    /// Loads the stored leads of aliases not yet known, in one query.
    async fn look_up_aliases<'a>(
        &mut self,
        aliases: impl Iterator<Item = &'a Alias>,
    ) -> Result<(), DomainError> {
        let unknown = self.args.identities.unknown(aliases);
        if !unknown.is_empty() {
            let found = self
                .args
                .store
                .leads_by_alias(&self.args.ou_id, &unknown)
                .await?;
            self.args.identities.add_found(found);
        }
        Ok(())
    }

    /// Resolves aliases to a lead: the lead of the first known alias, else a new lead.
    /// Returns the lead id, the rows to write (new lead, newly seen aliases), and whether
    /// the lead is new.
    async fn resolve_aliases(
        &mut self,
        aliases: &[Alias],
        looked_up: bool,
    ) -> Result<(String, WriteBatch, bool), DomainError> {
        if !looked_up {
            self.look_up_aliases(aliases.iter()).await?;
        }
        let ids = self.args.identities.clone();
        let known = aliases.iter().find_map(|a| ids.get(a));
        let now = time::format(&time::now());
        let (lead_id, mut batch, created) = match known {
            Some(id) => (id, WriteBatch::default(), false),
            None => {
                let id = ids::new_id(ids::prefix::LEAD);
                let lead = Lead::new(&self.args.org_id, &self.args.ou_id, &id, &now);
                let batch = WriteBatch {
                    leads: vec![lead_row(&lead)],
                    ..WriteBatch::default()
                };
                (id, batch, true)
            }
        };
        for a in aliases {
            if ids.get(a).is_none() {
                batch.aliases.push(alias_row(
                    &self.args.org_id,
                    &self.args.ou_id,
                    &lead_id,
                    a,
                    &now,
                ));
                ids.insert(a.clone(), lead_id.clone());
            }
        }
        Ok((lead_id, batch, created))
    }
}

impl OuState {
    /// Stops a lead's actor after the work it has queued (its writes are queued at the
    /// writer before anything sent after this returns).
    async fn retire(&mut self, lead_id: &str) -> Result<(), DomainError> {
        if let Some(a) = self.leads.remove(lead_id) {
            a.drain_and_wait(Some(DRAIN_TIMEOUT)).await.map_err(|e| {
                tracing::error!(error = %e, lead_id, "lead-actor-drain-failed");
                DomainError::unavailable("the lead is busy; retry")
            })?;
        }
        if let Some(a) = self.passivating.get(lead_id).cloned() {
            a.wait(Some(DRAIN_TIMEOUT)).await.map_err(|_| {
                tracing::error!(lead_id, "lead-actor-drain-failed");
                DomainError::unavailable("the lead is busy; retry")
            })?;
            self.passivating.remove(lead_id);
        }
        Ok(())
    }

    /// A lead of this OU that has not been merged away (404 otherwise; 409 if merged).
    async fn live_lead_row(&self, lead_id: &str) -> Result<Lead, DomainError> {
        match self
            .args
            .store
            .lead(&self.args.org_id, &self.args.ou_id, lead_id)
            .await?
        {
            None => Err(DomainError::not_found(&format!("lead {lead_id}"))),
            Some(Lead {
                merged_into: Some(target),
                ..
            }) => Err(leadwire_models::leads::merged_away(lead_id, &target)),
            Some(l) => Ok(l),
        }
    }

    async fn merge(
        &mut self,
        myself: &ActorRef<OuMsg>,
        plan: MergePlan,
    ) -> Result<MergeResult, DomainError> {
        self.live_lead_row(&plan.target).await?;
        for s in &plan.sources {
            self.live_lead_row(s).await?;
        }
        let (org, ou) = (self.args.org_id.clone(), self.args.ou_id.clone());
        // the target's scores before, then every actor involved stops after its queued work
        let target = self.spawn_lead(myself, &plan.target).await?;
        let before = ractor::call_t!(target, LeadMsg::Scores, DRAIN_TIMEOUT.as_millis() as u64)
            .map_err(|_| DomainError::unavailable("the lead is busy; retry"))?
            .scores;
        self.retire(&plan.target).await?;
        for s in &plan.sources {
            self.retire(s).await?;
        }
        // their writes may still be on their way: read the history once they landed
        for lead in std::iter::once(&plan.target).chain(&plan.sources) {
            self.args
                .writer
                .wait(ou.clone(), lead_key(&ou, lead))
                .await?;
        }
        let mut moved_events = 0u64;
        let mut all = self.args.store.lead_events(&org, &ou, &plan.target).await?;
        for s in &plan.sources {
            let events = self.args.store.lead_events(&org, &ou, s).await?;
            moved_events += events.len() as u64;
            all.extend(events);
        }
        let mut moved_aliases = 0u64;
        for s in &plan.sources {
            moved_aliases += self.args.store.lead_aliases(&org, &ou, s).await?.len() as u64;
        }
        // keep_latest: the newest engagement events stay, older ones go
        let delete_events: Vec<String> = match plan.keep_latest {
            Some(n) => {
                let mut scored: Vec<_> = all.iter().filter(|e| !e.system).collect();
                scored.sort_by(|a, b| {
                    (&b.occurred_at, &b.event_id).cmp(&(&a.occurred_at, &a.event_id))
                });
                scored
                    .into_iter()
                    .skip(n as usize)
                    .map(|e| e.event_id.clone())
                    .collect()
            }
            None => Vec::new(),
        };
        let now = time::format(&time::now());
        let batch = WriteBatch {
            moves: plan
                .sources
                .iter()
                .map(|s| LeadMove {
                    ou_id: ou.clone(),
                    from: s.clone(),
                    to: plan.target.clone(),
                })
                .collect(),
            delete_events: delete_events.clone(),
            patches: plan
                .sources
                .iter()
                .map(|s| {
                    (
                        lead_key(&ou, s),
                        // a merged-away lead is never woken or refreshed again
                        serde_json::json!({
                            "merged_into": plan.target,
                            "updated_at": now,
                            "wake_at": "",
                            "decaying": false,
                        }),
                    )
                })
                .chain(std::iter::once((
                    lead_key(&ou, &plan.target),
                    serde_json::json!({ "updated_at": now }),
                )))
                .collect(),
            ..WriteBatch::default()
        };
        self.args
            .writer
            .write(ou.clone(), batch, Vec::new())
            .await?;
        self.args.identities.repoint(&plan.sources, &plan.target);
        // the target rebuilds from the merged history and stores its new scores
        let target = self.spawn_lead(myself, &plan.target).await?;
        let (tx, rx) = oneshot::channel();
        target
            .send_message(LeadMsg::Rescore {
                cause: "merge".into(),
                before: Some(before),
                reply: tx,
            })
            .map_err(|_| DomainError::unavailable("the lead actor stopped; retry"))?;
        let rescore = rx
            .await
            .map_err(|_| DomainError::unavailable("the lead actor stopped; retry"))??;
        let target = self.live_lead_row(&plan.target).await?;
        Ok(MergeResult {
            target,
            merged_sources: plan.sources,
            moved_events,
            moved_aliases,
            truncated_events: delete_events.len() as u64,
            rescore,
        })
    }

    async fn delete(&mut self, lead_id: &str) -> Result<(), DomainError> {
        if self
            .args
            .store
            .lead(&self.args.org_id, &self.args.ou_id, lead_id)
            .await?
            .is_none()
        {
            return Err(DomainError::not_found("lead"));
        }
        self.retire(lead_id).await?;
        let batch = WriteBatch {
            deletions: vec![LeadDeletion {
                org_id: self.args.org_id.clone(),
                ou_id: self.args.ou_id.clone(),
                lead_id: lead_id.to_string(),
                requested_at: time::format(&time::now()),
            }],
            ..WriteBatch::default()
        };
        self.args
            .writer
            .write(self.args.ou_id.clone(), batch, Vec::new())
            .await?;
        self.args.identities.forget(lead_id);
        Ok(())
    }
}

impl Actor for OuActor {
    type Msg = OuMsg;
    type State = OuState;
    type Arguments = OuArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<OuMsg>,
        args: OuArgs,
    ) -> Result<OuState, ActorProcessingErr> {
        let config = load_config(&args.store, &args.org_id, &args.ou_id).await?;
        Ok(OuState {
            args,
            config: Arc::new(config),
            leads: HashMap::new(),
            passivating: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<OuMsg>,
        msg: OuMsg,
        state: &mut OuState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            OuMsg::Ingest {
                events,
                prefetch,
                reply,
            } => {
                // group by lead, keeping each lead's events in arrival order
                let mut groups: Vec<LeadGroup> = Vec::new();
                // each lead's place in `groups`: a batch of 1,000 events on 1,000 leads
                // would otherwise compare every lead id with every group before it
                let mut group_of: HashMap<String, usize> = HashMap::new();
                let mut failed = Vec::new();
                // the caller looked up the aliases the map lacked; unless a merge or a
                // deletion came in between, that answer stands (else: every alias of the
                // ingest looked up at once, not event by event)
                let looked_up = if prefetch.epoch == state.args.identities.epoch() {
                    state.args.identities.add_found(prefetch.found);
                    true
                } else {
                    state
                        .look_up_aliases(events.iter().flat_map(|p| p.event.lead.aliases()))
                        .await
                        .is_ok()
                };
                for (i, p) in events.into_iter().enumerate() {
                    let placed = match &p.event.lead {
                        LeadRef::Id(id) => match state.existing_lead(&myself, id).await {
                            Ok(Some((lead_id, _))) => Ok((lead_id, WriteBatch::default(), false)),
                            Ok(None) => Err(DomainError::not_found("lead")),
                            Err(e) => Err(e),
                        },
                        LeadRef::Aliases(aliases) => {
                            state.resolve_aliases(aliases, looked_up).await
                        }
                    };
                    match placed {
                        Ok((lead_id, creates, created)) => {
                            match group_of.get(&lead_id).and_then(|&g| groups.get_mut(g)) {
                                Some(g) => {
                                    g.1.push(i);
                                    g.2.push(p);
                                    g.3.extend(creates);
                                    g.4 |= created;
                                }
                                None => {
                                    group_of.insert(lead_id.clone(), groups.len());
                                    groups.push((lead_id, vec![i], vec![p], creates, created));
                                }
                            }
                        }
                        Err(e) => failed.push((i, e)),
                    }
                }
                let mut routed: Routed = Vec::with_capacity(groups.len());
                for (lead_id, positions, events, creates, created) in groups {
                    let (tx, rx) = oneshot::channel();
                    let actor = match state.spawn(&myself, &lead_id, created).await {
                        Ok(a) => a,
                        Err(e) => {
                            // forget aliases that pointed at a lead we could not load
                            state.args.identities.forget(&lead_id);
                            failed.extend(positions.into_iter().map(|i| (i, e.clone())));
                            continue;
                        }
                    };
                    let msg = LeadMsg::Ingest {
                        events,
                        creates: Box::new(creates),
                        lead_created: created,
                        reply: tx,
                    };
                    if actor.send_message(msg).is_err() {
                        state.leads.remove(&lead_id);
                        state.args.identities.forget(&lead_id);
                        let e = DomainError::unavailable("the lead actor stopped; retry");
                        failed.extend(positions.into_iter().map(|i| (i, e.clone())));
                        continue;
                    }
                    routed.push((positions, rx));
                }
                let _ = reply.send((routed, failed));
            }
            OuMsg::Lead { lead_id, reply } => {
                let found = state.existing_lead(&myself, &lead_id).await;
                let _ = reply.send(found.map(|l| l.map(|(_, a)| a)));
            }
            OuMsg::Reload(reply) => {
                let result =
                    load_config(&state.args.store, &state.args.org_id, &state.args.ou_id).await;
                let result = result.map(|config| {
                    state.config = Arc::new(config);
                    for actor in state.leads.values() {
                        let _ = actor.send_message(LeadMsg::Reconfigure(state.config.clone()));
                    }
                });
                if result.is_ok() {
                    // A passivating actor finishes its queued events under the old config
                    // and hears of no change: a successor, which loads once it has stopped
                    // and its writes have landed, stores the lead's rescored row after them.
                    let passivating: Vec<String> = state
                        .passivating
                        .keys()
                        .filter(|id| !state.leads.contains_key(*id))
                        .cloned()
                        .collect();
                    for lead_id in passivating {
                        match state.spawn(&myself, &lead_id, false).await {
                            Ok(actor) => {
                                let (reply, _) = oneshot::channel();
                                let _ = actor.send_message(LeadMsg::Wake { reply });
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, lead_id, "passivating-lead-not-rescored")
                            }
                        }
                    }
                }
                let _ = reply.send(result);
            }
            OuMsg::Idle { lead_id, actor } => {
                if state
                    .leads
                    .get(&lead_id)
                    .is_some_and(|a| a.get_id() == actor)
                {
                    if let Some(a) = state.leads.remove(&lead_id) {
                        tracing::debug!(lead_id, "lead-passivated");
                        // finishes what is queued, then stops
                        let _ = a.drain();
                        state.passivating.insert(lead_id, a);
                    }
                }
            }
            OuMsg::LiveLeads(reply) => {
                let _ = reply.send(state.leads.len());
            }
            OuMsg::Merge { plan, reply } => {
                let _ = reply.send(state.merge(&myself, plan).await);
            }
            OuMsg::Delete { lead_id, reply } => {
                let _ = reply.send(state.delete(&lead_id).await);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<OuMsg>,
        event: SupervisionEvent,
        state: &mut OuState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, err) = &event {
            // the next message for this lead respawns it from the store
            let id = cell.get_id();
            state.leads.retain(|lead_id, a| {
                let dead = a.get_id() == id;
                if dead {
                    tracing::error!(lead_id, error = %err, "lead-actor-failed");
                }
                !dead
            });
            state.passivating.retain(|_, a| a.get_id() != id);
        }
        if let SupervisionEvent::ActorTerminated(cell, _, _) = &event {
            let id = cell.get_id();
            state.leads.retain(|_, a| a.get_id() != id);
            state.passivating.retain(|_, a| a.get_id() != id);
        }
        Ok(())
    }
}
