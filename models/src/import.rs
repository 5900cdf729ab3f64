//! CSV import of events: the columns, their mapping to [`EventInput`], and import jobs.
//!
//! Columns (header row required, any order): `event_type` (required), `lead_id`,
//! `timestamp` (RFC 3339), `metadata` (a JSON object), `idempotency_key`, and alias
//! columns `email`, `phone`, `external_id`, `cookie`, `social`. Rows are numbered as a spreadsheet shows them (the
//! header is row 1).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::events::{AliasInput, AliasKind, EventInput};
use crate::DomainError;

/// Most data rows one import may carry.
pub const MAX_IMPORT_ROWS: usize = 100_000;
/// Most row errors a job keeps (the count is always exact).
pub const MAX_ROW_ERRORS: usize = 1000;

const COLUMNS: [&str; 10] = [
    "event_type",
    "lead_id",
    "timestamp",
    "metadata",
    "idempotency_key",
    "email",
    "phone",
    "external_id",
    "cookie",
    "social",
];

/// One row that could not be imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub row: u64,
    pub message: String,
}

/// The state of an import job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Running,
    Completed,
    /// The server stopped before the job finished; rows counted as imported are stored.
    Interrupted,
}

/// `GET /v1/events/import/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportJob {
    pub job_id: String,
    pub status: ImportStatus,
    pub total_rows: u64,
    pub processed_rows: u64,
    /// Rows stored as new events.
    pub imported: u64,
    /// Rows whose `idempotency_key` names an event their lead already has (a file
    /// imported again): not stored again.
    #[serde(default)]
    pub duplicates: u64,
    pub failed: u64,
    /// The first 1,000 row errors.
    pub errors: Vec<RowError>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// A parsed file: each data row as an event input, or the reason it cannot be one.
pub type ParsedRows = Vec<(u64, Result<EventInput, String>)>;

/// Parses a CSV file. A file without a header, without `event_type`, with an unknown
/// column or with too many rows is refused as a whole (422); a bad row fails alone.
pub fn parse_csv(data: &[u8]) -> Result<ParsedRows, DomainError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| DomainError::invalid("file", format!("unreadable CSV header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(DomainError::invalid("file", "the CSV file is empty"));
    }
    for (i, h) in header.iter().enumerate() {
        if header[..i].contains(h) {
            return Err(DomainError::invalid(
                "file",
                format!("column \"{h}\" appears twice"),
            ));
        }
        if !COLUMNS.contains(&h.as_str()) {
            return Err(DomainError::invalid(
                "file",
                format!("unknown column \"{h}\"; columns are {}", COLUMNS.join(", ")),
            ));
        }
    }
    if !header.iter().any(|h| h == "event_type") {
        return Err(DomainError::invalid(
            "file",
            "the event_type column is required",
        ));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i as u64 + 2;
        if rows.len() >= MAX_IMPORT_ROWS {
            return Err(DomainError::invalid(
                "file",
                format!("at most {MAX_IMPORT_ROWS} rows per import"),
            ));
        }
        let parsed = match record {
            Err(e) => Err(format!("unreadable row: {e}")),
            Ok(r) => row_input(&header, &r),
        };
        rows.push((row, parsed));
    }
    Ok(rows)
}

fn row_input(header: &[String], record: &csv::StringRecord) -> Result<EventInput, String> {
    if record.len() != header.len() {
        return Err(format!(
            "has {} cells, the header has {}",
            record.len(),
            header.len()
        ));
    }
    let mut input = EventInput::default();
    let mut aliases = Vec::new();
    for (name, cell) in header.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        match name.as_str() {
            "event_type" => input.event_type = cell.to_string(),
            "lead_id" => input.lead_id = Some(cell.to_string()),
            "timestamp" => input.timestamp = Some(cell.to_string()),
            "idempotency_key" => input.idempotency_key = Some(cell.to_string()),
            "metadata" => {
                let m: Map<String, Value> = serde_json::from_str(cell)
                    .map_err(|_| "metadata must be a JSON object".to_string())?;
                input.metadata = Some(m);
            }
            kind => {
                if let Some(k) = AliasKind::parse(kind) {
                    aliases.push(AliasInput {
                        alias_kind: k,
                        raw_value: cell.to_string(),
                    });
                }
            }
        }
    }
    if !aliases.is_empty() {
        input.aliases = Some(aliases);
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_map_to_events_and_bad_rows_fail_alone() {
        let file = "\u{feff}event_type,email,timestamp,metadata\n\
                    Demo,a@x.io,2026-11-01T00:00:00Z,\"{\"\"plan\"\":\"\"Pro\"\"}\"\n\
                    Visit,b@x.io,,\n\
                    Visit,c@x.io,,not json\n\
                    Visit,short\n";
        let rows = parse_csv(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        let (row, first) = &rows[0];
        let first = first.as_ref().unwrap();
        assert_eq!(*row, 2);
        assert_eq!(first.event_type, "Demo");
        assert_eq!(first.aliases.as_ref().unwrap()[0].raw_value, "a@x.io");
        assert_eq!(first.metadata.as_ref().unwrap()["plan"], "Pro");
        assert!(rows[1].1.as_ref().unwrap().timestamp.is_none());
        assert_eq!(rows[2].0, 4);
        assert!(rows[2].1.as_ref().unwrap_err().contains("JSON object"));
        assert!(rows[3].1.is_err());
    }

    #[test]
    fn a_bad_header_refuses_the_file() {
        assert!(parse_csv(b"email,lead_id\nx@y.z,l1\n").is_err());
        assert!(parse_csv(b"event_type,colour\nDemo,red\n").is_err());
        assert!(parse_csv(b"event_type,Event_Type\nDemo,Visit\n").is_err());
        assert!(parse_csv(b"").is_err());
    }
}
