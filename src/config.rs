//! Configuration: flags, then `LEADWIRE_*` environment variables, then an optional
//! `leadwire.toml`, then defaults — in that order of precedence.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use leadwire_models::ratelimit::{RateLimitKeyBy, RateLimitMode};
use serde::Deserialize;

/// Options shared by every command. Each is optional here so that the config file can
/// fill what neither a flag nor the environment set.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Config file (TOML). Default: ./leadwire.toml when it exists.
    #[arg(long, global = true, env = "LEADWIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database: surrealkv://PATH (default surrealkv://./data), mem:// or ws://HOST:PORT.
    #[arg(long, global = true, env = "LEADWIRE_DB")]
    pub db: Option<String>,
    /// Root user for a ws:// database.
    #[arg(long, global = true, env = "LEADWIRE_DB_USER")]
    pub db_user: Option<String>,
    /// Root password for a ws:// database.
    #[arg(long, global = true, env = "LEADWIRE_DB_PASS", hide_env_values = true)]
    pub db_pass: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free port).
    #[arg(long, global = true, env = "LEADWIRE_BIND")]
    pub bind: Option<String>,
    /// URL clients use to reach this server (default http://BIND), printed at start-up.
    #[arg(long, global = true, env = "LEADWIRE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// JWT signing secret (default: generated once and kept in the database).
    #[arg(
        long,
        global = true,
        env = "LEADWIRE_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// Lifetime of a login token in seconds (default 43200 = 12 h).
    #[arg(long, global = true, env = "LEADWIRE_JWT_TTL_SECONDS")]
    pub jwt_ttl_seconds: Option<i64>,
    /// Largest accepted request body in bytes (default 10485760 = 10 MiB).
    #[arg(long, global = true, env = "LEADWIRE_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds a lead's live actor may sit idle before it is passivated (default 300).
    #[arg(long, global = true, env = "LEADWIRE_LEAD_IDLE_SECONDS")]
    pub lead_idle_seconds: Option<u64>,
    /// Seconds between refreshes of stored decaying scores (default 60).
    #[arg(long, global = true, env = "LEADWIRE_SCORE_REFRESH_SECONDS")]
    pub score_refresh_seconds: Option<u64>,
    /// Seconds between routing sweeps: closing conversion windows, scheduled retrains
    /// (default 60).
    #[arg(long, global = true, env = "LEADWIRE_ROUTING_SWEEP_SECONDS")]
    pub routing_sweep_seconds: Option<u64>,
    /// Whether rate limiting is on (default true).
    #[arg(long, global = true, env = "LEADWIRE_RATE_LIMIT_ENABLED")]
    pub rate_limit_enabled: Option<bool>,
    /// enforce (refuse with 429) or observe (count only). Default enforce.
    #[arg(long, global = true, env = "LEADWIRE_RATE_LIMIT_MODE", value_parser = parse_mode)]
    pub rate_limit_mode: Option<RateLimitMode>,
    /// member, org or ip (default member).
    #[arg(long, global = true, env = "LEADWIRE_RATE_LIMIT_KEY_BY", value_parser = parse_key_by)]
    pub rate_limit_key_by: Option<RateLimitKeyBy>,
    /// Sustained requests per second per key (default 100).
    #[arg(long, global = true, env = "LEADWIRE_RATE_LIMIT_RPS")]
    pub rate_limit_rps: Option<f64>,
    /// Burst size per key (default 200).
    #[arg(long, global = true, env = "LEADWIRE_RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<u32>,
    /// Email of the first admin, created on the very first start.
    #[arg(long, global = true, env = "LEADWIRE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of the first admin (default: generated and printed once).
    #[arg(
        long,
        global = true,
        env = "LEADWIRE_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Name of the organisation created on the very first start (default "Leadwire").
    #[arg(long, global = true, env = "LEADWIRE_ORG_NAME")]
    pub org_name: Option<String>,
    /// Log format: text or json (default text).
    #[arg(long, global = true, env = "LEADWIRE_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Deployment stage reported by /v1/me/rate-limit (default "local").
    #[arg(long, global = true, env = "LEADWIRE_STAGE")]
    pub stage: Option<String>,
}

