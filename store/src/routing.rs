//! Predictive routing: each OU's configuration, training examples, model, predictions
//! and assignments with their outcomes.

use leadwire_models::page::PageRequest;
use leadwire_models::routing::config::RoutingConfig;
use leadwire_models::routing::prediction::{
    AssignmentOrigin, AssignmentOutcome, Prediction, PredictionListParams, PredictionStatus,
    RoutingAssignment,
};
use leadwire_models::routing::training::RoutingExample;
use serde_json::json;

use crate::db::{ou_content, take_rows};
use crate::engagement::lead_key;
use crate::{Result, Store, StoreError};

impl Store {
    /// The OU's routing configuration, if it was ever set.
    pub async fn routing_config(&self, org_id: &str, ou_id: &str) -> Result<Option<RoutingConfig>> {
        self.row(
            "SELECT VALUE config FROM type::record('routing_config', $ou) WHERE org_id = $org",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    pub async fn put_routing_config(
        &self,
        org_id: &str,
        ou_id: &str,
        config: &RoutingConfig,
    ) -> Result<()> {
        self.run(
            "UPSERT type::record('routing_config', $ou) CONTENT { org_id: $org, ou_id: $ou, config: $c }",
            json!({ "org": org_id, "ou": ou_id, "c": config }),
        )
        .await?;
        Ok(())
    }

    /// Stores training examples, 1,000 per transaction.
    pub async fn add_routing_examples(
        &self,
        org_id: &str,
        ou_id: &str,
        examples: &[RoutingExample],
    ) -> Result<()> {
        for chunk in examples.chunks(1000) {
            let rows = chunk
                .iter()
                .map(|e| ou_content(e, org_id, ou_id))
                .collect::<Result<Vec<_>>>()?;
            self.run(
                "BEGIN; FOR $r IN $rows { CREATE type::record('routing_example', $r.example_id) CONTENT $r; }; COMMIT;",
                json!({ "rows": rows }),
            )
            .await?;
        }
        Ok(())
    }

    /// Every training example of the OU, oldest first.
    pub async fn routing_examples(&self, org_id: &str, ou_id: &str) -> Result<Vec<RoutingExample>> {
        self.rows(
            "SELECT * FROM routing_example WHERE org_id = $org AND ou_id = $ou ORDER BY occurred_at, example_id",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// How many training examples the OU has.
    pub async fn count_routing_examples(&self, org_id: &str, ou_id: &str) -> Result<u64> {
        let n: Option<serde_json::Value> = self
            .row(
                "SELECT count() FROM routing_example WHERE org_id = $org AND ou_id = $ou GROUP ALL",
                json!({ "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        Ok(n.and_then(|v| v["count"].as_u64()).unwrap_or(0))
    }

    /// The OU's stored routing model.
    pub async fn routing_model<T: serde::de::DeserializeOwned>(
        &self,
        org_id: &str,
        ou_id: &str,
    ) -> Result<Option<T>> {
        self.row(
            "SELECT VALUE stored FROM type::record('routing_model', $ou) WHERE org_id = $org",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Replaces the OU's routing model.
    pub async fn put_routing_model<T: serde::Serialize>(
        &self,
        org_id: &str,
        ou_id: &str,
        stored: &T,
    ) -> Result<()> {
        let v = json!(stored);
        self.run(
            "UPSERT type::record('routing_model', $ou) CONTENT { org_id: $org, ou_id: $ou, version: $v.version, stored: $v }",
            json!({ "org": org_id, "ou": ou_id, "v": v }),
        )
        .await?;
        Ok(())
    }

    /// Creates or replaces a prediction.
    pub async fn put_prediction(&self, org_id: &str, ou_id: &str, p: &Prediction) -> Result<()> {
        self.run(
            "UPSERT type::record('prediction', $p.prediction_id) CONTENT {
                 org_id: $org, ou_id: $ou, status: $p.status, entity_type: $p.entityType,
                 entity_id: $p.entityId, lead_id: $p.lead_id, assigned_to: $p.assignedTo,
                 created_at: $p.created_at, doc: $p }",
            json!({ "org": org_id, "ou": ou_id, "p": p }),
        )
        .await?;
        Ok(())
    }

    /// A prediction of the OU.
    pub async fn prediction(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<Option<Prediction>> {
        self.row(
            "SELECT VALUE doc FROM type::record('prediction', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// A page of the OU's predictions, newest first, and how many match.
    pub async fn list_predictions(
        &self,
        org_id: &str,
        ou_id: &str,
        f: &PredictionListParams,
        page: PageRequest,
    ) -> Result<(Vec<Prediction>, u64)> {
        let mut cond = String::from("org_id = $org AND ou_id = $ou");
        if f.status.is_some() {
            cond.push_str(" AND status = $status");
        }
        if f.entity_type.is_some() {
            cond.push_str(" AND entity_type = $entity_type");
        }
        if f.assigned_to.is_some() {
            cond.push_str(" AND assigned_to = $assigned_to");
        }
        let vars = json!({ "org": org_id, "ou": ou_id, "status": f.status, "entity_type": f.entity_type,
                           "assigned_to": f.assigned_to, "start": page.offset(), "limit": page.limit });
        #[derive(serde::Deserialize)]
        struct Row {
            doc: Prediction,
        }
        let items: Vec<Row> = self
            .rows(
                &format!("SELECT doc, created_at FROM prediction WHERE {cond} ORDER BY created_at DESC LIMIT $limit START $start"),
                vars.clone(),
                0,
            )
            .await?;
        let items: Vec<Prediction> = items.into_iter().map(|r| r.doc).collect();
        let total: Option<serde_json::Value> = self
            .row(
                &format!("SELECT count() FROM prediction WHERE {cond} GROUP ALL"),
                vars,
                0,
            )
            .await?;
        Ok((items, total.and_then(|t| t["count"].as_u64()).unwrap_or(0)))
    }

    /// Gives leads to an owner in one transaction: the owner changes, pending assignments
    /// of those leads to another rep close as `reassigned`, and `assignments` (one per
    /// lead, for a rep owner) are recorded for the leads that changed. With a prediction,
    /// all of it happens only while the prediction is still PENDING (it is resolved in the
    /// same transaction) and only if its lead could be given (not merged or gone, and
    /// unowned when `only_unowned`); otherwise nothing is written.
    pub async fn assign_leads(
        &self,
        org_id: &str,
        ou_id: &str,
        w: &AssignLeads<'_>,
    ) -> Result<Assigned> {
        let keys: Vec<String> = w.lead_ids.iter().map(|id| lead_key(ou_id, id)).collect();
        let rows = w
            .assignments
            .iter()
            .map(|a| ou_content(a, org_id, ou_id))
            .collect::<Result<Vec<_>>>()?;
        let res = self
            .run(
                "BEGIN;
                 LET $resolve = $p != NONE AND $p != NULL;
                 IF $resolve AND array::len(UPDATE type::record('prediction', $p.prediction_id)
                     SET status = $p.status, assigned_to = $p.assignedTo, doc = $p
                     WHERE org_id = $org AND ou_id = $ou AND status = 'PENDING' RETURN AFTER) = 0 {
                     THROW 'lw:prediction-resolved';
                 };
                 LET $updated = UPDATE $keys.map(|$k| type::record('lead', $k)) SET owner_id = $owner ?? NONE,
                     owner_name = $name ?? NONE, updated_at = $now
                     WHERE org_id = $org AND merged_into = NONE AND ($unowned = false OR owner_id = NONE)
                     RETURN VALUE lead_id;
                 IF $resolve AND array::len($updated) = 0 { THROW 'lw:lead-unavailable'; };
                 UPDATE routing_assignment SET outcome = 'reassigned', decided_at = $now
                     WHERE org_id = $org AND ou_id = $ou AND outcome = 'pending'
                     AND lead_id IN $updated AND rep_id != $owner;
                 FOR $q IN $decided { UPDATE type::record('prediction', $q.prediction_id)
                     SET status = $q.status, assigned_to = $q.assignedTo, doc = $q
                     WHERE org_id = $org AND ou_id = $ou AND status = 'PENDING' AND lead_id IN $updated; };
                 FOR $a IN $rows { IF $a.lead_id IN $updated {
                     CREATE type::record('routing_assignment', $a.assignment_id) CONTENT $a; } };
                 RETURN { updated: $updated };
                 COMMIT;",
                json!({ "org": org_id, "ou": ou_id, "p": w.prediction, "keys": keys, "owner": w.owner_id,
                        "name": w.owner_name, "rows": rows, "unowned": w.only_unowned, "decided": w.also_resolve,
                        "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
            )
            .await;
        let mut res = match res {
            Ok(res) => res,
            Err(StoreError::Database(e)) if e.contains("lw:prediction-resolved") => {
                return Ok(Assigned::PredictionResolved)
            }
            Err(StoreError::Database(e)) if e.contains("lw:lead-unavailable") => {
                return Ok(Assigned::LeadUnavailable)
            }
            Err(e) => return Err(e),
        };
        #[derive(serde::Deserialize)]
        struct Done {
            updated: Vec<String>,
        }
        let done: Vec<Done> = take_rows(&mut res, 8)?;
        Ok(Assigned::Updated(
            done.into_iter()
                .next()
                .map(|d| d.updated)
                .unwrap_or_default(),
        ))
    }

    /// The PENDING predictions of some leads of the OU, newest first.
    pub async fn pending_predictions_of(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_ids: &[String],
    ) -> Result<Vec<Prediction>> {
        #[derive(serde::Deserialize)]
        struct Row {
            doc: Prediction,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT doc, created_at FROM prediction WHERE ou_id = $ou AND lead_id IN $leads AND status = 'PENDING' AND org_id = $org ORDER BY created_at DESC",
                json!({ "org": org_id, "ou": ou_id, "leads": lead_ids }),
                0,
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.doc).collect())
    }

    /// The pending assignments of some leads of the OU.
    pub async fn pending_assignments_of(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_ids: &[String],
    ) -> Result<Vec<RoutingAssignment>> {
        self.rows(
            "SELECT * OMIT id, org_id, ou_id FROM routing_assignment WHERE ou_id = $ou AND lead_id IN $leads AND org_id = $org AND outcome = 'pending'",
            json!({ "org": org_id, "ou": ou_id, "leads": lead_ids }),
            0,
        )
        .await
    }

    /// Whether the lead has a PENDING prediction.
    pub async fn has_pending_prediction(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<bool> {
        let n = self
            .count(
                "SELECT count() FROM prediction WHERE ou_id = $ou AND lead_id = $lead AND status = 'PENDING' AND org_id = $org GROUP ALL",
                json!({ "org": org_id, "ou": ou_id, "lead": lead_id }),
                0,
            )
            .await?;
        Ok(n > 0)
    }

    /// Pending assignments (of any OU) whose conversion window closed before `now`:
    /// (org id, OU id, assignment), at most `limit`.
    pub async fn due_assignments(
        &self,
        now: &str,
        limit: u32,
    ) -> Result<Vec<(String, String, RoutingAssignment)>> {
        #[derive(serde::Deserialize)]
        struct Row {
            org_id: String,
            ou_id: String,
            #[serde(flatten)]
            a: RoutingAssignment,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT * OMIT id FROM routing_assignment WHERE outcome = 'pending' AND window_ends_at < $now ORDER BY window_ends_at LIMIT $limit",
                json!({ "now": now, "limit": limit }),
                0,
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.org_id, r.ou_id, r.a)).collect())
    }

    /// The first conversion of a lead from `from` to `to`: an event of one of `types`
    /// (`event:<id>`) or a deal won (`deal:<id>`), whichever came first.
    pub async fn first_conversion(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        types: &[String],
        from: &str,
        to: &str,
    ) -> Result<Option<String>> {
        #[derive(serde::Deserialize)]
        struct Hit {
            at: String,
            by: String,
        }
        let mut res = self
            .run(
                "SELECT occurred_at AS at, 'event:' + record::id(id) AS by FROM event
                     WHERE ou_id = $ou AND lead_id = $lead AND occurred_at >= $from AND occurred_at <= $to
                     AND org_id = $org AND event_type IN $types ORDER BY at LIMIT 1;
                 SELECT closed_at AS at, 'deal:' + deal_id AS by FROM deal
                     WHERE org_id = $org AND ou_id = $ou AND lead_id = $lead AND status = 'won'
                     AND closed_at >= $from AND closed_at <= $to ORDER BY at LIMIT 1;",
                json!({ "org": org_id, "ou": ou_id, "lead": lead_id, "types": types, "from": from, "to": to }),
            )
            .await?;
        let event: Vec<Hit> = take_rows(&mut res, 0)?;
        let deal: Vec<Hit> = take_rows(&mut res, 1)?;
        Ok(event
            .into_iter()
            .chain(deal)
            .min_by(|a, b| a.at.cmp(&b.at))
            .map(|h| h.by))
    }

    /// Decides a pending assignment and stores its training example, in one
    /// transaction; false when it was no longer pending (nothing is written then).
    pub async fn decide_assignment(
        &self,
        org_id: &str,
        ou_id: &str,
        a: &RoutingAssignment,
        example: Option<&RoutingExample>,
    ) -> Result<bool> {
        let example = example.map(|e| ou_content(e, org_id, ou_id)).transpose()?;
        let mut res = self
            .run(
                "BEGIN;
                 LET $done = UPDATE type::record('routing_assignment', $a.assignment_id)
                     SET outcome = $a.outcome, decided_at = $a.decided_at, converted_by = $a.converted_by ?? NONE
                     WHERE org_id = $org AND ou_id = $ou AND outcome = 'pending' RETURN AFTER;
                 IF array::len($done) > 0 AND $e != NONE {
                     CREATE type::record('routing_example', $e.example_id) CONTENT $e; };
                 RETURN array::len($done);
                 COMMIT;",
                json!({ "org": org_id, "ou": ou_id, "a": a, "e": example }),
            )
            .await?;
        let n: Option<u64> = res.take(3)?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// A page of the OU's assignments, newest first, assigned within the range, and how
    /// many match.
    pub async fn routing_history(
        &self,
        org_id: &str,
        ou_id: &str,
        start: Option<&str>,
        end: Option<&str>,
        page: PageRequest,
    ) -> Result<(Vec<RoutingAssignment>, u64)> {
        let mut cond = String::from("org_id = $org AND ou_id = $ou");
        if start.is_some() {
            cond.push_str(" AND assigned_at >= $start");
        }
        if end.is_some() {
            cond.push_str(" AND assigned_at <= $end");
        }
        let vars = json!({ "org": org_id, "ou": ou_id, "start": start, "end": end,
                           "offset": page.offset(), "limit": page.limit });
        let items = self
            .rows(
                &format!("SELECT * OMIT id, org_id, ou_id FROM routing_assignment WHERE {cond} ORDER BY assigned_at DESC, assignment_id DESC LIMIT $limit START $offset"),
                vars.clone(),
                0,
            )
            .await?;
        let total = self
            .count(
                &format!("SELECT count() FROM routing_assignment WHERE {cond} GROUP ALL"),
                vars,
                0,
            )
            .await?;
        Ok((items, total))
    }

    /// What the stats are made of: predictions by status (count, summed confidence,
    /// automatically routed), and assignments by origin and outcome.
    pub async fn routing_counts(&self, org_id: &str, ou_id: &str) -> Result<RoutingCounts> {
        let mut res = self
            .run(
                "SELECT status, count() AS n, math::sum(doc.confidence) AS confidence,
                     count(doc.resolved_by = 'system') AS auto
                     FROM prediction WHERE org_id = $org AND ou_id = $ou GROUP BY status;
                 SELECT origin, outcome, count() AS n FROM routing_assignment
                     WHERE org_id = $org AND ou_id = $ou GROUP BY origin, outcome;",
                json!({ "org": org_id, "ou": ou_id }),
            )
            .await?;
        Ok(RoutingCounts {
            predictions: take_rows(&mut res, 0)?,
            assignments: take_rows(&mut res, 1)?,
        })
    }

    /// Every OU with a stored routing configuration: (org id, OU id, config).
    pub async fn routing_configs(&self) -> Result<Vec<(String, String, RoutingConfig)>> {
        #[derive(serde::Deserialize)]
        struct Row {
            org_id: String,
            ou_id: String,
            config: RoutingConfig,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT org_id, ou_id, config FROM routing_config",
                json!({}),
                0,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.org_id, r.ou_id, r.config))
            .collect())
    }

    /// An OU's org and stored routing configuration, by OU id alone.
    pub async fn routing_config_of_ou(
        &self,
        ou_id: &str,
    ) -> Result<Option<(String, RoutingConfig)>> {
        #[derive(serde::Deserialize)]
        struct Row {
            org_id: String,
            config: RoutingConfig,
        }
        let row: Option<Row> = self
            .row(
                "SELECT org_id, config FROM type::record('routing_config', $ou)",
                json!({ "ou": ou_id }),
                0,
            )
            .await?;
        Ok(row.map(|r| (r.org_id, r.config)))
    }
}

/// One owner change (see [`Store::assign_leads`]).
pub struct AssignLeads<'a> {
    pub lead_ids: &'a [String],
    pub owner_id: Option<&'a str>,
    pub owner_name: Option<&'a str>,
    pub assignments: &'a [RoutingAssignment],
    /// The prediction resolved by it (its new state), if any.
    pub prediction: Option<&'a Prediction>,
    /// Only leads nobody owns change (an automatic route never takes a lead from anyone).
    pub only_unowned: bool,
    /// PENDING predictions of these leads that a person decided by giving the lead by
    /// hand (their new state): resolved if still PENDING.
    pub also_resolve: &'a [Prediction],
}

/// What [`Store::assign_leads`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    /// The leads that changed owner.
    Updated(Vec<String>),
    /// Another request resolved the prediction first: nothing was written.
    PredictionResolved,
    /// The prediction's lead is merged, gone or (for an automatic route) owned: nothing
    /// was written.
    LeadUnavailable,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct PredictionCount {
    pub status: PredictionStatus,
    pub n: u64,
    pub confidence: Option<f64>,
    pub auto: u64,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct AssignmentCount {
    pub origin: AssignmentOrigin,
    pub outcome: AssignmentOutcome,
    pub n: u64,
}

#[derive(Debug, Clone)]
pub struct RoutingCounts {
    pub predictions: Vec<PredictionCount>,
    pub assignments: Vec<AssignmentCount>,
}
