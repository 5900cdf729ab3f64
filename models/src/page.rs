//! Pagination parameters and pages, as every list endpoint returns them.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{DomainError, Result};

pub const MAX_LIMIT: u32 = 500;
pub const DEFAULT_LIMIT: u32 = 50;

/// `?page=&limit=` (page from 1, limit ≤ 500).
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub limit: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.limit)
    }

    /// This page of `items` (already filtered and sorted) and how many there are.
    pub fn slice<T>(&self, items: Vec<T>) -> (Vec<T>, u64) {
        let total = items.len() as u64;
        let page = items
            .into_iter()
            .skip(self.offset() as usize)
            .take(self.limit as usize)
            .collect();
        (page, total)
    }
}

impl PageParams {
    pub fn validate(self) -> Result<PageRequest> {
        let page = self.page.unwrap_or(1);
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if page == 0 {
            return Err(DomainError::invalid("page", "must be 1 or more"));
        }
        if limit == 0 || limit > MAX_LIMIT {
            return Err(DomainError::invalid(
                "limit",
                format!("must be 1–{MAX_LIMIT}"),
            ));
        }
        Ok(PageRequest { page, limit })
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_enforced() {
        assert_eq!(
            PageParams::default().validate().unwrap(),
            PageRequest { page: 1, limit: 50 }
        );
        assert!(PageParams {
            page: Some(0),
            limit: None
        }
        .validate()
        .is_err());
        assert!(PageParams {
            page: None,
            limit: Some(501)
        }
        .validate()
        .is_err());
        assert_eq!(
            PageParams {
                page: Some(3),
                limit: Some(10)
            }
            .validate()
            .unwrap()
            .offset(),
            20
        );
    }
}
