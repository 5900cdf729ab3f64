//! Accounts of an OU and the leads linked to them.

use std::collections::BTreeSet;

use leadwire_models::accounts::Account;
use leadwire_models::events::StoredEvent;
use leadwire_models::leads::Lead;
use serde_json::{json, Value};

use crate::filters::row;
use crate::{Result, Store};

fn account_row(a: &Account) -> Result<Value> {
    let mut r = row(a, &a.unit_id, "")?;
    if let Some(o) = r.as_object_mut() {
        o.insert("name_lower".into(), json!(a.name.to_lowercase()));
    }
    Ok(r)
}

impl Store {
    /// Creates or replaces an account.
    pub async fn put_account(&self, a: &Account) -> Result<()> {
        self.run(
            "UPSERT type::record('account', $id) CONTENT $c",
            json!({ "id": a.account_id, "c": account_row(a)? }),
        )
        .await?;
        Ok(())
    }

    /// An account of the OU (archived ones included).
    pub async fn account(&self, org_id: &str, ou_id: &str, id: &str) -> Result<Option<Account>> {
        if id.is_empty() {
            return Ok(None);
        }
        self.row(
            "SELECT * FROM type::record('account', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Accounts of the OU by id (absent ids are simply missing), in one query.
    pub async fn accounts_by_ids(
        &self,
        org_id: &str,
        ou_id: &str,
        ids: &[String],
    ) -> Result<Vec<Account>> {
        self.rows(
            "SELECT * FROM $ids.map(|$i| type::record('account', $i)) WHERE org_id = $org AND ou_id = $ou",
            json!({ "ids": ids, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// The OU's accounts that were not merged away.
    pub async fn accounts(&self, org_id: &str, ou_id: &str) -> Result<Vec<Account>> {
        self.rows(
            "SELECT * FROM account WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE
             ORDER BY created_at, account_id",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// The live account with this domain, else the first with this name (any case).
    pub async fn account_lookup(
        &self,
        org_id: &str,
        ou_id: &str,
        domain: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<Account>> {
        if let Some(d) = domain {
            let found: Option<Account> = self
                .row(
                    "SELECT * FROM account WHERE ou_id = $ou AND domain = $d AND org_id = $org
                     AND merged_into = NONE ORDER BY created_at LIMIT 1",
                    json!({ "org": org_id, "ou": ou_id, "d": d }),
                    0,
                )
                .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        match name {
            Some(n) => {
                self.row(
                    "SELECT * FROM account WHERE org_id = $org AND ou_id = $ou AND name_lower = $n
                     AND merged_into = NONE ORDER BY created_at LIMIT 1",
                    json!({ "org": org_id, "ou": ou_id, "n": n.trim().to_lowercase() }),
                    0,
                )
                .await
            }
            None => Ok(None),
        }
    }

    /// Wakes the leads of an account (its properties changed: they rescore).
    pub async fn wake_account_leads(&self, org_id: &str, ou_id: &str, id: &str) -> Result<()> {
        self.run(
            "UPDATE lead SET wake_at = $now WHERE org_id = $org AND ou_id = $ou AND account_id = $id",
            json!({ "org": org_id, "ou": ou_id, "id": id,
                    "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
        )
        .await?;
        Ok(())
    }

    /// The OU's (unmerged) leads linked to any account.
    pub async fn account_leads(&self, org_id: &str, ou_id: &str) -> Result<Vec<Lead>> {
        self.rows(
            &format!(
                "SELECT {} FROM lead WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE
                 AND account_id != NONE",
                crate::engagement::LEAD_FIELDS
            ),
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Leads of the OU with an event since `since` that a surge multiplier raised.
    pub async fn surging_leads(
        &self,
        org_id: &str,
        ou_id: &str,
        since: &str,
    ) -> Result<BTreeSet<String>> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT VALUE lead_id FROM event WHERE org_id = $org AND ou_id = $ou
                 AND system = false AND occurred_at >= $since
                 AND array::len(object::values(deltas)[WHERE multiplier > 1]) > 0",
                json!({ "org": org_id, "ou": ou_id, "since": since }),
                0,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }

    /// The newest `limit` events of some leads.
    pub async fn recent_events_of(
        &self,
        org_id: &str,
        ou_id: &str,
        leads: &[String],
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        self.rows(
            "SELECT * FROM event WHERE org_id = $org AND ou_id = $ou AND lead_id IN $leads
             ORDER BY occurred_at DESC LIMIT $limit",
            json!({ "org": org_id, "ou": ou_id, "leads": leads, "limit": limit }),
            0,
        )
        .await
    }

    /// Moves the OU's leads of account `from` to `to` and archives `from`, atomically;
    /// how many leads moved. The moved leads are woken to rescore under their new account.
    pub async fn merge_account(
        &self,
        org_id: &str,
        ou_id: &str,
        from: &str,
        to: &str,
        now: &str,
    ) -> Result<u64> {
        let mut res = self
            .run(
                "BEGIN;
                 LET $moved = (UPDATE lead SET account_id = $to, updated_at = $now, wake_at = $now
                     WHERE org_id = $org AND ou_id = $ou AND account_id = $from RETURN lead_id);
                 UPDATE type::record('account', $from) SET merged_into = $to, updated_at = $now;
                 RETURN array::len($moved);
                 COMMIT;",
                json!({ "org": org_id, "ou": ou_id, "from": from, "to": to, "now": now }),
            )
            .await?;
        let n: Option<u64> = res.take(3)?;
        Ok(n.unwrap_or(0))
    }

    /// Unlinks the OU's leads from these accounts and deletes the accounts, atomically;
    /// how many leads were unlinked (they are woken to rescore without an account).
    pub async fn delete_accounts(&self, org_id: &str, ou_id: &str, ids: &[String]) -> Result<u64> {
        let mut res = self
            .run(
                "BEGIN;
                 LET $unlinked = (UPDATE lead SET account_id = NONE, wake_at = $now
                     WHERE org_id = $org AND ou_id = $ou AND account_id IN $ids RETURN lead_id);
                 DELETE account WHERE org_id = $org AND ou_id = $ou AND account_id IN $ids;
                 RETURN array::len($unlinked);
                 COMMIT;",
                json!({ "org": org_id, "ou": ou_id, "ids": ids,
                        "now": leadwire_models::time::format(&leadwire_models::time::now()) }),
            )
            .await?;
        let n: Option<u64> = res.take(3)?;
        Ok(n.unwrap_or(0))
    }
}
