//! Aggregates over an OU's leads and events for the analytics endpoints.

use serde_json::{json, Value};

use crate::{Result, Store};

/// `(key, count)` rows of a `GROUP BY`, largest first.
fn counted(rows: Vec<Value>, key: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = rows
        .iter()
        .filter_map(|r| Some((r.get(key)?.as_str()?.to_string(), r.get("count")?.as_u64()?)))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn count_of(v: Option<Value>) -> u64 {
    v.and_then(|v| v.get("count").and_then(Value::as_u64))
        .unwrap_or(0)
}

/// The OU's totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    pub leads: u64,
    pub active_leads: u64,
    pub average_score: f64,
    pub events: u64,
    pub events_since: u64,
    pub by_channel: Vec<(String, u64)>,
    pub by_event_type: Vec<(String, u64)>,
    pub disqualified_leads: u64,
}

impl Store {
    /// Lead and event totals of the OU; `active_since`/`events_since` bound the recent
    /// counts.
    pub async fn totals(
        &self,
        org_id: &str,
        ou_id: &str,
        active_since: &str,
        events_since: &str,
    ) -> Result<Totals> {
        let mut res = self
            .run(
                "SELECT count() FROM lead WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE AND disqualified = false GROUP ALL;
                 SELECT count() FROM lead WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE AND disqualified = false AND last_event_at >= $active GROUP ALL;
                 SELECT math::mean(score) AS avg FROM lead WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE AND disqualified = false GROUP ALL;
                 SELECT count() FROM event WHERE org_id = $org AND ou_id = $ou AND system = false GROUP ALL;
                 SELECT count() FROM event WHERE org_id = $org AND ou_id = $ou AND system = false AND occurred_at >= $since GROUP ALL;
                 SELECT channel, count() FROM event WHERE org_id = $org AND ou_id = $ou AND system = false GROUP BY channel;
                 SELECT event_type, count() FROM event WHERE org_id = $org AND ou_id = $ou AND system = false GROUP BY event_type;
                 SELECT count() FROM lead WHERE org_id = $org AND ou_id = $ou AND merged_into = NONE AND disqualified = true GROUP ALL;",
                json!({ "org": org_id, "ou": ou_id, "active": active_since, "since": events_since }),
            )
            .await?;
        let avg: Option<Value> = res.take(2)?;
        Ok(Totals {
            leads: count_of(res.take(0)?),
            active_leads: count_of(res.take(1)?),
            average_score: avg
                .and_then(|v| v.get("avg").and_then(Value::as_f64))
                .unwrap_or(0.0),
            events: count_of(res.take(3)?),
            events_since: count_of(res.take(4)?),
            by_channel: counted(res.take(5)?, "channel"),
            by_event_type: counted(res.take(6)?, "event_type"),
            disqualified_leads: count_of(res.take(7)?),
        })
    }

    /// How many engagement events of each type the OU has, most frequent first.
    pub async fn event_type_counts(&self, org_id: &str, ou_id: &str) -> Result<Vec<(String, u64)>> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT event_type, count() FROM event WHERE org_id = $org AND ou_id = $ou AND system = false GROUP BY event_type",
                json!({ "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        Ok(counted(rows, "event_type"))
    }

    /// Event counts since each of `since`, in one round trip.
    pub async fn event_counts_since(
        &self,
        org_id: &str,
        ou_id: &str,
        since: &[String],
    ) -> Result<Vec<u64>> {
        let mut vars = serde_json::Map::new();
        vars.insert("org".into(), json!(org_id));
        vars.insert("ou".into(), json!(ou_id));
        let mut sql = String::new();
        for (i, s) in since.iter().enumerate() {
            vars.insert(format!("s{i}"), json!(s));
            sql.push_str(&format!(
                "SELECT count() FROM event WHERE org_id = $org AND ou_id = $ou AND system = false AND occurred_at >= $s{i} GROUP ALL;\n"
            ));
        }
        let mut res = self.run(&sql, Value::Object(vars)).await?;
        (0..since.len())
            .map(|i| Ok(count_of(res.take(i)?)))
            .collect()
    }

    /// How many leads have an engagement event that occurred at or after `since`.
    pub async fn leads_with_events_since(
        &self,
        org_id: &str,
        ou_id: &str,
        since: &str,
    ) -> Result<u64> {
        let row: Option<Value> = self
            .rows(
                "SELECT count() FROM (SELECT lead_id FROM event
                   WHERE org_id = $org AND ou_id = $ou AND system = false AND occurred_at >= $since
                   GROUP BY lead_id) GROUP ALL",
                json!({ "org": org_id, "ou": ou_id, "since": since }),
                0,
            )
            .await?
            .into_iter()
            .next();
        Ok(count_of(row))
    }

    /// Per lead: the sum of score changes one ruleset recorded on events received since
    /// `since`, and how many events; `(lead_id, gain, events)`.
    pub async fn score_gains(
        &self,
        org_id: &str,
        ou_id: &str,
        ruleset_id: &str,
        since: &str,
    ) -> Result<Vec<(String, f64, u64)>> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT lead_id, math::sum(deltas[$rs].delta ?? 0) AS gain, count(system = false) AS events FROM event
                 WHERE org_id = $org AND ou_id = $ou AND received_at >= $since GROUP BY lead_id",
                json!({ "org": org_id, "ou": ou_id, "rs": ruleset_id, "since": since }),
                0,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some((
                    r.get("lead_id")?.as_str()?.to_string(),
                    r.get("gain")?.as_f64()?,
                    r.get("events")?.as_u64()?,
                ))
            })
            .collect())
    }
}
