//! Queries: the caller and their org units, leads, rules, levels, filters and accounts.

use async_graphql::{Context, Object, Result, SimpleObject};
use leadwire_models::accounts::{Account, AccountListParams, AccountPage};
use leadwire_models::filters::{InorganicFilter, MetadataFilter};
use leadwire_models::leads::LeadListParams;
use leadwire_models::levels::{Dimension, Level};
use leadwire_models::rules::{Rule, Ruleset};
use leadwire_models::tenancy::Access;
use leadwire_models::DomainError;

use crate::session::{gql_error, session};
use crate::types::{LeadNode, LeadPage};

#[derive(SimpleObject)]
pub struct Me {
    pub org_member_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: String,
    pub org_id: String,
    /// The OU this request acts in.
    pub active_ou_id: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "OrgUnit")]
pub struct OrgUnitNode {
    pub unit_id: String,
    pub name: String,
    pub slug: String,
    pub role: String,
    pub created_at: String,
}

pub struct Query;

#[Object]
impl Query {
    /// The authenticated member.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let s = session(ctx)?;
        let caller = s.caller()?;
        let me = s.core().me(caller).await.map_err(gql_error)?;
        let active = s.tenant().await.ok().map(|t| t.ou_id.clone());
        Ok(Me {
            org_member_id: me.org_member_id,
            first_name: me.first_name,
            last_name: me.last_name,
            email: me.email,
            role: format!("{:?}", me.role).to_lowercase(),
            org_id: caller.org_id.clone(),
            active_ou_id: active,
        })
    }

    /// The org units the caller may act in, with their role in each.
    async fn org_units(&self, ctx: &Context<'_>) -> Result<Vec<OrgUnitNode>> {
        let s = session(ctx)?;
        let units = s.core().list_units(s.caller()?).await.map_err(gql_error)?;
        Ok(units
            .units
            .into_iter()
            .map(|u| OrgUnitNode {
                unit_id: u.unit_id,
                name: u.name,
                slug: u.slug,
                role: u.role.as_str().to_string(),
                created_at: u.created_at,
            })
            .collect())
    }

    /// A page of the OU's leads, filtered, sorted and paged as `GET /v1/leads` (`page`
    /// from 1, `limit` 1–500, default 50). Disqualified and merged leads are left out
    /// unless asked.
    #[graphql(
        complexity = "filter.as_ref().and_then(|f| f.limit).or(limit).unwrap_or(50).clamp(1, 500) as usize * child_complexity"
    )]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        filter: Option<LeadListParams>,
        page: Option<u32>,
        limit: Option<u32>,
    ) -> Result<LeadPage> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let mut params = filter.unwrap_or_default();
        params.page = one_of("page", params.page, page)?;
        params.limit = one_of("limit", params.limit, limit)?;
        let p = s.core().list_leads(&t, params).await.map_err(gql_error)?;
        let mut leads: Vec<LeadNode> = p.leads.into_iter().map(LeadNode::from).collect();
        let selection = ctx.look_ahead().field("leads");
        crate::loaders::prefetch(s.core(), &t, selection, &mut leads).await?;
        Ok(LeadPage {
            leads,
            total: p.total,
            page: p.page,
            limit: p.limit,
        })
    }

    /// One lead of the OU with its live scores. An unknown id (or another OU's) is a
    /// `not_found` error and `null`, so the operation's other fields still answer.
    async fn lead(&self, ctx: &Context<'_>, id: String) -> Result<Option<LeadNode>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .get_lead(&t, &id)
            .await
            .map(|lead| Some(LeadNode::from(lead)))
            .map_err(gql_error)
    }

    /// The engagement rulesets of the OU.
    async fn rulesets(&self, ctx: &Context<'_>) -> Result<Vec<Ruleset>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core().list_rulesets(&t).await.map_err(gql_error)
    }

    /// The OU's engagement rules by ruleset and priority; one ruleset's when given.
    async fn rules(&self, ctx: &Context<'_>, ruleset_id: Option<String>) -> Result<Vec<Rule>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .list_rules(&t, ruleset_id.as_deref())
            .await
            .map_err(gql_error)
    }

    /// The named score ranges of a dimension, lowest first.
    async fn levels(&self, ctx: &Context<'_>, dimension: Dimension) -> Result<Vec<Level>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core().list_levels(&t, dimension).await.map_err(gql_error)
    }

    /// Inorganic (bot) velocity filters.
    async fn inorganic_filters(&self, ctx: &Context<'_>) -> Result<Vec<InorganicFilter>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core().list_inorganic_filters(&t).await.map_err(gql_error)
    }

    /// Attribute (metadata) suppression filters.
    async fn attribute_filters(&self, ctx: &Context<'_>) -> Result<Vec<MetadataFilter>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core().list_metadata_filters(&t).await.map_err(gql_error)
    }

    /// The OU's accounts with their leads aggregated live (needs `abm_enabled`).
    #[graphql(complexity = "limit.unwrap_or(50).clamp(1, 500) as usize * child_complexity")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        page: Option<u32>,
        limit: Option<u32>,
        search: Option<String>,
        min_score: Option<f64>,
        include_disqualified: Option<bool>,
    ) -> Result<AccountPage> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let params = AccountListParams {
            page,
            limit,
            search,
            min_score,
            include_disqualified,
            ..Default::default()
        };
        s.core().list_accounts(&t, params).await.map_err(gql_error)
    }

    /// One account of the OU (needs `abm_enabled`). An unknown id is a `not_found` error
    /// and `null`.
    async fn account(&self, ctx: &Context<'_>, id: String) -> Result<Option<Account>> {
        let s = session(ctx)?;
        let t = s.tenant_with(Access::Read).await?;
        s.core()
            .account_detail(&t, &id)
            .await
            .map(|d| Some(d.account))
            .map_err(gql_error)
    }
}

/// A paging argument that can be given on the field or in its filter: either, or both
/// when they agree (two different values would leave one silently ignored).
fn one_of(name: &str, in_filter: Option<u32>, on_field: Option<u32>) -> Result<Option<u32>> {
    match (in_filter, on_field) {
        (Some(a), Some(b)) if a != b => Err(gql_error(DomainError::invalid(
            name,
            format!("given as {b} and as filter.{name} {a}: give one"),
        ))),
        (a, b) => Ok(a.or(b)),
    }
}
