//! Scoring settings of an org and its OUs: inactivity decay rules, the OU's surge session
//! policy and the org's scoring toggles.

use leadwire_models::decay::DecayRule;
use leadwire_models::event_types::EventTypeSetting;
use leadwire_models::scoring::SurgePolicy;
use leadwire_models::settings::OrgScoring;
use serde_json::json;

use crate::filters::row;
use crate::{Result, Store};

pub(crate) const DECAYS_SQL: &str =
    "SELECT * FROM decay_rule WHERE org_id = $org AND ou_id = $ou ORDER BY created_at, id";
pub(crate) const SURGE_SQL: &str =
    "SELECT * FROM surge_policy WHERE id = type::record('surge_policy', $ou) AND org_id = $org";
pub(crate) const EVENT_TYPE_SETTINGS_SQL: &str =
    "SELECT * FROM event_type_setting WHERE org_id = $org AND ou_id = $ou ORDER BY event_type";
pub(crate) const ORG_SCORING_SQL: &str =
    "SELECT * FROM scoring_settings WHERE id = type::record('scoring_settings', $org)";

impl Store {
    pub async fn event_type_settings(
        &self,
        org_id: &str,
        ou_id: &str,
    ) -> Result<Vec<EventTypeSetting>> {
        self.rows(
            EVENT_TYPE_SETTINGS_SQL,
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    pub async fn put_event_type_setting(
        &self,
        org_id: &str,
        ou_id: &str,
        s: &EventTypeSetting,
        by: &str,
    ) -> Result<()> {
        self.run(
            "UPSERT type::record('event_type_setting', $key) CONTENT {
                 org_id: $org, ou_id: $ou, event_type: $s.event_type, hidden: $s.hidden,
                 max_processing_scope: $s.max_processing_scope, updated_at: $now, updated_by: $by
             }",
            json!({ "key": format!("{ou_id}/{}", s.event_type), "org": org_id, "ou": ou_id, "s": s, "by": by,
                    "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
        )
        .await?;
        Ok(())
    }

    /// The OU's events of one type as `(event id, lead id, whether it scored)`.
    pub async fn events_of_type(
        &self,
        org_id: &str,
        ou_id: &str,
        event_type: &str,
    ) -> Result<Vec<(String, String, bool)>> {
        let rows: Vec<serde_json::Value> = self
            .rows(
                "SELECT meta::id(id) AS event_id, lead_id,
                        array::len(object::values(deltas)[WHERE delta != 0]) > 0 AS scored
                 FROM event WHERE org_id = $org AND ou_id = $ou AND event_type = $t AND system = false",
                json!({ "org": org_id, "ou": ou_id, "t": event_type }),
                0,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some((
                    r["event_id"].as_str()?.to_string(),
                    r["lead_id"].as_str()?.to_string(),
                    r["scored"].as_bool().unwrap_or(false),
                ))
            })
            .collect())
    }

    pub async fn decay_rules(&self, org_id: &str, ou_id: &str) -> Result<Vec<DecayRule>> {
        self.rows(DECAYS_SQL, json!({ "org": org_id, "ou": ou_id }), 0)
            .await
    }

    pub async fn decay_rule(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<Option<DecayRule>> {
        self.row(
            "SELECT * FROM type::record('decay_rule', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Creates or replaces a decay rule (its id is its record key).
    pub async fn put_decay_rule(&self, r: &DecayRule) -> Result<()> {
        self.run(
            "UPSERT type::record('decay_rule', $id) CONTENT $c",
            json!({ "id": r.decay_id, "c": row(r, &r.unit_id, "")? }),
        )
        .await?;
        Ok(())
    }

    pub async fn delete_decay_rule(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        self.delete_owned("decay_rule", org_id, ou_id, id).await
    }

    /// The OU's own surge policy, if it has one.
    pub async fn surge_policy(&self, org_id: &str, ou_id: &str) -> Result<Option<SurgePolicy>> {
        self.row(SURGE_SQL, json!({ "org": org_id, "ou": ou_id }), 0)
            .await
    }

    pub async fn put_surge_policy(
        &self,
        org_id: &str,
        ou_id: &str,
        p: &SurgePolicy,
        by: &str,
    ) -> Result<()> {
        self.run(
            "UPSERT type::record('surge_policy', $ou) CONTENT {
                 org_id: $org, ou_id: $ou, mode: $p.mode, bands: $p.bands,
                 idle_reset_seconds: $p.idle_reset_seconds, multiplier_cap: $p.multiplier_cap,
                 updated_at: $now, updated_by: $by
             }",
            json!({ "org": org_id, "ou": ou_id, "p": p, "by": by,
                    "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
        )
        .await?;
        Ok(())
    }

    /// The org's scoring toggles (all off until set).
    pub async fn org_scoring(&self, org_id: &str) -> Result<OrgScoring> {
        Ok(self
            .row(ORG_SCORING_SQL, json!({ "org": org_id }), 0)
            .await?
            .unwrap_or_default())
    }

    pub async fn put_org_scoring(&self, org_id: &str, s: &OrgScoring, by: &str) -> Result<()> {
        self.run(
            "UPSERT type::record('scoring_settings', $org) CONTENT {
                 org_id: $org, allow_negative_scores: $s.allow_negative_scores,
                 abm_enabled: $s.abm_enabled, updated_at: $now, updated_by: $by
             }",
            json!({ "org": org_id, "s": s, "by": by,
                    "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_models::decay::DecayUnit;
    use leadwire_models::scoring::SurgeMode;

    #[tokio::test]
    async fn settings_round_trip_and_stay_in_their_ou() {
        let store = Store::memory().await.unwrap();
        assert_eq!(
            store.org_scoring("org_1").await.unwrap(),
            OrgScoring::default()
        );
        assert!(store.surge_policy("org_1", "ou_a").await.unwrap().is_none());
        let p = SurgePolicy {
            mode: SurgeMode::Gentle,
            idle_reset_seconds: 600,
            ..SurgePolicy::default()
        };
        store
            .put_surge_policy("org_1", "ou_a", &p, "a@b.c")
            .await
            .unwrap();
        assert_eq!(store.surge_policy("org_1", "ou_a").await.unwrap(), Some(p));
        assert!(store.surge_policy("org_2", "ou_a").await.unwrap().is_none());
        let s = OrgScoring {
            allow_negative_scores: true,
            abm_enabled: false,
        };
        store.put_org_scoring("org_1", &s, "a@b.c").await.unwrap();
        assert_eq!(store.org_scoring("org_1").await.unwrap(), s);

        let r = DecayRule {
            decay_id: "dc_1".into(),
            org_id: "org_1".into(),
            unit_id: "ou_a".into(),
            inactive_for: 30,
            unit: DecayUnit::Days,
            decrease: 25,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
            created_by: Some("a@b.c".into()),
            updated_by: None,
        };
        store.put_decay_rule(&r).await.unwrap();
        assert_eq!(
            store.decay_rules("org_1", "ou_a").await.unwrap(),
            vec![r.clone()]
        );
        assert!(store
            .decay_rule("org_1", "ou_b", "dc_1")
            .await
            .unwrap()
            .is_none());
        let setup = store.scoring_setup("org_1", "ou_a").await.unwrap();
        assert_eq!(setup.decays, vec![r]);
        assert_eq!(setup.surge.map(|s| s.mode), Some(SurgeMode::Gentle));
        assert!(setup.org.allow_negative_scores);
        assert!(!store
            .delete_decay_rule("org_1", "ou_b", "dc_1")
            .await
            .unwrap());
        assert!(store
            .delete_decay_rule("org_1", "ou_a", "dc_1")
            .await
            .unwrap());
    }
}
