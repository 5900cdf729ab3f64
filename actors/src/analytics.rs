//! Analytics over an OU's leads and events: totals, event statistics, top leads and recent
//! score gains. Computed by the store on demand, so they are never stale.

use chrono::Duration;
use leadwire_models::analytics::{
    Analytics, AnalyticsTotals, Count, EventCounts, EventStats, LastDay, ScoreGain, TopLead,
    TopParams,
};
use leadwire_models::leads::{LeadFilter, LeadSortBy};
use leadwire_models::page::PageRequest;
use leadwire_models::scoring::round2;
use leadwire_models::tenancy::{Access, Tenant};
use leadwire_models::{time, Result};

use crate::Core;

fn counts(rows: Vec<(String, u64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

impl Core {
    pub async fn analytics(&self, t: &Tenant) -> Result<Analytics> {
        t.require(Access::Read)?;
        let now = time::now();
        let totals = self
            .store
            .totals(
                &t.caller.org_id,
                &t.ou_id,
                &time::format(&(now - Duration::days(7))),
                &time::format(&(now - Duration::hours(24))),
            )
            .await?;
        Ok(Analytics {
            totals: AnalyticsTotals {
                leads: totals.leads,
                active_leads_7d: totals.active_leads,
                average_score: round2(totals.average_score),
                disqualified_leads: totals.disqualified_leads,
                events: totals.events,
                events_24h: totals.events_since,
            },
            by_channel: counts(totals.by_channel),
            by_type: counts(totals.by_event_type),
        })
    }

    pub async fn event_stats(&self, t: &Tenant) -> Result<EventStats> {
        t.require(Access::Read)?;
        let now = time::now();
        let bounds: Vec<String> = [Duration::hours(24), Duration::days(7), Duration::days(30)]
            .into_iter()
            .map(|d| time::format(&(now - d)))
            .chain(std::iter::once(String::new()))
            .collect();
        let c = self
            .store
            .event_counts_since(&t.caller.org_id, &t.ou_id, &bounds)
            .await?;
        let mut top = counts(
            self.store
                .event_type_counts(&t.caller.org_id, &t.ou_id)
                .await?,
        );
        top.truncate(10);
        let leads_24h = self
            .store
            .leads_with_events_since(&t.caller.org_id, &t.ou_id, &bounds[0])
            .await?;
        let at = |i: usize| c.get(i).copied().unwrap_or(0);
        Ok(EventStats {
            last_24h: LastDay {
                events: at(0),
                leads: leads_24h,
            },
            counts: EventCounts {
                last_24h: at(0),
                last_7d: at(1),
                last_30d: at(2),
                all: at(3),
            },
            top_events: top,
        })
    }

    pub async fn top_leads(&self, t: &Tenant, params: TopParams) -> Result<Vec<TopLead>> {
        t.require(Access::Read)?;
        let (limit, _) = params.validate()?;
        let f = LeadFilter {
            page: PageRequest { page: 1, limit },
            created: None,
            min_score: None,
            max_score: None,
            event_type: None,
            active_since: None,
            include_disqualified: false,
            search: None,
            levels: Default::default(),
            sort_by: LeadSortBy::Score,
            descending: true,
        };
        let (leads, _) = self
            .store
            .list_leads(&t.caller.org_id, &t.ou_id, &f)
            .await?;
        Ok(leads
            .into_iter()
            .map(|l| TopLead {
                lead_id: l.id,
                score: l.score,
                owner_name: l.owner_name,
                last_event_at: l.last_event_at,
                last_event_type: l.last_event_type,
            })
            .collect())
    }

    /// Leads whose primary-ruleset score rose most from events received in the window.
    pub async fn recent_gains(&self, t: &Tenant, params: TopParams) -> Result<Vec<ScoreGain>> {
        t.require(Access::Read)?;
        let (limit, hours) = params.validate()?;
        let rulesets = self.store.rulesets(&t.caller.org_id, &t.ou_id).await?;
        let Some(primary) = rulesets.iter().find(|r| r.is_primary) else {
            return Ok(Vec::new());
        };
        let since = time::format(&(time::now() - Duration::hours(i64::from(hours))));
        let mut gains = self
            .store
            .score_gains(&t.caller.org_id, &t.ou_id, &primary.ruleset_id, &since)
            .await?;
        gains.retain(|(_, g, _)| *g > 0.0);
        gains.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        gains.truncate(limit as usize);
        let ids: Vec<String> = gains.iter().map(|g| g.0.clone()).collect();
        let leads = self
            .store
            .leads_by_ids(&t.caller.org_id, &t.ou_id, &ids)
            .await?;
        Ok(gains
            .into_iter()
            .map(|(lead_id, gain, events)| ScoreGain {
                score: leads
                    .iter()
                    .find(|l| l.id == lead_id)
                    .map(|l| l.score)
                    .unwrap_or(0.0),
                lead_id,
                gain: round2(gain),
                events,
            })
            .collect())
    }
}
