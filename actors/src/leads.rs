//! Lead operations shared by REST, GraphQL and MCP: create, read, list and search, update,
//! owners, aliases, merge, reset, delete, and batch scores.

use std::collections::BTreeMap;

use leadwire_models::events::{Alias, AliasKind, StoredEvent};
use leadwire_models::leads::merged_away;
use leadwire_models::leads::{
    check_lead_ids, Affected, BatchScoresInput, BulkOwnerInput, DeletionStatus, Lead, LeadAlias,
    LeadFilter, LeadInput, LeadListParams, LeadPage, LeadScore, LeadUpdate, LeadWithAccount,
    LookupResult, MergeInput, MergeResult, OwnerInput, ResetResult, UpdateByAliasInput,
    UpdateByAliasResult, MAX_BULK_LEADS,
};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{ids, time, DomainError, Result};
use serde_json::{Map, Value};

use crate::tenancy::duplicate_as;
use crate::Core;

/// Most leads a search answers with.
pub const SEARCH_LIMIT: u32 = 10;
/// Most leads one CSV export writes.
pub const EXPORT_LIMIT: u32 = 100_000;
/// Most merges a lead id is followed through to the lead it stands for now.
const MAX_MERGE_HOPS: usize = 16;

/// One entry of `POST /v1/leads/scores`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct BatchScore {
    pub lead_id: String,
    pub score: f64,
    /// False when the OU has no such lead (its score is then 0).
    pub found: bool,
    /// The lead this one was merged into, whose score this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

impl Core {
    pub async fn create_lead(&self, t: &Tenant, input: LeadInput) -> Result<Lead> {
        t.require(Access::Write)?;
        let new = input.validate()?;
        self.check_account(t, new.account_id.as_deref()).await?;
        let now = time::format(&time::now());
        // no events yet: 0 in each ruleset, as its actor would store it
        let scores = self
            .store
            .rulesets(&t.caller.org_id, &t.ou_id)
            .await?
            .into_iter()
            .map(|r| (r.ruleset_id, 0.0))
            .collect();
        let lead = Lead {
            account_id: new.account_id,
            metadata: new.metadata,
            scores,
            ..Lead::new(&t.caller.org_id, &t.ou_id, &new.id, &now)
        };
        self.store
            .create_lead(&lead)
            .await
            .map_err(|e| duplicate_as(e, "a lead with this id already exists"))?;
        // its properties or its account may score (or disqualify) it at once
        let lead = if lead.metadata.is_empty() && lead.account_id.is_none() {
            lead
        } else {
            self.after_metadata_change(t, &lead.id).await?
        };
        self.engine.bus.publish(
            &t.ou_id,
            crate::engine::bus::BusEvent::LeadCreated {
                lead_id: lead.id.clone(),
            },
        );
        Ok(lead)
    }

    /// 422 unless `account_id` (when given) names a live account of the OU: a lead must
    /// not point at an account that is not there, or was merged away.
    async fn check_account(&self, t: &Tenant, account_id: Option<&str>) -> Result<()> {
        let Some(id) = account_id else {
            return Ok(());
        };
        match self.store.account(&t.caller.org_id, &t.ou_id, id).await? {
            Some(a) => match a.merged_into {
                Some(into) => Err(DomainError::invalid(
                    "account_id",
                    format!("account {id} was merged into {into}: link the lead to that one"),
                )),
                None => Ok(()),
            },
            None => Err(DomainError::invalid(
                "account_id",
                format!("no account {id} in this org unit"),
            )),
        }
    }

