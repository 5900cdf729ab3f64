//! Accounts of the active OU (account-based marketing), shared by REST, GraphQL and MCP.
//! Every operation needs the org's `abm_enabled` scoring setting (403 otherwise).

use std::collections::{BTreeMap, BTreeSet};

use leadwire_models::accounts::{
    intent_level, name_similarity, normalise_domain, Account, AccountDetail, AccountIdsInput,
    AccountInput, AccountListParams, AccountMatch, AccountMatches, AccountMergeInput,
    AccountMergeResult, AccountPage, AccountPatch, AccountSort, AccountSummary, AccountsDeleted,
    IntentLevel, MAX_MATCHES, MIN_SIMILARITY,
};
use leadwire_models::audit::AuditEntry;
use leadwire_models::leads::Lead;
use leadwire_models::levels::{level_of, Dimension};
use leadwire_models::page::PageParams;
use leadwire_models::scoring::round2;
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, validate, DomainError, Result};

use crate::Core;

/// At most this many ids per batch delete.
const MAX_BATCH: usize = 500;

impl Core {
    /// ABM endpoints need the org's `abm_enabled` setting.
    async fn require_abm(&self, t: &Tenant, access: Access) -> Result<()> {
        t.require(access)?;
        if !self.store.org_scoring(&t.caller.org_id).await?.abm_enabled {
            return Err(DomainError::forbidden(
                "account-based marketing is not enabled for this organization (scoring settings: abm_enabled)",
            ));
        }
        Ok(())
    }

    async fn live_account(&self, t: &Tenant, id: &str) -> Result<Account> {
        self.store
            .account(&t.caller.org_id, &t.ou_id, id)
            .await?
            .filter(|a| a.merged_into.is_none())
            .ok_or_else(|| DomainError::not_found("account"))
    }

    /// A domain no other live account of the OU has (409 otherwise).
    async fn free_domain(&self, t: &Tenant, domain: Option<&str>, own: &str) -> Result<()> {
        if let Some(d) = domain {
            if let Some(other) = self
                .store
                .account_lookup(&t.caller.org_id, &t.ou_id, Some(d), None)
                .await?
            {
                if other.account_id != own {
                    return Err(DomainError::conflict(format!(
                        "account {} already has the domain {d}",
                        other.account_id
                    )));
                }
            }
        }
        Ok(())
    }

    pub async fn create_account(&self, t: &Tenant, input: AccountInput) -> Result<Account> {
        self.require_abm(t, Access::Write).await?;
        let name = validate::name("name", &input.name, 1, 200)?;
        let domain = input
            .domain
            .as_deref()
            .map(|d| normalise_domain("domain", d))
            .transpose()?;
        let metadata = input.metadata.unwrap_or_default();
        leadwire_models::events::check_metadata_size(&metadata)?;
        let _guard = self.config_lock.lock().await;
        let now = time::format(&time::now());
        let a = Account {
            account_id: ids::new_id(ids::prefix::ACCOUNT),
            org_id: t.caller.org_id.clone(),
            unit_id: t.ou_id.clone(),
            name,
            domain,
            metadata,
            merged_into: None,
            created_at: now.clone(),
            updated_at: now,
        };
        self.free_domain(t, a.domain.as_deref(), &a.account_id)
            .await?;
        self.store.put_account(&a).await?;
        Ok(a)
    }

