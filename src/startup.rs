//! Building and running the application: store → core → first-start bootstrap → router →
//! listener. Tests build the same `Application` on port 0.

use std::net::SocketAddr;

use anyhow::Context;
use leadwire_actors::{AuthConfig, Core};
use leadwire_models::auth as secrets;
use leadwire_models::tenancy::OrgRole;
use leadwire_store::{NewMember, Store, StoreOptions};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{self, AppState};

/// What the very first start created.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub org_id: String,
    pub ou_id: String,
    pub admin_email: String,
    /// The generated password (None when it came from the configuration).
    pub generated_password: Option<String>,
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    pub addr: SocketAddr,
    pub state: AppState,
    pub bootstrap: Option<Bootstrap>,
}

pub fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,surrealdb=warn,surrealkv=warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let mut opts = StoreOptions::new(config.db.clone());
    opts.username = config.db_user.clone();
    opts.password = config.db_pass.clone();
    Store::open(&opts)
        .await
        .with_context(|| format!("opening database {}", config.db))
}

pub async fn build_core(config: &Config) -> anyhow::Result<Core> {
    let store = open_store(config).await?;
    let auth = AuthConfig {
        jwt_secret: config.jwt_secret.clone(),
        jwt_ttl_seconds: config.jwt_ttl_seconds,
    };
    let engine = leadwire_actors::engine::EngineConfig {
        lead_idle_timeout: std::time::Duration::from_secs(config.lead_idle_seconds),
        score_refresh_period: std::time::Duration::from_secs(config.score_refresh_seconds),
        routing_sweep_period: std::time::Duration::from_secs(config.routing_sweep_seconds),
    };
    Ok(Core::start(store, auth, engine).await?)
}

/// On an empty database: the org, its default OU and the first admin.
async fn bootstrap(core: &Core, config: &Config) -> anyhow::Result<Option<Bootstrap>> {
    if !core.store.is_empty().await? {
        return Ok(None);
    }
    let email = leadwire_models::validate::email(
        "admin_email",
        config
            .admin_email
            .as_deref()
            .unwrap_or("admin@leadwire.local"),
    )
    .map_err(|e| anyhow::anyhow!(e.message))?;
    let (password, generated) = match &config.admin_password {
        Some(p) => {
            leadwire_models::validate::password("admin_password", p)
                .map_err(|e| anyhow::anyhow!(e.message))?;
            (p.clone(), false)
        }
        None => (secrets::random_password(), true),
    };
    let admin = NewMember {
        first_name: "Admin".into(),
        last_name: String::new(),
        email: email.clone(),
        password_hash: secrets::hash_password(&password).map_err(|e| anyhow::anyhow!(e.message))?,
        role: OrgRole::Admin,
    };
    let (org, ou, _member) = core
        .store
        .create_org_with_admin(&config.org_name, "Default", "default", &admin)
        .await?;
    tracing::info!(org_id = %org.id, ou_id = %ou.id, admin = %email, "bootstrap-created");
    Ok(Some(Bootstrap {
        org_id: org.id,
        ou_id: ou.id,
        admin_email: email,
        generated_password: generated.then_some(password),
    }))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let core = build_core(&config).await?;
        let bootstrap = bootstrap(&core, &config).await?;
        let listener = TcpListener::bind(&config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr()?;
        let state = AppState::new(core, config);
        let router = http::router(state.clone());
        Ok(Application {
            listener,
            router,
            addr,
            state,
            bootstrap,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn base_url(&self) -> String {
        self.state
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }

    /// Prints the first-start credentials (once) and the URLs.
    pub fn print_banner(&self) {
        if let Some(b) = &self.bootstrap {
            println!(
                "First start: created organisation {} with org unit {}",
                b.org_id, b.ou_id
            );
            match &b.generated_password {
                Some(p) => println!(
                    "  admin email: {}\n  admin password: {p}   (shown once: store it now)",
                    b.admin_email
                ),
                None => println!(
                    "  admin email: {} (password as configured: --admin-password, LEADWIRE_ADMIN_PASSWORD or leadwire.toml)",
                    b.admin_email
                ),
            }
        }
        let base = self.base_url();
        println!("Leadwire listening on {base}");
        println!("  REST     {base}/v1   (OpenAPI: {base}/openapi.json)");
        println!("  GraphQL  {base}/graphql");
        println!("  MCP      {base}/mcp");
        println!("  Metrics  {base}/metrics");
    }

    /// Serves until Ctrl-C or SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = self.state.shutdown.clone();
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown.cancel();
        })
        .await?;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown-requested");
}
