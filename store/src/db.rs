//! The connection: one `Surreal<Any>` serving `mem://`, `surrealkv://` and `ws://`.

use serde::de::DeserializeOwned;
use serde_json::Value;
use surrealdb::engine::any::Any;
use surrealdb::opt::auth::Root;
use surrealdb::Surreal;

use crate::{Result, StoreError};

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `surrealkv://PATH`, `mem://` or `ws://HOST:PORT`.
    pub url: String,
    /// Root credentials for a remote (`ws://`) server.
    pub username: Option<String>,
    pub password: Option<String>,
    pub namespace: String,
    pub database: String,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        StoreOptions {
            url: url.into(),
            username: None,
            password: None,
            namespace: "leadwire".into(),
            database: "main".into(),
        }
    }
}

/// A cheaply cloned handle on the database.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Surreal<Any>,
    /// Queries sent to the database (each `query` call, however many statements).
    queries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The rows authentication and tenant resolution read (see `memo.rs`).
    pub(crate) memo: std::sync::Arc<crate::memo::Memo>,
}

impl Store {
    /// Connects (creating an embedded store's directory if needed), selects the namespace
    /// and database, and applies pending migrations.
    pub async fn open(opts: &StoreOptions) -> Result<Store> {
        let url = normalise_url(&opts.url)?;
        if let Some(path) = url.strip_prefix("surrealkv://") {
            let dir = path.split('?').next().unwrap_or(path);
            if !dir.is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create data directory {dir}: {e}"))
                })?;
            }
        }
        let db = surrealdb::engine::any::connect(url.as_str()).await?;
        if url.starts_with("ws://") || url.starts_with("wss://") {
            let (Some(username), Some(password)) = (&opts.username, &opts.password) else {
                return Err(StoreError::Config(
                    "a ws:// database needs --db-user and --db-pass (LEADWIRE_DB_USER / LEADWIRE_DB_PASS)".into(),
                ));
            };
            db.signin(Root {
                username: username.clone(),
                password: password.clone(),
            })
            .await?;
        }
        db.use_ns(opts.namespace.as_str())
            .use_db(opts.database.as_str())
            .await?;
        let store = Store {
            db,
            queries: Default::default(),
            memo: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// An in-memory store with the schema applied (tests).
    pub async fn memory() -> Result<Store> {
        Store::open(&StoreOptions::new("mem://")).await
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        self.db.query("RETURN 1").await?.check()?;
        Ok(())
    }

    /// How many queries this store (and its clones) sent so far.
    pub fn query_count(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs SurrealQL as given, with no variables, failing on the first statement error:
    /// for an operator's one-off repair, and for tests that need the store to refuse a
    /// write. Nothing in the server calls it.
    pub async fn execute(&self, sql: &str) -> Result<()> {
        self.run(sql, Value::Object(Default::default())).await?;
        Ok(())
    }

    /// Runs `sql` with `vars` bound (a JSON object), failing on the first statement error.
    pub(crate) async fn run(&self, sql: &str, vars: Value) -> Result<surrealdb::IndexedResults> {
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut res = self.db.query(sql).bind(vars).await?;
        let errors = res.take_errors();
        if errors.is_empty() {
            return Ok(res);
        }
        // in a transaction every statement reports "not executed due to a failed
        // transaction"; the cause is the one error that says something else
        let mut errors: Vec<(usize, surrealdb::Error)> = errors.into_iter().collect();
        errors.sort_by_key(|(i, _)| *i);
        let cause = errors
            .iter()
            .position(|(_, e)| !e.to_string().contains("failed transaction"))
            .unwrap_or(0);
        Err(errors.swap_remove(cause).1.into())
    }

    /// Runs `sql` and decodes the rows of statement `index`.
    pub(crate) async fn rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        vars: Value,
        index: usize,
    ) -> Result<Vec<T>> {
        let mut res = self.run(sql, vars).await?;
        take_rows(&mut res, index)
    }

    /// [`Store::rows`] of statement 0 through the memo: `key` names the read (it must
    /// determine `sql` and `vars`). Only for the tables whose writers clear the memo.
    pub(crate) async fn memo_rows<T: DeserializeOwned>(
        &self,
        key: String,
        sql: &str,
        vars: Value,
    ) -> Result<Vec<T>> {
        let rows = match self.memo.get(&key) {
            Some(rows) => rows,
            None => {
                let epoch = self.memo.epoch();
                let rows: Vec<Value> = self.rows(sql, vars, 0).await?;
                self.memo.put(key, epoch, rows.clone());
                rows
            }
        };
        rows.into_iter()
            .map(|r| serde_json::from_value(r).map_err(StoreError::from))
            .collect()
    }

    /// The first row of [`Store::memo_rows`].
    pub(crate) async fn memo_row<T: DeserializeOwned>(
        &self,
        key: String,
        sql: &str,
        vars: Value,
    ) -> Result<Option<T>> {
        Ok(self.memo_rows(key, sql, vars).await?.into_iter().next())
    }

    /// Runs `sql` and decodes the first row of statement `index`, if any.
    pub(crate) async fn row<T: DeserializeOwned>(
        &self,
        sql: &str,
        vars: Value,
        index: usize,
    ) -> Result<Option<T>> {
        Ok(self.rows(sql, vars, index).await?.into_iter().next())
    }

    /// Runs `sql` whose statement `index` returns a single number (a `count()` or similar).
    pub(crate) async fn count(&self, sql: &str, vars: Value, index: usize) -> Result<u64> {
        let mut res = self.run(sql, vars).await?;
        let v: Option<Value> = res.take(index)?;
        Ok(match v {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::Object(o)) => o.get("count").and_then(Value::as_u64).unwrap_or(0),
            _ => 0,
        })
    }
}