    /// The first live account with the domain, else with the exact name (any case).
    pub async fn lookup_account(
        &self,
        t: &Tenant,
        domain: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<Account>> {
        self.require_abm(t, Access::Read).await?;
        if domain.is_none() && name.is_none() {
            return Err(DomainError::invalid("domain", "give a domain or a name"));
        }
        let domain = domain.map(|d| normalise_domain("domain", d)).transpose()?;
        Ok(self
            .store
            .account_lookup(&t.caller.org_id, &t.ou_id, domain.as_deref(), name)
            .await?)
    }

    /// Up to 5 live accounts whose names are at least 0.6 alike, most alike first.
    pub async fn search_accounts(&self, t: &Tenant, name: &str) -> Result<AccountMatches> {
        self.require_abm(t, Access::Read).await?;
        let name = validate::name("name", name, 1, 200)?;
        let mut matches: Vec<AccountMatch> = self
            .store
            .accounts(&t.caller.org_id, &t.ou_id)
            .await?
            .into_iter()
            .map(|a| AccountMatch {
                similarity: round2(name_similarity(&name, &a.name)),
                account_id: a.account_id,
                name: a.name,
                domain: a.domain,
            })
            .filter(|m| m.similarity >= MIN_SIMILARITY)
            .collect();
        matches.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| a.name.cmp(&b.name))
        });
        matches.truncate(MAX_MATCHES);
        Ok(AccountMatches { matches })
    }

    /// The OU's accounts with their leads aggregated live, filtered, sorted and paged.
    pub async fn list_accounts(&self, t: &Tenant, p: AccountListParams) -> Result<AccountPage> {
        self.require_abm(t, Access::Read).await?;
        let page = PageParams {
            page: p.page,
            limit: p.limit,
        }
        .validate()?;
        let descending = match p.sort_order.as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(DomainError::invalid("sort_order", "must be asc or desc")),
        };
        let now = time::now();
        let (org, ou) = (&t.caller.org_id, &t.ou_id);
        let accounts = self.store.accounts(org, ou).await?;
        let leads = self.store.account_leads(org, ou).await?;
        let surging = self
            .store
            .surging_leads(org, ou, &time::format(&(now - chrono::Duration::hours(24))))
            .await?;
        let levels = self.store.levels(org, ou, Dimension::Account).await?;
        let include_dq = p.include_disqualified.unwrap_or(false);
        let mut by_account: BTreeMap<&str, Vec<&Lead>> = BTreeMap::new();
        for l in leads.iter().filter(|l| include_dq || !l.disqualified) {
            if let Some(a) = l.account_id.as_deref() {
                by_account.entry(a).or_default().push(l);
            }
        }
        let window = p.range.and_then(|r| r.bounds(now));
        let search = p.search.as_deref().map(str::to_lowercase);
        let owner = p.owner_name.as_deref().map(str::to_lowercase);
        let mut rows: Vec<AccountSummary> = accounts
            .into_iter()
            .filter(|a| {
                window.is_none_or(|(from, to)| {
                    time::parse(&a.created_at).is_some_and(|c| c >= from && c < to)
                })
            })
            .filter(|a| {
                search.as_deref().is_none_or(|q| {
                    a.name.to_lowercase().contains(q)
                        || a.domain.as_deref().is_some_and(|d| d.contains(q))
                })
            })
            .map(|a| {
                let own = by_account
                    .get(a.account_id.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let top = own
                    .iter()
                    .max_by(|x, y| x.score.total_cmp(&y.score).then_with(|| y.id.cmp(&x.id)));
                let top_score = top.map(|l| l.score).unwrap_or(0.0);
                AccountSummary {
                    top_score,
                    engagement: round2(own.iter().map(|l| l.score).sum()),
                    leads_count: own.len() as u64,
                    owner_name: top.and_then(|l| l.owner_name.clone()),
                    last_activity: own.iter().filter_map(|l| l.last_event_at.clone()).max(),
                    surging: own.iter().any(|l| surging.contains(&l.id)),
                    intent_level: intent_level(top_score).into(),
                    account_level: level_of(&levels, top_score).map(|l| l.name.clone()),
                    account_id: a.account_id,
                    name: a.name,
                    domain: a.domain,
                    created_at: a.created_at,
                }
            })
            .filter(|r| match p.intent_level.unwrap_or_default() {
                IntentLevel::All => true,
                IntentLevel::Low => r.intent_level == "low",
                IntentLevel::Medium => r.intent_level == "medium",
                IntentLevel::High => r.intent_level == "high",
            })
            .filter(|r| {
                p.account_level.as_deref().is_none_or(|want| {
                    r.account_level
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case(want))
                })
            })
            .filter(|r| p.min_score.is_none_or(|m| r.top_score >= m))
            .filter(|r| {
                owner.as_deref().is_none_or(|q| {
                    r.owner_name
                        .as_deref()
                        .is_some_and(|o| o.to_lowercase().contains(q))
                })
            })
            .filter(|r| !p.has_leads.unwrap_or(false) || r.leads_count > 0)
            .collect();
        rows.sort_by(|a, b| {
            let key = match p.sort_by.unwrap_or_default() {
                AccountSort::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                AccountSort::Score => a.top_score.total_cmp(&b.top_score),
                AccountSort::Engagement => a.engagement.total_cmp(&b.engagement),
                AccountSort::LastActivity => a.last_activity.cmp(&b.last_activity),
                AccountSort::OwnerName => a.owner_name.cmp(&b.owner_name),
            };
            let key = if descending { key.reverse() } else { key };
            key.then_with(|| a.account_id.cmp(&b.account_id))
        });
        let (rows, total) = page.slice(rows);
        Ok(AccountPage {
            accounts: rows,
            total,
            page: page.page,
            limit: page.limit,
        })
    }

    /// An account with its leads (best first) and their 20 newest events.
    pub async fn account_detail(&self, t: &Tenant, id: &str) -> Result<AccountDetail> {
        self.require_abm(t, Access::Read).await?;
        let account = self.live_account(t, id).await?;
        let mut leads: Vec<Lead> = self
            .store
            .account_leads(&t.caller.org_id, &t.ou_id)
            .await?
            .into_iter()
            .filter(|l| l.account_id.as_deref() == Some(id))
            .collect();
        leads.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        let ids: Vec<String> = leads.iter().map(|l| l.id.clone()).collect();
        let recent_events = self
            .store
            .recent_events_of(&t.caller.org_id, &t.ou_id, &ids, 20)
            .await?;
        Ok(AccountDetail {
            top_score: leads
                .iter()
                .filter(|l| !l.disqualified)
                .map(|l| l.score)
                .fold(0.0, f64::max),
            account,
            leads,
            recent_events,
        })
    }

    /// A lead's account, when it links to a live one of its OU.
    pub async fn account_of(&self, t: &Tenant, lead: &Lead) -> Result<Option<Account>> {
        match lead.account_id.as_deref() {
            Some(id) => Ok(self
                .store
                .account(&t.caller.org_id, &t.ou_id, id)
                .await?
                .filter(|a| a.merged_into.is_none())),
            None => Ok(None),
        }
    }

    /// The live (unmerged) accounts of the OU among `ids`, by id, in one store query.
    pub async fn accounts_by_ids(
        &self,
        t: &Tenant,
        ids: &[String],
    ) -> Result<BTreeMap<String, Account>> {
        t.require(Access::Read)?;
        Ok(self
            .store
            .accounts_by_ids(&t.caller.org_id, &t.ou_id, ids)
            .await?
            .into_iter()
            .filter(|a| a.merged_into.is_none())
            .map(|a| (a.account_id.clone(), a))
            .collect())
    }

    pub async fn patch_account(
        &self,
        t: &Tenant,
        id: &str,
        patch: AccountPatch,
    ) -> Result<Account> {
        self.require_abm(t, Access::Write).await?;
        let _guard = self.config_lock.lock().await;
        let mut a = self.live_account(t, id).await?;
        patch.apply(&mut a)?;
        self.free_domain(t, a.domain.as_deref(), id).await?;
        a.updated_at = time::format(&time::now());
        self.store.put_account(&a).await?;
        // its leads rescore under account rules within a wake pass
        self.store
            .wake_account_leads(&t.caller.org_id, &t.ou_id, id)
            .await?;
        Ok(a)
    }

    /// Moves every lead of account `id` to the target and archives `id`; audited.
    pub async fn merge_account(
        &self,
        t: &Tenant,
        id: &str,
        input: AccountMergeInput,
    ) -> Result<AccountMergeResult> {
        self.require_abm(t, Access::Write).await?;
        if id == input.target_id {
            return Err(DomainError::invalid(
                "target_id",
                "an account cannot be merged into itself",
            ));
        }
        self.live_account(t, id).await?;
        self.live_account(t, &input.target_id)
            .await
            .map_err(|_| DomainError::not_found("target account"))?;
        let now = time::format(&time::now());
        let moved = self
            .store
            .merge_account(&t.caller.org_id, &t.ou_id, id, &input.target_id, &now)
            .await?;
        let entry = AuditEntry {
            id: ids::new_id(ids::prefix::AUDIT),
            org_id: t.caller.org_id.clone(),
            ou_id: Some(t.ou_id.clone()),
            member_id: Some(t.caller.member_id.clone()),
            user_email: Some(t.caller.email.clone()),
            method: "MERGE".into(),
            path: format!(
                "/v1/accounts/{id} → {} ({moved} leads reassigned)",
                input.target_id
            ),
            status: 200,
            ip: String::new(),
            latency_ms: 0.0,
            created_at: now,
        };
        if let Err(e) = self.engine.audit(&entry).await {
            tracing::warn!(error = %e, account_id = id, "account-merge-audit-failed");
        }
        Ok(AccountMergeResult {
            leads_reassigned: moved,
            deals_reassigned: 0,
        })
    }

    /// Unlinks the OU's leads from the accounts and deletes them.
    pub async fn delete_accounts(
        &self,
        t: &Tenant,
        input: AccountIdsInput,
    ) -> Result<AccountsDeleted> {
        self.require_abm(t, Access::Write).await?;
        if input.ids.is_empty() || input.ids.len() > MAX_BATCH {
            return Err(DomainError::invalid(
                "ids",
                format!("must list 1-{MAX_BATCH} account ids"),
            ));
        }
        let ids: BTreeSet<String> = input.ids.into_iter().collect();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for id in ids {
            // an archived (merged) account reads as gone: it is not deleted again
            match self.store.account(&t.caller.org_id, &t.ou_id, &id).await? {
                Some(a) if a.merged_into.is_none() => found.push(id),
                _ => missing.push(id),
            }
        }
        let unlinked = if found.is_empty() {
            0
        } else {
            self.store
                .delete_accounts(&t.caller.org_id, &t.ou_id, &found)
                .await?
        };
        Ok(AccountsDeleted {
            leads_unlinked: unlinked,
            accounts_deleted: found.len() as u64,
            missing,
        })
    }
}
