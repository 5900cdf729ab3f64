//! Event filters of an OU: inorganic (velocity) filters and attribute (metadata) filters.

use leadwire_models::events::StoredEvent;
use leadwire_models::filters::{InorganicFilter, MetadataFilter};
use serde_json::{json, Value};

use crate::db::content;
use crate::{Result, Store};

const INORGANIC_SQL: &str =
    "SELECT * FROM inorganic_filter WHERE org_id = $org AND ou_id = $ou ORDER BY created_at, id";
const ENABLED_METADATA_SQL: &str =
    "SELECT * FROM metadata_filter WHERE org_id = $org AND ou_id = $ou
     AND enabled = true ORDER BY created_at DESC, id DESC";

/// A filter row: the stored model minus what the record key and `ou_id` carry.
pub(crate) fn row<T: serde::Serialize>(f: &T, ou_id: &str, drop: &str) -> Result<Value> {
    let mut c = content(f)?;
    if let Some(o) = c.as_object_mut() {
        o.remove(drop);
        o.insert("ou_id".into(), json!(ou_id));
    }
    Ok(c)
}

/// Everything the scoring engine compiles of an OU, read in one round trip.
#[derive(Debug, Clone, Default)]
pub struct ScoringSetup {
    pub rulesets: Vec<leadwire_models::rules::Ruleset>,
    pub rules: Vec<leadwire_models::rules::Rule>,
    pub inorganic_filters: Vec<InorganicFilter>,
    /// Enabled ones only.
    pub metadata_filters: Vec<MetadataFilter>,
    pub decays: Vec<leadwire_models::decay::DecayRule>,
    /// The OU's own surge policy (none: the defaults).
    pub surge: Option<leadwire_models::scoring::SurgePolicy>,
    pub org: leadwire_models::settings::OrgScoring,
    /// Levels of every dimension.
    pub levels: Vec<leadwire_models::levels::Level>,
    /// Profile and account rulesets, and their rules.
    pub attr_rulesets: Vec<leadwire_models::profile::AttrRuleset>,
    pub attr_rules: Vec<leadwire_models::profile::AttrRule>,
    pub mappings: Vec<leadwire_models::profile::FieldMapping>,
    pub account_mappings: Vec<leadwire_models::profile::FieldMapping>,
    pub event_types: Vec<leadwire_models::event_types::EventTypeSetting>,
}

impl Store {
    /// The OU's rulesets, rules and filters (the same rows and order as the single reads).
    pub async fn scoring_setup(&self, org_id: &str, ou_id: &str) -> Result<ScoringSetup> {
        let mut res = self
            .run(
                &[
                    crate::engagement::RULESETS_SQL,
                    crate::engagement::RULES_SQL,
                    INORGANIC_SQL,
                    ENABLED_METADATA_SQL,
                    crate::settings::DECAYS_SQL,
                    crate::settings::SURGE_SQL,
                    crate::settings::ORG_SCORING_SQL,
                    crate::levels::LEVELS_SQL,
                    crate::profile::ATTR_RULESETS_SQL,
                    crate::profile::ATTR_RULES_SQL,
                    crate::profile::PROFILE_MAPPINGS_SQL,
                    crate::settings::EVENT_TYPE_SETTINGS_SQL,
                    crate::profile::ACCOUNT_MAPPINGS_SQL,
                ]
                .join(";\n"),
                json!({ "org": org_id, "ou": ou_id }),
            )
            .await?;
        Ok(ScoringSetup {
            rulesets: crate::db::take_rows(&mut res, 0)?,
            rules: crate::db::take_rows(&mut res, 1)?,
            inorganic_filters: crate::db::take_rows(&mut res, 2)?,
            metadata_filters: crate::db::take_rows(&mut res, 3)?,
            decays: crate::db::take_rows(&mut res, 4)?,
            surge: crate::db::take_rows(&mut res, 5)?.into_iter().next(),
            org: crate::db::take_rows(&mut res, 6)?
                .into_iter()
                .next()
                .unwrap_or_default(),
            levels: crate::db::take_rows(&mut res, 7)?,
            attr_rulesets: crate::db::take_rows(&mut res, 8)?,
            attr_rules: crate::db::take_rows(&mut res, 9)?,
            mappings: crate::db::take_rows(&mut res, 10)?,
            event_types: crate::db::take_rows(&mut res, 11)?,
            account_mappings: crate::db::take_rows(&mut res, 12)?,
        })
    }

    pub async fn inorganic_filters(
        &self,
        org_id: &str,
        ou_id: &str,
    ) -> Result<Vec<InorganicFilter>> {
        self.rows(INORGANIC_SQL, json!({ "org": org_id, "ou": ou_id }), 0)
            .await
    }

