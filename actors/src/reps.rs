//! Sales reps of the active OU: CRUD with their open assignments counted live.

use leadwire_models::page::PageParams;
use leadwire_models::reps::{Rep, RepInput, RepListParams, RepPage};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};

use crate::tenancy::duplicate_as;
use crate::Core;

const DUPLICATE_EMAIL: &str = "a rep with this email already exists in the organization";

impl Core {
    /// Reps with their open assignments (the leads of the OU each owns), in one query.
    pub(crate) async fn counted_reps(&self, t: &Tenant, mut reps: Vec<Rep>) -> Result<Vec<Rep>> {
        let ids: Vec<String> = reps.iter().map(|r| r.rep_id.clone()).collect();
        let counts = self
            .store
            .owned_lead_counts(&t.caller.org_id, &t.ou_id, &ids)
            .await?;
        for r in &mut reps {
            r.open_assignments = counts.get(&r.rep_id).copied().unwrap_or(0);
        }
        Ok(reps)
    }

    pub(crate) async fn rep_in(&self, t: &Tenant, id: &str) -> Result<Rep> {
        let rep = self
            .store
            .rep(&t.caller.org_id, &t.ou_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("rep"))?;
        let mut counted = self.counted_reps(t, vec![rep]).await?;
        counted.pop().ok_or_else(|| DomainError::not_found("rep"))
    }

    /// The OU's reps by name, filtered by status, text and eligibility, paged.
    pub async fn list_reps(&self, t: &Tenant, p: RepListParams) -> Result<RepPage> {
        t.require(Access::Read)?;
        let page = PageParams {
            page: p.page,
            limit: p.limit,
        }
        .validate()?;
        let search = p.search.map(|s| s.trim().to_lowercase());
        let reps = self.store.reps(&t.caller.org_id, &t.ou_id).await?;
        let matching: Vec<Rep> = self
            .counted_reps(t, reps)
            .await?
            .into_iter()
            .filter(|r| p.status.is_none_or(|s| r.status == s))
            .filter(|r| p.eligible.is_none_or(|e| r.eligible() == e))
            .filter(|r| {
                search
                    .as_deref()
                    .is_none_or(|s| r.name.to_lowercase().contains(s) || r.email.contains(s))
            })
            .collect();
        let (reps, total) = page.slice(matching);
        Ok(RepPage {
            reps,
            total,
            page: page.page,
            limit: page.limit,
        })
    }

    pub async fn get_rep(&self, t: &Tenant, id: &str) -> Result<Rep> {
        t.require(Access::Read)?;
        self.rep_in(t, id).await
    }

    /// A linked member must be a member of the caller's organisation.
    async fn check_member(&self, t: &Tenant, rep: &Rep) -> Result<()> {
        if let Some(m) = &rep.member_id {
            self.store
                .member(&t.caller.org_id, m)
                .await?
                .ok_or_else(|| {
                    DomainError::invalid("member_id", "not a member of this organization")
                })?;
        }
        Ok(())
    }

    /// Creates a rep (status AVAILABLE, capacity 50 and weight 1 unless given).
    pub async fn create_rep(&self, t: &Tenant, input: RepInput) -> Result<Rep> {
        t.require(Access::Write)?;
        let now = time::format(&time::now());
        let mut rep = Rep::new(
            &t.caller.org_id,
            &t.ou_id,
            &ids::new_id(ids::prefix::REP),
            &now,
        );
        input.apply(&mut rep, true)?;
        self.check_member(t, &rep).await?;
        self.store
            .put_rep(&rep)
            .await
            .map_err(|e| duplicate_as(e, DUPLICATE_EMAIL))?;
        Ok(rep)
    }

    /// Changes the fields sent.
    pub async fn update_rep(&self, t: &Tenant, id: &str, input: RepInput) -> Result<Rep> {
        t.require(Access::Write)?;
        let mut rep = self.rep_in(t, id).await?;
        input.apply(&mut rep, false)?;
        self.check_member(t, &rep).await?;
        rep.updated_at = time::format(&time::now());
        self.store
            .put_rep(&rep)
            .await
            .map_err(|e| duplicate_as(e, DUPLICATE_EMAIL))?;
        Ok(rep)
    }

    /// Deletes a rep that owns no lead (409 otherwise: reassign them, or set it OFFLINE).
    pub async fn delete_rep(&self, t: &Tenant, id: &str) -> Result<()> {
        t.require(Access::Write)?;
        let rep = self.rep_in(t, id).await?;
        if rep.open_assignments > 0 {
            return Err(DomainError::conflict(format!(
                "the rep owns {} lead(s): reassign them first, or set the rep OFFLINE",
                rep.open_assignments
            )));
        }
        self.store
            .delete_rep(&t.caller.org_id, &t.ou_id, id)
            .await?;
        Ok(())
    }
}
