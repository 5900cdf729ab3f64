//! Why a lead has its score: explanations, ranked factors with a plain-language summary,
//! batch summaries for lead lists, and shareable read-only explanation links.
//!
//! Explanations replay the lead's stored events through the same pure engine the live
//! path uses ([`LeadBook`]), so they always agree with the score.

use std::collections::BTreeMap;

use leadwire_models::events::StoredEvent;
use leadwire_models::explain::{
    self, Explanation, PublicExplanation, Why, WhyBatch, DEFAULT_HOURS, MAX_HOURS, MAX_WHY_BATCH,
    SHARE_TTL_DAYS,
};
use leadwire_models::leads::Lead;
use leadwire_models::profile;
use leadwire_models::scoring::{LeadBook, ScoringConfig};
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{auth, time, DomainError, Result};

use crate::engine::ou::load_config;
use crate::Core;

fn book_of(lead: &Lead, events: &[&StoredEvent], config: &ScoringConfig) -> LeadBook {
    LeadBook::from_stored(
        config,
        events.iter().copied(),
        lead.score_reset_at.as_deref(),
    )
}

/// The ruleset an explanation is about: the one asked for, else the primary one.
fn pick_ruleset(config: &ScoringConfig, asked: Option<&str>) -> Result<Option<String>> {
    match asked {
        Some(id) => config
            .rulesets
            .iter()
            .find(|r| r.ruleset_id == id)
            .map(|r| Some(r.ruleset_id.clone()))
            .ok_or_else(|| DomainError::not_found("ruleset")),
        None => Ok(config.primary().map(|r| r.ruleset_id.clone())),
    }
}

