//! Engagement scoring: rulesets, rules, leads, aliases and events, and the group-commit
//! write of many leads' events and scores in one transaction.

use std::collections::BTreeMap;

use leadwire_models::events::{Alias, StoredEvent};
use leadwire_models::leads::Lead;
use leadwire_models::rules::{Rule, Ruleset};
use serde_json::{json, Map, Value};

use crate::db::content;
use crate::{Result, Store};

/// The record key of a lead: lead ids are unique per OU only.
pub fn lead_key(ou_id: &str, lead_id: &str) -> String {
    format!("{ou_id}/{lead_id}")
}

/// The record key of an alias: one lead per (OU, kind, value) by construction.
pub fn alias_key(ou_id: &str, alias: &Alias) -> String {
    format!("{ou_id}/{}/{}", alias.alias_kind.as_str(), alias.value)
}

/// A new lead row.
pub fn lead_row(lead: &Lead) -> Value {
    let mut row = json!({
        "id": lead_key(&lead.unit_id, &lead.id),
        "org_id": lead.org_id,
        "ou_id": lead.unit_id,
        "lead_id": lead.id,
        "metadata": lead.metadata,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "score": lead.score,
        "scores": lead.scores,
    });
    if let Some(o) = row.as_object_mut() {
        for (k, v) in [
            ("account_id", &lead.account_id),
            ("owner_id", &lead.owner_id),
            ("owner_name", &lead.owner_name),
        ] {
            if let Some(v) = v {
                o.insert(k.into(), json!(v));
            }
        }
    }
    row
}

/// An alias row binding `alias` to a lead.
pub fn alias_row(org_id: &str, ou_id: &str, lead_id: &str, alias: &Alias, at: &str) -> Value {
    json!({
        "id": alias_key(ou_id, alias),
        "org_id": org_id,
        "ou_id": ou_id,
        "lead_id": lead_id,
        "alias_kind": alias.alias_kind.as_str(),
        "value": alias.value,
        "created_at": at,
    })
}

/// An event row.
pub fn event_row(e: &StoredEvent) -> Value {
    json!({
        "id": e.event_id,
        "org_id": e.org_id,
        "ou_id": e.unit_id,
        "lead_id": e.lead_id,
        "event_type": e.event_type,
        "occurred_at": e.occurred_at,
        "received_at": e.received_at,
        "channel": e.channel,
        "metadata": e.metadata,
        "deltas": e.deltas,
    })
}

/// A lead's materialised scores after a change.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreUpdate {
    pub ou_id: String,
    pub lead_id: String,
    pub score: f64,
    pub scores: BTreeMap<String, f64>,
    pub scored_at: String,
    pub decaying: bool,
    /// Set when the change came from a new event (its time and type).
    pub last_event: Option<(String, String)>,
    pub score_reset_at: Option<String>,
}

/// Everything one group commit writes, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub leads: Vec<Value>,
    pub aliases: Vec<Value>,
    pub events: Vec<Value>,
    pub score_updates: Vec<ScoreUpdate>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
            && self.aliases.is_empty()
            && self.events.is_empty()
            && self.score_updates.is_empty()
    }

    /// Appends another batch (group commit merges many callers' batches).
    pub fn extend(&mut self, other: WriteBatch) {
        self.leads.extend(other.leads);
        self.aliases.extend(other.aliases);
        self.events.extend(other.events);
        self.score_updates.extend(other.score_updates);
    }
}

impl Store {
    // ----- rulesets -----

