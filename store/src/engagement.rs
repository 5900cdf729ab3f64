//! Engagement scoring: rulesets, rules, leads, aliases and events, and the group-commit
//! write of many leads' events and scores in one transaction.

use std::collections::BTreeMap;

use leadwire_models::events::{Alias, EventFilter, FilterLogic, StoredEvent};
use leadwire_models::import::ImportJob;
use leadwire_models::leads::{DeletionStatus, Lead, LeadAlias, LeadFilter};
use leadwire_models::rules::{Rule, Ruleset};
use leadwire_models::scoring::ScoreTerms;
use serde_json::{json, Map, Value};

use crate::db::content;
use crate::{Result, Store};

/// The OU's rulesets, oldest first.
pub(crate) const RULESETS_SQL: &str =
    "SELECT * FROM ruleset WHERE org_id = $org AND ou_id = $ou ORDER BY created_at";
/// The OU's rules by ruleset, in priority order.
pub(crate) const RULES_SQL: &str =
    "SELECT * FROM rule WHERE org_id = $org AND ou_id = $ou ORDER BY ruleset_id, priority, created_at";

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
    let mut row = json!({
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
        "system": e.system,
        "inorganic": e.inorganic,
    });
    if let Some(o) = row.as_object_mut() {
        if let Some(f) = &e.suppressed_by {
            o.insert("suppressed_by".into(), json!(f));
        }
        if let Some(k) = &e.idempotency_key {
            o.insert("idempotency_key".into(), json!(k));
        }
    }
    row
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
    /// The lead's newest event (time and type) when the change may have moved it: set by
    /// a new event, and by a rescore (`Some(None)` after the last one was deleted).
    pub last_event: Option<Option<(String, String)>>,
    pub score_reset_at: Option<String>,
    /// Each ruleset's score as a closed form of time from `scored_at` (the scheduler
    /// refreshes stored scores from these).
    pub terms: BTreeMap<String, ScoreTerms>,
    /// When the lead's actor must next be woken: its next inactivity deduction ("" = none).
    pub wake_at: String,
    /// Inactivity deductions up to this time are on the timeline.
    pub decay_logged_at: Option<String>,
    /// The engagement level of `score`.
    pub level: Option<leadwire_models::levels::LevelRef>,
    /// Profile scores and disqualification (none: profile scoring did not run).
    pub profile: Option<ProfileUpdate>,
}

/// A lead's profile scores and disqualification after a change.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct ProfileUpdate {
    /// The primary profile ruleset's score, and each profile ruleset's.
    pub score: f64,
    pub scores: BTreeMap<String, f64>,
    /// The primary account ruleset's score over the lead's account.
    pub account_score: f64,
    /// The profile and account levels of those scores.
    pub level: Option<leadwire_models::levels::LevelRef>,
    pub account_level: Option<leadwire_models::levels::LevelRef>,
    pub disqualification: Option<leadwire_models::profile::Disqualification>,
}

/// One lead's row (`$key`, `$org`), as [`Store::lead`] and [`Store::stored_lead`] read it.
const LEAD_ROW: &str = "SELECT * OMIT id FROM type::record('lead', $key) WHERE org_id = $org";

/// A lead row with its scores as last stored in closed form.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct StoredLead {
    #[serde(flatten)]
    pub lead: Lead,
    #[serde(default)]
    pub score_terms: BTreeMap<String, ScoreTerms>,
    pub scored_at: Option<String>,
}

impl StoredLead {
    /// The scores as stored, evaluated at `now` (half-life decay since they were stored
    /// applied; an inactivity deduction fallen due since is not in them).
    pub fn scores_at(&self, now: leadwire_models::time::Timestamp) -> BTreeMap<String, f64> {
        let anchor = self
            .scored_at
            .as_deref()
            .and_then(leadwire_models::time::parse);
        match anchor {
            Some(anchor) => leadwire_models::scoring::scores_after(
                &self.score_terms,
                leadwire_models::scoring::age_days(anchor, now),
            ),
            None => self.lead.scores.clone(),
        }
    }
}

/// A lead whose stored score decays, as the scheduler reads it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct DecayingLead {
    pub key: String,
    pub org_id: String,
    pub ou_id: String,
    pub lead_id: String,
    #[serde(default)]
    pub scores: BTreeMap<String, f64>,
    #[serde(default)]
    pub score_terms: BTreeMap<String, ScoreTerms>,
    pub scored_at: Option<String>,
    #[serde(default)]
    pub level: Option<leadwire_models::levels::LevelRef>,
}

/// Events and aliases of one lead handed to another (a merge).
#[derive(Debug, Clone, PartialEq)]
pub struct LeadMove {
    pub ou_id: String,
    pub from: String,
    pub to: String,
}

/// A lead to delete with its aliases and events, leaving a deletion record.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadDeletion {
    pub org_id: String,
    pub ou_id: String,
    pub lead_id: String,
    pub requested_at: String,
}

/// Everything one group commit writes, in one transaction, in this order: inserts
/// (leads, aliases, events, audit entries), moves, event deletions, lead deletions, lead patches, score
/// updates.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub leads: Vec<Value>,
    pub aliases: Vec<Value>,
    pub events: Vec<Value>,
    pub moves: Vec<LeadMove>,
    /// Event ids to delete.
    pub delete_events: Vec<String>,
    pub deletions: Vec<LeadDeletion>,
    /// `(lead key, fields to merge)`.
    pub patches: Vec<(String, Value)>,
    pub score_updates: Vec<ScoreUpdate>,
    /// One attribute-filter id per event it suppressed (its `suppressed_count` grows).
    pub suppressed: Vec<String>,
    /// Account metadata changed by account field mappings: merged into the account, and
    /// the account's other leads are woken to rescore under it.
    pub account_patches: Vec<AccountMetadataPatch>,
    /// Audit log rows (`audit::audit_row`).
    pub audit: Vec<Value>,
    /// `(org id, OU id)`: every lead of the OU is marked due for rescoring (a scoring
    /// config changed). Last in its transaction, after the score rows written before it.
    pub wake_ous: Vec<(String, String)>,
}