/// A name to show for a lead: its `name` (or first + last name) metadata, else its
/// first email, else its id.
fn display_name(lead: &Lead, email: Option<&str>) -> String {
    let m = &lead.metadata;
    let get = |k: &str| {
        m.get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if let Some(n) = get("name") {
        return n.to_string();
    }
    let full = [get("first_name"), get("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !full.is_empty() {
        return full;
    }
    email.map(str::to_string).unwrap_or_else(|| lead.id.clone())
}

impl Core {
    async fn lead_book(
        &self,
        org_id: &str,
        ou_id: &str,
        lead_id: &str,
    ) -> Result<(Lead, LeadBook, ScoringConfig)> {
        // a merged-away lead's history is the one of the lead it went to
        let lead = self.current_lead(org_id, ou_id, lead_id).await?;
        let config = load_config(&self.store, org_id, ou_id).await?;
        let events = self.store.lead_events(org_id, ou_id, &lead.id).await?;
        let book = book_of(&lead, &events.iter().collect::<Vec<_>>(), &config);
        Ok((lead, book, config))
    }

    /// Top drivers, rule snapshot, surge boosts and decay of a lead's score over the last
    /// `hours` (default 24) in one ruleset (default the primary one).
    pub async fn explain_lead(
        &self,
        t: &Tenant,
        lead_id: &str,
        hours: Option<u32>,
        ruleset_id: Option<&str>,
    ) -> Result<Explanation> {
        t.require(Access::Read)?;
        let hours = hours.unwrap_or(DEFAULT_HOURS);
        if !(1..=MAX_HOURS).contains(&hours) {
            return Err(DomainError::invalid(
                "hours",
                format!("must be 1-{MAX_HOURS}"),
            ));
        }
        let (lead, book, config) = self.lead_book(&t.caller.org_id, &t.ou_id, lead_id).await?;
        let rs = pick_ruleset(&config, ruleset_id)?;
        Ok(explain::explain(
            &lead.id,
            &book,
            &config,
            rs.as_deref(),
            time::now(),
            hours,
        ))
    }

    /// Ranked factors and the plain-language summary of a lead's score.
    pub async fn why_lead(&self, t: &Tenant, lead_id: &str) -> Result<Why> {
        t.require(Access::Read)?;
        let (lead, book, config) = self.lead_book(&t.caller.org_id, &t.ou_id, lead_id).await?;
        let rs = pick_ruleset(&config, None)?;
        let now = time::now();
        let accounts = account_properties(&self.store, &t.caller.org_id, &t.ou_id).await?;
        let judged = judge_lead(&config, &lead, &accounts, now);
        // a disqualified lead's "why" is its disqualification and nothing else
        if let Some(dq) = judged.disqualification {
            return Ok(Why {
                summary: dq.reason.clone(),
                lead_id: lead.id,
                factors: Vec::new(),
                disqualified: true,
                disqualification: serde_json::to_value(&dq).ok(),
            });
        }
        let mut factors = explain::factors(&book, &config, rs.as_deref(), now);
        factors.extend(profile::factors(&judged.profile, "profile"));
        factors.extend(profile::factors(&judged.account, "account"));
        let score =
            leadwire_models::scoring::round2(book.score(&config, rs.as_deref().unwrap_or(""), now));
        Ok(Why {
            summary: explain::summary(score, &factors, lead.score_reset_at.as_deref()),
            lead_id: lead.id,
            factors,
            disqualified: false,
            disqualification: None,
        })
    }

    /// Summaries for up to 200 leads in a fixed number of store queries (4), whatever
    /// their number: the leads, all their events, the scoring config and the accounts.
    pub async fn why_batch(&self, t: &Tenant, lead_ids: &str) -> Result<WhyBatch> {
        t.require(Access::Read)?;
        let mut ids: Vec<String> = Vec::new();
        for id in lead_ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
        self.why_of_leads(t, ids).await
    }

    /// [`Core::why_batch`] over distinct lead ids: at most 200, in 4 store queries.
    pub async fn why_of_leads(&self, t: &Tenant, ids: Vec<String>) -> Result<WhyBatch> {
        t.require(Access::Read)?;
        if ids.len() > MAX_WHY_BATCH {
            return Err(DomainError::invalid(
                "lead_ids",
                format!("at most {MAX_WHY_BATCH} lead ids"),
            ));
        }
        if ids.is_empty() {
            return Ok(WhyBatch::default());
        }
        let (org, ou) = (&t.caller.org_id, &t.ou_id);
        // an id that cannot be a lead id is simply missing
        let plausible: Vec<String> = ids
            .iter()
            .filter(|id| leadwire_models::ids::is_plausible_id(id))
            .cloned()
            .collect();
        let stored = self.store.leads_by_ids(org, ou, &plausible).await?;
        // a merged-away lead's summary is the one of the lead its history went to
        let current = self.current_leads(org, ou, stored).await?;
        let merged_into: BTreeMap<String, String> = current
            .iter()
            .filter(|(id, l)| **id != l.id)
            .map(|(id, l)| (id.clone(), l.id.clone()))
            .collect();
        // each lead once, however many of the ids stand for it
        let leads: Vec<&Lead> = current
            .values()
            .map(|l| (l.id.as_str(), l))
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .collect();
        let live: Vec<String> = leads.iter().map(|l| l.id.clone()).collect();
        let events = self.store.events_of_leads(org, ou, &live).await?;
        let config = load_config(&self.store, org, ou).await?;
        let accounts = account_properties(&self.store, org, ou).await?;
        let rs = pick_ruleset(&config, None)?;
        let mut by_lead: BTreeMap<&str, Vec<&StoredEvent>> = BTreeMap::new();
        for e in &events {
            by_lead.entry(e.lead_id.as_str()).or_default().push(e);
        }
        let now = time::now();
        let by_current = leads
            .iter()
            .map(|lead| {
                let judged = judge_lead(&config, lead, &accounts, now);
                if let Some(dq) = judged.disqualification {
                    return (lead.id.clone(), dq.reason);
                }
                let evs = by_lead.get(lead.id.as_str()).cloned().unwrap_or_default();
                let book = book_of(lead, &evs, &config);
                let mut factors = explain::factors(&book, &config, rs.as_deref(), now);
                factors.extend(profile::factors(&judged.profile, "profile"));
                factors.extend(profile::factors(&judged.account, "account"));
                let score = leadwire_models::scoring::round2(book.score(
                    &config,
                    rs.as_deref().unwrap_or(""),
                    now,
                ));
                (
                    lead.id.clone(),
                    explain::summary(score, &factors, lead.score_reset_at.as_deref()),
                )
            })
            .collect::<BTreeMap<_, _>>();
        let summaries: BTreeMap<String, String> = current
            .iter()
            .filter_map(|(id, l)| Some((id.clone(), by_current.get(&l.id)?.clone())))
            .collect();
        let missing = ids
            .into_iter()
            .filter(|id| !summaries.contains_key(id))
            .collect();
        Ok(WhyBatch {
            summaries,
            missing,
            merged_into,
        })
    }

    /// A read-only link to a lead's explanation, valid for 7 days. Returns the token and
    /// when it expires; only the token's hash is stored.
    pub async fn share_explain(&self, t: &Tenant, lead_id: &str) -> Result<(String, String)> {
        // sharing outside the organisation takes write access
        t.require(Access::Write)?;
        // a merged-away lead's explanation is the one of the lead its history went to
        let lead = self
            .current_lead(&t.caller.org_id, &t.ou_id, lead_id)
            .await?;
        let lead_id = lead.id.as_str();
        let token = format!("shx_{}", auth::random_hex(24));
        let expires_at = time::format(&(time::now() + chrono::Duration::days(SHARE_TTL_DAYS)));
        self.store
            .create_share_link(
                &auth::hash_secret(&token),
                &t.caller.org_id,
                &t.ou_id,
                lead_id,
                &t.caller.member_id,
                &expires_at,
            )
            .await?;
        Ok((token, expires_at))
    }

    /// What a share link shows, without authentication: 404 for an unknown token, 410
    /// once expired.
    pub async fn public_explanation(&self, token: &str) -> Result<PublicExplanation> {
        let unknown = || DomainError::not_found("shared explanation");
        if token.len() > 200 {
            return Err(unknown());
        }
        let (org, ou, lead_id, expires_at) = self
            .store
            .share_link(&auth::hash_secret(token))
            .await?
            .ok_or_else(unknown)?;
        if time::parse(&expires_at).is_none_or(|e| e <= time::now()) {
            return Err(DomainError::new(
                leadwire_models::ErrorCode::Gone,
                "this shared explanation has expired",
            ));
        }
        // the lead may have been deleted since
        let (lead, book, config) = self
            .lead_book(&org, &ou, &lead_id)
            .await
            .map_err(|_| unknown())?;
        let rs = pick_ruleset(&config, None)?;
        let x = explain::explain(
            &lead.id,
            &book,
            &config,
            rs.as_deref(),
            time::now(),
            DEFAULT_HOURS,
        );
        let email = self
            .store
            .lead_aliases(&org, &ou, &lead.id)
            .await?
            .into_iter()
            .find(|a| a.alias_kind == leadwire_models::events::AliasKind::Email)
            .map(|a| a.value);
        Ok(PublicExplanation {
            lead_name: display_name(&lead, email.as_deref()),
            score: x.score,
            top_drivers: x.top_drivers,
            snapshot: x.snapshot,
            decay_applied: x.decay_applied,
            range_hours: x.range_hours,
        })
    }
}

/// A stored lead judged under the OU's profile and account rules now (its account's
/// properties from `accounts`), as its actor judges it.
fn judge_lead(
    config: &leadwire_models::scoring::ScoringConfig,
    lead: &Lead,
    accounts: &BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    now: time::Timestamp,
) -> profile::Judgement {
    let account = lead.account_id.as_ref().and_then(|id| accounts.get(id));
    profile::judge(
        config,
        &lead.metadata,
        account,
        lead.disqualification.as_ref(),
        &time::format(&now),
    )
}

/// The OU's live accounts' properties by id (one query, whatever the number of leads).
async fn account_properties(
    store: &leadwire_store::Store,
    org_id: &str,
    ou_id: &str,
) -> Result<BTreeMap<String, serde_json::Map<String, serde_json::Value>>> {
    Ok(store
        .accounts(org_id, ou_id)
        .await?
        .iter()
        .map(|a| {
            (
                a.account_id.clone(),
                leadwire_models::accounts::properties(a),
            )
        })
        .collect())
}
