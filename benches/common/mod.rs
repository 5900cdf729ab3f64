//! What the load benches share: their sizes from the environment, percentiles, and a real
//! Leadwire on an ephemeral port (embedded SurrealKV in a temporary directory, rate
//! limiting off, lead actors kept for an hour) with a logged-in admin.

#![allow(dead_code)]

use std::time::Duration;

use leadwire::{Application, Config};
use serde_json::{json, Value};

pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The process's resident memory (VmRSS), in MiB.
pub fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// CPU time this process has used so far (user + system), from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the fields after the command name, which is in parentheses and may hold spaces
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ: /proc counts in hundredths of a second on every Linux
    Some(ticks / 100.0)
}

/// Waits until this process is quiet (under a tenth of a core over a quarter second), at
/// most 20 s: a store dropped by the previous measurement flushes and compacts in the
/// background, and that work is not the next measurement's.
pub async fn settle() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let window = std::time::Duration::from_millis(250);
    while std::time::Instant::now() < deadline {
        let Some(start) = cpu_seconds() else { return };
        tokio::time::sleep(window).await;
        let Some(end) = cpu_seconds() else { return };
        if (end - start) / window.as_secs_f64() < 0.1 {
            return;
        }
    }
}

/// A multi-threaded runtime, with the server's own log filter installed: without a
/// subscriber every trace-level span of the storage engine would be built (and its keys
/// formatted), which the server never does.
pub fn runtime() -> tokio::runtime::Runtime {
    leadwire::startup::init_tracing("text");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub struct BenchServer {
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
    pub core: leadwire_actors::Core,
    pub org_id: String,
    pub ou_id: String,
    _dir: tempfile::TempDir,
}

impl BenchServer {
    /// Starts the server and logs in; `pool` idle connections per host for the client.
    pub async fn start(pool: usize) -> BenchServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_tests();
        config.db = format!("surrealkv://{}", dir.path().join("server").display());
        config.rate_limit.enabled = false;
        config.lead_idle_seconds = 3600;
        config.admin_email = Some("bench@leadwire.local".into());
        config.admin_password = Some("bench-password-1".into());
        let app = Application::build(config).await.expect("server");
        let base = format!("http://{}", app.addr);
        let core = app.state.core.clone();
        let (org_id, ou_id) = app
            .bootstrap
            .as_ref()
            .map(|b| (b.org_id.clone(), b.ou_id.clone()))
            .unwrap_or_default();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .build()
            .expect("client");
        let login: Value = client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"email": "bench@leadwire.local", "password": "bench-password-1"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        let token = login["token"].as_str().expect("token").to_string();
        BenchServer {
            base,
            token,
            client,
            core,
            org_id,
            ou_id,
            _dir: dir,
        }
    }

    /// POSTs `body` to `path` as the admin; panics unless it answers 201.
    pub async fn create(&self, path: &str, body: Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 201, "{path}");
    }
}
