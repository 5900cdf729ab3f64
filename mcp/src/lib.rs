//! leadwire-mcp: the MCP (Model Context Protocol) tool server for AI assistants, served
//! over streamable HTTP at `/mcp`.
//!
//! Authentication happens before a request reaches this crate: the server's auth layer
//! resolves the `Authorization` header into a [`Caller`] and puts it in the request
//! extensions, and [`require_personal_access_token`] refuses every MCP request that was not
//! made with a personal access token. Tools read the caller from the HTTP request parts
//! rmcp hands them, resolve the org unit (header `X-OU-Id`, else the caller's default) and
//! call the same [`Core`] operations REST and GraphQL call.

use std::sync::Arc;

use leadwire_actors::Core;
use leadwire_models::tenancy::{AuthKind, Caller, Tenant, OU_HEADER};
use leadwire_models::DomainError;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler};
use serde::Serialize;

pub use tokio_util::sync::CancellationToken;

/// The MCP service: one [`LeadwireTools`] per session, sharing the core.
pub type McpService = StreamableHttpService<LeadwireTools, LocalSessionManager>;

/// Builds the streamable-HTTP MCP service. `allowed_hosts` are the `Host` values accepted
/// (DNS-rebinding protection); `shutdown` ends open sessions when the server stops.
pub fn service(core: Core, allowed_hosts: Vec<String>, shutdown: CancellationToken) -> McpService {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(allowed_hosts)
        .with_cancellation_token(shutdown);
    StreamableHttpService::new(
        move || Ok(LeadwireTools::new(core.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// Refuses a caller that did not authenticate with a personal access token: MCP clients
/// (AI assistants) are given a PAT, never a password session or an API credential.
pub fn require_personal_access_token(caller: Option<&Caller>) -> Result<(), DomainError> {
    match caller {
        Some(c) if c.auth == AuthKind::PersonalAccessToken => Ok(()),
        Some(_) => Err(DomainError::unauthorized(
            "MCP requires a personal access token (Authorization: Bearer lw_pat_…)",
        )),
        None => Err(DomainError::unauthorized(
            "missing credentials: send Authorization: Bearer lw_pat_…",
        )),
    }
}

/// The tools Leadwire offers an AI assistant.
#[derive(Clone)]
pub struct LeadwireTools {
    core: Core,
    tool_router: ToolRouter<Self>,
}

#[derive(Serialize)]
struct WhoAmI<'a> {
    member: leadwire_models::tenancy::MemberView,
    org_id: &'a str,
    ou_id: &'a str,
    ou_role: leadwire_models::tenancy::OuRole,
}

#[tool_router]
impl LeadwireTools {
    pub fn new(core: Core) -> Self {
        LeadwireTools {
            core,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Who the access token belongs to: the member's profile, the organisation, and the org unit (with the member's role in it) the tools act in."
    )]
    async fn whoami(
        &self,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = async {
            let tenant = self.tenant(&parts).await?;
            let member = self.core.me(&tenant.caller).await?;
            to_json(&WhoAmI {
                member,
                org_id: &tenant.caller.org_id,
                ou_id: &tenant.ou_id,
                ou_role: tenant.role,
            })
        }
        .await;
        Ok(tool_result(result))
    }

    #[tool(
        description = "The org units the member can see, each with the member's role (Owner, Operator or Viewer), and the organisation."
    )]
    async fn list_org_units(
        &self,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = async {
            let caller = caller(&parts)?;
            let units = self.core.list_units(caller).await?;
            to_json(&units)
        }
        .await;
        Ok(tool_result(result))
    }
}

impl LeadwireTools {
    /// The caller's tenant: the OU named by `X-OU-Id`, else the caller's default OU.
    async fn tenant(&self, parts: &http::request::Parts) -> Result<Tenant, DomainError> {
        let caller = caller(parts)?;
        let requested = parts
            .headers
            .get(OU_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty());
        self.core.resolve_tenant(caller, requested).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for LeadwireTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("leadwire", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Leadwire: real-time lead scoring, routing and enrichment. Tools act in the \
                 org unit given by the X-OU-Id header, else the token owner's default unit.",
            )
    }
}

fn caller(parts: &http::request::Parts) -> Result<&Caller, DomainError> {
    let caller = parts.extensions.get::<Caller>();
    require_personal_access_token(caller)?;
    caller.ok_or_else(|| DomainError::unauthorized("missing credentials"))
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, DomainError> {
    serde_json::to_value(value).map_err(|e| {
        tracing::error!(error = %e, "mcp-encode-failed");
        DomainError::internal()
    })
}

/// A tool's outcome as MCP content: the JSON value, or the error in the same
/// `{"error": {code, message, details}}` shape REST answers with, flagged `isError` so
/// the assistant sees what went wrong.
fn tool_result(result: Result<serde_json::Value, DomainError>) -> CallToolResult {
    match result {
        Ok(value) => CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.body().to_string())]),
    }
}
