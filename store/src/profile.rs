//! Profile (and, later, account) scoring configuration: rulesets, rules, field mappings
//! and their change history; and what the lead rows say about disqualification.

use std::collections::BTreeMap;

use leadwire_models::levels::Dimension;
use leadwire_models::profile::{AttrRule, AttrRuleset, FieldMapping, MappingChange};
use serde_json::{json, Value};

use crate::filters::row;
use crate::{Result, Store};

/// Profile and account rulesets (each carries its dimension) and all their rules.
pub(crate) const ATTR_RULESETS_SQL: &str =
    "SELECT * FROM attr_ruleset WHERE org_id = $org AND ou_id = $ou ORDER BY created_at, id";
pub(crate) const ATTR_RULES_SQL: &str =
    "SELECT * FROM attr_rule WHERE org_id = $org AND ou_id = $ou
     ORDER BY ruleset_id, ui_order, created_at, id";
pub(crate) const ACCOUNT_MAPPINGS_SQL: &str =
    "SELECT * FROM field_mapping WHERE org_id = $org AND ou_id = $ou AND dimension = 'account'
     ORDER BY created_at, id";
pub(crate) const PROFILE_MAPPINGS_SQL: &str =
    "SELECT * FROM field_mapping WHERE org_id = $org AND ou_id = $ou AND dimension = 'profile'
     ORDER BY created_at, id";

/// A row of a dimension-scoped table.
fn dim_row<T: serde::Serialize>(x: &T, ou_id: &str, dim: Dimension) -> Result<Value> {
    let mut r = row(x, ou_id, "id")?;
    if let Some(o) = r.as_object_mut() {
        o.insert("dimension".into(), json!(dim));
    }
    Ok(r)
}

impl Store {
    pub async fn attr_rulesets(
        &self,
        org_id: &str,
        ou_id: &str,
        dim: Dimension,
    ) -> Result<Vec<AttrRuleset>> {
        self.dimension_rows("attr_ruleset", "created_at, id", org_id, ou_id, dim)
            .await
    }

    /// Creates or replaces a ruleset; a primary one makes the others non-primary, in the
    /// same transaction.
    pub async fn put_attr_ruleset(&self, r: &AttrRuleset) -> Result<()> {
        self.run(
            "BEGIN;
             IF $primary {
                 UPDATE attr_ruleset SET is_primary = false
                 WHERE org_id = $org AND ou_id = $ou AND dimension = $dim AND id != type::record('attr_ruleset', $id);
             };
             UPSERT type::record('attr_ruleset', $id) CONTENT $c;
             COMMIT;",
            json!({ "id": r.id, "c": dim_row(r, &r.unit_id, r.dimension)?, "primary": r.is_primary,
                    "org": r.org_id, "ou": r.unit_id, "dim": r.dimension }),
        )
        .await?;
        Ok(())
    }

    /// Deletes a ruleset of the OU with its rules; whether it existed there. (Rules left
    /// behind by a crash between the two deletes belong to no ruleset and never score.)
    pub async fn delete_attr_ruleset(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        if !self.delete_owned("attr_ruleset", org_id, ou_id, id).await? {
            return Ok(false);
        }
        self.run(
            "DELETE attr_rule WHERE org_id = $org AND ou_id = $ou AND ruleset_id = $id",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
        )
        .await?;
        Ok(true)
    }

    pub async fn attr_rules(
        &self,
        org_id: &str,
        ou_id: &str,
        ruleset_id: &str,
    ) -> Result<Vec<AttrRule>> {
        self.rows(
            "SELECT * FROM attr_rule WHERE org_id = $org AND ou_id = $ou AND ruleset_id = $rs
             ORDER BY ui_order, created_at, id",
            json!({ "org": org_id, "ou": ou_id, "rs": ruleset_id }),
            0,
        )
        .await
    }

    pub async fn put_attr_rule(&self, r: &AttrRule, dim: Dimension) -> Result<()> {
        self.run(
            "UPSERT type::record('attr_rule', $id) CONTENT $c",
            json!({ "id": r.id, "c": dim_row(r, &r.unit_id, dim)? }),
        )
        .await?;
        Ok(())
    }

    pub async fn delete_attr_rule(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        self.delete_owned("attr_rule", org_id, ou_id, id).await
    }

    pub async fn field_mappings(
        &self,
        org_id: &str,
        ou_id: &str,
        dim: Dimension,
    ) -> Result<Vec<FieldMapping>> {
        self.dimension_rows("field_mapping", "created_at, id", org_id, ou_id, dim)
            .await
    }

    /// Writes a mapping (or deletes it when `after` is none) with its history entry, in
    /// one transaction.
    pub async fn change_field_mapping(
        &self,
        org_id: &str,
        ou_id: &str,
        dim: Dimension,
        id: &str,
        after: Option<&FieldMapping>,
        change: &MappingChange,
    ) -> Result<()> {
        let mut c = dim_row(change, ou_id, dim)?;
        if let Some(o) = c.as_object_mut() {
            o.insert("org_id".into(), json!(org_id));
        }
        let m = after.map(|m| dim_row(m, ou_id, dim)).transpose()?;
        self.run(
            "BEGIN;
             IF $delete {
                 DELETE type::record('field_mapping', $id) WHERE org_id = $org AND ou_id = $ou;
             } ELSE {
                 UPSERT type::record('field_mapping', $id) CONTENT $m;
             };
             CREATE type::record('mapping_change', $c.change_id) CONTENT $c;
             COMMIT;",
            json!({ "id": id, "org": org_id, "ou": ou_id, "delete": m.is_none(), "m": m, "c": c }),
        )
        .await?;
        Ok(())
    }

    /// The dimension's mapping changes, newest first.
    pub async fn mapping_changes(
        &self,
        org_id: &str,
        ou_id: &str,
        dim: Dimension,
    ) -> Result<Vec<MappingChange>> {
        self.dimension_rows(
            "mapping_change",
            "changed_at DESC, change_id DESC",
            org_id,
            ou_id,
            dim,
        )
        .await
    }

    /// How many leads of the OU each rule disqualifies now.
    pub async fn disqualification_counts(
        &self,
        org_id: &str,
        ou_id: &str,
    ) -> Result<BTreeMap<String, u64>> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT disqualification.rule_id AS rule_id, count() AS n FROM lead
                 WHERE org_id = $org AND ou_id = $ou AND disqualified = true AND merged_into = NONE
                 GROUP BY rule_id",
                json!({ "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r["rule_id"].as_str()?.to_string(), r["n"].as_u64()?)))
            .collect())
    }

    /// The distinct metadata keys of the OU's leads, sorted.
    pub async fn lead_properties(&self, org_id: &str, ou_id: &str) -> Result<Vec<String>> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT VALUE object::keys(metadata) FROM lead
                 WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE",
                json!({ "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        let mut keys: Vec<String> = rows
            .iter()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}
