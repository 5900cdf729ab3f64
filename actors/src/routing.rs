//! Predictive routing of the active OU: its configuration.

use std::collections::BTreeSet;

use leadwire_models::import::RowError;
use leadwire_models::page::PageParams;
use leadwire_models::routing::config::{
    lead_features, LeadSnapshot, RoutingConfig, RoutingConfigInput,
};
use leadwire_models::routing::prediction::{
    ratio, round4, Alternative, AssignmentOrigin, AssignmentOutcome, EntityType, HistoryPage,
    HistoryParams, OverrideInput, Prediction, PredictionListParams, PredictionPage,
    PredictionRequest, PredictionStatus, PredictionTrigger, RoutingAssignment, RoutingStats,
};
use leadwire_models::routing::training::{
    parse_rows, ExampleOrigin, RoutingExample, TrainingImport,
};
use leadwire_models::routing::{TrainOptions, TrainingExample};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::DomainError;
use leadwire_models::{ids, time, Result};

use leadwire_store::routing::{AssignLeads, Assigned};
use leadwire_store::StoreError;

use crate::model::ModelInfo;
use crate::Core;

impl Core {
    /// The OU's routing configuration (the defaults until it is first changed).
    pub async fn routing_config(&self, t: &Tenant) -> Result<RoutingConfig> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .routing_config(&t.caller.org_id, &t.ou_id)
            .await?
            .unwrap_or_default())
    }

    /// Changes the fields sent; OU Owners only (it decides what is routed automatically).
    pub async fn put_routing_config(
        &self,
        t: &Tenant,
        input: RoutingConfigInput,
    ) -> Result<RoutingConfig> {
        t.require(Access::Manage)?;
        let mut config = input.apply(self.routing_config(t).await?)?;
        config.updated_at = Some(time::format(&time::now()));
        config.updated_by = Some(t.caller.member_id.clone());
        self.store
            .put_routing_config(&t.caller.org_id, &t.ou_id, &config)
            .await?;
        self.cache_routing_config(&t.caller.org_id, &t.ou_id, &config);
        Ok(config)
    }

    /// Imports past assignments from another system (a JSON array of rows, or CSV), each
    /// row checked on its own: its rep must be a rep of the OU. Good rows are stored, bad
    /// ones reported by row number. OU Owners only.
    pub async fn import_training_data(
        &self,
        t: &Tenant,
        body: &[u8],
        csv: bool,
    ) -> Result<TrainingImport> {
        t.require(Access::Manage)?;
        let (rows, mut errors, total) = parse_rows(body, csv)?;
        let reps: BTreeSet<String> = self
            .store
            .reps(&t.caller.org_id, &t.ou_id)
            .await?
            .into_iter()
            .map(|r| r.rep_id)
            .collect();
        let mut examples = Vec::with_capacity(rows.len());
        for r in rows {
            if !reps.contains(&r.rep_id) {
                errors.push(RowError {
                    row: r.row,
                    message: format!("rep_id: no rep {} in this org unit", r.rep_id),
                });
                continue;
            }
            examples.push(RoutingExample {
                example_id: ids::new_id(ids::prefix::ROUTING_EXAMPLE),
                rep_id: r.rep_id,
                lead: r.lead,
                converted: r.converted,
                occurred_at: r.occurred_at,
                origin: ExampleOrigin::Import,
            });
        }
        errors.sort_by_key(|e| e.row);
        let failed = total - examples.len() as u64;
        errors.truncate(leadwire_models::import::MAX_ROW_ERRORS);
        self.store
            .add_routing_examples(&t.caller.org_id, &t.ou_id, &examples)
            .await?;
        Ok(TrainingImport {
            total_rows: total,
            imported: examples.len() as u64,
            failed,
            errors,
            examples: self
                .store
                .count_routing_examples(&t.caller.org_id, &t.ou_id)
                .await?,
        })
    }

    /// The OU's routing model: status, version, when and on how much it trained, its
    /// features and holdout metrics, a retrain under way and the last failure.
    pub async fn model_info(&self, t: &Tenant) -> Result<ModelInfo> {
        t.require(Access::Read)?;
        self.models.info(&t.caller.org_id, &t.ou_id).await
    }

    /// Starts a retrain on every example of the OU under the current feature config; the
    /// current model keeps serving until the new one is trained and stored. Refused below
    /// the configured minimum. OU Owners (and org admins) only.
    pub async fn retrain_model(&self, t: &Tenant) -> Result<ModelInfo> {
        t.require(Access::Manage)?;
        let config = self.routing_config(t).await?;
        let stored = self
            .store
            .routing_examples(&t.caller.org_id, &t.ou_id)
            .await?;
        let need = config.min_training_samples as usize;
        if stored.len() < need {
            return Err(DomainError::invalid(
                "training_data",
                format!(
                    "not enough training data: {} examples, at least {need} are needed (import history with POST /v1/predictive-routing/training-data, or lower min_training_samples)",
                    stored.len()
                ),
            ));
        }
        let examples: Vec<TrainingExample> = stored
            .iter()
            .map(|e| TrainingExample {
                lead: lead_features(&e.lead, &config.features),
                rep_id: e.rep_id.clone(),
                converted: e.converted,
            })
            .collect();
        let options = TrainOptions {
            min_samples: need,
            ..TrainOptions::default()
        };
        self.models
            .retrain(&t.caller.org_id, &t.ou_id, examples, options)
            .await
    }

    /// Predicts the best eligible rep (AVAILABLE and under capacity) for a lead, or a
    /// deal's lead, from the current model; the prediction is stored PENDING.
    pub async fn create_prediction(
        &self,
        t: &Tenant,
        req: PredictionRequest,
        trigger: PredictionTrigger,
    ) -> Result<Prediction> {
        t.require(Access::Write)?;
        let lead_id = match req.entity_type {
            EntityType::Lead => req.entity_id.clone(),
            EntityType::Opportunity => self
                .get_deal(t, &req.entity_id)
                .await?
                .lead_id
                .ok_or_else(|| DomainError::invalid("entityId", "the deal has no lead to route"))?,
        };
        let lead = self.get_lead(t, &lead_id).await?;
        let model = self
            .models
            .current(&t.caller.org_id, &t.ou_id)
            .await?
            .ok_or_else(|| {
                DomainError::conflict(
                    "no trained routing model yet: retrain it first (POST /v1/predictive-routing/model/retrain)",
                )
            })?;
        let config = self.routing_config(t).await?;
        let reps = self.store.reps(&t.caller.org_id, &t.ou_id).await?;
        let eligible: Vec<_> = self
            .counted_reps(t, reps)
            .await?
            .into_iter()
            .filter(|r| r.eligible())
            .collect();
        if eligible.is_empty() {
            return Err(DomainError::conflict(
                "no eligible rep: every rep is unavailable or at capacity",
            ));
        }
        let ids: Vec<String> = eligible.iter().map(|r| r.rep_id.clone()).collect();
        let features = lead_features(&LeadSnapshot::from(&lead), &config.features);
        let ranked = model.model.rank(&features, &ids);
        let name_of = |id: &str| {
            eligible
                .iter()
                .find(|r| r.rep_id == id)
                .map(|r| r.name.clone())
                .unwrap_or_default()
        };
        let best = ranked.first().ok_or_else(DomainError::internal)?.clone();
        let prediction = Prediction {
            prediction_id: ids::new_id(ids::prefix::PREDICTION),
            entity_type: req.entity_type,
            entity_id: req.entity_id,
            lead_id: lead.id.clone(),
            predicted_rep_name: name_of(&best.rep_id),
            top_features: model.model.top_features(&features, &best.rep_id, &ids, 5),
            predicted_rep_id: best.rep_id,
            confidence: round4(best.probability),
            alternatives: ranked
                .iter()
                .map(|r| Alternative {
                    rep_id: r.rep_id.clone(),
                    rep_name: name_of(&r.rep_id),
                    score: round4(r.probability),
                })
                .collect(),
            status: PredictionStatus::Pending,
            assigned_to: None,
            override_reason: None,
            model_version: model.version,
            trigger,
            created_at: time::format(&time::now()),
            resolved_at: None,
            resolved_by: None,
        };
        self.store
            .put_prediction(&t.caller.org_id, &t.ou_id, &prediction)
            .await?;
        let trigger_name = serde_json::to_value(trigger)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        self.metrics
            .routing_predictions
            .with_label_values(&[trigger_name.as_str()])
            .inc();
        Ok(prediction)
    }

    pub async fn get_prediction(&self, t: &Tenant, id: &str) -> Result<Prediction> {
        t.require(Access::Read)?;
        self.store
            .prediction(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("prediction"))
    }

    pub async fn list_predictions(
        &self,
        t: &Tenant,
        p: PredictionListParams,
    ) -> Result<PredictionPage> {
        t.require(Access::Read)?;
        let page = PageParams {
            page: p.page,
            limit: p.limit,
        }
        .validate()?;
        let (predictions, total) = self
            .store
            .list_predictions(&t.caller.org_id, &t.ou_id, &p, page)
            .await?;
        Ok(PredictionPage {
            predictions,
            total,
            page: page.page,
            limit: page.limit,
        })
    }

    /// A PENDING prediction of the OU (409 once routed or overridden).
    async fn pending_prediction(&self, t: &Tenant, id: &str) -> Result<Prediction> {
        let p = self.get_prediction(t, id).await?;
        if p.status != PredictionStatus::Pending {
            return Err(DomainError::conflict(format!(
                "the prediction was already {}",
                if p.status == PredictionStatus::Accepted {
                    "routed"
                } else {
                    "overridden"
                }
            )));
        }
        Ok(p)
    }

    /// Resolves the prediction and gives its lead to `rep_id`, in one transaction and
    /// only if the prediction is still PENDING (a concurrent route or override loses with
    /// 409). The assignment is recorded: its outcome makes a training example.
    async fn assign_prediction(
        &self,
        t: &Tenant,
        mut p: Prediction,
        rep_id: String,
        origin: AssignmentOrigin,
        reason: Option<String>,
        only_unowned: bool,
    ) -> Result<Prediction> {
        self.get_lead(t, &p.lead_id).await?;
        let (owner, name) = self.owner(t, Some(rep_id.clone()), None).await?;
        p.status = match origin {
            AssignmentOrigin::Override => PredictionStatus::Overridden,
            _ => PredictionStatus::Accepted,
        };
        p.assigned_to = Some(rep_id);
        p.override_reason = reason;
        p.resolved_at = Some(time::format(&time::now()));
        p.resolved_by = Some(t.caller.member_id.clone());
        self.give_leads(
            t,
            &[p.lead_id.clone()],
            owner,
            name,
            Some((&p, origin)),
            only_unowned,
        )
        .await?;
        Ok(p)
    }

    /// Gives leads to an owner (checked by [`Core::owner`]); the ids of the leads updated.
    /// When the owner is a rep, each lead that was not already its own gets an
    /// assignment (the lead as it is now, the conversion window from the config); pending
    /// assignments of those leads to other reps close as `reassigned`. With a prediction
    /// (and how it was resolved), all of it happens only if the prediction is still
    /// PENDING, in the same transaction that resolves it.
    pub(crate) async fn give_leads(
        &self,
        t: &Tenant,
        lead_ids: &[String],
        owner_id: Option<String>,
        owner_name: Option<String>,
        prediction: Option<(&Prediction, AssignmentOrigin)>,
        only_unowned: bool,
    ) -> Result<Vec<String>> {
        let config = self.routing_config(t).await?;
        // a conversion stored before this change still counts for the assignment it ends
        // (the reactor may not have decided it yet)
        for a in self
            .store
            .pending_assignments_of(&t.caller.org_id, &t.ou_id, lead_ids)
            .await?
        {
            if a.rep_id.as_str() != owner_id.as_deref().unwrap_or_default() {
                self.settle(&t.caller.org_id, &t.ou_id, a, &config, time::now())
                    .await?;
            }
        }
        let mut assignments = Vec::new();
        let mut resolved: Vec<Prediction> = Vec::new();
        if let Some(rep_id) = owner_id
            .as_deref()
            .filter(|o| o.starts_with(&format!("{}_", ids::prefix::REP)))
        {
            let now = time::now();
            let pending = self
                .store
                .pending_predictions_of(&t.caller.org_id, &t.ou_id, lead_ids)
                .await?;
            let window_end = now + chrono::Duration::days(config.conversion_window_days.into());
            let leads = self
                .store
                .leads_by_ids(&t.caller.org_id, &t.ou_id, lead_ids)
                .await?;
            // a PENDING prediction decided by this assignment: accepted when it named
            // this rep, else overridden for `reason`
            let decide = |q: &Prediction, reason: &str| {
                let mut q = q.clone();
                let accepted = q.predicted_rep_id == rep_id;
                q.status = if accepted {
                    PredictionStatus::Accepted
                } else {
                    PredictionStatus::Overridden
                };
                q.assigned_to = Some(rep_id.to_string());
                q.override_reason = (!accepted).then(|| reason.to_string());
                q.resolved_at = Some(time::format(&now));
                q.resolved_by = Some(t.caller.member_id.clone());
                let origin = if accepted {
                    AssignmentOrigin::Route
                } else {
                    AssignmentOrigin::Override
                };
                (q, origin)
            };
            for lead in leads {
                if lead.merged_into.is_some() || lead.owner_id.as_deref() == Some(rep_id) {
                    continue;
                }
                // the lead's other PENDING predictions (not the one being resolved)
                let waiting: Vec<&Prediction> = pending
                    .iter()
                    .filter(|q| q.lead_id == lead.id)
                    .filter(|q| prediction.is_none_or(|(p, _)| p.prediction_id != q.prediction_id))
                    .collect();
                // given by hand while a prediction waits: a person decided it
                let by_hand = match prediction {
                    Some(_) => None,
                    None => waiting.first().map(|q| decide(q, "assigned by hand")),
                };
                // and any other waiting prediction of the lead is decided with it
                for q in waiting.iter().skip(usize::from(by_hand.is_some())) {
                    resolved.push(decide(q, "another prediction of this lead was resolved").0);
                }
                let (p, origin) = match (prediction, &by_hand) {
                    (Some((p, o)), _) => (Some(p), o),
                    (None, Some((q, o))) => (Some(q), *o),
                    (None, None) => (None, AssignmentOrigin::Manual),
                };
                assignments.push(RoutingAssignment {
                    assignment_id: ids::new_id(ids::prefix::ROUTING_ASSIGNMENT),
                    prediction_id: p.map(|p| p.prediction_id.clone()),
                    lead_id: lead.id.clone(),
                    rep_id: rep_id.to_string(),
                    rep_name: owner_name.clone().unwrap_or_default(),
                    origin,
                    predicted_rep_id: p.map(|p| p.predicted_rep_id.clone()),
                    confidence: p.map(|p| p.confidence),
                    override_reason: p.and_then(|p| p.override_reason.clone()),
                    assigned_by: t.caller.member_id.clone(),
                    lead: LeadSnapshot::for_training(&lead, &config.features),
                    assigned_at: time::format(&now),
                    window_ends_at: time::format(&window_end),
                    outcome: AssignmentOutcome::Pending,
                    decided_at: None,
                    converted_by: None,
                });
                resolved.extend(by_hand.map(|(q, _)| q));
            }
        }
        let write = AssignLeads {
            lead_ids,
            owner_id: owner_id.as_deref(),
            owner_name: owner_name.as_deref(),
            assignments: &assignments,
            prediction: prediction.map(|(p, _)| p),
            only_unowned,
            also_resolve: &resolved,
        };
        let lost =
            || DomainError::conflict("the prediction was already resolved by another request");
        match self
            .store
            .assign_leads(&t.caller.org_id, &t.ou_id, &write)
            .await
        {
            Ok(Assigned::Updated(updated)) => Ok(updated),
            Ok(Assigned::PredictionResolved) => Err(lost()),
            Ok(Assigned::LeadUnavailable) => Err(DomainError::conflict(
                "the lead can no longer be given to this rep (merged, deleted, or already owned): predict again",
            )),
            // a concurrent write to the same prediction won: nothing of this one was written
            Err(StoreError::Conflict(_)) if write.prediction.is_some() => Err(lost()),
            Err(e) => Err(e.into()),
        }
    }

    /// Accepts a PENDING prediction: its rep becomes the lead's owner (counting against
    /// its capacity) and the prediction is ACCEPTED. 409 when the rep is no longer
    /// eligible.
    pub async fn route_prediction(&self, t: &Tenant, id: &str) -> Result<Prediction> {
        self.route(t, id, false).await
    }

    /// Routes a prediction; `only_unowned`: only if nobody owns its lead (an automatic
    /// route never takes a lead from anyone).
    pub(crate) async fn route(
        &self,
        t: &Tenant,
        id: &str,
        only_unowned: bool,
    ) -> Result<Prediction> {
        t.require(Access::Write)?;
        let p = self.pending_prediction(t, id).await?;
        let rep = self.rep_in(t, &p.predicted_rep_id).await.map_err(|_| {
            DomainError::conflict("the predicted rep no longer exists: override or predict again")
        })?;
        if !rep.eligible() {
            return Err(ineligible(
                &rep,
                "is no longer",
                "override or predict again",
            ));
        }
        self.assign_prediction(
            t,
            p,
            rep.rep_id,
            AssignmentOrigin::Route,
            None,
            only_unowned,
        )
        .await
    }

    /// Assigns a PENDING prediction's lead to another rep of the OU, with the reason; the
    /// prediction is OVERRIDDEN.
    pub async fn override_prediction(
        &self,
        t: &Tenant,
        id: &str,
        input: OverrideInput,
    ) -> Result<Prediction> {
        t.require(Access::Write)?;
        let reason = leadwire_models::validate::name("reason", &input.reason, 1, 500)?;
        let p = self.pending_prediction(t, id).await?;
        let rep = self
            .rep_in(t, input.assigned_to.trim())
            .await
            .map_err(|_| DomainError::invalid("assignedTo", "no such rep in this org unit"))?;
        if rep.rep_id == p.predicted_rep_id {
            return Err(DomainError::invalid(
                "assignedTo",
                "is the predicted rep: route the prediction instead of overriding it",
            ));
        }
        // the rep a person picks takes leads as the model's pick does: within capacity,
        // while available
        if !rep.eligible() {
            return Err(ineligible(&rep, "is not", "pick another rep"));
        }
        self.assign_prediction(
            t,
            p,
            rep.rep_id,
            AssignmentOrigin::Override,
            Some(reason),
            false,
        )
        .await
    }

    /// Acceptance and override rates, the outcomes of accepted, overridden and manual
    /// assignments, average confidence and counts by status.
    pub async fn routing_stats(&self, t: &Tenant) -> Result<RoutingStats> {
        t.require(Access::Read)?;
        let (org, ou) = (&t.caller.org_id, &t.ou_id);
        let counts = self.store.routing_counts(org, ou).await?;
        let mut stats = RoutingStats::default();
        let mut confidence = 0.0;
        for c in &counts.predictions {
            stats.total_predictions += c.n;
            confidence += c.confidence.unwrap_or(0.0);
            stats.auto_routed += c.auto;
            match c.status {
                PredictionStatus::Pending => stats.by_status.pending += c.n,
                PredictionStatus::Accepted => stats.by_status.accepted += c.n,
                PredictionStatus::Overridden => stats.by_status.overridden += c.n,
            }
        }
        let resolved = stats.by_status.accepted + stats.by_status.overridden;
        stats.acceptance_rate = ratio(stats.by_status.accepted, resolved);
        stats.override_rate = ratio(stats.by_status.overridden, resolved);
        stats.average_confidence = (stats.total_predictions > 0)
            .then(|| round4(confidence / stats.total_predictions as f64));
        for c in &counts.assignments {
            match c.origin {
                AssignmentOrigin::Route => &mut stats.accepted_outcomes,
                AssignmentOrigin::Override => &mut stats.overridden_outcomes,
                AssignmentOrigin::Manual => &mut stats.manual_outcomes,
            }
            .add(c.outcome, c.n);
        }
        stats.training_examples = self.store.count_routing_examples(org, ou).await?;
        stats.model_version = self.models.info(org, ou).await?.version;
        Ok(stats)
    }

    /// The OU's assignments (routed, overridden, manual) with their outcomes, newest
    /// first, within an optional date range.
    pub async fn routing_history(&self, t: &Tenant, p: HistoryParams) -> Result<HistoryPage> {
        t.require(Access::Read)?;
        let (start, end) = p.range()?;
        let page = PageParams {
            page: p.page,
            limit: p.limit,
        }
        .validate()?;
        let (assignments, total) = self
            .store
            .routing_history(
                &t.caller.org_id,
                &t.ou_id,
                start.as_deref(),
                end.as_deref(),
                page,
            )
            .await?;
        Ok(HistoryPage {
            assignments,
            total,
            page: page.page,
            limit: page.limit,
        })
    }
}

/// 409 for a rep that takes no leads now (not AVAILABLE, or at capacity), saying why.
fn ineligible(rep: &leadwire_models::reps::Rep, is: &str, instead: &str) -> DomainError {
    DomainError::conflict(format!(
        "{} {is} eligible (status {}, {} of {} open assignments): {instead}",
        rep.name,
        rep.status.as_str(),
        rep.open_assignments,
        rep.capacity
    ))
}
