//! Queries: the caller and their org units.

use async_graphql::{Context, Error, ErrorExtensions, Object, Result, SimpleObject};
use leadwire_actors::Core;
use leadwire_models::tenancy::Caller;
use leadwire_models::DomainError;

/// A domain error as a GraphQL error with `extensions.code`.
pub(crate) fn gql_error(e: DomainError) -> Error {
    Error::new(e.message.clone()).extend_with(|_, ext| ext.set("code", e.code.as_str()))
}

pub(crate) fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Caller> {
    ctx.data_opt::<Caller>().ok_or_else(|| {
        gql_error(DomainError::unauthorized(
            "authentication required: send a Bearer token or Basic credentials",
        ))
    })
}

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
        let caller = caller(ctx)?;
        let core = ctx.data::<Core>()?;
        let me = core.me(caller).await.map_err(gql_error)?;
        let requested = ctx.data_opt::<crate::RequestedOu>().map(|r| r.0.as_str());
        let active = core
            .resolve_tenant(caller, requested)
            .await
            .ok()
            .map(|t| t.ou_id);
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
        let caller = caller(ctx)?;
        let core = ctx.data::<Core>()?;
        let units = core.list_units(caller).await.map_err(gql_error)?;
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
}
