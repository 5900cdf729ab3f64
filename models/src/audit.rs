//! The audit log: one entry per mutating request, and the query over it.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{DomainError, Result};

/// One audited request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub org_id: String,
    /// The OU the request acted in, when it had one.
    pub ou_id: Option<String>,
    pub member_id: Option<String>,
    pub user_email: Option<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub ip: String,
    pub latency_ms: f64,
    pub created_at: String,
}

/// Columns the audit log can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditSortBy {
    #[default]
    CreatedAt,
    UserEmail,
    Method,
    Path,
    Status,
    Ip,
    LatencyMs,
}

impl AuditSortBy {
    /// The stored field name (a fixed set: safe to place in a query).
    pub fn field(self) -> &'static str {
        match self {
            AuditSortBy::CreatedAt => "created_at",
            AuditSortBy::UserEmail => "user_email",
            AuditSortBy::Method => "method",
            AuditSortBy::Path => "path",
            AuditSortBy::Status => "status",
            AuditSortBy::Ip => "ip",
            AuditSortBy::LatencyMs => "latency_ms",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
pub enum SortOrder {
    #[serde(rename = "ASC", alias = "asc")]
    Asc,
    #[default]
    #[serde(rename = "DESC", alias = "desc")]
    Desc,
}

impl SortOrder {
    pub fn keyword(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// `GET /v1/admin/audit-logs` query parameters, as the seed lists them.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryParams {
    /// Max rows to return, 1–500 (default 100).
    pub limit: Option<u32>,
    /// Rows to skip (default 0).
    pub offset: Option<u64>,
    /// Case-insensitive search across user_email, path and IP address.
    pub search: Option<String>,
    pub method: Option<HttpMethod>,
    /// Minimum status code (inclusive).
    pub status_min: Option<u16>,
    /// Maximum status code (inclusive).
    pub status_max: Option<u16>,
    /// Exact user email.
    pub user_email: Option<String>,
    pub sort_by: Option<AuditSortBy>,
    pub sort_order: Option<SortOrder>,
}

/// A validated audit query.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    pub limit: u32,
    pub offset: u64,
    pub search: Option<String>,
    pub method: Option<HttpMethod>,
    pub status_min: Option<u16>,
    pub status_max: Option<u16>,
    pub user_email: Option<String>,
    pub sort_by: AuditSortBy,
    pub sort_order: SortOrder,
}

impl AuditQueryParams {
    pub fn validate(self) -> Result<AuditQuery> {
        let limit = self.limit.unwrap_or(100);
        if limit == 0 || limit > 500 {
            return Err(DomainError::invalid("limit", "must be 1–500"));
        }
        if let (Some(min), Some(max)) = (self.status_min, self.status_max) {
            if min > max {
                return Err(DomainError::invalid(
                    "status_min",
                    "must not exceed status_max",
                ));
            }
        }
        let search = self
            .search
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(DomainError::invalid(
                "search",
                "must be at most 200 characters",
            ));
        }
        Ok(AuditQuery {
            limit,
            offset: self.offset.unwrap_or(0),
            search,
            method: self.method,
            status_min: self.status_min,
            status_max: self.status_max,
            user_email: self
                .user_email
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty()),
            sort_by: self.sort_by.unwrap_or_default(),
            sort_order: self.sort_order.unwrap_or_default(),
        })
    }
}

/// The audit log response (`offset` pagination, as the seed has it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let q = AuditQueryParams::default().validate().unwrap();
        assert_eq!(
            (q.limit, q.offset, q.sort_by, q.sort_order),
            (100, 0, AuditSortBy::CreatedAt, SortOrder::Desc)
        );
        assert!(AuditQueryParams {
            limit: Some(501),
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(AuditQueryParams {
            status_min: Some(500),
            status_max: Some(400),
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn unknown_sort_column_does_not_parse() {
        assert!(serde_json::from_str::<AuditSortBy>("\"latency_ms\"").is_ok());
        assert!(serde_json::from_str::<AuditSortBy>("\"id; DROP\"").is_err());
        assert_eq!(
            serde_json::from_str::<SortOrder>("\"asc\"").unwrap(),
            SortOrder::Asc
        );
    }
}