    /// A stored lead of the OU (404 otherwise), merged ones included.
    async fn stored_lead(&self, t: &Tenant, lead_id: &str) -> Result<Lead> {
        self.store
            .lead(&t.caller.org_id, &t.ou_id, lead_id)
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))
    }

    /// A lead of the OU that can be changed: 404 when unknown, 409 naming the lead it
    /// was merged into when it was merged away.
    async fn unmerged_lead(&self, t: &Tenant, lead_id: &str) -> Result<Lead> {
        let lead = self.stored_lead(t, lead_id).await?;
        match &lead.merged_into {
            Some(target) => Err(merged_away(lead_id, target)),
            None => Ok(lead),
        }
    }

    /// The lead a lead id of the OU stands for now: itself, or the lead a merge moved its
    /// history to (followed through every later merge). 404 when unknown.
    pub(crate) async fn current_lead(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<Lead> {
        let lead = self
            .store
            .lead(org_id, ou_id, lead_id)
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))?;
        self.current_leads(org_id, ou_id, vec![lead])
            .await?
            .remove(lead_id)
            .ok_or_else(|| DomainError::not_found("lead"))
    }

    /// [`Core::current_lead`] of many stored leads, by their ids, in one store query per
    /// merge hop. A lead whose merge target no longer exists is left out.
    pub(crate) async fn current_leads(
        &self,
        org_id: &str,
        ou_id: &str,
        leads: Vec<Lead>,
    ) -> Result<BTreeMap<String, Lead>> {
        let mut current: BTreeMap<String, Lead> =
            leads.into_iter().map(|l| (l.id.clone(), l)).collect();
        for _ in 0..MAX_MERGE_HOPS {
            let targets: Vec<String> = current
                .values()
                .filter_map(|l| l.merged_into.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if targets.is_empty() {
                return Ok(current);
            }
            let found: BTreeMap<String, Lead> = self
                .store
                .leads_by_ids(org_id, ou_id, &targets)
                .await?
                .into_iter()
                .map(|l| (l.id.clone(), l))
                .collect();
            current = current
                .into_iter()
                .filter_map(|(id, l)| match &l.merged_into {
                    Some(target) => found.get(target).map(|n| (id, n.clone())),
                    None => Some((id, l)),
                })
                .collect();
        }
        // a chain longer than any merge history makes: left out rather than followed
        current.retain(|_, l| l.merged_into.is_none());
        Ok(current)
    }

    /// A lead of the OU with its live scores.
    pub async fn get_lead(&self, t: &Tenant, lead_id: &str) -> Result<Lead> {
        t.require(Access::Read)?;
        let mut lead = self.stored_lead(t, lead_id).await?;
        if lead.merged_into.is_some() {
            return Ok(lead.as_merged_record());
        }
        if let Some(s) = self
            .engine
            .scores(&t.caller.org_id, &t.ou_id, lead_id)
            .await?
        {
            lead.score = s.score;
            lead.scores = s.scores;
            lead.level = s.level;
            lead.profile_score = s.profile.score;
            lead.profile_scores = s.profile.scores;
            lead.account_score = s.profile.account_score;
            lead.profile_level = s.profile.level;
            lead.account_level = s.profile.account_level;
            lead.disqualified = s.profile.disqualification.is_some();
            lead.disqualification = s.profile.disqualification;
        }
        Ok(lead)
    }

    /// A lead and its account (null when it links to none that exists in the OU).
    pub async fn get_lead_with_account(
        &self,
        t: &Tenant,
        lead_id: &str,
    ) -> Result<LeadWithAccount> {
        let lead = self.get_lead(t, lead_id).await?;
        let account = self
            .account_of(t, &lead)
            .await?
            .and_then(|a| serde_json::to_value(a).ok());
        Ok(LeadWithAccount { lead, account })
    }

    /// A lead's live score: the highest across rulesets, or one ruleset's.
    pub async fn lead_score(
        &self,
        t: &Tenant,
        lead_id: &str,
        ruleset_id: Option<&str>,
    ) -> Result<LeadScore> {
        t.require(Access::Read)?;
        // a merged-away lead's score is the one of the lead its history went to: that
        // lead's actor answers, under its own id
        let scores = self
            .engine
            .scores(&t.caller.org_id, &t.ou_id, lead_id)
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))?;
        let score = match ruleset_id {
            None => scores.score,
            Some(id) => {
                self.ruleset_in(t, id).await?;
                scores.scores.get(id).copied().unwrap_or(0.0)
            }
        };
        Ok(LeadScore {
            lead_id: scores.lead_id.clone(),
            score,
            level: if ruleset_id.is_none() {
                scores.level
            } else {
                None
            },
            ruleset_id: ruleset_id.map(str::to_string),
            disqualified: scores.profile.disqualification.is_some(),
            profile_score: scores.profile.score,
            disqualified_by_rule_id: scores
                .profile
                .disqualification
                .as_ref()
                .map(|d| d.rule_id.clone()),
            disqualified_at: scores
                .profile
                .disqualification
                .as_ref()
                .map(|d| d.at.clone()),
            disqualified_reason: scores.profile.disqualification.map(|d| d.reason),
        })
    }

    /// A lead's events (timeline entries included) in time order.
    /// A merged-away lead's are those of the lead its history went to.
    pub async fn lead_events(&self, t: &Tenant, lead_id: &str) -> Result<Vec<StoredEvent>> {
        t.require(Access::Read)?;
        let lead = self
            .current_lead(&t.caller.org_id, &t.ou_id, lead_id)
            .await?;
        Ok(self
            .store
            .lead_events(&t.caller.org_id, &t.ou_id, &lead.id)
            .await?)
    }

    /// A page of the OU's leads by the seed's filters; scores are the stored ones (kept
    /// current by every event and by the decay scheduler).
    pub async fn list_leads(&self, t: &Tenant, params: LeadListParams) -> Result<LeadPage> {
        t.require(Access::Read)?;
        let f: LeadFilter = params.validate(time::now())?;
        let (leads, total) = self
            .store
            .list_leads(&t.caller.org_id, &t.ou_id, &f)
            .await?;
        Ok(LeadPage {
            leads,
            total,
            page: f.page.page,
            limit: f.page.limit,
        })
    }

    /// Every lead matching the filters (up to [`EXPORT_LIMIT`]) as CSV.
    pub async fn export_leads(&self, t: &Tenant, mut params: LeadListParams) -> Result<String> {
        t.require(Access::Read)?;
        // every filter is checked as sent (a bad page or limit too), though the export
        // writes every matching lead
        params.clone().validate(time::now())?;
        params.page = Some(1);
        params.limit = Some(leadwire_models::page::MAX_LIMIT);
        let mut f: LeadFilter = params.validate(time::now())?;
        let mut w = csv_writer(&[
            "lead_id",
            "alias",
            "engagement_score",
            "engagement_level",
            "profile_score",
            "profile_level",
            "account_score",
            "account_level",
            "disqualified",
            "account_id",
            "owner_id",
            "owner_name",
            "last_event_at",
            "last_event_type",
            "created_at",
        ]);
        let mut written = 0u32;
        loop {
            let (leads, _) = self
                .store
                .list_leads(&t.caller.org_id, &t.ou_id, &f)
                .await?;
            let n = leads.len();
            for l in leads {
                let alias = self
                    .store
                    .lead_aliases(&t.caller.org_id, &t.ou_id, &l.id)
                    .await?
                    .into_iter()
                    .next()
                    .map(|a| a.value)
                    .unwrap_or_default();
                w.row(&[
                    &l.id,
                    &alias,
                    &l.score.to_string(),
                    level_name(&l.level),
                    &l.profile_score.to_string(),
                    level_name(&l.profile_level),
                    &l.account_score.to_string(),
                    level_name(&l.account_level),
                    if l.disqualified { "true" } else { "false" },
                    l.account_id.as_deref().unwrap_or(""),
                    l.owner_id.as_deref().unwrap_or(""),
                    l.owner_name.as_deref().unwrap_or(""),
                    l.last_event_at.as_deref().unwrap_or(""),
                    l.last_event_type.as_deref().unwrap_or(""),
                    &l.created_at,
                ]);
                written += 1;
            }
            if n < f.page.limit as usize || written >= EXPORT_LIMIT {
                break;
            }
            f.page.page += 1;
        }
        Ok(w.finish())
    }

    /// Up to 10 leads by id prefix or alias (for autocomplete); `q` needs 2+ characters.
    pub async fn search_leads(&self, t: &Tenant, q: &str) -> Result<Vec<Lead>> {
        t.require(Access::Read)?;
        let q = q.trim().to_lowercase();
        if q.chars().count() < 2 || q.chars().count() > 256 {
            return Err(DomainError::invalid("q", "must be 2-256 characters"));
        }
        Ok(self
            .store
            .search_leads(&t.caller.org_id, &t.ou_id, &q, SEARCH_LIMIT)
            .await?)
    }

    /// Replaces a lead's metadata (and its account when `account_id` is sent).
    pub async fn update_lead(&self, t: &Tenant, lead_id: &str, input: LeadUpdate) -> Result<Lead> {
        t.require(Access::Write)?;
        input.validate()?;
        self.unmerged_lead(t, lead_id).await?;
        self.check_account(t, input.account_id.as_ref().and_then(|a| a.as_deref()))
            .await?;
        self.store
            .replace_lead_metadata(
                &t.caller.org_id,
                &t.ou_id,
                lead_id,
                &input.metadata,
                input.account_id.as_ref().map(|a| a.as_deref()),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))?;
        self.after_metadata_change(t, lead_id).await
    }

    /// The lead's properties changed: its actor re-reads them, rescores its profile
    /// (and disqualification) and stores the result; the lead as it is now.
    async fn after_metadata_change(&self, t: &Tenant, lead_id: &str) -> Result<Lead> {
        self.engine
            .rescore(&t.caller.org_id, &t.ou_id, lead_id)
            .await?;
        self.get_lead(t, lead_id).await
    }

    /// Merges keys into a lead's metadata; a `null` value removes the key.
    pub async fn patch_lead(
        &self,
        t: &Tenant,
        lead_id: &str,
        patch: Map<String, Value>,
    ) -> Result<Lead> {
        t.require(Access::Write)?;
        leadwire_models::events::check_metadata_size(&patch)?;
        // keys set are checked; any stored key may be removed (`null`)
        let set: Map<String, Value> = patch
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        leadwire_models::leads::check_attribute_keys("metadata", &set)?;
        let current = self.unmerged_lead(t, lead_id).await?;
        leadwire_models::events::check_patched_metadata_size(&current.metadata, &patch)?;
        self.store
            .patch_lead_metadata(&t.caller.org_id, &t.ou_id, lead_id, &patch, None)
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))?;
        self.after_metadata_change(t, lead_id).await
    }

    /// Deletes a lead, its aliases and its events; a deletion record remains.
    pub async fn delete_lead(&self, t: &Tenant, lead_id: &str) -> Result<DeletionStatus> {
        t.require(Access::Write)?;
        // a merged-away id stands for the lead its history went to: deleting the record
        // would break that
        if let Some(lead) = self.store.lead(&t.caller.org_id, &t.ou_id, lead_id).await? {
            if let Some(target) = &lead.merged_into {
                return Err(merged_away(lead_id, target));
            }
        }
        self.engine
            .delete_lead(&t.caller.org_id, &t.ou_id, lead_id)
            .await?;
        self.deletion_status(t, lead_id).await
    }

    pub async fn deletion_status(&self, t: &Tenant, lead_id: &str) -> Result<DeletionStatus> {
        t.require(Access::Read)?;
        if let Some(s) = self
            .store
            .deletion_status(&t.caller.org_id, &t.ou_id, lead_id)
            .await?
        {
            return Ok(s);
        }
        // a lead that exists was never deleted; otherwise it is unknown
        self.stored_lead(t, lead_id).await?;
        Err(DomainError::not_found("deletion of this lead"))
    }

    /// A merged-away lead's are those of the lead its history went to.
    pub async fn lead_aliases(&self, t: &Tenant, lead_id: &str) -> Result<Vec<LeadAlias>> {
        t.require(Access::Read)?;
        let lead = self
            .current_lead(&t.caller.org_id, &t.ou_id, lead_id)
            .await?;
        Ok(self
            .store
            .lead_aliases(&t.caller.org_id, &t.ou_id, &lead.id)
            .await?)
    }

    /// The aliases of many leads of the OU by lead id, in one store query (the GraphQL
    /// DataLoader's batch). Leads without aliases are absent.
    pub async fn aliases_of_leads(
        &self,
        t: &Tenant,
        lead_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<LeadAlias>>> {
        t.require(Access::Read)?;
        let mut by_lead: BTreeMap<String, Vec<LeadAlias>> = BTreeMap::new();
        for (lead, alias) in self
            .store
            .aliases_of_leads(&t.caller.org_id, &t.ou_id, lead_ids)
            .await?
        {
            by_lead.entry(lead).or_default().push(alias);
        }
        Ok(by_lead)
    }

    /// The newest `per_lead` events of each of many leads, newest first, in one store
    /// query. Leads without events are absent.
    pub async fn recent_events_of_leads(
        &self,
        t: &Tenant,
        lead_ids: &[String],
        per_lead: usize,
    ) -> Result<BTreeMap<String, Vec<StoredEvent>>> {
        t.require(Access::Read)?;
        let mut by_lead: BTreeMap<String, Vec<StoredEvent>> = BTreeMap::new();
        let events = self
            .store
            .events_of_leads(&t.caller.org_id, &t.ou_id, lead_ids)
            .await?;
        // oldest first from the store: walk backwards to keep the newest
        for e in events.into_iter().rev() {
            let list = by_lead.entry(e.lead_id.clone()).or_default();
            if list.len() < per_lead {
                list.push(e);
            }
        }
        Ok(by_lead)
    }

    /// The (unmerged) lead an alias names in the OU.
    async fn lead_by_alias(
        &self,
        t: &Tenant,
        kind: AliasKind,
        value: &str,
        field: &str,
    ) -> Result<Lead> {
        let alias = Alias::normalize(kind, value, field)?;
        let found = self
            .store
            .leads_by_alias(&t.ou_id, std::slice::from_ref(&alias))
            .await?;
        let lead_id = found
            .into_iter()
            .next()
            .map(|(_, id)| id)
            .ok_or_else(|| DomainError::not_found("lead with this alias"))?;
        let lead = self.stored_lead(t, &lead_id).await?;
        match &lead.merged_into {
            Some(target) => self.stored_lead(t, target).await,
            None => Ok(lead),
        }
    }

    pub async fn lookup_lead(
        &self,
        t: &Tenant,
        kind: Option<AliasKind>,
        value: &str,
    ) -> Result<LookupResult> {
        t.require(Access::Read)?;
        let lead = self
            .lead_by_alias(t, kind.unwrap_or(AliasKind::Email), value, "value")
            .await?;
        let email = self
            .store
            .lead_aliases(&t.caller.org_id, &t.ou_id, &lead.id)
            .await?
            .into_iter()
            .find(|a| a.alias_kind == AliasKind::Email)
            .map(|a| a.value);
        Ok(LookupResult {
            lead_id: lead.id,
            email,
            metadata: lead.metadata,
        })
    }

    /// Merges attributes into the metadata of the lead an alias names (no timeline
    /// entry) and/or links an account.
    pub async fn update_by_alias(
        &self,
        t: &Tenant,
        input: UpdateByAliasInput,
    ) -> Result<UpdateByAliasResult> {
        t.require(Access::Write)?;
        input.validate()?;
        let lead = self
            .lead_by_alias(
                t,
                input.alias_kind.unwrap_or(AliasKind::Email),
                &input.alias_value,
                "alias_value",
            )
            .await?;
        let attributes = input.attributes.unwrap_or_default();
        leadwire_models::events::check_patched_metadata_size(&lead.metadata, &attributes)?;
        self.check_account(t, input.account_id.as_deref()).await?;
        self.store
            .patch_lead_metadata(
                &t.caller.org_id,
                &t.ou_id,
                &lead.id,
                &attributes,
                input.account_id.as_deref(),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("lead"))?;
        if !attributes.is_empty() || input.account_id.is_some() {
            self.engine
                .rescore(&t.caller.org_id, &t.ou_id, &lead.id)
                .await?;
        }
        Ok(UpdateByAliasResult {
            lead_id: lead.id,
            updated: attributes.len(),
            attributes,
            account_linked: input.account_id.is_some(),
        })
    }

    /// Checks an owner: a rep of the OU (`rep_…`) or a member of the caller's org; the
    /// name defaults to theirs.
    pub(crate) async fn owner(
        &self,
        t: &Tenant,
        owner_id: Option<String>,
        owner_name: Option<String>,
    ) -> Result<(Option<String>, Option<String>)> {
        let Some(id) = owner_id else {
            return Ok((None, None));
        };
        let default_name = if id.starts_with(&format!("{}_", ids::prefix::REP)) {
            let rep = self
                .store
                .rep(&t.caller.org_id, &t.ou_id, &id)
                .await?
                .ok_or_else(|| DomainError::invalid("owner_id", "not a rep of this org unit"))?;
            rep.name
        } else {
            let member = self
                .store
                .member(&t.caller.org_id, &id)
                .await?
                .ok_or_else(|| {
                    DomainError::invalid("owner_id", "not a member of this organization")
                })?;
            format!("{} {}", member.first_name, member.last_name)
                .trim()
                .to_string()
        };
        let name = match owner_name {
            Some(n) => leadwire_models::validate::name("owner_name", &n, 1, 200)?,
            None => default_name,
        };
        Ok((Some(id), Some(name)))
    }

    /// Gives the lead to an owner (a member or a rep of the OU, or nobody). Giving it to a
    /// rep records an assignment whose outcome becomes a training example.
    pub async fn set_lead_owner(&self, t: &Tenant, lead_id: &str, input: OwnerInput) -> Result<()> {
        t.require(Access::Write)?;
        let owner_id =
            leadwire_models::leads::owner_named(input.owner_id, input.owner_name.as_deref())?;
        self.unmerged_lead(t, lead_id).await?;
        let (owner, name) = self.owner(t, owner_id, input.owner_name).await?;
        let updated = self
            .give_leads(t, &[lead_id.to_string()], owner, name, None, false)
            .await?;
        if updated.is_empty() {
            return Err(DomainError::not_found("lead"));
        }
        Ok(())
    }

    pub async fn bulk_owner(&self, t: &Tenant, input: BulkOwnerInput) -> Result<Affected> {
        t.require(Access::Write)?;
        let lead_ids = check_lead_ids("lead_ids", &input.lead_ids, MAX_BULK_LEADS)?;
        let owner_id =
            leadwire_models::leads::owner_named(input.owner_id, input.owner_name.as_deref())?;
        // as for one lead: a merged-away id is refused (naming where it went), not skipped
        let merged: BTreeMap<String, String> = self
            .store
            .leads_by_ids(&t.caller.org_id, &t.ou_id, &lead_ids)
            .await?
            .into_iter()
            .filter_map(|l| l.merged_into.map(|target| (l.id, target)))
            .collect();
        if !merged.is_empty() {
            let ids: Vec<&str> = merged.keys().map(String::as_str).collect();
            return Err(DomainError::conflict(format!(
                "leads {} were merged into others; act on the leads they were merged into",
                ids.join(", ")
            ))
            .with_details(serde_json::json!({ "merged_into": merged })));
        }
        let (owner, name) = self.owner(t, owner_id, input.owner_name).await?;
        let updated = self
            .give_leads(t, &lead_ids, owner, name, None, false)
            .await?;
        Ok(Affected {
            status: "ok".into(),
            affected: updated.len() as u64,
        })
    }

    pub async fn merge_leads(&self, t: &Tenant, input: MergeInput) -> Result<MergeResult> {
        t.require(Access::Write)?;
        let plan = input.validate()?;
        self.engine.merge(&t.caller.org_id, &t.ou_id, plan).await
    }

    /// Zeroes a lead's scores now: events are kept, earlier ones stop counting.
    pub async fn reset_lead_score(&self, t: &Tenant, lead_id: &str) -> Result<ResetResult> {
        t.require(Access::Write)?;
        self.unmerged_lead(t, lead_id).await?;
        self.engine
            .reset(&t.caller.org_id, &t.ou_id, lead_id, time::now())
            .await
    }

    /// Scores of many leads in one ruleset (`primary` by default, or an id or name);
    /// without a primary ruleset every score is 0. Read from the stored scores.
    pub async fn batch_scores(
        &self,
        t: &Tenant,
        input: BatchScoresInput,
    ) -> Result<Vec<BatchScore>> {
        t.require(Access::Read)?;
        let lead_ids = check_lead_ids("lead_ids", &input.lead_ids, MAX_BULK_LEADS)?;
        let rulesets = self.store.rulesets(&t.caller.org_id, &t.ou_id).await?;
        let ruleset = match input.ruleset.as_deref() {
            None | Some("primary") => rulesets.iter().find(|r| r.is_primary),
            Some(key) => Some(
                rulesets
                    .iter()
                    .find(|r| r.ruleset_id == key || r.name == key)
                    .ok_or_else(|| {
                        DomainError::invalid("ruleset", "no such ruleset in this org unit")
                    })?,
            ),
        };
        let stored = self
            .store
            .leads_by_ids(&t.caller.org_id, &t.ou_id, &lead_ids)
            .await?;
        // a merged-away lead's score is the one of the lead its history went to
        let found = self
            .current_leads(&t.caller.org_id, &t.ou_id, stored)
            .await?;
        Ok(lead_ids
            .into_iter()
            .map(|id| {
                let lead = found.get(&id);
                let score = match (lead, ruleset) {
                    (Some(l), Some(rs)) => l.scores.get(&rs.ruleset_id).copied().unwrap_or(0.0),
                    _ => 0.0,
                };
                BatchScore {
                    found: lead.is_some(),
                    merged_into: lead.filter(|l| l.id != id).map(|l| l.id.clone()),
                    lead_id: id,
                    score,
                }
            })
            .collect())
    }
}

