//! The ModelActor: one per OU, holding the OU's routing model. It answers from the current
//! model while a retrain runs on a blocking thread, swaps the new model in only when it
//! trained (and was stored), and loads the stored model when it starts, so a restart
//! serves predictions without retraining.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use leadwire_models::routing::{
    train, RoutingModel, TrainError, TrainOptions, TrainingExample, ALGORITHM,
};
use leadwire_models::{time, DomainError};
use leadwire_store::Store;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A trained model as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    pub version: u32,
    pub trained_at: String,
    /// How long the fit took.
    pub training_ms: u64,
    /// Examples the OU had when it trained (the holdout included).
    #[serde(default)]
    pub examples: u64,
    pub model: RoutingModel,
}

/// A retrain under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingRun {
    pub started_at: String,
    /// Examples it trains on (a share is held out for the metrics).
    pub examples: u64,
}

/// A retrain that did not produce a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingFailure {
    pub at: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelStatus {
    /// No model yet: predictions wait for the first training.
    Untrained,
    /// Serving the current model.
    Ready,
    /// A retrain runs; the current model (if any) keeps serving.
    Training,
}

/// `GET /v1/predictive-routing/model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelInfo {
    pub status: ModelStatus,
    pub algorithm: String,
    /// 0 until the first training; +1 with every model swapped in.
    pub version: u32,
    pub trained_at: Option<String>,
    pub training_ms: Option<u64>,
    /// Examples the current model learned from (the holdout excluded).
    pub samples: u64,
    /// Examples the OU had when it trained (the holdout included): a scheduled retrain
    /// runs only when there are more.
    pub examples: u64,
    /// The model's input columns (`engagement_score`, `industry=saas`, …).
    pub features: Vec<String>,
    /// Reps with their own regression (others get the pooled one).
    pub reps_modelled: u64,
    /// Quality on the held-out examples.
    #[schema(value_type = Object)]
    pub metrics: Option<leadwire_models::routing::HoldoutMetrics>,
    pub training: Option<TrainingRun>,
    pub last_error: Option<TrainingFailure>,
}

pub enum ModelMsg {
    Info(RpcReplyPort<ModelInfo>),
    /// The current model (none before the first training).
    Current(RpcReplyPort<Option<Arc<StoredModel>>>),
    /// Starts a retrain unless one runs (a conflict then).
    Retrain {
        examples: Vec<TrainingExample>,
        options: TrainOptions,
        reply: RpcReplyPort<Result<ModelInfo, DomainError>>,
    },
    /// A retrain ended.
    Trained {
        result: Result<RoutingModel, TrainError>,
        training_ms: u64,
    },
}

pub struct ModelArgs {
    pub org_id: String,
    pub ou_id: String,
    pub store: Store,
}

pub struct ModelState {
    args: ModelArgs,
    current: Option<Arc<StoredModel>>,
    training: Option<TrainingRun>,
    last_error: Option<TrainingFailure>,
}

impl ModelState {
    fn info(&self) -> ModelInfo {
        let m = self.current.as_deref();
        ModelInfo {
            status: match (&self.training, m) {
                (Some(_), _) => ModelStatus::Training,
                (None, Some(_)) => ModelStatus::Ready,
                (None, None) => ModelStatus::Untrained,
            },
            algorithm: m
                .map(|m| m.model.algorithm.clone())
                .unwrap_or_else(|| ALGORITHM.to_string()),
            version: m.map(|m| m.version).unwrap_or(0),
            trained_at: m.map(|m| m.trained_at.clone()),
            training_ms: m.map(|m| m.training_ms),
            samples: m.map(|m| m.model.samples as u64).unwrap_or(0),
            examples: m.map(|m| m.examples).unwrap_or(0),
            features: m.map(|m| m.model.encoder.names()).unwrap_or_default(),
            reps_modelled: m.map(|m| m.model.reps.len() as u64).unwrap_or(0),
            metrics: m.map(|m| m.model.metrics.clone()),
            training: self.training.clone(),
            last_error: self.last_error.clone(),
        }
    }
}

pub struct ModelActor;

