//! Levels of the active OU per dimension, shared by REST, GraphQL and MCP. Each change
//! replaces the dimension's set and records a snapshot in one transaction; level changes
//! reach live leads at once (a lead whose level changes is announced on the bus) and
//! every stored lead level within a wake pass.

use leadwire_models::levels::{
    Dimension, Level, LevelHistory, LevelInput, RevertInput, MAX_LEVELS,
};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::Core;

impl Core {
    pub async fn list_levels(&self, t: &Tenant, dim: Dimension) -> Result<Vec<Level>> {
        t.require(Access::Read)?;
        Ok(self.store.levels(&t.caller.org_id, &t.ou_id, dim).await?)
    }

    pub async fn level_history(&self, t: &Tenant, dim: Dimension) -> Result<Vec<LevelHistory>> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .level_history(&t.caller.org_id, &t.ou_id, dim)
            .await?)
    }

    pub async fn create_level(
        &self,
        t: &Tenant,
        dim: Dimension,
        input: LevelInput,
    ) -> Result<Level> {
        t.require(Access::Write)?;
        let _guard = self.config_lock.lock().await;
        let mut levels = self.store.levels(&t.caller.org_id, &t.ou_id, dim).await?;
        if levels.len() >= MAX_LEVELS {
            return Err(DomainError::conflict(format!(
                "at most {MAX_LEVELS} {} levels",
                dim.as_str()
            )));
        }
        let now = time::format(&time::now());
        let mut level = Level {
            level_id: ids::new_id(ids::prefix::LEVEL),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            dimension: dim,
            name: String::new(),
            min_score: 0,
            max_score: 0,
            created_at: now.clone(),
            updated_at: now,
            created_by: Some(t.caller.email.clone()),
            updated_by: Some(t.caller.email.clone()),
        };
        input.apply(&mut level, &levels)?;
        levels.push(level.clone());
        self.save_levels(t, dim, levels, "create", &level.level_id)
            .await?;
        Ok(level)
    }

    pub async fn update_level(
        &self,
        t: &Tenant,
        dim: Dimension,
        id: &str,
        input: LevelInput,
    ) -> Result<Level> {
        t.require(Access::Write)?;
        let _guard = self.config_lock.lock().await;
        let mut levels = self.store.levels(&t.caller.org_id, &t.ou_id, dim).await?;
        let i = levels
            .iter()
            .position(|l| l.level_id == id)
            .ok_or_else(|| DomainError::not_found("level"))?;
        let mut level = levels[i].clone();
        input.apply(&mut level, &levels)?;
        level.updated_at = time::format(&time::now());
        level.updated_by = Some(t.caller.email.clone());
        levels[i] = level.clone();
        self.save_levels(t, dim, levels, "update", id).await?;
        Ok(level)
    }

    pub async fn delete_level(&self, t: &Tenant, dim: Dimension, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        let _guard = self.config_lock.lock().await;
        let mut levels = self.store.levels(&t.caller.org_id, &t.ou_id, dim).await?;
        let before = levels.len();
        levels.retain(|l| l.level_id != id);
        if levels.len() == before {
            return Err(DomainError::not_found("level"));
        }
        self.save_levels(t, dim, levels, "delete", id).await
    }

    /// Replaces the dimension's levels with a snapshot's, exactly (ids included).
    pub async fn revert_levels(
        &self,
        t: &Tenant,
        dim: Dimension,
        input: RevertInput,
    ) -> Result<Vec<Level>> {
        t.require(Access::Write)?;
        let _guard = self.config_lock.lock().await;
        let snapshot = self
            .store
            .level_snapshot(&t.caller.org_id, &t.ou_id, &input.history_id)
            .await?
            .filter(|h| h.dimension == dim)
            .ok_or_else(|| DomainError::not_found("level history entry"))?;
        self.save_levels(t, dim, snapshot.levels.clone(), "revert", &input.history_id)
            .await?;
        Ok(snapshot.levels)
    }

    async fn save_levels(
        &self,
        t: &Tenant,
        dim: Dimension,
        mut levels: Vec<Level>,
        action: &str,
        subject_id: &str,
    ) -> Result<()> {
        levels.sort_by_key(|l| l.min_score);
        let history = LevelHistory {
            history_id: ids::new_id(ids::prefix::LEVEL_HISTORY),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            dimension: dim,
            action: action.into(),
            subject_id: subject_id.into(),
            levels: levels.clone(),
            created_at: time::format(&time::now()),
            created_by: Some(t.caller.email.clone()),
        };
        self.store.set_levels(&levels, &history).await?;
        self.engine.reload(&t.caller.org_id, &t.ou_id).await?;
        Ok(())
    }
}
