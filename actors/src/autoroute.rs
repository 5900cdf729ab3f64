//! Predictive routing without a request: what the bus tells the OU (a lead created, a
//! level reached, a score threshold crossed) makes a prediction, routed at once when it is
//! confident enough; conversions decide the outcome of assignments as they happen, and a
//! periodic sweep closes the conversion windows that ran out and retrains due models.
//!
//! The reactor reads a bus tap, which never drops a message, and handles one message at
//! a time: two triggers for one lead cannot race, so a lead gets at most one automatic
//! prediction while one is PENDING.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use leadwire_models::routing::config::RoutingConfig;
use leadwire_models::routing::prediction::{
    AssignmentOutcome, EntityType, Prediction, PredictionRequest, PredictionTrigger,
    RoutingAssignment,
};
use leadwire_models::routing::training::{ExampleOrigin, RoutingExample};
use leadwire_models::tenancy::Tenant;
use leadwire_models::time::{self, Timestamp};
use leadwire_models::{ErrorCode, Result};

use crate::engine::bus::BusEvent;
use crate::model::ModelStatus;
use crate::Core;

/// Assignments settled per sweep query.
const SWEEP_PAGE: u32 = 500;

/// The stored routing config of each OU seen on the bus (none stored: nothing to do).
pub(crate) type ConfigCache =
    parking_lot::Mutex<HashMap<String, Option<(String, Arc<RoutingConfig>)>>>;

/// Starts the reactor on the bus tap and the sweep every `period`.
pub(crate) fn start(core: Core, period: Duration) {
    let mut rx = core.engine.bus.tap();
    let reactor = core.clone();
    tokio::spawn(async move {
        while let Some((ou_id, event)) = rx.recv().await {
            reactor.metrics.routing_backlog.set(rx.len() as i64);
            if let Err(e) = reactor.react(&ou_id, &event).await {
                tracing::warn!(ou_id, error = %e.message, "routing-reaction-failed");
            }
        }
    });
    crate::engine::scheduler::every(period, move || {
        let core = core.clone();
        async move {
            if let Err(e) = core.routing_sweep(time::now()).await {
                tracing::warn!(error = %e.message, "routing-sweep-failed");
            }
        }
    });
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Assignments whose window closed: decided converted or not converted.
    pub decided: u64,
    /// Retrains started because their interval passed.
    pub retrains: u64,
}

fn example_origin(a: &RoutingAssignment) -> ExampleOrigin {
    use leadwire_models::routing::prediction::AssignmentOrigin as O;
    match a.origin {
        O::Route => ExampleOrigin::Assignment,
        O::Override => ExampleOrigin::Override,
        O::Manual => ExampleOrigin::Manual,
    }
}

impl Core {
    /// The stored routing config of an OU and its org, cached.
    async fn cached_routing(&self, ou_id: &str) -> Result<Option<(String, Arc<RoutingConfig>)>> {
        if let Some(hit) = self.routing_configs.lock().get(ou_id) {
            return Ok(hit.clone());
        }
        let loaded = self
            .store
            .routing_config_of_ou(ou_id)
            .await?
            .map(|(org, c)| (org, Arc::new(c)));
        // a config put meanwhile is newer than what was read
        Ok(self
            .routing_configs
            .lock()
            .entry(ou_id.to_string())
            .or_insert(loaded)
            .clone())
    }

    /// Keeps the cache in step with a changed config.
    pub(crate) fn cache_routing_config(&self, org_id: &str, ou_id: &str, c: &RoutingConfig) {
        self.routing_configs.lock().insert(
            ou_id.to_string(),
            Some((org_id.to_string(), Arc::new(c.clone()))),
        );
    }