/// What a batch touches, for a writer that commits several batches at once: batches
/// whose footprints are disjoint may commit concurrently; an exclusive one commits alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Footprint {
    /// Only rows of these leads (lead keys, alias keys) and rows no other batch writes
    /// (new events and audit entries have fresh ids).
    Keys(Vec<String>),
    /// Moves, deletions or account-wide changes: rows other batches may write.
    Exclusive,
}

/// Keys to merge into an account's metadata, from a lead's event.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountMetadataPatch {
    pub ou_id: String,
    pub account_id: String,
    /// The lead whose event carried the values (already rescored).
    pub lead_id: String,
    pub metadata: Value,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
            && self.aliases.is_empty()
            && self.events.is_empty()
            && self.moves.is_empty()
            && self.delete_events.is_empty()
            && self.deletions.is_empty()
            && self.patches.is_empty()
            && self.score_updates.is_empty()
            && self.suppressed.is_empty()
            && self.account_patches.is_empty()
            && self.wake_ous.is_empty()
            && self.audit.is_empty()
    }

    /// The rows this batch writes that another batch could also write.
    pub fn footprint(&self) -> Footprint {
        if !self.moves.is_empty()
            || !self.delete_events.is_empty()
            || !self.deletions.is_empty()
            || !self.account_patches.is_empty()
            || !self.wake_ous.is_empty()
        {
            return Footprint::Exclusive;
        }
        let field =
            |row: &Value, name: &str| row.get(name).and_then(Value::as_str).map(str::to_string);
        let of_lead = |row: &Value| Some(lead_key(&field(row, "ou_id")?, &field(row, "lead_id")?));
        let mut keys = Vec::new();
        for row in &self.leads {
            keys.push(field(row, "id"));
        }
        for row in &self.aliases {
            keys.push(of_lead(row));
            keys.push(field(row, "id").map(|k| format!("alias:{k}")));
        }
        for row in &self.events {
            keys.push(of_lead(row));
        }
        keys.extend(self.patches.iter().map(|(key, _)| Some(key.clone())));
        // a filter's suppressed count is one row many leads' writes add to
        keys.extend(
            self.suppressed
                .iter()
                .map(|id| Some(format!("filter:{id}"))),
        );
        keys.extend(
            self.score_updates
                .iter()
                .map(|u| Some(lead_key(&u.ou_id, &u.lead_id))),
        );
        // a row without the fields that say whose it is could be anyone's
        match keys.into_iter().collect::<Option<Vec<String>>>() {
            Some(mut keys) => {
                keys.sort_unstable();
                keys.dedup();
                Footprint::Keys(keys)
            }
            None => Footprint::Exclusive,
        }
    }

    /// Appends another batch (group commit merges many callers' batches).
    pub fn extend(&mut self, other: WriteBatch) {
        self.leads.extend(other.leads);
        self.aliases.extend(other.aliases);
        self.events.extend(other.events);
        self.moves.extend(other.moves);
        self.delete_events.extend(other.delete_events);
        self.deletions.extend(other.deletions);
        self.patches.extend(other.patches);
        self.score_updates.extend(other.score_updates);
        self.suppressed.extend(other.suppressed);
        self.account_patches.extend(other.account_patches);
        self.audit.extend(other.audit);
        self.wake_ous.extend(other.wake_ous);
    }
}

/// The WHERE clause and variables of a lead list filter (shared by page and count).
fn lead_filter_clause(org_id: &str, ou_id: &str, f: &LeadFilter) -> (String, Map<String, Value>) {
    let mut w = vec!["org_id = $org", "ou_id = $ou", "merged_into = NONE"];
    let mut v = Map::new();
    v.insert("org".into(), json!(org_id));
    v.insert("ou".into(), json!(ou_id));
    if let Some((from, to)) = f.created {
        w.push("created_at >= $created_from AND created_at < $created_to");
        v.insert(
            "created_from".into(),
            json!(leadwire_models::time::format(&from)),
        );
        v.insert(
            "created_to".into(),
            json!(leadwire_models::time::format(&to)),
        );
    }
    if let Some(m) = f.min_score {
        w.push("score >= $min_score");
        v.insert("min_score".into(), json!(m));
    }
    if let Some(m) = f.max_score {
        w.push("score <= $max_score");
        v.insert("max_score".into(), json!(m));
    }
    if let Some(t) = &f.event_type {
        w.push("last_event_type = $event_type");
        v.insert("event_type".into(), json!(t));
    }
    if let Some(since) = f.active_since {
        w.push("last_event_at >= $active_since");
        v.insert(
            "active_since".into(),
            json!(leadwire_models::time::format(&since)),
        );
    }
    if !f.include_disqualified {
        w.push("disqualified = false");
    }
    if let Some(q) = &f.search {
        w.push("(string::starts_with(string::lowercase(lead_id), $q) OR lead_id IN (SELECT VALUE lead_id FROM lead_alias WHERE ou_id = $ou AND string::contains(string::lowercase(value), $q)))");
        v.insert("q".into(), json!(q));
    }
    let levels = [
        (
            "string::lowercase(level.name ?? '') = $engagement_level",
            "engagement_level",
            &f.levels.engagement,
        ),
        (
            "string::lowercase(profile_level.name ?? '') = $profile_level",
            "profile_level",
            &f.levels.profile,
        ),
        (
            "string::lowercase(account_level.name ?? '') = $account_level",
            "account_level",
            &f.levels.account,
        ),
    ];
    for (clause, var, name) in levels {
        if let Some(name) = name {
            w.push(clause);
            v.insert(var.into(), json!(name));
        }
    }
    (w.join(" AND "), v)
}