    pub async fn inorganic_filter(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<Option<InorganicFilter>> {
        self.row(
            "SELECT * FROM type::record('inorganic_filter', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Creates or replaces a filter (its id is its record key).
    pub async fn put_inorganic_filter(&self, f: &InorganicFilter) -> Result<()> {
        self.run(
            "UPSERT type::record('inorganic_filter', $id) CONTENT $c",
            json!({ "id": f.filter_id, "c": row(f, &f.unit_id, "")? }),
        )
        .await?;
        Ok(())
    }

    /// Deletes a filter of the OU; returns whether it existed there.
    pub async fn delete_inorganic_filter(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<bool> {
        self.delete_owned("inorganic_filter", org_id, ou_id, id)
            .await
    }

    /// Enabled first, then newest first (as kenbun lists them).
    pub async fn metadata_filters(&self, org_id: &str, ou_id: &str) -> Result<Vec<MetadataFilter>> {
        self.rows(
            "SELECT * FROM metadata_filter WHERE org_id = $org AND ou_id = $ou
             ORDER BY enabled DESC, created_at DESC, id DESC",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    pub async fn metadata_filter(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<Option<MetadataFilter>> {
        self.row(
            "SELECT * FROM type::record('metadata_filter', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Creates or replaces a filter; `suppressed_count` is the store's (the group commit
    /// adds to it), so a replace never moves it.
    pub async fn put_metadata_filter(&self, f: &MetadataFilter) -> Result<()> {
        let c = row(f, &f.unit_id, "suppressed_count")?;
        self.run(
            "UPSERT type::record('metadata_filter', $id) MERGE $c",
            json!({ "id": f.id, "c": c }),
        )
        .await?;
        Ok(())
    }

    pub async fn delete_metadata_filter(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<bool> {
        self.delete_owned("metadata_filter", org_id, ou_id, id)
            .await
    }

    /// One page of the OU's engagement events (server timeline entries left out), in
    /// key order after `after`, optionally of one type: for scans such as a preview.
    pub async fn events_page(
        &self,
        org_id: &str,
        ou_id: &str,
        event_type: Option<&str>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let by_type = if event_type.is_some() {
            "AND event_type = $t"
        } else {
            ""
        };
        self.rows(
            &format!(
                "SELECT * FROM event WHERE org_id = $org AND ou_id = $ou AND system = false {by_type}
                 AND meta::id(id) > $after ORDER BY id LIMIT $limit"
            ),
            json!({ "org": org_id, "ou": ou_id, "t": event_type, "after": after, "limit": limit }),
            0,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_models::filters::{ConditionOperator, MetadataCondition};

    #[tokio::test]
    async fn filters_round_trip_and_stay_in_their_ou() {
        let store = Store::memory().await.unwrap();
        assert!(store
            .inorganic_filters("org_1", "ou_a")
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .metadata_filters("org_1", "ou_a")
            .await
            .unwrap()
            .is_empty());
        let f = InorganicFilter {
            filter_id: "flt_1".into(),
            org_id: "org_1".into(),
            unit_id: "ou_a".into(),
            event_type: "Page View".into(),
            count_threshold: 3,
            time_window_ms: 60_000,
            group_events: true,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
            created_by: Some("a@b.c".into()),
            updated_by: None,
        };
        store.put_inorganic_filter(&f).await.unwrap();
        assert_eq!(
            store.inorganic_filters("org_1", "ou_a").await.unwrap(),
            vec![f.clone()]
        );
        assert!(store
            .inorganic_filter("org_1", "ou_b", "flt_1")
            .await
            .unwrap()
            .is_none());
        let m = MetadataFilter {
            id: "mf_1".into(),
            org_id: "org_1".into(),
            unit_id: "ou_a".into(),
            name: "bots".into(),
            event_type: String::new(),
            conditions: vec![MetadataCondition {
                key: "ua".into(),
                operator: ConditionOperator::Contains,
                value: Some(json!("bot")),
            }],
            enabled: true,
            suppressed_count: 0,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
            created_by: None,
            updated_by: None,
        };
        store.put_metadata_filter(&m).await.unwrap();
        assert_eq!(
            store
                .metadata_filter("org_1", "ou_a", "mf_1")
                .await
                .unwrap(),
            Some(m)
        );
        assert!(!store
            .delete_metadata_filter("org_1", "ou_b", "mf_1")
            .await
            .unwrap());
        assert!(store
            .delete_metadata_filter("org_1", "ou_a", "mf_1")
            .await
            .unwrap());
        assert!(store
            .delete_inorganic_filter("org_1", "ou_a", "flt_1")
            .await
            .unwrap());
        assert!(store
            .inorganic_filters("org_1", "ou_a")
            .await
            .unwrap()
            .is_empty());
    }
}