/// A small CSV writer (RFC 4180 quoting).
pub struct CsvWriter(String);

/// A level's name for a CSV cell ("" for none).
fn level_name(level: &Option<leadwire_models::levels::LevelRef>) -> &str {
    level.as_ref().map(|l| l.name.as_str()).unwrap_or("")
}

pub fn csv_writer(header: &[&str]) -> CsvWriter {
    let mut w = CsvWriter(String::new());
    w.row(header);
    w
}

impl CsvWriter {
    pub fn row(&mut self, cells: &[&str]) {
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            // a cell a spreadsheet would run as a formula is defused with a quote mark
            let formula = c.starts_with(['=', '+', '-', '@']) && c.parse::<f64>().is_err();
            let defused;
            let c = if formula {
                defused = format!("'{c}");
                defused.as_str()
            } else {
                c
            };
            if c.contains([',', '"', '\n', '\r']) {
                self.0.push('"');
                self.0.push_str(&c.replace('"', "\"\""));
                self.0.push('"');
            } else {
                self.0.push_str(c);
            }
        }
        self.0.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.0
    }
}

impl Core {
    /// A lead's activity: filtered events and the unified timeline, newest first.
    pub async fn lead_activity(
        &self,
        t: &Tenant,
        lead_id: &str,
        params: leadwire_models::events::ActivityParams,
    ) -> Result<leadwire_models::events::Activity> {
        use leadwire_models::events::{Activity, TimelineEntry};
        t.require(Access::Read)?;
        let f = params.validate(time::now())?;
        let mut events = self.lead_events(t, lead_id).await?;
        events.retain(|e| f.keeps(e));
        events.reverse();
        let timeline = events
            .iter()
            .map(|e| TimelineEntry {
                kind: if e.system {
                    e.event_type.clone()
                } else {
                    "event".into()
                },
                at: e.occurred_at.clone(),
                event_id: e.event_id.clone(),
                event_type: e.event_type.clone(),
                channel: e.channel.clone(),
                score_delta: e.deltas.values().map(|d| d.delta).fold(0.0, |m: f64, d| {
                    if d.abs() > m.abs() {
                        d
                    } else {
                        m
                    }
                }),
            })
            .collect();
        Ok(Activity {
            events,
            orders: Vec::new(),
            timeline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_when_needed() {
        let mut w = csv_writer(&["a", "b"]);
        w.row(&["x,y", "say \"hi\"\nthere"]);
        w.row(&["=cmd()", "-5"]);
        assert_eq!(
            w.finish(),
            "a,b\r\n\"x,y\",\"say \"\"hi\"\"\nthere\"\r\n'=cmd(),-5\r\n"
        );
    }
}
