//! Versioned schema migrations, recorded in the `migration` table and applied once each.

use serde_json::json;

use crate::{Result, Store};

/// `(version, name, SurrealQL)`, in order. Never edit a shipped migration: add a new one.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "tenancy", include_str!("migrations/0001_tenancy.surql")),
    (
        2,
        "engagement",
        include_str!("migrations/0002_engagement.surql"),
    ),
    (3, "leads", include_str!("migrations/0003_leads.surql")),
    (
        4,
        "lean lead indexes",
        include_str!("migrations/0004_lean_lead_indexes.surql"),
    ),
    (5, "filters", include_str!("migrations/0005_filters.surql")),
    (
        6,
        "scoring depth",
        include_str!("migrations/0006_scoring_depth.surql"),
    ),
    (7, "levels", include_str!("migrations/0007_levels.surql")),
    (8, "profile", include_str!("migrations/0008_profile.surql")),
    (
        9,
        "event types",
        include_str!("migrations/0009_event_types.surql"),
    ),
    (
        10,
        "accounts",
        include_str!("migrations/0010_accounts.surql"),
    ),
    (
        11,
        "account scoring",
        include_str!("migrations/0011_account_scoring.surql"),
    ),
    (12, "reps", include_str!("migrations/0012_reps.surql")),
    (13, "deals", include_str!("migrations/0013_deals.surql")),
    (
        14,
        "routing config",
        include_str!("migrations/0014_routing_config.surql"),
    ),
    (
        15,
        "routing examples",
        include_str!("migrations/0015_routing_examples.surql"),
    ),
    (
        16,
        "routing model",
        include_str!("migrations/0016_routing_model.surql"),
    ),
    (
        17,
        "predictions",
        include_str!("migrations/0017_predictions.surql"),
    ),
    (
        18,
        "routing assignments",
        include_str!("migrations/0018_routing_assignments.surql"),
    ),
    (
        19,
        "assignment outcomes",
        include_str!("migrations/0019_assignment_outcomes.surql"),
    ),
    (
        20,
        "schemaless lead",
        include_str!("migrations/0020_schemaless_lead.surql"),
    ),
    (
        21,
        "event idempotency key",
        include_str!("migrations/0021_idempotency_key.surql"),
    ),
    (
        22,
        "last event clearable",
        include_str!("migrations/0022_last_event_clearable.surql"),
    ),
];

const MIGRATION_TABLE: &str = "
DEFINE TABLE IF NOT EXISTS migration SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS version ON migration TYPE int;
DEFINE FIELD IF NOT EXISTS name ON migration TYPE string;
DEFINE FIELD IF NOT EXISTS applied_at ON migration TYPE string;
";

impl Store {
    /// Applies every migration not yet recorded; returns the versions applied now.
    /// Each migration and its record commit in one transaction, so a crash never leaves a
    /// migration half-recorded; two servers racing both try, one wins the record.
    pub async fn migrate(&self) -> Result<Vec<u32>> {
        self.run(MIGRATION_TABLE, json!({})).await?;
        let done: Vec<serde_json::Value> = self
            .rows("SELECT version FROM migration", json!({}), 0)
            .await?;
        let done: Vec<u64> = done.iter().filter_map(|r| r["version"].as_u64()).collect();
        let mut applied = Vec::new();
        for (version, name, sql) in MIGRATIONS {
            if done.contains(&u64::from(*version)) {
                continue;
            }
            let script = format!(
                "BEGIN TRANSACTION;\n{sql}\nCREATE type::record('migration', $version) CONTENT {{ version: $version, name: $name, applied_at: $at }};\nCOMMIT TRANSACTION;"
            );
            self.run(
                &script,
                json!({ "version": version, "name": name, "at": leadwire_models::time::format(&leadwire_models::time::now()) }),
            )
            .await?;
            tracing::info!(version, name, "migration-applied");
            applied.push(*version);
        }
        Ok(applied)
    }

    /// The versions recorded as applied, ascending.
    pub async fn applied_migrations(&self) -> Result<Vec<u32>> {
        let rows: Vec<serde_json::Value> = self
            .rows(
                "SELECT version FROM migration ORDER BY version",
                json!({}),
                0,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r["version"].as_u64())
            .map(|v| v as u32)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[tokio::test]
    async fn migrations_apply_once_and_are_safe_to_rerun() {
        let store = Store::memory().await.unwrap();
        let all: Vec<u32> = super::MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(store.applied_migrations().await.unwrap(), all);
        assert!(store.migrate().await.unwrap().is_empty());
        assert_eq!(store.applied_migrations().await.unwrap(), all);
    }
}
