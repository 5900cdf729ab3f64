//! Scoring settings: the org-wide toggles (negative scores, account-based marketing) and
//! the active OU's surge session policy, whose idle reset is the session timeout.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::scoring::{SurgeBand, SurgeMode, SurgePolicy};
use crate::DomainError;

/// The longest session idle timeout: one day.
pub const MAX_SESSION_TIMEOUT_MINUTES: i64 = 24 * 60;

/// The org's stored scoring toggles.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OrgScoring {
    pub allow_negative_scores: bool,
    pub abm_enabled: bool,
}

/// `GET /v1/settings/scoring`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoringSettings {
    /// Org-wide: scores may go below zero (negative weights, inactivity decay).
    pub allow_negative_scores: bool,
    /// Org-wide: account-based scoring is on.
    pub abm_enabled: bool,
    /// The active OU's session idle timeout (its surge policy's `idle_reset_seconds`,
    /// in whole minutes, rounded up).
    pub session_timeout_minutes: u32,
}

/// `PUT /v1/settings/scoring`: any subset.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringSettingsInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub allow_negative_scores: Option<bool>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub abm_enabled: Option<bool>,
    /// 1–1440.
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub session_timeout_minutes: Option<i64>,
}

impl ScoringSettingsInput {
    /// Applies the input; the session timeout goes to the OU's surge policy.
    pub fn apply(&self, org: &mut OrgScoring, surge: &mut SurgePolicy) -> Result<(), DomainError> {
        if let Some(m) = self.session_timeout_minutes {
            if !(1..=MAX_SESSION_TIMEOUT_MINUTES).contains(&m) {
                return Err(DomainError::invalid(
                    "session_timeout_minutes",
                    "must be between 1 and 1440",
                ));
            }
            surge.idle_reset_seconds = (m * 60) as u32;
        }
        if let Some(b) = self.allow_negative_scores {
            org.allow_negative_scores = b;
        }
        if let Some(b) = self.abm_enabled {
            org.abm_enabled = b;
        }
        Ok(())
    }
}

impl ScoringSettings {
    pub fn of(org: &OrgScoring, surge: &SurgePolicy) -> ScoringSettings {
        ScoringSettings {
            allow_negative_scores: org.allow_negative_scores,
            abm_enabled: org.abm_enabled,
            session_timeout_minutes: surge.idle_reset_seconds.div_ceil(60),
        }
    }
}

/// `GET /v1/settings/surge-policy`: the OU's policy (Standard defaults when none is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SurgePolicyView {
    pub org_id: String,
    pub unit_id: String,
    pub mode: SurgeMode,
    /// The bands in force (the mode's own for standard and gentle, none for off).
    pub bands: Vec<SurgeBand>,
    pub idle_reset_seconds: u32,
    pub multiplier_cap: f64,
    /// Whether the OU has its own policy (false: the defaults).
    pub customised: bool,
}

impl SurgePolicyView {
    pub fn of(org_id: &str, ou_id: &str, p: &SurgePolicy, customised: bool) -> SurgePolicyView {
        SurgePolicyView {
            org_id: org_id.to_string(),
            unit_id: ou_id.to_string(),
            mode: p.mode,
            bands: p.effective_bands().to_vec(),
            idle_reset_seconds: p.idle_reset_seconds,
            multiplier_cap: p.multiplier_cap,
            customised,
        }
    }
}

/// `PUT /v1/settings/surge-policy`: any subset; what is omitted stays.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurgePolicyInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub mode: Option<SurgeMode>,
    /// Custom mode's bands (`min_events` ≥ 1, multiplier 1–3), at most 20.
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub bands: Option<Vec<SurgeBand>>,
    /// ≥ 1 (at most one day).
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub idle_reset_seconds: Option<i64>,
    /// 1–3.
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub multiplier_cap: Option<f64>,
}

impl SurgePolicyInput {
    /// The policy after applying the input to `p`, validated.
    pub fn apply(&self, p: &SurgePolicy) -> Result<SurgePolicy, DomainError> {
        let mut next = p.clone();
        if let Some(m) = self.mode {
            next.mode = m;
        }
        if let Some(b) = &self.bands {
            if b.len() > 20 {
                return Err(DomainError::invalid("bands", "at most 20 bands"));
            }
            let mut b = b.clone();
            b.sort_by_key(|x| x.min_events);
            next.bands = b;
        } else if self.mode == Some(SurgeMode::Custom) && p.mode != SurgeMode::Custom {
            next.bands = Vec::new();
        }
        if let Some(s) = self.idle_reset_seconds {
            if !(1..=MAX_SESSION_TIMEOUT_MINUTES * 60).contains(&s) {
                return Err(DomainError::invalid(
                    "idle_reset_seconds",
                    "must be between 1 and 86400",
                ));
            }
            next.idle_reset_seconds = s as u32;
        }
        if let Some(c) = self.multiplier_cap {
            next.multiplier_cap = c;
        }
        next.validate()?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_timeout_is_the_surge_idle_reset() {
        let mut org = OrgScoring::default();
        let mut surge = SurgePolicy::default();
        assert_eq!(
            ScoringSettings::of(&org, &surge).session_timeout_minutes,
            30
        );
        ScoringSettingsInput {
            session_timeout_minutes: Some(45),
            allow_negative_scores: Some(true),
            abm_enabled: None,
        }
        .apply(&mut org, &mut surge)
        .unwrap();
        assert_eq!(
            (surge.idle_reset_seconds, org.allow_negative_scores),
            (2700, true)
        );
        let bad = ScoringSettingsInput {
            session_timeout_minutes: Some(0),
            abm_enabled: Some(true),
            ..Default::default()
        };
        assert!(bad.apply(&mut org, &mut surge).is_err());
        assert!(!org.abm_enabled, "a refused change changes nothing");
        // 90 s shows as 2 minutes
        surge.idle_reset_seconds = 90;
        assert_eq!(ScoringSettings::of(&org, &surge).session_timeout_minutes, 2);
    }

    #[test]
    fn custom_mode_needs_bands_and_bands_are_ordered() {
        let p = SurgePolicy::default();
        let custom = SurgePolicyInput {
            mode: Some(SurgeMode::Custom),
            ..Default::default()
        };
        assert!(custom.apply(&p).is_err(), "custom without bands");
        let next = SurgePolicyInput {
            mode: Some(SurgeMode::Custom),
            bands: Some(vec![
                SurgeBand {
                    min_events: 4,
                    multiplier: 2.0,
                },
                SurgeBand {
                    min_events: 2,
                    multiplier: 1.5,
                },
            ]),
            multiplier_cap: Some(1.8),
            ..Default::default()
        }
        .apply(&p)
        .unwrap();
        assert_eq!(next.bands[0].min_events, 2);
        assert_eq!(
            (next.multiplier(1), next.multiplier(2), next.multiplier(5)),
            (1.0, 1.5, 1.8)
        );
        let twice = SurgePolicyInput {
            mode: Some(SurgeMode::Custom),
            bands: Some(vec![
                SurgeBand {
                    min_events: 3,
                    multiplier: 2.0,
                },
                SurgeBand {
                    min_events: 3,
                    multiplier: 1.5,
                },
            ]),
            ..Default::default()
        }
        .apply(&p)
        .unwrap_err();
        assert!(twice.message.contains("min_events 3"), "{}", twice.message);
        let cap = SurgePolicyInput {
            multiplier_cap: Some(3.5),
            ..Default::default()
        };
        assert!(cap.apply(&p).is_err());
    }
}