impl Actor for ModelActor {
    type Msg = ModelMsg;
    type State = ModelState;
    type Arguments = ModelArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<ModelMsg>,
        args: ModelArgs,
    ) -> Result<ModelState, ActorProcessingErr> {
        let current = args
            .store
            .routing_model::<StoredModel>(&args.org_id, &args.ou_id)
            .await?
            .map(Arc::new);
        Ok(ModelState {
            args,
            current,
            training: None,
            last_error: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<ModelMsg>,
        msg: ModelMsg,
        state: &mut ModelState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ModelMsg::Info(reply) => {
                let _ = reply.send(state.info());
            }
            ModelMsg::Current(reply) => {
                let _ = reply.send(state.current.clone());
            }
            ModelMsg::Retrain {
                examples,
                options,
                reply,
            } => {
                if state.training.is_some() {
                    let _ = reply.send(Err(DomainError::conflict(
                        "a retrain is already running: follow it in GET /v1/predictive-routing/model",
                    )));
                    return Ok(());
                }
                state.training = Some(TrainingRun {
                    started_at: time::format(&time::now()),
                    examples: examples.len() as u64,
                });
                let _ = reply.send(Ok(state.info()));
                // the fit runs off the actor: predictions keep coming from the current model
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let result = tokio::task::spawn_blocking(move || train(&examples, &options))
                        .await
                        .unwrap_or_else(|e| Err(TrainError::Fit(e.to_string())));
                    let _ = myself.cast(ModelMsg::Trained {
                        result,
                        training_ms: started.elapsed().as_millis() as u64,
                    });
                });
            }
            ModelMsg::Trained {
                result,
                training_ms,
            } => {
                let examples = state.training.take().map(|r| r.examples).unwrap_or(0);
                let now = time::format(&time::now());
                match result {
                    Ok(model) => {
                        let next = StoredModel {
                            version: state.current.as_ref().map(|m| m.version).unwrap_or(0) + 1,
                            trained_at: now.clone(),
                            training_ms,
                            examples,
                            model,
                        };
                        // swapped in only once stored: a restart serves the same model
                        match state
                            .args
                            .store
                            .put_routing_model(&state.args.org_id, &state.args.ou_id, &next)
                            .await
                        {
                            Ok(()) => {
                                tracing::info!(ou_id = %state.args.ou_id, version = next.version, samples = next.model.samples, "routing-model-trained");
                                state.current = Some(Arc::new(next));
                                state.last_error = None;
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "routing-model-store-failed");
                                state.last_error = Some(TrainingFailure {
                                    at: now,
                                    message: "the trained model could not be stored; the previous model keeps serving".into(),
                                });
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(ou_id = %state.args.ou_id, error = %e, "routing-model-training-failed");
                        state.last_error = Some(TrainingFailure {
                            at: now,
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Every OU's ModelActor, started on first use.
#[derive(Clone)]
pub struct Models {
    store: Store,
    actors: Arc<tokio::sync::Mutex<HashMap<String, ActorRef<ModelMsg>>>>,
}

fn unavailable<T>(e: ractor::RactorErr<T>) -> DomainError {
    tracing::error!(error = %e, "model-actor-call-failed");
    DomainError::unavailable("the routing model is unavailable; retry")
}

impl Models {
    pub fn new(store: Store) -> Models {
        Models {
            store,
            actors: Arc::default(),
        }
    }

    async fn actor(&self, org_id: &str, ou_id: &str) -> Result<ActorRef<ModelMsg>, DomainError> {
        let mut actors = self.actors.lock().await;
        if let Some(a) = actors.get(ou_id) {
            if a.get_status() == ractor::ActorStatus::Running {
                return Ok(a.clone());
            }
        }
        let args = ModelArgs {
            org_id: org_id.to_string(),
            ou_id: ou_id.to_string(),
            store: self.store.clone(),
        };
        let (actor, _) = Actor::spawn(None, ModelActor, args).await.map_err(|e| {
            tracing::error!(error = %e, ou_id, "model-actor-spawn-failed");
            DomainError::unavailable("the routing model could not start")
        })?;
        actors.insert(ou_id.to_string(), actor.clone());
        Ok(actor)
    }

    pub async fn info(&self, org_id: &str, ou_id: &str) -> Result<ModelInfo, DomainError> {
        let a = self.actor(org_id, ou_id).await?;
        ractor::call_t!(a, ModelMsg::Info, CALL_TIMEOUT.as_millis() as u64).map_err(unavailable)
    }

    pub async fn current(
        &self,
        org_id: &str,
        ou_id: &str,
    ) -> Result<Option<Arc<StoredModel>>, DomainError> {
        let a = self.actor(org_id, ou_id).await?;
        ractor::call_t!(a, ModelMsg::Current, CALL_TIMEOUT.as_millis() as u64).map_err(unavailable)
    }

    pub async fn retrain(
        &self,
        org_id: &str,
        ou_id: &str,
        examples: Vec<TrainingExample>,
        options: TrainOptions,
    ) -> Result<ModelInfo, DomainError> {
        let a = self.actor(org_id, ou_id).await?;
        ractor::call_t!(
            a,
            |reply| ModelMsg::Retrain {
                examples,
                options,
                reply
            },
            CALL_TIMEOUT.as_millis() as u64
        )
        .map_err(unavailable)?
    }
}
