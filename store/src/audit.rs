//! The audit log of mutating requests.

use leadwire_models::audit::{AuditEntry, AuditQuery};
use serde_json::{json, Value};

use crate::db::content;
use crate::{Result, Store};

/// An audit entry as its `audit_log` row: entries are written through the group commit
/// (`WriteBatch::audit`), many requests' entries in one transaction.
pub fn audit_row(e: &AuditEntry) -> Result<Value> {
    let mut row = content(e)?;
    row["id"] = json!(e.id);
    Ok(row)
}

impl Store {
    /// The OU's audit entries matching `q`, and how many match in all. With
    /// `include_org_level`, also the org-wide entries (requests that acted in no OU, such as
    /// managing org members), which only org admins may read.
    pub async fn audit_entries(
        &self,
        org_id: &str,
        ou_id: &str,
        include_org_level: bool,
        q: &AuditQuery,
    ) -> Result<(Vec<AuditEntry>, u64)> {
        let mut filter =
            String::from("org_id = $org AND (ou_id = $ou OR ($org_level AND ou_id = NONE))");
        if q.search.is_some() {
            filter.push_str(
                " AND (string::contains(string::lowercase(user_email ?? ''), $search)
                   OR string::contains(string::lowercase(path), $search)
                   OR string::contains(ip, $search))",
            );
        }
        if q.method.is_some() {
            filter.push_str(" AND method = $method");
        }
        if q.status_min.is_some() {
            filter.push_str(" AND status >= $status_min");
        }
        if q.status_max.is_some() {
            filter.push_str(" AND status <= $status_max");
        }
        if q.user_email.is_some() {
            filter.push_str(" AND user_email = $user_email");
        }
        // the sort column and direction come from closed enums, never from raw input
        let sql = format!(
            "SELECT * FROM audit_log WHERE {filter} ORDER BY {} {}, id {} LIMIT $limit START $offset;
             SELECT count() FROM audit_log WHERE {filter} GROUP ALL;",
            q.sort_by.field(),
            q.sort_order.keyword(),
            q.sort_order.keyword(),
        );
        let vars = json!({
            "org": org_id, "ou": ou_id, "org_level": include_org_level,
            "search": q.search, "method": q.method.map(|m| m.as_str()),
            "status_min": q.status_min, "status_max": q.status_max, "user_email": q.user_email,
            "limit": q.limit, "offset": q.offset,
        });
        let mut res = self.run(&sql, vars).await?;
        let items: Vec<AuditEntry> = crate::db::take_rows(&mut res, 0)?;
        let total: Option<Value> = res.take(1)?;
        let total = total
            .and_then(|v| v.get("count").and_then(Value::as_u64))
            .unwrap_or(0);
        Ok((items, total))
    }
}