    /// One bus message: a trigger, or a conversion.
    async fn react(&self, ou_id: &str, event: &BusEvent) -> Result<()> {
        let Some((org_id, config)) = self.cached_routing(ou_id).await? else {
            return Ok(());
        };
        let on = config.enabled;
        let trigger = match event {
            BusEvent::LeadCreated { lead_id } if on && config.triggers.on_lead_created => {
                Some((lead_id, PredictionTrigger::LeadCreated))
            }
            BusEvent::LevelChange {
                lead_id,
                dimension,
                after: Some(level),
                ..
            } if on
                && dimension == "engagement"
                && config
                    .triggers
                    .on_levels
                    .iter()
                    .any(|l| l.eq_ignore_ascii_case(&level.name)) =>
            {
                Some((lead_id, PredictionTrigger::LevelReached))
            }
            BusEvent::ScoreUpdate {
                lead_id,
                before,
                after,
                ..
            } if on
                && config
                    .triggers
                    .score_threshold
                    .is_some_and(|th| *before < th && *after >= th) =>
            {
                Some((lead_id, PredictionTrigger::ScoreThreshold))
            }
            BusEvent::EventIngested {
                lead_id,
                event_type,
                ..
            } if config.conversion_event_types.contains(event_type) => {
                self.settle_lead(&org_id, ou_id, lead_id, &config).await?;
                None
            }
            _ => None,
        };
        if let Some((lead_id, trigger)) = trigger {
            self.auto_predict(&org_id, ou_id, lead_id, trigger, &config)
                .await?;
        }
        Ok(())
    }