/// The stored fields of a lead as the API shows them.
pub(crate) const LEAD_FIELDS: &str = "lead_id, org_id, ou_id, account_id, owner_id, owner_name, created_at, updated_at, merged_into, metadata, score, scores, last_event_at, last_event_type, score_reset_at, level, profile_score, profile_scores, disqualified, disqualification, account_score, profile_level, account_level";

impl Store {
    // ----- rulesets -----

    pub async fn rulesets(&self, org_id: &str, ou_id: &str) -> Result<Vec<Ruleset>> {
        self.rows(RULESETS_SQL, json!({ "org": org_id, "ou": ou_id }), 0)
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

    /// Updates a ruleset's name, score column and primary flag (a primary one takes the
    /// flag from the OU's others).
    pub async fn update_ruleset(&self, org_id: &str, ou_id: &str, rs: &Ruleset) -> Result<()> {
        self.run(
            "BEGIN;
             IF $primary { UPDATE ruleset SET is_primary = false WHERE org_id = $org AND ou_id = $ou AND is_primary = true; };
             UPDATE type::record('ruleset', $id) SET name = $name, score_column = $column, is_primary = $primary, updated_at = $at WHERE org_id = $org AND ou_id = $ou;
             COMMIT;",
            json!({ "id": rs.ruleset_id, "org": org_id, "ou": ou_id, "primary": rs.is_primary,
                    "name": rs.name, "column": rs.score_column, "at": rs.updated_at }),
        )
        .await?;
        Ok(())
    }

    /// Deletes a ruleset of the OU and its rules; returns whether it existed there. When
    /// it was the primary one, the OU's oldest remaining ruleset becomes primary.
    pub async fn delete_ruleset(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        let mut res = self
            .run(
                "BEGIN;
                 LET $gone = DELETE type::record('ruleset', $id) WHERE org_id = $org AND ou_id = $ou RETURN BEFORE;
                 IF array::len($gone) > 0 {
                     DELETE rule WHERE org_id = $org AND ou_id = $ou AND ruleset_id = $id;
                     IF $gone[0].is_primary {
                         LET $next = (SELECT id, created_at FROM ruleset WHERE org_id = $org AND ou_id = $ou ORDER BY created_at, id LIMIT 1);
                         IF array::len($next) > 0 { UPDATE $next[0].id SET is_primary = true, updated_at = $now; };
                     };
                 };
                 RETURN array::len($gone);
                 COMMIT;",
                json!({ "id": id, "org": org_id, "ou": ou_id,
                        "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
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
            RULES_SQL
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
        self.delete_owned("rule", org_id, ou_id, id).await
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
            LEAD_ROW,
            json!({ "key": lead_key(ou_id, lead_id), "org": org_id }),
            0,
        )
        .await
    }

    /// A lead with its scores as last stored in closed form, for its actor when woken:
    /// what those give now is what listeners were last told.
    pub async fn stored_lead(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<Option<StoredLead>> {
        self.row(
            LEAD_ROW,
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
                "SELECT alias_kind, value, lead_id FROM $keys.map(|$k| type::record('lead_alias', $k))",
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

    /// A page of the OU's leads (merged ones excluded) and the total matching.
    pub async fn list_leads(
        &self,
        org_id: &str,
        ou_id: &str,
        f: &LeadFilter,
    ) -> Result<(Vec<Lead>, u64)> {
        let (clause, mut vars) = lead_filter_clause(org_id, ou_id, f);
        vars.insert("limit".into(), json!(f.page.limit));
        vars.insert("start".into(), json!(f.page.offset()));
        let dir = if f.descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {LEAD_FIELDS} FROM lead WHERE {clause} ORDER BY {col} {dir}, lead_id ASC LIMIT $limit START $start;
             SELECT count() FROM lead WHERE {clause} GROUP ALL;",
            col = f.sort_by.column()
        );
        let mut res = self.run(&sql, Value::Object(vars)).await?;
        let leads: Vec<Lead> = crate::db::take_rows(&mut res, 0)?;
        let total: Option<Value> = res.take(1)?;
        let total = total
            .and_then(|v| v.get("count").and_then(Value::as_u64))
            .unwrap_or(0);
        Ok((leads, total))
    }

    /// Up to `limit` leads whose id starts with `q` or one of whose aliases contains it
    /// (`q` lower-cased), best scores first.
    pub async fn search_leads(
        &self,
        org_id: &str,
        ou_id: &str,
        q: &str,
        limit: u32,
    ) -> Result<Vec<Lead>> {
        self.rows(
            &format!(
                "SELECT {LEAD_FIELDS} FROM lead WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE
                 AND (string::starts_with(string::lowercase(lead_id), $q)
                      OR lead_id IN (SELECT VALUE lead_id FROM lead_alias WHERE ou_id = $ou AND string::contains(string::lowercase(value), $q)))
                 ORDER BY score DESC, lead_id ASC LIMIT $limit"
            ),
            json!({ "org": org_id, "ou": ou_id, "q": q, "limit": limit }),
            0,
        )
        .await
    }

    /// The ids of the OU's leads that were not merged away.
    pub async fn lead_ids(&self, org_id: &str, ou_id: &str) -> Result<Vec<String>> {
        self.rows(
            "SELECT VALUE lead_id FROM lead WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE ORDER BY lead_id",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Leads of the OU by id (absent ids are simply missing), in one query.
    pub async fn leads_by_ids(
        &self,
        org_id: &str,
        ou_id: &str,
        ids: &[String],
    ) -> Result<Vec<Lead>> {
        let keys: Vec<String> = ids.iter().map(|id| lead_key(ou_id, id)).collect();
        self.rows(
            &format!(
                "SELECT {LEAD_FIELDS} FROM $keys.map(|$k| type::record('lead', $k)) WHERE org_id = $org"
            ),
            json!({ "keys": keys, "org": org_id }),
            0,
        )
        .await
    }

    /// Replaces a lead's metadata (and its account when `account` is `Some`); the lead
    /// after the change, `None` when the OU has no such (unmerged) lead.
    pub async fn replace_lead_metadata(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        metadata: &Map<String, Value>,
        account: Option<Option<&str>>,
    ) -> Result<Option<Lead>> {
        self.row(
            &format!(
                "UPDATE type::record('lead', $key) SET metadata = $m, updated_at = $now,
                     account_id = IF $set_account THEN ($account ?? NONE) ELSE account_id END
                 WHERE org_id = $org AND merged_into = NONE RETURN {LEAD_FIELDS}"
            ),
            json!({
                "key": lead_key(ou_id, lead_id), "org": org_id, "m": metadata,
                "set_account": account.is_some(), "account": account.flatten(),
                "now": leadwire_models::time::format(&leadwire_models::time::now()),
            }),
            0,
        )
        .await
    }

    /// Merges `patch` into a lead's metadata (a `null` value removes the key) and links
    /// an account when given; the lead after the change, `None` when there is no such
    /// (unmerged) lead in the OU.
    pub async fn patch_lead_metadata(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        patch: &Map<String, Value>,
        account_id: Option<&str>,
    ) -> Result<Option<Lead>> {
        let (set, remove): (Map<String, Value>, Vec<String>) = {
            let mut set = Map::new();
            let mut remove = Vec::new();
            for (k, v) in patch {
                if v.is_null() {
                    remove.push(k.clone());
                } else {
                    set.insert(k.clone(), v.clone());
                }
            }
            (set, remove)
        };
        self.row(
            &format!(
                "UPDATE type::record('lead', $key)
                 SET metadata = object::from_entries(object::entries(object::extend(metadata, $set)).filter(|$e| $e[0] NOTINSIDE $remove)),
                     updated_at = $now,
                     account_id = IF $account != NONE AND $account != NULL THEN $account ELSE account_id END
                 WHERE org_id = $org AND merged_into = NONE RETURN {LEAD_FIELDS}"
            ),
            json!({
                "key": lead_key(ou_id, lead_id), "org": org_id, "set": set, "remove": remove,
                "account": account_id,
                "now": leadwire_models::time::format(&leadwire_models::time::now()),
            }),
            0,
        )
        .await
    }

    /// Sets (or clears) the owner of the listed leads of the OU; how many were changed.
    pub async fn set_owner(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_ids: &[String],
        owner_id: Option<&str>,
        owner_name: Option<&str>,
    ) -> Result<u64> {
        let keys: Vec<String> = lead_ids.iter().map(|id| lead_key(ou_id, id)).collect();
        let rows: Vec<Value> = self
            .rows(
                "UPDATE $keys.map(|$k| type::record('lead', $k)) SET owner_id = $owner ?? NONE, owner_name = $name ?? NONE, updated_at = $now
                 WHERE org_id = $org AND merged_into = NONE
                 RETURN lead_id",
                json!({
                    "keys": keys, "org": org_id, "owner": owner_id, "name": owner_name,
                    "now": leadwire_models::time::format(&leadwire_models::time::now()),
                }),
                0,
            )
            .await?;
        Ok(rows.len() as u64)
    }

    /// A lead's aliases with when each was first seen.
    pub async fn lead_aliases(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<Vec<LeadAlias>> {
        self.rows(
            "SELECT alias_kind, value, created_at FROM lead_alias WHERE org_id = $org AND ou_id = $ou AND lead_id = $lead ORDER BY created_at, alias_kind, value",
            json!({ "org": org_id, "ou": ou_id, "lead": lead_id }),
            0,
        )
        .await
    }

    /// The aliases of many leads of the OU in one query, as (lead id, alias) pairs in
    /// each lead's first-seen order.
    pub async fn aliases_of_leads(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_ids: &[String],
    ) -> Result<Vec<(String, LeadAlias)>> {
        #[derive(serde::Deserialize)]
        struct Row {
            lead_id: String,
            #[serde(flatten)]
            alias: LeadAlias,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT lead_id, alias_kind, value, created_at FROM lead_alias WHERE org_id = $org AND ou_id = $ou AND lead_id IN $leads ORDER BY lead_id, created_at, alias_kind, value",
                json!({ "org": org_id, "ou": ou_id, "leads": lead_ids }),
                0,
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.lead_id, r.alias)).collect())
    }

    /// The deletion record of a lead, if it was deleted.
    pub async fn deletion_status(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<Option<DeletionStatus>> {
        self.row(
            "SELECT lead_id, status, requested_at, completed_at, deleted_events, deleted_aliases FROM type::record('lead_deletion', $key) WHERE org_id = $org",
            json!({ "key": lead_key(ou_id, lead_id), "org": org_id }),
            0,
        )
        .await
    }

    /// Leads whose scores decay, in pages after `after` (a lead record key), for the
    /// scheduler: `(org, ou, lead, scores, terms, scored_at)`.
    pub async fn decaying_leads(&self, after: &str, limit: u32) -> Result<Vec<DecayingLead>> {
        self.rows(
            "SELECT meta::id(id) AS key, org_id, ou_id, lead_id, scores, score_terms, scored_at, level FROM lead
             WHERE decaying = true AND merged_into = NONE AND meta::id(id) > $after
             ORDER BY key LIMIT $limit",
            json!({ "after": after, "limit": limit }),
            0,
        )
        .await
    }

    /// Leads due to be woken at `now` (an inactivity deduction fell due, or their OU's
    /// config changed), as `(org, ou, lead)`.
    pub async fn due_leads(&self, now: &str, limit: u32) -> Result<Vec<(String, String, String)>> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT org_id, ou_id, lead_id FROM lead
                 WHERE wake_at > '' AND wake_at <= $now AND merged_into = NONE LIMIT $limit",
                json!({ "now": now, "limit": limit }),
                0,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
                Some((s("org_id")?, s("ou_id")?, s("lead_id")?))
            })
            .collect())
    }

    /// Marks one lead (by record key) to be woken now.
    pub async fn wake(&self, key: &str) -> Result<()> {
        self.run(
            "UPDATE type::record('lead', $key) SET wake_at = $now",
            json!({ "key": key, "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
        )
        .await?;
        Ok(())
    }

    /// Stores refreshed scores of a lead unless a newer score was written meanwhile
    /// (`scored_at` changed); whether it was stored.
    pub async fn refresh_scores(
        &self,
        key: &str,
        scored_at: &str,
        score: f64,
        scores: &BTreeMap<String, f64>,
        decaying: bool,
    ) -> Result<bool> {
        let rows: Vec<Value> = self
            .rows(
                "UPDATE type::record('lead', $key) SET score = $score, scores = $scores, decaying = $decaying
                 WHERE scored_at = $scored_at RETURN lead_id",
                json!({ "key": key, "scored_at": scored_at, "score": score, "scores": scores, "decaying": decaying }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
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

    /// A page of the OU's events, newest first, by the list filters.
    pub async fn list_events(
        &self,
        org_id: &str,
        ou_id: &str,
        f: &EventFilter,
    ) -> Result<Vec<StoredEvent>> {
        let mut w = vec!["org_id = $org".to_string(), "ou_id = $ou".to_string()];
        let mut v = Map::new();
        v.insert("org".into(), json!(org_id));
        v.insert("ou".into(), json!(ou_id));
        if let Some(l) = &f.lead_id {
            w.push("lead_id = $lead".into());
            v.insert("lead".into(), json!(l));
        }
        if let Some(t) = &f.event_type {
            w.push("event_type = $event_type".into());
            v.insert("event_type".into(), json!(t));
        }
        if !f.metadata.is_empty() {
            let parts: Vec<String> = f
                .metadata
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    v.insert(format!("mk{i}"), json!(m.key));
                    v.insert(format!("mv{i}"), json!(m.values));
                    format!("metadata[$mk{i}] IN $mv{i}")
                })
                .collect();
            let joiner = match f.logic {
                FilterLogic::And => " AND ",
                FilterLogic::Or => " OR ",
            };
            w.push(format!("({})", parts.join(joiner)));
        }
        v.insert("limit".into(), json!(f.page.limit));
        v.insert("start".into(), json!(f.page.offset()));
        self.rows(
            &format!(
                "SELECT * FROM event WHERE {} ORDER BY occurred_at DESC, id DESC LIMIT $limit START $start",
                w.join(" AND ")
            ),
            Value::Object(v),
            0,
        )
        .await
    }

    /// Every event of many leads of the OU, in time order, in one query.
    pub async fn events_of_leads(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_ids: &[String],
    ) -> Result<Vec<StoredEvent>> {
        self.rows(
            "SELECT * FROM event WHERE org_id = $org AND ou_id = $ou AND lead_id IN $leads ORDER BY occurred_at, id",
            json!({ "org": org_id, "ou": ou_id, "leads": lead_ids }),
            0,
        )
        .await
    }

    /// Stores a share link under the hash of its token.
    pub async fn create_share_link(
        &self,
        token_hash: &str,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
        created_by: &str,
        expires_at: &str,
    ) -> Result<()> {
        self.run(
            "CREATE type::record('share_link', $key) CONTENT { org_id: $org, ou_id: $ou, lead_id: $lead, created_by: $by, created_at: $now, expires_at: $exp }",
            json!({
                "key": token_hash, "org": org_id, "ou": ou_id, "lead": lead_id, "by": created_by,
                "exp": expires_at, "now": leadwire_models::time::format(&leadwire_models::time::now()),
            }),
        )
        .await?;
        Ok(())
    }

    /// A share link by the hash of its token: `(org, ou, lead, expires_at)`.
    pub async fn share_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, String, String, String)>> {
        let row: Option<Value> = self
            .row(
                "SELECT org_id, ou_id, lead_id, expires_at FROM type::record('share_link', $key)",
                json!({ "key": token_hash }),
                0,
            )
            .await?;
        Ok(row.and_then(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            Some((s("org_id")?, s("ou_id")?, s("lead_id")?, s("expires_at")?))
        }))
    }

    /// Events of the OU by id (absent ids are simply missing).
    pub async fn events_by_ids(
        &self,
        org_id: &str,
        ou_id: &str,
        ids: &[String],
    ) -> Result<Vec<StoredEvent>> {
        // no event has an empty id (nor can the database form one)
        let ids: Vec<&String> = ids.iter().filter(|id| !id.is_empty()).collect();
        self.rows(
            "SELECT * FROM $ids.map(|$k| type::record('event', $k)) WHERE org_id = $org AND ou_id = $ou",
            json!({ "ids": ids, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// The distinct event types of the OU's events and rules (server entries excluded).
    pub async fn event_types(&self, org_id: &str, ou_id: &str) -> Result<Vec<String>> {
        let mut res = self
            .run(
                "SELECT event_type FROM event WHERE org_id = $org AND ou_id = $ou AND system = false GROUP BY event_type;
                 SELECT event_type FROM rule WHERE org_id = $org AND ou_id = $ou GROUP BY event_type;",
                json!({ "org": org_id, "ou": ou_id }),
            )
            .await?;
        let events: Vec<Value> = res.take(0)?;
        let rules: Vec<Value> = res.take(1)?;
        let mut types: Vec<String> = events
            .iter()
            .chain(&rules)
            .filter_map(|r| r.get("event_type")?.as_str().map(str::to_string))
            .collect();
        types.sort();
        types.dedup();
        Ok(types)
    }

    /// The metadata keys seen on the newest `sample` events of a type.
    pub async fn event_properties(
        &self,
        org_id: &str,
        ou_id: &str,
        event_type: &str,
        sample: u32,
    ) -> Result<Vec<String>> {
        let keys: Vec<Vec<String>> = self
            .rows(
                "SELECT VALUE object::keys(metadata) FROM event WHERE org_id = $org AND ou_id = $ou AND event_type = $t ORDER BY occurred_at DESC LIMIT $n",
                json!({ "org": org_id, "ou": ou_id, "t": event_type, "n": sample }),
                0,
            )
            .await?;
        let mut keys: Vec<String> = keys.into_iter().flatten().collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// The distinct channels of the OU's events.
    pub async fn channels(&self, org_id: &str, ou_id: &str) -> Result<Vec<String>> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT channel FROM event WHERE org_id = $org AND ou_id = $ou GROUP BY channel",
                json!({ "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        let mut c: Vec<String> = rows
            .iter()
            .filter_map(|r| r.get("channel")?.as_str().map(str::to_string))
            .collect();
        c.sort();
        Ok(c)
    }

    /// Creates or replaces an import job's record.
    pub async fn put_import_job(&self, org_id: &str, ou_id: &str, job: &ImportJob) -> Result<()> {
        let c = crate::db::ou_content(job, org_id, ou_id)?;
        self.run(
            "UPSERT type::record('import_job', $id) CONTENT $c",
            json!({ "id": job.job_id, "c": c }),
        )
        .await?;
        Ok(())
    }

    pub async fn import_job(
        &self,
        org_id: &str,
        ou_id: &str,
        id: &str,
    ) -> Result<Option<ImportJob>> {
        self.row(
            "SELECT * OMIT id FROM type::record('import_job', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Marks jobs left running by a stopped server as interrupted; how many.
    pub async fn interrupt_import_jobs(&self) -> Result<u64> {
        let rows: Vec<Value> = self
            .rows(
                "UPDATE import_job SET status = 'interrupted', finished_at = $now WHERE status = 'running' RETURN job_id",
                json!({ "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
                0,
            )
            .await?;
        Ok(rows.len() as u64)
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
        let moves: Vec<Value> = batches
            .iter()
            .flat_map(|b| &b.moves)
            .map(|m| json!({ "ou": m.ou_id, "from": m.from, "to": m.to }))
            .collect();
        let delete_events: Vec<&String> = batches.iter().flat_map(|b| &b.delete_events).collect();
        let deletions: Vec<Value> = batches
            .iter()
            .flat_map(|b| &b.deletions)
            .map(|d| {
                json!({
                    "key": lead_key(&d.ou_id, &d.lead_id),
                    "org": d.org_id,
                    "ou": d.ou_id,
                    "lead": d.lead_id,
                    "at": d.requested_at,
                })
            })
            .collect();
        let patches: Vec<Value> = batches
            .iter()
            .flat_map(|b| &b.patches)
            .map(|(key, patch)| json!({ "key": key, "patch": patch }))
            .collect();
        // One MERGE per lead however many of its score updates the commit carries; a lead
        // created in this commit is inserted with its scores (same rows as INSERT then
        // MERGE, unless a move, deletion or patch could come between them).
        let mut updates = coalesce_score_updates(batches.iter().flat_map(|b| &b.score_updates));
        let mut leads: Vec<Value> = rows(|b| &b.leads).into_iter().cloned().collect();
        if moves.is_empty() && deletions.is_empty() && patches.is_empty() {
            for row in &mut leads {
                let key = row.get("id").and_then(Value::as_str).map(str::to_string);
                if let Some(patch) = key.and_then(|k| updates.remove(&k)) {
                    merge_into(row, patch);
                }
            }
        }
        let mut suppressed: BTreeMap<&str, u64> = BTreeMap::new();
        for f in batches.iter().flat_map(|b| &b.suppressed) {
            *suppressed.entry(f).or_default() += 1;
        }
        let suppressed: Vec<Value> = suppressed
            .into_iter()
            .map(|(id, n)| json!({ "id": id, "n": n }))
            .collect();
        let accounts: Vec<Value> = batches
            .iter()
            .flat_map(|b| &b.account_patches)
            .map(|a| json!({ "ou": a.ou_id, "id": a.account_id, "lead": a.lead_id, "metadata": a.metadata }))
            .collect();
        // Only the statements this commit needs: the query is parsed on every commit, and
        // a small commit (one event) would otherwise spend most of its time parsing and
        // stepping over empty parts.
        let mut q = Query::default();
        let owned = |v: Vec<&Value>| v.into_iter().cloned().collect::<Vec<Value>>();
        q.part(leads, "leads", "INSERT INTO lead $leads RETURN NONE;");
        q.part(
            owned(rows(|b| &b.aliases)),
            "aliases",
            "INSERT INTO lead_alias $aliases RETURN NONE;",
        );
        q.part(
            owned(rows(|b| &b.events)),
            "events",
            "INSERT INTO event $events RETURN NONE;",
        );
        q.part(
            owned(rows(|b| &b.audit)),
            "audit",
            "INSERT INTO audit_log $audit RETURN NONE;",
        );
        q.part(
            moves,
            "moves",
            "FOR $m IN $moves {
                 UPDATE event SET lead_id = $m.to WHERE ou_id = $m.ou AND lead_id = $m.from;
                 UPDATE lead_alias SET lead_id = $m.to WHERE ou_id = $m.ou AND lead_id = $m.from;
                 UPDATE deal SET lead_id = $m.to WHERE ou_id = $m.ou AND lead_id = $m.from;
                 UPDATE routing_assignment SET lead_id = $m.to
                     WHERE ou_id = $m.ou AND lead_id = $m.from AND outcome = 'pending';
             };",
        );
        q.part(
            delete_events.into_iter().map(|k| json!(k)).collect(),
            "delete_events",
            "DELETE $delete_events.map(|$k| type::record('event', $k));",
        );
        q.part(
            deletions,
            "deletions",
            "FOR $d IN $deletions {
                 LET $ne = (SELECT count() FROM event WHERE ou_id = $d.ou AND lead_id = $d.lead GROUP ALL)[0].count ?? 0;
                 LET $na = (SELECT count() FROM lead_alias WHERE ou_id = $d.ou AND lead_id = $d.lead GROUP ALL)[0].count ?? 0;
                 DELETE event WHERE ou_id = $d.ou AND lead_id = $d.lead;
                 DELETE lead_alias WHERE ou_id = $d.ou AND lead_id = $d.lead;
                 DELETE routing_assignment WHERE ou_id = $d.ou AND lead_id = $d.lead;
                 DELETE prediction WHERE ou_id = $d.ou AND lead_id = $d.lead;
                 UPDATE deal SET lead_id = NONE WHERE ou_id = $d.ou AND lead_id = $d.lead;
                 DELETE type::record('lead', $d.key);
                 UPSERT type::record('lead_deletion', $d.key) CONTENT {
                     org_id: $d.org, ou_id: $d.ou, lead_id: $d.lead, status: 'completed',
                     requested_at: $d.at, completed_at: $now,
                     deleted_events: $ne, deleted_aliases: $na
                 };
             };",
        );
        q.part(
            patches,
            "patches",
            "FOR $p IN $patches { UPDATE type::record('lead', $p.key) MERGE $p.patch; };",
        );
        // one top-level statement per lead: a FOR loop runs its body as a block per
        // iteration, which costs more than parsing the statements (measured: 1,000 score
        // MERGEs per transaction, 174 → 163 µs per row)
        for (i, (key, patch)) in updates.into_iter().enumerate() {
            q.sql.push_str(&format!(
                "UPDATE type::record('lead', $uk{i}) MERGE $up{i} RETURN NONE;\n"
            ));
            q.vars.insert(format!("uk{i}"), Value::String(key));
            q.vars.insert(format!("up{i}"), patch);
        }
        q.part(
            suppressed,
            "suppressed",
            "FOR $s IN $suppressed {
                 UPDATE type::record('metadata_filter', $s.id) SET suppressed_count += $s.n;
             };",
        );
        q.part(
            accounts,
            "accounts",
            "FOR $a IN $accounts {
                 UPDATE type::record('account', $a.id) MERGE { metadata: $a.metadata, updated_at: $now };
                 UPDATE lead SET wake_at = $now WHERE ou_id = $a.ou AND account_id = $a.id AND lead_id != $a.lead;
             };",
        );
        q.part(
            batches
                .iter()
                .flat_map(|b| &b.wake_ous)
                .map(|(org, ou)| json!({ "org": org, "ou": ou }))
                .collect(),
            "wakes",
            "FOR $w IN $wakes {
                 UPDATE lead SET wake_at = $now WHERE org_id = $w.org AND ou_id = $w.ou AND merged_into = NONE;
             };",
        );
        let Query { mut sql, mut vars } = q;
        sql.push_str("COMMIT;");
        if ["deletions", "accounts", "wakes"]
            .iter()
            .any(|k| vars.contains_key(*k))
        {
            vars.insert(
                "now".into(),
                json!(leadwire_models::time::format(&leadwire_models::time::now())),
            );
        }
        self.run(&sql, Value::Object(vars)).await?;
        Ok(())
    }
}

/// A group commit's transaction as it is built: its statements and their bound rows.
struct Query {
    sql: String,
    vars: Map<String, Value>,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            sql: String::from("BEGIN;\n"),
            vars: Map::new(),
        }
    }
}

impl Query {
    /// Adds `statement`, with `rows` bound as `$name`, unless there are no rows.
    fn part(&mut self, rows: Vec<Value>, name: &str, statement: &str) {
        if !rows.is_empty() {
            self.sql.push_str(statement);
            self.sql.push('\n');
            self.vars.insert(name.to_string(), Value::Array(rows));
        }
    }
}

/// The MERGE patch of one score update.
fn score_patch(u: &ScoreUpdate) -> Value {
    let mut patch = Map::new();
    patch.insert("score".into(), json!(u.score));
    patch.insert("scores".into(), json!(u.scores));
    patch.insert("scored_at".into(), json!(u.scored_at));
    patch.insert("decaying".into(), json!(u.decaying));
    match &u.last_event {
        Some(Some((at, event_type))) => {
            patch.insert("last_event_at".into(), json!(at));
            patch.insert("last_event_type".into(), json!(event_type));
        }
        Some(None) => {
            patch.insert("last_event_at".into(), Value::Null);
            patch.insert("last_event_type".into(), Value::Null);
        }
        None => {}
    }
    if let Some(r) = &u.score_reset_at {
        patch.insert("score_reset_at".into(), json!(r));
    }
    patch.insert("score_terms".into(), json!(u.terms));
    patch.insert("wake_at".into(), json!(u.wake_at));
    patch.insert("level".into(), json!(u.level));
    if let Some(p) = &u.profile {
        patch.insert("profile_score".into(), json!(p.score));
        patch.insert("profile_scores".into(), json!(p.scores));
        patch.insert("disqualified".into(), json!(p.disqualification.is_some()));
        patch.insert("disqualification".into(), json!(p.disqualification));
        patch.insert("account_score".into(), json!(p.account_score));
        patch.insert("profile_level".into(), json!(p.level));
        patch.insert("account_level".into(), json!(p.account_level));
    }
    if let Some(l) = &u.decay_logged_at {
        patch.insert("decay_logged_at".into(), json!(l));
    }
    Value::Object(patch)
}

/// Score updates as one patch per lead key, merged in order: the same fields as running
/// each update's MERGE one after the other.
fn coalesce_score_updates<'a>(
    updates: impl Iterator<Item = &'a ScoreUpdate>,
) -> BTreeMap<String, Value> {
    let mut by_key: BTreeMap<String, Value> = BTreeMap::new();
    for u in updates {
        let patch = score_patch(u);
        match by_key.entry(lead_key(&u.ou_id, &u.lead_id)) {
            std::collections::btree_map::Entry::Occupied(mut e) => merge_into(e.get_mut(), patch),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(patch);
            }
        }
    }
    by_key
}

/// SurrealQL's `MERGE` on JSON: objects merge field by field, recursively; anything else
/// (arrays included) is replaced.
fn merge_into(target: &mut Value, patch: Value) {
    let (Some(t), Value::Object(p)) = (target.as_object_mut(), patch) else {
        return;
    };
    for (k, v) in p {
        match t.get_mut(&k) {
            Some(old) if old.is_object() && v.is_object() => merge_into(old, v),
            _ => {
                t.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwire_models::events::AliasKind;
    use leadwire_models::scoring::ScoreDelta;

    fn lead(ou: &str, id: &str) -> Lead {
        Lead::new("org_1", ou, id, "2026-01-01T00:00:00.000000Z")
    }

    /// A memory store holding one new lead.
    async fn store_with_lead(ou: &str, id: &str) -> Store {
        let store = Store::memory().await.unwrap();
        store
            .commit(&WriteBatch {
                leads: vec![lead_row(&lead(ou, id))],
                ..WriteBatch::default()
            })
            .await
            .unwrap();
        store
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
            system: false,
            suppressed_by: None,
            inorganic: false,
            deltas,
            idempotency_key: Some("retry-1".into()),
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
                last_event: Some(Some((
                    "2026-01-01T00:00:00.000000Z".into(),
                    "Page View".into(),
                ))),
                score_reset_at: None,
                terms: BTreeMap::new(),
                wake_at: String::new(),
                decay_logged_at: None,
                level: None,
                profile: None,
            }],
            ..WriteBatch::default()
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

    fn update(lead: &str, score: f64, rs: &str, last_event: Option<&str>) -> ScoreUpdate {
        ScoreUpdate {
            ou_id: "ou_a".into(),
            lead_id: lead.into(),
            score,
            scores: BTreeMap::from([(rs.to_string(), score)]),
            scored_at: "2026-01-02T00:00:00.000000Z".into(),
            decaying: false,
            last_event: last_event.map(|t| Some((t.to_string(), "Demo Request".to_string()))),
            score_reset_at: None,
            terms: BTreeMap::new(),
            wake_at: String::new(),
            decay_logged_at: None,
            level: None,
            profile: None,
        }
    }

    #[tokio::test]
    async fn several_score_updates_of_a_lead_in_one_commit_store_what_merging_each_would() {
        let store = store_with_lead("ou_a", "ld_old").await;
        // an existing lead and a lead created in the same commit, each updated twice; the
        // second update has no last event, so the first one's stays; scores objects merge
        let batch = WriteBatch {
            leads: vec![lead_row(&lead("ou_a", "ld_new"))],
            score_updates: vec![
                update("ld_old", 3.0, "rs_1", Some("2026-01-02T00:00:00.000000Z")),
                update("ld_new", 4.0, "rs_1", Some("2026-01-03T00:00:00.000000Z")),
                update("ld_old", 7.0, "rs_2", None),
                update("ld_new", 9.0, "rs_2", None),
            ],
            ..WriteBatch::default()
        };
        store.commit(&batch).await.unwrap();
        for (id, score, last) in [
            ("ld_old", 7.0, "2026-01-02T00:00:00.000000Z"),
            ("ld_new", 9.0, "2026-01-03T00:00:00.000000Z"),
        ] {
            let l = store.lead("org_1", "ou_a", id).await.unwrap().unwrap();
            assert_eq!(l.score, score, "{id}");
            assert_eq!(l.last_event_at.as_deref(), Some(last), "{id}");
            assert_eq!(l.scores.len(), 2, "{id}: {:?}", l.scores);
        }
    }

    #[tokio::test]
    async fn the_schemaless_lead_table_still_checks_types_and_applies_defaults() {
        let store = store_with_lead("ou_a", "ld_1").await;
        let key = json!({ "key": lead_key("ou_a", "ld_1") });
        // fields the new row did not name get their declared defaults
        let row: Vec<Value> = store
            .rows(
                "SELECT wake_at, decaying, profile_score, score_terms FROM type::record('lead', $key)",
                key.clone(),
                0,
            )
            .await
            .unwrap();
        assert_eq!(
            row,
            vec![json!({"wake_at": "", "decaying": false, "profile_score": 0, "score_terms": {}})]
        );
        // a value of the wrong type is refused and changes nothing
        let refused = store
            .run(
                "UPDATE type::record('lead', $key) MERGE { score: 'high' }",
                key.clone(),
            )
            .await;
        assert!(refused.is_err(), "{refused:?}");
        let l = store.lead("org_1", "ou_a", "ld_1").await.unwrap().unwrap();
        assert_eq!(l.score, 0.0);
    }

    #[tokio::test]
    async fn merged_away_leads_are_never_due_or_decaying() {
        let store = Store::memory().await.unwrap();
        let mut batch = WriteBatch::default();
        for id in ["ld_1", "ld_2"] {
            let mut row = lead_row(&lead("ou_a", id));
            merge_into(
                &mut row,
                json!({"wake_at": "2026-01-02T00:00:00.000000Z", "decaying": true}),
            );
            batch.leads.push(row);
        }
        store.commit(&batch).await.unwrap();
        store
            .run(
                "UPDATE type::record('lead', $key) MERGE { merged_into: 'ld_1' }",
                json!({ "key": lead_key("ou_a", "ld_2") }),
            )
            .await
            .unwrap();
        let due = store
            .due_leads("2026-01-03T00:00:00.000000Z", 10)
            .await
            .unwrap();
        assert_eq!(due, vec![("org_1".into(), "ou_a".into(), "ld_1".into())]);
        let decaying = store.decaying_leads("", 10).await.unwrap();
        assert_eq!(decaying.len(), 1);
        assert_eq!(decaying[0].lead_id, "ld_1");
    }

    #[test]
    fn merge_into_is_surrealql_merge() {
        let mut row = json!({"a": 1, "o": {"x": 1, "y": 2}, "arr": [1, 2, 3]});
        merge_into(
            &mut row,
            json!({"o": {"y": 3, "z": {"k": 1}}, "arr": [9], "b": null}),
        );
        assert_eq!(
            row,
            json!({"a": 1, "o": {"x": 1, "y": 3, "z": {"k": 1}}, "arr": [9], "b": null})
        );
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
