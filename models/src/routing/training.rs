//! Training data of the routing model: past assignments and their outcomes, imported from
//! another system (JSON or CSV) or recorded as leads are assigned.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::config::LeadSnapshot;
use crate::import::{RowError, MAX_IMPORT_ROWS, MAX_ROW_ERRORS};
use crate::{time, DomainError, Result};

/// Where an example came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExampleOrigin {
    /// Imported from another system.
    Import,
    /// A routed prediction's outcome.
    Assignment,
    /// An overridden prediction's outcome (the rep chosen instead).
    Override,
    /// The outcome of a lead a person gave to a rep.
    Manual,
}

/// One stored example: the lead as it was, the rep it went to, and whether it converted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingExample {
    pub example_id: String,
    pub rep_id: String,
    pub lead: LeadSnapshot,
    pub converted: bool,
    pub occurred_at: String,
    pub origin: ExampleOrigin,
}

/// One row of `POST /v1/predictive-routing/training-data` as JSON.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRowInput {
    /// The lead's properties (industry, region, employees …).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub lead_attributes: Map<String, Value>,
    /// A rep of the org unit.
    pub rep_id: String,
    pub converted: bool,
    /// When the lead was assigned, RFC 3339, not in the future.
    pub occurred_at: String,
    pub engagement_score: Option<f64>,
    pub profile_score: Option<f64>,
    pub account_score: Option<f64>,
    /// The engagement level's name.
    pub level: Option<String>,
}

/// A row that passed its own checks (the rep is the caller's to check).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRow {
    /// As a spreadsheet numbers it (JSON: index + 1).
    pub row: u64,
    pub rep_id: String,
    pub lead: LeadSnapshot,
    pub converted: bool,
    pub occurred_at: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingImport {
    pub total_rows: u64,
    pub imported: u64,
    pub failed: u64,
    /// The first 1,000 row errors.
    pub errors: Vec<RowError>,
    /// Examples the org unit has now.
    pub examples: u64,
}

fn score(field: &str, v: Option<f64>) -> Result<f64> {
    match v {
        Some(x) if !x.is_finite() => Err(DomainError::invalid(field, "must be a number")),
        Some(x) => Ok(x),
        None => Ok(0.0),
    }
}

impl TrainingRowInput {
    pub fn check(self, row: u64) -> Result<CheckedRow> {
        let rep_id = self.rep_id.trim().to_string();
        if rep_id.is_empty() {
            return Err(DomainError::invalid("rep_id", "is required"));
        }
        let at = time::parse(&self.occurred_at)
            .ok_or_else(|| DomainError::invalid("occurred_at", "must be an RFC 3339 time"))?;
        if at > time::now() + chrono::Duration::minutes(5) {
            return Err(DomainError::invalid("occurred_at", "is in the future"));
        }
        crate::events::check_metadata_size(&self.lead_attributes)?;
        Ok(CheckedRow {
            row,
            rep_id,
            lead: LeadSnapshot {
                metadata: self.lead_attributes,
                engagement_score: score("engagement_score", self.engagement_score)?,
                profile_score: score("profile_score", self.profile_score)?,
                account_score: score("account_score", self.account_score)?,
                level: self
                    .level
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty()),
            },
            converted: self.converted,
            occurred_at: time::format(&at),
        })
    }
}

/// The named columns of the CSV form; every other column is a lead attribute.
const CSV_COLUMNS: [&str; 7] = [
    "rep_id",
    "converted",
    "occurred_at",
    "engagement_score",
    "profile_score",
    "account_score",
    "level",
];

/// A CSV cell as JSON: a number when it reads as one, `true` / `false`, else text; empty
/// cells are left out.
fn cell(v: &str) -> Option<Value> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(n) = v.parse::<f64>() {
        if let Some(n) = serde_json::Number::from_f64(n) {
            return Some(Value::Number(n));
        }
    }
    match v.to_ascii_lowercase().as_str() {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        _ => Some(Value::String(v.to_string())),
    }
}