fn parse_mode(s: &str) -> Result<RateLimitMode, String> {
    match s {
        "enforce" => Ok(RateLimitMode::Enforce),
        "observe" => Ok(RateLimitMode::Observe),
        _ => Err("expected enforce or observe".into()),
    }
}

fn parse_key_by(s: &str) -> Result<RateLimitKeyBy, String> {
    match s {
        "member" => Ok(RateLimitKeyBy::Member),
        "org" => Ok(RateLimitKeyBy::Org),
        "ip" => Ok(RateLimitKeyBy::Ip),
        _ => Err("expected member, org or ip".into()),
    }
}

/// The `leadwire.toml` file: the same keys as the flags, snake_case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub db: Option<String>,
    pub db_user: Option<String>,
    pub db_pass: Option<String>,
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub jwt_secret: Option<String>,
    pub jwt_ttl_seconds: Option<i64>,
    pub max_body_bytes: Option<usize>,
    pub lead_idle_seconds: Option<u64>,
    pub score_refresh_seconds: Option<u64>,
    pub routing_sweep_seconds: Option<u64>,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub org_name: Option<String>,
    pub log_format: Option<String>,
    pub stage: Option<String>,
    #[serde(default)]
    pub rate_limit: FileRateLimit,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRateLimit {
    pub enabled: Option<bool>,
    pub mode: Option<RateLimitMode>,
    pub key_by: Option<RateLimitKeyBy>,
    pub rps: Option<f64>,
    pub burst: Option<u32>,
}

/// Rate limiting settings.
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub mode: RateLimitMode,
    pub key_by: RateLimitKeyBy,
    pub rps: f64,
    pub burst: u32,
}

/// The longest login token lifetime: 366 days (a far longer one is a mistake, and one near
/// `i64::MAX` seconds would overflow the token's expiry).
pub const MAX_JWT_TTL_SECONDS: i64 = 366 * 24 * 3600;

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: String,
    pub db_user: Option<String>,
    pub db_pass: Option<String>,
    pub bind: String,
    pub public_url: Option<String>,
    pub jwt_secret: Option<String>,
    pub jwt_ttl_seconds: i64,
    pub max_body_bytes: usize,
    pub lead_idle_seconds: u64,
    pub score_refresh_seconds: u64,
    pub routing_sweep_seconds: u64,
    pub rate_limit: RateLimitConfig,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub org_name: String,
    pub log_format: String,
    pub stage: String,
}

impl Config {
    /// Defaults for tests: in-memory store, a free port, rate limits out of the way.
    pub fn for_tests() -> Config {
        let mut c = Config::resolve(ConfigArgs::default(), FileConfig::default());
        c.db = "mem://".into();
        c.bind = "127.0.0.1:0".into();
        c.rate_limit.rps = 100_000.0;
        c.rate_limit.burst = 100_000;
        c
    }

