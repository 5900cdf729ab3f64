//! Store failures and how they become client-visible errors.

use leadwire_models::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the write (duplicate email, slug, …).
    #[error("unique constraint: {0}")]
    Duplicate(String),
    /// A concurrent transaction wrote the same records first: nothing was written; the
    /// write may be retried.
    #[error("write conflict: {0}")]
    Conflict(String),
    /// A record id the database cannot form: in practice an empty string sent as an id.
    #[error("invalid record id: {0}")]
    InvalidId(String),
    #[error("database: {0}")]
    Database(String),
    #[error("decoding a row: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("invalid connection string: {0}")]
    Config(String),
}

impl From<surrealdb::Error> for StoreError {
    fn from(e: surrealdb::Error) -> Self {
        let text = e.to_string();
        if text.contains("already contains") || text.contains("already exists") {
            StoreError::Duplicate(text)
        } else if text.contains("conflict") && text.contains("retried") {
            StoreError::Conflict(text)
        } else if text.contains("for the Record ID but this is not a valid id") {
            StoreError::InvalidId(text)
        } else {
            StoreError::Database(text)
        }
    }
}

impl From<StoreError> for DomainError {
    /// Store failures are internal (logged here, generic to the client), except duplicates,
    /// which callers normally translate into a precise conflict first.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(_) => {
                DomainError::conflict("a record with the same unique value already exists")
            }
            StoreError::Conflict(_) => DomainError::conflict(
                "another request changed the same records at the same moment; retry",
            ),
            // every route checks the ids it is sent; this catches one that slipped through
            StoreError::InvalidId(_) => DomainError::new(
                leadwire_models::ErrorCode::ValidationFailed,
                "an id in the request is empty: ids are 1 or more characters",
            ),
            other => {
                tracing::error!(error = %other, "store-error");
                DomainError::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    /// An empty id cannot form a record id: a validation failure, never an internal one.
    #[tokio::test]
    async fn an_empty_record_id_is_a_validation_failure() {
        let s = Store::memory().await.unwrap();
        let e = s.deal("org_1", "ou_1", "").await.unwrap_err();
        assert!(matches!(e, StoreError::InvalidId(_)), "{e}");
        let e = DomainError::from(e);
        assert_eq!(e.code, leadwire_models::ErrorCode::ValidationFailed);
        // an id that merely does not exist is no error at all
        assert!(s.deal("org_1", "ou_1", "dl_nope").await.unwrap().is_none());
    }
}
