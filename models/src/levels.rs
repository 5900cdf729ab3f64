//! Levels: named score ranges ("Cold" 0–39, "Warm" 40–79, "Hot" 80–1000) per dimension
//! (engagement, profile, account). Ranges of one dimension never overlap; a score is at
//! the level whose range holds its whole part (79.5 is "Warm" above). Every change is
//! snapshotted in a history, and the configuration can be reverted to any snapshot.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{validate, DomainError};

/// At most this many levels per dimension and OU.
pub const MAX_LEVELS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum Dimension {
    Engagement,
    Profile,
    Account,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Engagement => "engagement",
            Dimension::Profile => "profile",
            Dimension::Account => "account",
        }
    }

    /// From a path segment; 404 (not 422) for anything else, as for an unknown route.
    pub fn parse(s: &str) -> Result<Dimension, DomainError> {
        match s {
            "engagement" => Ok(Dimension::Engagement),
            "profile" => Ok(Dimension::Profile),
            "account" => Ok(Dimension::Account),
            _ => Err(DomainError::not_found("level dimension")),
        }
    }
}

/// A stored level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Level {
    pub level_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub dimension: Dimension,
    pub name: String,
    pub min_score: i64,
    pub max_score: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

impl Level {
    /// Whether `score` is at this level (its whole part within the range).
    pub fn holds(&self, score: f64) -> bool {
        let whole = score.floor();
        whole >= self.min_score as f64 && whole <= self.max_score as f64
    }
}

/// The level `score` is at, if any.
pub fn level_of(levels: &[Level], score: f64) -> Option<&Level> {
    levels.iter().find(|l| l.holds(score))
}

/// `POST` and `PUT /v1/levels/{dimension}[/{id}]`: all three required.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelInput {
    /// 1–100 characters, unique within the dimension (case-insensitive).
    pub name: String,
    pub min_score: i64,
    pub max_score: i64,
}

impl LevelInput {
    /// Applies the input to `level`, checking it against the dimension's other levels:
    /// `min_score` ≤ `max_score`, both within ±1,000,000, no overlap, no duplicate name.
    pub fn apply(&self, level: &mut Level, others: &[Level]) -> Result<(), DomainError> {
        let name = validate::name("name", &self.name, 1, 100)?;
        for (field, v) in [("min_score", self.min_score), ("max_score", self.max_score)] {
            if v.unsigned_abs() > 1_000_000 {
                return Err(DomainError::invalid(
                    field,
                    "must be between -1000000 and 1000000",
                ));
            }
        }
        if self.min_score > self.max_score {
            return Err(DomainError::invalid(
                "max_score",
                "must be at least min_score",
            ));
        }
        let others = others.iter().filter(|o| o.level_id != level.level_id);
        for o in others {
            if o.name.to_lowercase() == name.to_lowercase() {
                return Err(DomainError::conflict(format!(
                    "the {} levels already have one named {:?}",
                    o.dimension.as_str(),
                    o.name
                )));
            }
            if self.min_score <= o.max_score && o.min_score <= self.max_score {
                return Err(DomainError::invalid(
                    "min_score",
                    format!(
                        "the range {}–{} overlaps level {:?} ({}–{})",
                        self.min_score, self.max_score, o.name, o.min_score, o.max_score
                    ),
                ));
            }
        }
        level.name = name;
        level.min_score = self.min_score;
        level.max_score = self.max_score;
        Ok(())
    }
}

/// A snapshot of a dimension's levels, saved after every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LevelHistory {
    pub history_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub dimension: Dimension,
    /// `create`, `update`, `delete` or `revert`.
    pub action: String,
    /// The level the change was about (the snapshot reverted to, for `revert`).
    pub subject_id: String,
    /// The dimension's levels after the change, lowest range first.
    pub levels: Vec<Level>,
    pub created_at: String,
    pub created_by: Option<String>,
}

/// `POST /v1/levels/{dimension}/revert`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevertInput {
    pub history_id: String,
}

/// A lead's level in one dimension, as shown next to its score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct LevelRef {
    pub level_id: String,
    pub name: String,
}

impl From<&Level> for LevelRef {
    fn from(l: &Level) -> Self {
        LevelRef {
            level_id: l.level_id.clone(),
            name: l.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(id: &str, name: &str, min: i64, max: i64) -> Level {
        Level {
            level_id: id.into(),
            org_id: "org".into(),
            unit_id: "ou".into(),
            dimension: Dimension::Engagement,
            name: name.into(),
            min_score: min,
            max_score: max,
            created_at: String::new(),
            updated_at: String::new(),
            created_by: None,
            updated_by: None,
        }
    }

    fn input(name: &str, min: i64, max: i64) -> LevelInput {
        LevelInput {
            name: name.into(),
            min_score: min,
            max_score: max,
        }
    }

    #[test]
    fn ranges_never_overlap_and_names_are_unique() {
        let existing = vec![
            level("lv_1", "Warm", 40, 79),
            level("lv_2", "Hot", 80, 1000),
        ];
        let mut new = level("lv_3", "", 0, 0);
        assert!(input("Cold", 0, 39).apply(&mut new, &existing).is_ok());
        let err = input("Cool", 30, 40)
            .apply(&mut new, &existing)
            .unwrap_err();
        assert!(err.message.contains("Warm"), "{}", err.message);
        assert_eq!(
            input("hot", 0, 10)
                .apply(&mut new, &existing)
                .unwrap_err()
                .code,
            crate::ErrorCode::Conflict
        );
        assert!(input("Cold", 50, 10).apply(&mut new, &existing).is_err());
        assert!(input("Abyss", i64::MIN, -2_000_000)
            .apply(&mut new, &existing)
            .is_err());
        assert_eq!(new.name, "Cold", "a refused change changes nothing");
        // a level may keep its own range and name when updated
        let mut warm = existing[0].clone();
        assert!(input("Warm", 40, 75).apply(&mut warm, &existing).is_ok());
    }

    #[test]
    fn a_score_is_at_the_level_holding_its_whole_part() {
        let levels = vec![
            level("lv_1", "Warm", 40, 79),
            level("lv_2", "Hot", 80, 1000),
        ];
        assert_eq!(
            level_of(&levels, 79.5).map(|l| l.name.as_str()),
            Some("Warm")
        );
        assert_eq!(
            level_of(&levels, 80.0).map(|l| l.name.as_str()),
            Some("Hot")
        );
        assert_eq!(level_of(&levels, 39.99), None);
        assert_eq!(
            level_of(&levels, 1000.9).map(|l| l.name.as_str()),
            Some("Hot")
        );
    }
}