    /// Loads the config file (explicit, or ./leadwire.toml when present) and resolves.
    pub fn load(args: ConfigArgs) -> anyhow::Result<Config> {
        let path = match &args.config {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from("leadwire.toml")).filter(|p| p.exists()),
        };
        let file = match path {
            Some(p) => read_file(&p)?,
            None => FileConfig::default(),
        };
        let config = Config::resolve(args, file);
        config.check()?;
        Ok(config)
    }

    /// Flag/env values win over the file; the file wins over defaults.
    pub fn resolve(a: ConfigArgs, f: FileConfig) -> Config {
        Config {
            db: a.db.or(f.db).unwrap_or_else(|| "surrealkv://./data".into()),
            db_user: a.db_user.or(f.db_user),
            db_pass: a.db_pass.or(f.db_pass),
            bind: a.bind.or(f.bind).unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_url: a.public_url.or(f.public_url),
            jwt_secret: a.jwt_secret.or(f.jwt_secret),
            jwt_ttl_seconds: a.jwt_ttl_seconds.or(f.jwt_ttl_seconds).unwrap_or(12 * 3600),
            max_body_bytes: a
                .max_body_bytes
                .or(f.max_body_bytes)
                .unwrap_or(10 * 1024 * 1024),
            lead_idle_seconds: a.lead_idle_seconds.or(f.lead_idle_seconds).unwrap_or(300),
            score_refresh_seconds: a
                .score_refresh_seconds
                .or(f.score_refresh_seconds)
                .unwrap_or(60),
            routing_sweep_seconds: a
                .routing_sweep_seconds
                .or(f.routing_sweep_seconds)
                .unwrap_or(60),
            rate_limit: RateLimitConfig {
                enabled: a
                    .rate_limit_enabled
                    .or(f.rate_limit.enabled)
                    .unwrap_or(true),
                mode: a
                    .rate_limit_mode
                    .or(f.rate_limit.mode)
                    .unwrap_or(RateLimitMode::Enforce),
                key_by: a
                    .rate_limit_key_by
                    .or(f.rate_limit.key_by)
                    .unwrap_or(RateLimitKeyBy::Member),
                rps: a.rate_limit_rps.or(f.rate_limit.rps).unwrap_or(100.0),
                burst: a.rate_limit_burst.or(f.rate_limit.burst).unwrap_or(200),
            },
            admin_email: a.admin_email.or(f.admin_email),
            admin_password: a.admin_password.or(f.admin_password),
            org_name: a
                .org_name
                .or(f.org_name)
                .unwrap_or_else(|| "Leadwire".into()),
            log_format: a
                .log_format
                .or(f.log_format)
                .unwrap_or_else(|| "text".into()),
            stage: a.stage.or(f.stage).unwrap_or_else(|| "local".into()),
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=MAX_JWT_TTL_SECONDS).contains(&self.jwt_ttl_seconds),
            "jwt_ttl_seconds must be between 1 and {MAX_JWT_TTL_SECONDS} (366 days)"
        );
        anyhow::ensure!(
            self.lead_idle_seconds >= 1,
            "lead_idle_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.score_refresh_seconds >= 1,
            "score_refresh_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.routing_sweep_seconds >= 1,
            "routing_sweep_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.max_body_bytes >= 1024,
            "max_body_bytes must be at least 1024"
        );
        anyhow::ensure!(self.rate_limit.rps > 0.0, "rate_limit rps must be positive");
        anyhow::ensure!(
            self.rate_limit.burst >= 1,
            "rate_limit burst must be at least 1"
        );
        anyhow::ensure!(
            matches!(self.log_format.as_str(), "text" | "json"),
            "log_format must be text or json"
        );
        Ok(())
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file: FileConfig = toml::from_str(
            "db = \"mem://\"\nbind = \"0.0.0.0:9000\"\n[rate_limit]\nrps = 5.0\nmode = \"observe\"\n",
        )
        .unwrap();
        let args = ConfigArgs {
            bind: Some("127.0.0.1:1234".into()),
            ..Default::default()
        };
        let c = Config::resolve(args, file);
        assert_eq!(c.bind, "127.0.0.1:1234");
        assert_eq!(c.db, "mem://");
        assert_eq!(c.rate_limit.rps, 5.0);
        assert_eq!(c.rate_limit.mode, RateLimitMode::Observe);
        assert_eq!(c.rate_limit.burst, 200);
        let d = Config::resolve(ConfigArgs::default(), FileConfig::default());
        assert_eq!(
            (d.db.as_str(), d.bind.as_str()),
            ("surrealkv://./data", "127.0.0.1:8080")
        );
    }

    #[test]
    fn token_lifetimes_are_bounded() {
        for (ttl, ok) in [
            (0, false),
            (1, true),
            (MAX_JWT_TTL_SECONDS, true),
            (i64::MAX, false),
        ] {
            let args = ConfigArgs {
                jwt_ttl_seconds: Some(ttl),
                ..Default::default()
            };
            let c = Config::resolve(args, FileConfig::default());
            assert_eq!(c.check().is_ok(), ok, "{ttl}");
        }
    }

    #[test]
    fn unknown_file_keys_are_an_error() {
        assert!(toml::from_str::<FileConfig>("dbb = \"x\"").is_err());
    }
}
