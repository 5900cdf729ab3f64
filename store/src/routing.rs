//! Predictive routing: the configuration of each OU.

use leadwire_models::page::PageRequest;
use leadwire_models::routing::config::RoutingConfig;
use leadwire_models::routing::prediction::{Prediction, PredictionListParams, RoutingAssignment};
use leadwire_models::routing::training::RoutingExample;
use serde_json::json;

use crate::{Result, Store};

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
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|e| {
                    let mut v = json!(e);
                    if let Some(o) = v.as_object_mut() {
                        o.insert("org_id".into(), json!(org_id));
                        o.insert("ou_id".into(), json!(ou_id));
                    }
                    v
                })
                .collect();
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

    /// Records an assignment and the prediction it resolved, in one transaction.
    /// Only while the prediction is still PENDING: false when another request resolved it
    /// first (nothing is written then).
    pub async fn resolve_prediction(
        &self,
        org_id: &str,
        ou_id: &str,
        p: &Prediction,
        a: &RoutingAssignment,
    ) -> Result<bool> {
        let mut row = json!(a);
        if let Some(o) = row.as_object_mut() {
            o.insert("org_id".into(), json!(org_id));
            o.insert("ou_id".into(), json!(ou_id));
        }
        let mut res = self
            .run(
                "BEGIN;
                 LET $done = UPDATE type::record('prediction', $p.prediction_id) SET status = $p.status,
                     assigned_to = $p.assignedTo, doc = $p
                     WHERE org_id = $org AND ou_id = $ou AND status = 'PENDING' RETURN AFTER;
                 IF array::len($done) > 0 { CREATE type::record('routing_assignment', $a.assignment_id) CONTENT $a; };
                 RETURN array::len($done);
                 COMMIT;",
                json!({ "org": org_id, "ou": ou_id, "p": p, "a": row }),
            )
            .await?;
        let n: Option<u64> = res.take(3)?;
        Ok(n.unwrap_or(0) > 0)
    }
}