    /// A prediction for a lead no one owns yet and with none PENDING, routed at once when
    /// at least as confident as `auto_route_confidence`. Nothing (and no error) without a
    /// trained model or an eligible rep: the lead waits for a person.
    async fn auto_predict(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        trigger: PredictionTrigger,
        config: &RoutingConfig,
    ) -> Result<Option<Prediction>> {
        let t = Tenant::system(org_id, ou_id);
        let Some(lead) = self.store.lead(org_id, ou_id, lead_id).await? else {
            return Ok(None);
        };
        if lead.merged_into.is_some()
            || lead.owner_id.is_some()
            || self
                .store
                .has_pending_prediction(org_id, ou_id, lead_id)
                .await?
        {
            return Ok(None);
        }
        let request = PredictionRequest {
            entity_type: EntityType::Lead,
            entity_id: lead_id.to_string(),
        };
        let p = match self.create_prediction(&t, request, trigger).await {
            Ok(p) => p,
            Err(e) if e.code == ErrorCode::Conflict => {
                tracing::info!(ou_id, lead_id, reason = %e.message, "routing-trigger-skipped");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match config.auto_route_confidence {
            Some(min) if p.confidence >= min => {
                match self.route(&t, &p.prediction_id, true).await {
                    Ok(routed) => return Ok(Some(routed)),
                    // a person got there first, or the rep filled up: it stays for a person
                    Err(e) => {
                        tracing::info!(ou_id, lead_id, reason = %e.message, "auto-route-skipped")
                    }
                }
            }
            _ => {}
        }
        Ok(Some(p))
    }

    /// Decides the lead's pending assignments that have converted by now.
    pub(crate) async fn settle_lead(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        config: &RoutingConfig,
    ) -> Result<u64> {
        let now = time::now();
        let mut decided = 0;
        for a in self
            .store
            .pending_assignments_of(org_id, ou_id, &[lead_id.to_string()])
            .await?
        {
            decided += u64::from(self.settle(org_id, ou_id, a, config, now).await?);
        }
        Ok(decided)
    }

    /// Decides one pending assignment at `now`: converted when a conversion (an event of a
    /// configured type, or a won deal) came between its assignment and the end of its
    /// window; not converted once the window closed without one; else it stays pending.
    /// A decided assignment becomes a training example, in the same transaction.
    pub(crate) async fn settle(
        &self,
        org_id: &str,
        ou_id: &str,
        mut a: RoutingAssignment,
        config: &RoutingConfig,
        now: Timestamp,
    ) -> Result<bool> {
        let now_s = time::format(&now);
        let to = if a.window_ends_at < now_s {
            a.window_ends_at.clone()
        } else {
            now_s.clone()
        };
        let hit = self
            .store
            .first_conversion(
                org_id,
                ou_id,
                &a.lead_id,
                &config.conversion_event_types,
                &a.assigned_at,
                &to,
            )
            .await?;
        a.outcome = match (&hit, a.window_ends_at < now_s) {
            (Some(_), _) => AssignmentOutcome::Converted,
            (None, true) => AssignmentOutcome::NotConverted,
            (None, false) => return Ok(false),
        };
        a.converted_by = hit;
        a.decided_at = Some(now_s);
        let example = RoutingExample {
            example_id: a.assignment_id.clone(),
            rep_id: a.rep_id.clone(),
            lead: a.lead.clone(),
            converted: a.outcome == AssignmentOutcome::Converted,
            occurred_at: a.assigned_at.clone(),
            origin: example_origin(&a),
        };
        Ok(self
            .store
            .decide_assignment(org_id, ou_id, &a, Some(&example))
            .await?)
    }

    /// A deal of the lead was won: its pending assignments convert now.
    pub(crate) async fn deal_won(&self, t: &Tenant, lead_id: &str) -> Result<u64> {
        let config = self.routing_config(t).await?;
        self.settle_lead(&t.caller.org_id, &t.ou_id, lead_id, &config)
            .await
    }

    /// One sweep at `now`: every assignment whose conversion window closed is decided,
    /// and every enabled OU whose model is older than its retrain interval retrains if it
    /// has new examples (and enough). Runs every `routing_sweep_period`; public so a test
    /// can run it at a chosen time.
    pub async fn routing_sweep(&self, now: Timestamp) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let now_s = time::format(&now);
        let mut configs: HashMap<String, RoutingConfig> = HashMap::new();
        loop {
            let due = self.store.due_assignments(&now_s, SWEEP_PAGE).await?;
            let full = due.len() == SWEEP_PAGE as usize;
            let mut progressed = false;
            for (org_id, ou_id, a) in due {
                if !configs.contains_key(&ou_id) {
                    let c = self
                        .store
                        .routing_config(&org_id, &ou_id)
                        .await?
                        .unwrap_or_default();
                    configs.insert(ou_id.clone(), c);
                }
                let config = &configs[&ou_id];
                let id = a.assignment_id.clone();
                match self.settle(&org_id, &ou_id, a, config, now).await {
                    Ok(true) => {
                        report.decided += 1;
                        progressed = true;
                    }
                    Ok(false) => {}
                    // one assignment that cannot be decided must not stop the others
                    Err(e) => {
                        tracing::warn!(assignment_id = %id, error = %e.message, "assignment-settle-failed")
                    }
                }
            }
            if !full || !progressed {
                break;
            }
        }
        for (org_id, ou_id, config) in self.store.routing_configs().await? {
            if !config.enabled || config.retrain_interval_hours == 0 {
                continue;
            }
            let info = self.models.info(&org_id, &ou_id).await?;
            let interval = chrono::Duration::hours(config.retrain_interval_hours.into());
            let older = |at: Option<&str>| {
                at.and_then(time::parse)
                    .is_none_or(|at| at + interval <= now)
            };
            // a failed retrain waits a whole interval too before it is tried again
            let due = info.status != ModelStatus::Training
                && older(info.trained_at.as_deref())
                && older(info.last_error.as_ref().map(|e| e.at.as_str()));
            if !due {
                continue;
            }
            let examples = self.store.count_routing_examples(&org_id, &ou_id).await?;
            if examples < u64::from(config.min_training_samples)
                || (info.trained_at.is_some() && examples == info.examples)
            {
                continue;
            }
            match self.retrain_model(&Tenant::system(&org_id, &ou_id)).await {
                Ok(_) => report.retrains += 1,
                Err(e) => tracing::warn!(ou_id, error = %e.message, "scheduled-retrain-failed"),
            }
        }
        Ok(report)
    }
}
