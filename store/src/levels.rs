//! Levels of an OU per dimension, and the snapshot history of their changes. Every
//! change commits with its snapshot in one transaction.

use leadwire_models::levels::{Dimension, Level, LevelHistory};
use serde_json::{json, Value};

use crate::filters::row;
use crate::{Result, Store};

/// Every level of the OU (each carries its dimension), lowest range first.
pub(crate) const LEVELS_SQL: &str =
    "SELECT * FROM level WHERE org_id = $org AND ou_id = $ou ORDER BY min_score";

fn history_row(h: &LevelHistory) -> Result<Value> {
    let mut r = row(h, &h.unit_id, "")?;
    // the snapshot keeps each level whole (its unit id included), without nulls
    let mut levels = serde_json::to_value(&h.levels)?;
    for l in levels.as_array_mut().into_iter().flatten() {
        if let Some(o) = l.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
    }
    if let Some(o) = r.as_object_mut() {
        o.insert("levels".into(), levels);
    }
    Ok(r)
}

fn level_rows(levels: &[Level]) -> Result<Vec<Value>> {
    levels.iter().map(|l| row(l, &l.unit_id, "")).collect()
}

impl Store {
    /// The dimension's levels, lowest range first.
    pub async fn levels(&self, org_id: &str, ou_id: &str, dim: Dimension) -> Result<Vec<Level>> {
        self.dimension_rows("level", "min_score", org_id, ou_id, dim)
            .await
    }

    /// Replaces the dimension's levels with `levels` and records `history`, atomically
    /// (a create, update or delete passes the whole new set).
    pub async fn set_levels(&self, levels: &[Level], history: &LevelHistory) -> Result<()> {
        self.run(
            "BEGIN;
             DELETE level WHERE org_id = $org AND ou_id = $ou AND dimension = $dim;
             FOR $l IN $levels { CREATE type::record('level', $l.level_id) CONTENT $l; };
             CREATE type::record('level_history', $h.history_id) CONTENT $h;
             COMMIT;",
            json!({
                "org": history.org_id, "ou": history.unit_id, "dim": history.dimension,
                "levels": level_rows(levels)?, "h": history_row(history)?,
            }),
        )
        .await?;
        Ok(())
    }

    /// The dimension's snapshots, newest first.
    pub async fn level_history(
        &self,
        org_id: &str,
        ou_id: &str,
        dim: Dimension,
    ) -> Result<Vec<LevelHistory>> {
        self.dimension_rows(
            "level_history",
            "created_at DESC, history_id DESC",
            org_id,
            ou_id,
            dim,
        )
        .await
    }

    pub async fn level_snapshot(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<Option<LevelHistory>> {
        self.row(
            "SELECT * FROM type::record('level_history', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }
}