fn yes_no(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" => Some(true),
        "false" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// Rows of a training import, each checked on its own: the good ones, and the errors of
/// the others (row numbers as a spreadsheet shows them; the JSON form numbers from 1).
/// A body that is not a JSON array or a CSV with `rep_id`, `converted` and `occurred_at`
/// columns is refused whole.
pub fn parse_rows(body: &[u8], csv: bool) -> Result<(Vec<CheckedRow>, Vec<RowError>, u64)> {
    let mut good = Vec::new();
    let mut errors = Vec::new();
    let bad = |row: u64, e: DomainError, errors: &mut Vec<RowError>| {
        errors.push(RowError {
            row,
            message: e.message,
        })
    };
    let total;
    if csv {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(body);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| DomainError::invalid("file", format!("not a CSV file: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        for required in ["rep_id", "converted", "occurred_at"] {
            if !headers.iter().any(|h| h == required) {
                return Err(DomainError::invalid(
                    "file",
                    format!("the header row needs a {required} column"),
                ));
            }
        }
        let mut n = 0u64;
        for (i, record) in reader.records().enumerate() {
            let row = i as u64 + 2;
            n += 1;
            if n as usize > MAX_IMPORT_ROWS {
                return Err(DomainError::too_large(format!(
                    "at most {MAX_IMPORT_ROWS} rows per import"
                )));
            }
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    bad(row, DomainError::invalid("row", e.to_string()), &mut errors);
                    continue;
                }
            };
            let get = |name: &str| {
                headers
                    .iter()
                    .position(|h| h == name)
                    .and_then(|i| record.get(i))
                    .unwrap_or("")
            };
            let Some(converted) = yes_no(get("converted")) else {
                bad(
                    row,
                    DomainError::invalid("converted", "must be true or false"),
                    &mut errors,
                );
                continue;
            };
            let number = |name: &str| -> std::result::Result<Option<f64>, DomainError> {
                let v = get(name).trim();
                if v.is_empty() {
                    return Ok(None);
                }
                v.parse::<f64>()
                    .map(Some)
                    .map_err(|_| DomainError::invalid(name, "must be a number"))
            };
            let scores = (
                number("engagement_score"),
                number("profile_score"),
                number("account_score"),
            );
            let (engagement_score, profile_score, account_score) = match scores {
                (Ok(a), Ok(b), Ok(c)) => (a, b, c),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    bad(row, e, &mut errors);
                    continue;
                }
            };
            let lead_attributes: Map<String, Value> = headers
                .iter()
                .zip(record.iter())
                .filter(|(h, _)| !h.is_empty() && !CSV_COLUMNS.contains(&h.as_str()))
                .filter_map(|(h, v)| cell(v).map(|v| (h.clone(), v)))
                .collect();
            let input = TrainingRowInput {
                lead_attributes,
                rep_id: get("rep_id").to_string(),
                converted,
                occurred_at: get("occurred_at").to_string(),
                engagement_score,
                profile_score,
                account_score,
                level: Some(get("level").to_string()),
            };
            match input.check(row) {
                Ok(r) => good.push(r),
                Err(e) => bad(row, e, &mut errors),
            }
        }
        total = n;
    } else {
        let rows: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
            DomainError::invalid("body", format!("must be a JSON array of rows: {e}"))
        })?;
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(DomainError::too_large(format!(
                "at most {MAX_IMPORT_ROWS} rows per import"
            )));
        }
        total = rows.len() as u64;
        for (i, v) in rows.into_iter().enumerate() {
            let row = i as u64 + 1;
            let checked = serde_json::from_value::<TrainingRowInput>(v)
                .map_err(|e| DomainError::invalid("row", e.to_string()))
                .and_then(|r| r.check(row));
            match checked {
                Ok(r) => good.push(r),
                Err(e) => bad(row, e, &mut errors),
            }
        }
    }
    errors.truncate(MAX_ROW_ERRORS);
    Ok((good, errors, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_checked_one_by_one() {
        let body = serde_json::json!([
            {"lead_attributes": {"industry": "saas"}, "rep_id": "rep_1", "converted": true,
             "occurred_at": "2026-01-05T10:00:00Z", "engagement_score": 40},
            {"rep_id": "rep_1", "converted": "yes", "occurred_at": "2026-01-05T10:00:00Z"},
            {"rep_id": " ", "converted": false, "occurred_at": "2026-01-05T10:00:00Z"},
            {"rep_id": "rep_2", "converted": false, "occurred_at": "2999-01-01T00:00:00Z"},
        ]);
        let (good, errors, total) = parse_rows(body.to_string().as_bytes(), false).unwrap();
        assert_eq!(total, 4);
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].lead.engagement_score, 40.0);
        assert_eq!(errors.iter().map(|e| e.row).collect::<Vec<_>>(), [2, 3, 4]);
        assert!(errors[1].message.contains("rep_id"));
        assert!(errors[2].message.contains("future"));
        assert!(parse_rows(b"{\"not\": \"an array\"}", false).is_err());
    }

    #[test]
    fn csv_columns_become_attributes() {
        let csv = "rep_id,converted,occurred_at,industry,employees,level\n\
                   rep_1,yes,2026-01-05T10:00:00Z,SaaS,120,Hot\n\
                   rep_2,maybe,2026-01-05T10:00:00Z,Retail,5,\n\
                   rep_2,0,2026-01-06T10:00:00Z,,7,\n";
        let (good, errors, total) = parse_rows(csv.as_bytes(), true).unwrap();
        assert_eq!(total, 3);
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].lead.metadata["industry"], "SaaS");
        assert_eq!(good[0].lead.metadata["employees"], 120.0);
        assert_eq!(good[0].lead.level.as_deref(), Some("Hot"));
        assert!(good[1].lead.metadata.get("industry").is_none());
        assert!(!good[1].converted);
        assert_eq!(
            errors,
            [RowError {
                row: 3,
                message: "converted: must be true or false".into()
            }]
        );
        let e = parse_rows(b"rep,converted\nx,1\n", true).unwrap_err();
        assert!(e.message.contains("rep_id"));
    }
}
