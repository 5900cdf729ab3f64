//! Predictive routing of the active OU: its configuration.

use std::collections::BTreeSet;

use leadwire_models::import::RowError;
use leadwire_models::routing::config::{lead_features, RoutingConfig, RoutingConfigInput};
use leadwire_models::routing::training::{
    parse_rows, ExampleOrigin, RoutingExample, TrainingImport,
};
use leadwire_models::routing::{TrainOptions, TrainingExample};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::DomainError;
use leadwire_models::{ids, time, Result};

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
}