/// The JSON content of a row for `CREATE … CONTENT`: without its id (which becomes the
/// record key; `unit_id` is the OU's id under its API name) and without null optionals
/// (absent optionals are NONE, not NULL, in a SCHEMAFULL table).
pub(crate) fn content<T: serde::Serialize>(row: &T) -> Result<Value> {
    let mut v = serde_json::to_value(row)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("unit_id");
        o.retain(|_, v| !v.is_null());
    }
    Ok(v)
}

/// [`content`] of a row of an OU: with its `org_id` and `ou_id`.
pub(crate) fn ou_content<T: serde::Serialize>(row: &T, org_id: &str, ou_id: &str) -> Result<Value> {
    let mut v = content(row)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("org_id".into(), Value::from(org_id));
        o.insert("ou_id".into(), Value::from(ou_id));
    }
    Ok(v)
}

/// Decodes the rows of one statement, turning record ids (`table:key`) into plain keys.
pub(crate) fn take_rows<T: DeserializeOwned>(
    res: &mut surrealdb::IndexedResults,
    index: usize,
) -> Result<Vec<T>> {
    let rows: Vec<Value> = res.take(index)?;
    rows.into_iter()
        .map(|mut row| {
            if let Some(Value::String(id)) = row.get_mut("id") {
                *id = record_key(id).to_string();
            }
            serde_json::from_value(row).map_err(StoreError::from)
        })
        .collect()
}

/// The key of a record id's text (`member:om_1` → `om_1`, `t:⟨a-b⟩` → `a-b`).
pub(crate) fn record_key(id: &str) -> &str {
    let key = id.split_once(':').map(|(_, k)| k).unwrap_or(id);
    key.trim_start_matches(['⟨', '`'])
        .trim_end_matches(['⟩', '`'])
}

/// Accepts `surrealkv://PATH`, `mem://` (also `memory`), `ws://` and `wss://`.
fn normalise_url(url: &str) -> Result<String> {
    let url = url.trim();
    if url == "mem://" || url == "memory" || url == "mem" {
        return Ok("mem://".into());
    }
    for scheme in ["surrealkv://", "ws://", "wss://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            if rest.is_empty() {
                return Err(StoreError::Config(format!("{scheme} needs a path or host")));
            }
            return Ok(url.to_string());
        }
    }
    Err(StoreError::Config(format!(
        "unsupported database {url:?}: use surrealkv://PATH, mem:// or ws://HOST:PORT"
    )))
}

impl Store {
    /// The org unit's rows of a table whose rows carry a `dimension` (engagement, profile,
    /// account), ordered by `order` (both are the caller's constants, never input).
    pub(crate) async fn dimension_rows<T: DeserializeOwned>(
        &self,
        table: &str,
        order: &str,
        org_id: &str,
        ou_id: &str,
        dim: leadwire_models::levels::Dimension,
    ) -> Result<Vec<T>> {
        self.rows(
            &format!(
                "SELECT * FROM {table} WHERE org_id = $org AND ou_id = $ou AND dimension = $dim
                 ORDER BY {order}"
            ),
            serde_json::json!({ "org": org_id, "ou": ou_id, "dim": dim }),
            0,
        )
        .await
    }

    /// Deletes the record `table:id` if it belongs to the org unit; returns whether it did.
    pub(crate) async fn delete_owned(
        &self,
        table: &str,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<bool> {
        let gone: Vec<Value> = self
            .rows(
                "DELETE type::record($tb, $id) WHERE org_id = $org AND ou_id = $ou RETURN BEFORE",
                serde_json::json!({ "tb": table, "id": id, "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        Ok(!gone.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys() {
        assert_eq!(record_key("member:om_1"), "om_1");
        assert_eq!(record_key("t:⟨a-b⟩"), "a-b");
        assert_eq!(record_key("t:`a-b`"), "a-b");
        assert_eq!(record_key("plain"), "plain");
    }

    #[test]
    fn urls() {
        assert_eq!(normalise_url("memory").unwrap(), "mem://");
        assert!(normalise_url("surrealkv://./data").is_ok());
        assert!(normalise_url("postgres://x").is_err());
        assert!(normalise_url("ws://").is_err());
    }
}