    pub async fn rulesets(&self, org_id: &str, ou_id: &str) -> Result<Vec<Ruleset>> {
        self.rows(
            "SELECT * FROM ruleset WHERE org_id = $org AND ou_id = $ou ORDER BY created_at",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Stores a ruleset; a primary one takes the primary flag from the OU's others.
    pub async fn create_ruleset(&self, org_id: &str, ou_id: &str, rs: &Ruleset) -> Result<()> {
        let mut c = content(rs)?;
        if let Some(o) = c.as_object_mut() {
            o.remove("ruleset_id");
            o.insert("org_id".into(), json!(org_id));
            o.insert("ou_id".into(), json!(ou_id));
        }
        self.run(
            "BEGIN;
             IF $primary { UPDATE ruleset SET is_primary = false WHERE org_id = $org AND ou_id = $ou AND is_primary = true; };
             CREATE type::record('ruleset', $id) CONTENT $c;
             COMMIT;",
            json!({ "id": rs.ruleset_id, "c": c, "org": org_id, "ou": ou_id, "primary": rs.is_primary }),
        )
        .await?;
        Ok(())
    }

    /// Deletes a ruleset of the OU and its rules; returns whether it existed there.
    pub async fn delete_ruleset(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        let mut res = self
            .run(
                "BEGIN;
                 LET $gone = DELETE type::record('ruleset', $id) WHERE org_id = $org AND ou_id = $ou RETURN BEFORE;
                 IF array::len($gone) > 0 { DELETE rule WHERE org_id = $org AND ou_id = $ou AND ruleset_id = $id; };
                 RETURN array::len($gone);
                 COMMIT;",
                json!({ "id": id, "org": org_id, "ou": ou_id }),
            )
            .await?;
        let n: Option<u64> = res.take(3)?;
        Ok(n.unwrap_or(0) > 0)
    }

    // ----- rules -----

    /// The OU's rules, by ruleset and priority; only one ruleset's when given.
    pub async fn rules(
        &self,
        org_id: &str,
        ou_id: &str,
        ruleset_id: Option<&str>,
    ) -> Result<Vec<Rule>> {
        let sql = if ruleset_id.is_some() {
            "SELECT * FROM rule WHERE org_id = $org AND ou_id = $ou AND ruleset_id = $rs ORDER BY priority, created_at"
        } else {
            "SELECT * FROM rule WHERE org_id = $org AND ou_id = $ou ORDER BY ruleset_id, priority, created_at"
        };
        self.rows(
            sql,
            json!({ "org": org_id, "ou": ou_id, "rs": ruleset_id }),
            0,
        )
        .await
    }

    pub async fn rule(&self, org_id: &str, ou_id: &str, id: &str) -> Result<Option<Rule>> {
        self.row(
            "SELECT * FROM type::record('rule', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Creates or replaces a rule (its id is the record key).
    pub async fn put_rule(&self, rule: &Rule) -> Result<()> {
        let mut c = content(rule)?;
        if let Some(o) = c.as_object_mut() {
            o.remove("rule_id");
            o.insert("ou_id".into(), json!(rule.unit_id));
        }
        self.run(
            "UPSERT type::record('rule', $id) CONTENT $c",
            json!({ "id": rule.rule_id, "c": c }),
        )
        .await?;
        Ok(())
    }

    /// Deletes a rule of the OU; returns whether it existed there.
    pub async fn delete_rule(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        let rows: Vec<Value> = self
            .rows(
                "DELETE type::record('rule', $id) WHERE org_id = $org AND ou_id = $ou RETURN BEFORE",
                json!({ "id": id, "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Sets the priority of every listed rule to its position, in one transaction.
    pub async fn reorder_rules(
        &self,
        org_id: &str,
        ou_id: &str,
        ruleset_id: &str,
        rule_ids: &[String],
    ) -> Result<()> {
        let order: Vec<Value> = rule_ids
            .iter()
            .enumerate()
            .map(|(i, id)| json!({ "id": id, "priority": i }))
            .collect();
        self.run(
            "BEGIN;
             FOR $o IN $order {
                 UPDATE type::record('rule', $o.id) SET priority = $o.priority, updated_at = $now
                 WHERE org_id = $org AND ou_id = $ou AND ruleset_id = $rs;
             };
             COMMIT;",
            json!({ "order": order, "org": org_id, "ou": ou_id, "rs": ruleset_id, "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
        )
        .await?;
        Ok(())
    }

    // ----- leads -----

    pub async fn lead(&self, org_id: &str, ou_id: &str, lead_id: &str) -> Result<Option<Lead>> {
        self.row(
            "SELECT * OMIT id FROM type::record('lead', $key) WHERE org_id = $org",
            json!({ "key": lead_key(ou_id, lead_id), "org": org_id }),
            0,
        )
        .await
    }

    /// The leads the aliases name in the OU, as (alias, lead id) pairs.
    pub async fn leads_by_alias(
        &self,
        ou_id: &str,
        aliases: &[Alias],
    ) -> Result<Vec<(Alias, String)>> {
        let keys: Vec<String> = aliases.iter().map(|a| alias_key(ou_id, a)).collect();
        let rows: Vec<Value> = self
            .rows(
                "SELECT alias_kind, value, lead_id FROM lead_alias WHERE id IN $keys.map(|$k| type::record('lead_alias', $k))",
                json!({ "keys": keys }),
                0,
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let kind =
                    leadwire_models::events::AliasKind::parse(r.get("alias_kind")?.as_str()?)?;
                Some((
                    Alias {
                        alias_kind: kind,
                        value: r.get("value")?.as_str()?.to_string(),
                    },
                    r.get("lead_id")?.as_str()?.to_string(),
                ))
            })
            .collect())
    }

    /// A lead's aliases.
    pub async fn aliases_of(&self, org_id: &str, ou_id: &str, lead_id: &str) -> Result<Vec<Alias>> {
        self.rows(
            "SELECT alias_kind, value, created_at FROM lead_alias WHERE org_id = $org AND ou_id = $ou AND lead_id = $lead ORDER BY created_at, alias_kind, value",
            json!({ "org": org_id, "ou": ou_id, "lead": lead_id }),
            0,
        )
        .await
    }

    /// Creates a lead (409 when the id exists in the OU).
    pub async fn create_lead(&self, lead: &Lead) -> Result<()> {
        self.commit(&WriteBatch {
            leads: vec![lead_row(lead)],
            ..WriteBatch::default()
        })
        .await
    }

    // ----- events -----

    /// Every event of a lead in time order (rehydrating a lead actor).
    pub async fn lead_events(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<Vec<StoredEvent>> {
        self.rows(
            "SELECT * FROM event WHERE org_id = $org AND ou_id = $ou AND lead_id = $lead ORDER BY occurred_at, id",
            json!({ "org": org_id, "ou": ou_id, "lead": lead_id }),
            0,
        )
        .await
    }

    pub async fn event(&self, org_id: &str, ou_id: &str, id: &str) -> Result<Option<StoredEvent>> {
        self.row(
            "SELECT * FROM type::record('event', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    pub async fn count_events(&self, org_id: &str, ou_id: &str) -> Result<u64> {
        self.count(
            "SELECT count() FROM event WHERE org_id = $org AND ou_id = $ou GROUP ALL",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    // ----- group commit -----

    /// Writes a batch in one transaction: new leads, aliases and events are inserted (a
    /// duplicate key fails the whole batch), score updates merged into their leads.
    /// Returns only after the transaction committed (fsync'd on SurrealKV).
    pub async fn commit(&self, batch: &WriteBatch) -> Result<()> {
        self.commit_all(&[batch]).await
    }

    /// Writes several callers' batches in one transaction (group commit), in order.
    pub async fn commit_all(&self, batches: &[&WriteBatch]) -> Result<()> {
        if batches.iter().all(|b| b.is_empty()) {
            return Ok(());
        }
        let rows = |pick: fn(&WriteBatch) -> &Vec<Value>| -> Vec<&Value> {
            batches.iter().flat_map(|b| pick(b)).collect()
        };
        let updates: Vec<Value> = batches
            .iter()
            .flat_map(|b| &b.score_updates)
            .map(|u| {
                let mut patch = Map::new();
                patch.insert("score".into(), json!(u.score));
                patch.insert("scores".into(), json!(u.scores));
                patch.insert("scored_at".into(), json!(u.scored_at));
                patch.insert("decaying".into(), json!(u.decaying));
                if let Some((at, event_type)) = &u.last_event {
                    patch.insert("last_event_at".into(), json!(at));
                    patch.insert("last_event_type".into(), json!(event_type));
                }
                if let Some(r) = &u.score_reset_at {
                    patch.insert("score_reset_at".into(), json!(r));
                }
                json!({ "key": lead_key(&u.ou_id, &u.lead_id), "patch": patch })
            })
            .collect();
        self.run(
            "BEGIN;
             IF array::len($leads) > 0 { INSERT INTO lead $leads; };
             IF array::len($aliases) > 0 { INSERT INTO lead_alias $aliases; };
             IF array::len($events) > 0 { INSERT INTO event $events; };
             FOR $u IN $updates { UPDATE type::record('lead', $u.key) MERGE $u.patch; };
             COMMIT;",
            json!({
                "leads": rows(|b| &b.leads),
                "aliases": rows(|b| &b.aliases),
                "events": rows(|b| &b.events),
                "updates": updates,
            }),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_models::events::AliasKind;
    use leadwire_models::scoring::ScoreDelta;

    fn lead(ou: &str, id: &str) -> Lead {
        Lead {
            id: id.into(),
            org_id: "org_1".into(),
            unit_id: ou.into(),
            account_id: None,
            owner_id: None,
            owner_name: None,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
            merged_into: None,
            metadata: Map::new(),
            score: 0.0,
            scores: BTreeMap::new(),
            last_event_at: None,
            last_event_type: None,
            score_reset_at: None,
        }
    }

    #[tokio::test]
    async fn a_group_commit_writes_leads_aliases_events_and_scores_together() {
        let store = Store::memory().await.unwrap();
        let email = Alias {
            alias_kind: AliasKind::Email,
            value: "alex@example.com".into(),
        };
        let mut deltas = BTreeMap::new();
        deltas.insert(
            "rs_1".to_string(),
            ScoreDelta {
                ruleset_id: "rs_1".into(),
                rule_id: Some("rl_1".into()),
                before: 0.0,
                after: 5.0,
                delta: 5.0,
                multiplier: 1.0,
            },
        );
        let event = StoredEvent {
            event_id: "ev_1".into(),
            org_id: "org_1".into(),
            unit_id: "ou_a".into(),
            lead_id: "ld_1".into(),
            event_type: "Page View".into(),
            occurred_at: "2026-01-01T00:00:00.000000Z".into(),
            received_at: "2026-01-01T00:00:00.000000Z".into(),
            channel: "web".into(),
            metadata: json!({"utm": {"campaign": "fall"}})
                .as_object()
                .unwrap()
                .clone(),
            deltas,
        };
        let batch = WriteBatch {
            leads: vec![lead_row(&lead("ou_a", "ld_1"))],
            aliases: vec![alias_row(
                "org_1",
                "ou_a",
                "ld_1",
                &email,
                "2026-01-01T00:00:00.000000Z",
            )],
            events: vec![event_row(&event)],
            score_updates: vec![ScoreUpdate {
                ou_id: "ou_a".into(),
                lead_id: "ld_1".into(),
                score: 5.0,
                scores: BTreeMap::from([("rs_1".to_string(), 5.0)]),
                scored_at: "2026-01-01T00:00:00.000000Z".into(),
                decaying: true,
                last_event: Some(("2026-01-01T00:00:00.000000Z".into(), "Page View".into())),
                score_reset_at: None,
            }],
        };
        store.commit(&batch).await.unwrap();

        let l = store.lead("org_1", "ou_a", "ld_1").await.unwrap().unwrap();
        assert_eq!(
            (l.id.as_str(), l.unit_id.as_str(), l.score),
            ("ld_1", "ou_a", 5.0)
        );
        assert_eq!(l.last_event_type.as_deref(), Some("Page View"));
        // the same lead id in another OU is another lead; another org sees nothing
        assert!(store.lead("org_1", "ou_b", "ld_1").await.unwrap().is_none());
        assert!(store.lead("org_2", "ou_a", "ld_1").await.unwrap().is_none());
        assert_eq!(
            store
                .leads_by_alias("ou_a", std::slice::from_ref(&email))
                .await
                .unwrap(),
            vec![(email.clone(), "ld_1".to_string())]
        );
        assert!(store
            .leads_by_alias("ou_b", std::slice::from_ref(&email))
            .await
            .unwrap()
            .is_empty());
        let events = store.lead_events("org_1", "ou_a", "ld_1").await.unwrap();
        assert_eq!(events, vec![event.clone()]);

        // a duplicate key fails the whole batch: nothing of it is written
        let dup = WriteBatch {
            leads: vec![lead_row(&lead("ou_a", "ld_2"))],
            events: vec![event_row(&event)],
            ..WriteBatch::default()
        };
        assert!(store.commit(&dup).await.is_err());
        assert!(store.lead("org_1", "ou_a", "ld_2").await.unwrap().is_none());
        assert_eq!(store.count_events("org_1", "ou_a").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn rulesets_keep_one_primary_and_rules_reorder_atomically() {
        let store = Store::memory().await.unwrap();
        let rs = |id: &str, primary: bool| Ruleset {
            ruleset_id: id.into(),
            name: format!("set {id}"),
            score_column: "total_score".into(),
            is_primary: primary,
            created_at: format!("2026-01-01T00:00:0{}.000000Z", id.len()),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
        };
        store
            .create_ruleset("org_1", "ou_a", &rs("rs_a", true))
            .await
            .unwrap();
        store
            .create_ruleset("org_1", "ou_a", &rs("rs_bb", true))
            .await
            .unwrap();
        let sets = store.rulesets("org_1", "ou_a").await.unwrap();
        let primaries: Vec<&str> = sets
            .iter()
            .filter(|s| s.is_primary)
            .map(|s| s.ruleset_id.as_str())
            .collect();
        assert_eq!(primaries, vec!["rs_bb"]);
        // names are unique per OU
        let mut same_name = rs("rs_ccc", false);
        same_name.name = "set rs_a".into();
        let dup = store.create_ruleset("org_1", "ou_a", &same_name).await;
        assert!(
            matches!(dup, Err(crate::StoreError::Duplicate(_))),
            "{dup:?}"
        );

        for (i, id) in ["rl_1", "rl_2", "rl_3"].iter().enumerate() {
            store
                .put_rule(&Rule {
                    rule_id: id.to_string(),
                    ruleset_id: "rs_a".into(),
                    org_id: "org_1".into(),
                    unit_id: "ou_a".into(),
                    event_type: "Demo".into(),
                    weight: 10,
                    half_life_days: Some(7),
                    icon: None,
                    active: true,
                    start_at: None,
                    end_at: None,
                    priority: i as u32,
                    created_at: "2026-01-01T00:00:00.000000Z".into(),
                    updated_at: "2026-01-01T00:00:00.000000Z".into(),
                    created_by: None,
                    updated_by: None,
                })
                .await
                .unwrap();
        }
        store
            .reorder_rules(
                "org_1",
                "ou_a",
                "rs_a",
                &["rl_3".into(), "rl_1".into(), "rl_2".into()],
            )
            .await
            .unwrap();
        let order: Vec<String> = store
            .rules("org_1", "ou_a", Some("rs_a"))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.rule_id)
            .collect();
        assert_eq!(order, vec!["rl_3", "rl_1", "rl_2"]);
        assert!(store.rule("org_1", "ou_b", "rl_1").await.unwrap().is_none());
        // deleting the ruleset takes its rules
        assert!(store.delete_ruleset("org_1", "ou_a", "rs_a").await.unwrap());
        assert!(store.rules("org_1", "ou_a", None).await.unwrap().is_empty());
        assert!(!store.delete_ruleset("org_1", "ou_a", "rs_a").await.unwrap());
    }
}
