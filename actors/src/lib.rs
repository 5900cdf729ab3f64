//! leadwire-actors: the capabilities every interface shares.
//!
//! REST (the server package), GraphQL and MCP are thin skins over [`Core`]: it owns the
//! store handle, the metrics, authentication and the tenancy operations, and (as the
//! engine grows) the handles of the ractor actors — OU actors, lead actors, the writer,
//! the bus and the scheduler. A capability is written once, here, and called by all three.

pub mod accounts;
pub mod analytics;
pub mod auth;
pub mod autoroute;
pub mod deals;
pub mod engagement;
pub mod engine;
pub mod event_types;
pub mod explain;
pub mod filters;
pub mod import;
pub mod leads;
pub mod levels;
pub mod metrics;
pub mod model;
pub mod profile;
pub mod reps;
pub mod routing;
pub mod settings;
pub mod tenancy;

use std::sync::Arc;

use leadwire_store::Store;

pub use auth::{AuthConfig, Credentials, LoginResult};
pub use metrics::Metrics;

/// The shared core of a running Leadwire: cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Core(Arc<CoreInner>);

pub struct CoreInner {
    pub store: Store,
    pub metrics: Metrics,
    pub auth: auth::JwtKeys,
    pub engine: engine::Engine,
    /// Each OU's routing model actor.
    pub models: model::Models,
    /// Serialises configuration edits that check the whole set (levels: no overlaps).
    pub config_lock: tokio::sync::Mutex<()>,
    /// Each OU's stored routing config, for the routing reactor.
    pub(crate) routing_configs: autoroute::ConfigCache,
}

impl std::ops::Deref for Core {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.0
    }
}

impl Core {
    /// Builds the core on an opened store. The JWT signing secret comes from `auth.jwt_secret`
    /// or, when not configured, from the store (generated on first start and kept).
    pub async fn start(
        store: Store,
        auth: AuthConfig,
        engine_config: engine::EngineConfig,
    ) -> Result<Core, leadwire_store::StoreError> {
        let secret = match &auth.jwt_secret {
            Some(s) => s.clone(),
            None => {
                store
                    .setting_or_init("jwt_secret", || leadwire_models::auth::random_hex(32))
                    .await?
            }
        };
        let keys = auth::JwtKeys::new(secret.as_bytes(), auth.jwt_ttl_seconds);
        let metrics = Metrics::new();
        let sweep = engine_config.routing_sweep_period;
        let engine = engine::Engine::start(store.clone(), metrics.clone(), engine_config);
        let interrupted = store.interrupt_import_jobs().await?;
        if interrupted > 0 {
            tracing::warn!(jobs = interrupted, "import-jobs-interrupted-by-restart");
        }
        let core = Core(Arc::new(CoreInner {
            models: model::Models::new(store.clone()),
            store,
            metrics,
            auth: keys,
            engine,
            config_lock: tokio::sync::Mutex::new(()),
            routing_configs: Default::default(),
        }));
        autoroute::start(core.clone(), sweep);
        Ok(core)
    }
}
