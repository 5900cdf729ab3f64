//! CSV import of events as a background job with progress. The file is checked as a whole
//! first (header, size); then its rows are ingested in chunks through the live engine, so
//! imported events score exactly like any other. A bad row fails alone, reported by its
//! row number; the job record (progress, errors) is stored after every chunk.

use leadwire_models::import::{parse_csv, ImportJob, ImportStatus, RowError, MAX_ROW_ERRORS};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::Core;

/// Rows ingested per engine call.
const CHUNK: usize = 500;

/// A validation error as one line: `field: message`.
fn row_message(e: &DomainError) -> String {
    match e
        .details
        .as_ref()
        .and_then(|d| d.get("field"))
        .and_then(|f| f.as_str())
    {
        Some(field) if !e.message.starts_with(&format!("{field}: ")) => {
            format!("{field}: {}", e.message)
        }
        _ => e.message.clone(),
    }
}

impl Core {
    /// Starts importing a CSV file; answers at once with the running job.
    pub async fn start_import(&self, t: &Tenant, data: Vec<u8>) -> Result<ImportJob> {
        t.require(Access::Write)?;
        let rows = parse_csv(&data)?;
        if rows.is_empty() {
            return Err(DomainError::invalid("file", "the file has no data rows"));
        }
        let job = ImportJob {
            job_id: ids::new_id("imp"),
            status: ImportStatus::Running,
            total_rows: rows.len() as u64,
            processed_rows: 0,
            imported: 0,
            duplicates: 0,
            failed: 0,
            errors: Vec::new(),
            created_at: time::format(&time::now()),
            finished_at: None,
        };
        let (org, ou) = (t.caller.org_id.clone(), t.ou_id.clone());
        self.store.put_import_job(&org, &ou, &job).await?;
        let core = self.clone();
        let mut progress = job.clone();
        tokio::spawn(async move {
            let fail = |job: &mut ImportJob, row: u64, message: String| {
                job.failed += 1;
                if job.errors.len() < MAX_ROW_ERRORS {
                    job.errors.push(RowError { row, message });
                }
            };
            for chunk in rows.chunks(CHUNK) {
                let now = time::now();
                let mut valid = Vec::new();
                let mut numbers = Vec::new();
                for (row, parsed) in chunk {
                    let checked = parsed
                        .clone()
                        .and_then(|input| input.validate(now).map_err(|e| row_message(&e)));
                    match checked {
                        Ok(event) => {
                            valid.push(event);
                            numbers.push(*row);
                        }
                        Err(m) => fail(&mut progress, *row, m),
                    }
                }
                if !valid.is_empty() {
                    match core.engine.ingest(&org, &ou, valid).await {
                        Ok(results) => {
                            for (row, r) in numbers.into_iter().zip(results) {
                                match r {
                                    Ok(ack) if ack.duplicate => progress.duplicates += 1,
                                    Ok(_) => progress.imported += 1,
                                    Err(e) => fail(&mut progress, row, row_message(&e)),
                                }
                            }
                        }
                        Err(e) => {
                            for row in numbers {
                                fail(&mut progress, row, e.message.clone());
                            }
                        }
                    }
                }
                // a chunk's checks fail before its ingest does: keep the list in row order
                progress.errors.sort_by_key(|e| e.row);
                progress.processed_rows += chunk.len() as u64;
                if let Err(e) = core.store.put_import_job(&org, &ou, &progress).await {
                    tracing::warn!(error = %e, job_id = progress.job_id, "import-progress-not-saved");
                }
            }
            progress.status = ImportStatus::Completed;
            progress.finished_at = Some(time::format(&time::now()));
            if let Err(e) = core.store.put_import_job(&org, &ou, &progress).await {
                tracing::error!(error = %e, job_id = progress.job_id, "import-result-not-saved");
            }
            tracing::info!(
                job_id = progress.job_id,
                imported = progress.imported,
                failed = progress.failed,
                "import-finished"
            );
        });
        Ok(job)
    }

    pub async fn import_job(&self, t: &Tenant, job_id: &str) -> Result<ImportJob> {
        t.require(Access::Read)?;
        self.store
            .import_job(&t.caller.org_id, &t.ou_id, job_id)
            .await?
            .ok_or_else(|| DomainError::not_found("import job"))
    }
}
