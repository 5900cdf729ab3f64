//! Who a GraphQL operation runs as, and in which OU: resolved once per request (or per
//! WebSocket connection) and shared by its resolvers and DataLoaders.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Context, Data, Error, ErrorExtensions, Result};
use leadwire_actors::auth::Credentials;
use leadwire_actors::Core;
use leadwire_models::tenancy::{Access, Caller, Tenant};
use leadwire_models::DomainError;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::loaders::Loaders;

/// A domain error as a GraphQL error: the message, with `extensions.code` (and
/// `extensions.details` when the error has them) as in REST's error body.
pub(crate) fn gql_error(e: DomainError) -> Error {
    Error::new(e.message.clone()).extend_with(|_, ext| {
        ext.set("code", e.code.as_str());
        if let Some(details) = &e.details {
            if let Ok(v) = async_graphql::Value::from_json(details.clone()) {
                ext.set("details", v);
            }
        }
    })
}

/// How long a resolved tenant (the caller's role in the OU) is trusted before it is
/// checked again: a WebSocket connection outlives role changes and removals.
pub const TENANT_TTL: Duration = Duration::from_secs(30);

/// The caller and requested OU of one request or WebSocket connection.
pub struct Session {
    core: Core,
    caller: Option<Caller>,
    requested_ou: Option<String>,
    resolved: Mutex<Option<Resolved>>,
}

/// The tenant as last resolved, and the DataLoaders made in it.
struct Resolved {
    at: Instant,
    tenant: Result<Arc<Tenant>, DomainError>,
    loaders: Option<Arc<Loaders>>,
}

impl Session {
    /// `caller` is who the auth layer resolved (none: unauthenticated); `requested_ou`
    /// the `X-OU-Id` header / `activeOu` cookie / `ouId` of `connection_init`.
    pub fn new(core: Core, caller: Option<Caller>, requested_ou: Option<String>) -> Session {
        Session {
            core,
            caller,
            requested_ou,
            resolved: Mutex::new(None),
        }
    }

    pub fn caller(&self) -> Result<&Caller> {
        self.caller.as_ref().ok_or_else(|| {
            gql_error(DomainError::unauthorized(
                "authentication required: send a Bearer token or Basic credentials",
            ))
        })
    }

    /// The caller acting in the requested OU (else their default one), checked again
    /// once it is older than [`TENANT_TTL`].
    pub async fn tenant(&self) -> Result<Arc<Tenant>> {
        let caller = self.caller()?;
        let mut resolved = self.resolved.lock().await;
        if let Some(r) = resolved.as_ref().filter(|r| r.at.elapsed() < TENANT_TTL) {
            return r.tenant.clone().map_err(gql_error);
        }
        let tenant = self
            .core
            .resolve_tenant(caller, self.requested_ou.as_deref())
            .await
            .map(Arc::new);
        *resolved = Some(Resolved {
            at: Instant::now(),
            tenant: tenant.clone(),
            loaders: None,
        });
        tenant.map_err(gql_error)
    }

    /// The tenant, when the caller's role in it grants `access`.
    pub async fn tenant_with(&self, access: Access) -> Result<Arc<Tenant>> {
        let t = self.tenant().await?;
        t.require(access).map_err(gql_error)?;
        Ok(t)
    }

    /// DataLoaders in the session's current tenant (made on first use).
    pub(crate) async fn loaders(&self) -> Result<Arc<Loaders>> {
        let t = self.tenant().await?;
        let mut resolved = self.resolved.lock().await;
        let Some(r) = resolved.as_mut() else {
            return Err(gql_error(DomainError::internal()));
        };
        Ok(r.loaders
            .get_or_insert_with(|| Arc::new(Loaders::new(self.core.clone(), (*t).clone())))
            .clone())
    }

    /// The caller and requested OU, to check the tenant again later (subscriptions).
    pub(crate) fn identity(&self) -> (Option<Caller>, Option<String>) {
        (self.caller.clone(), self.requested_ou.clone())
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }
}

/// The session of the operation being resolved.
pub(crate) fn session<'a>(ctx: &'a Context<'_>) -> Result<&'a Session> {
    ctx.data_opt::<Session>().ok_or_else(|| {
        gql_error(DomainError::unauthorized(
            "authentication required: send a Bearer token or Basic credentials",
        ))
    })
}

/// The `connection_init` of a GraphQL WebSocket: authenticates the payload's
/// `Authorization` (also `authorization`, or a bare `token` / `authToken` taken as a bearer
/// token) and takes its `ouId` (or `X-OU-Id`). A payload without credentials falls back
/// to the caller and OU of the upgrade request's own headers. No caller: the connection is
/// refused.
pub async fn connection_init(
    core: Core,
    payload: Value,
    upgrade_caller: Option<Caller>,
    upgrade_ou: Option<String>,
) -> Result<Data> {
    let text = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            payload
                .get(*k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
    };
    let header = text(&["Authorization", "authorization"]);
    let bare = text(&["token", "authToken", "access_token"]);
    let caller = match (header, bare) {
        (Some(h), _) => Some(authenticate(&core, &h).await?),
        (None, Some(token)) => Some(authenticate(&core, &format!("Bearer {token}")).await?),
        (None, None) => upgrade_caller,
    };
    let Some(caller) = caller else {
        return Err(Error::new(
            "authentication required: send Authorization in the connection_init payload",
        ));
    };
    let ou = text(&["ouId", "X-OU-Id", "x-ou-id"]).or(upgrade_ou);
    let session = Session::new(core, Some(caller), ou);
    // an OU the caller may not act in refuses the connection, as it would a request
    session.tenant().await?;
    let mut data = Data::default();
    data.insert(session);
    Ok(data)
}

async fn authenticate(core: &Core, header: &str) -> Result<Caller> {
    let creds = Credentials::parse(header)
        .ok_or_else(|| Error::new("unsupported Authorization scheme: use Bearer or Basic"))?;
    core.authenticate(&creds)
        .await
        .map_err(|_| Error::new("invalid credentials"))
}
