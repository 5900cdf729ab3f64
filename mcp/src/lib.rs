//! leadwire-mcp: the MCP (Model Context Protocol) tool server for AI assistants, served
//! over streamable HTTP at `/mcp`.
//!
//! Authentication happens before a request reaches this crate: the server's auth layer
//! resolves the `Authorization` header into a [`Caller`] and puts it in the request
//! extensions, and [`require_personal_access_token`] refuses every MCP request that was not
//! made with a personal access token. Tools read the caller from the HTTP request parts
//! rmcp hands them, resolve the org unit (header `X-OU-Id`, else the caller's default) and
//! call the same [`Core`] operations REST and GraphQL call.

mod args;
mod sessions;
mod tools;

use std::sync::Arc;

use leadwire_actors::Core;
use leadwire_models::tenancy::{AuthKind, Caller, Tenant, OU_HEADER};
use leadwire_models::DomainError;
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{prompt_handler, tool_handler, ErrorData, RoleServer, ServerHandler};
use serde::Serialize;

pub use sessions::SessionOwners;
pub use tokio_util::sync::CancellationToken;

/// The MCP service: one [`LeadwireTools`] per session, sharing the core.
pub type McpService = StreamableHttpService<LeadwireTools, LocalSessionManager>;

/// Builds the streamable-HTTP MCP service. `allowed_hosts` are the `Host` values accepted
/// (DNS-rebinding protection); `shutdown` ends open sessions when the server stops;
/// `max_body_bytes` is the server's body limit (413 over it).
pub fn service(
    core: Core,
    allowed_hosts: Vec<String>,
    shutdown: CancellationToken,
    max_body_bytes: usize,
) -> McpService {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(allowed_hosts)
        .with_cancellation_token(shutdown)
        .with_max_request_body_bytes(max_body_bytes);
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

/// The tools, resources and prompt Leadwire offers an AI assistant.
#[derive(Clone)]
pub struct LeadwireTools {
    core: Core,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

/// The resource template of a lead's profile and score explanation.
pub const LEAD_URI_PREFIX: &str = "lead://";
/// How many of the top leads `resources/list` names.
const LISTED_LEADS: u32 = 20;

impl LeadwireTools {
    pub fn new(core: Core) -> Self {
        LeadwireTools {
            core,
            tool_router: Self::tool_router(),
            prompt_router: Self::prompt_router(),
        }
    }

    /// The caller's tenant: the OU named by `ou_id` (a tool argument), else by
    /// `X-OU-Id`, else the caller's default OU.
    async fn tenant(
        &self,
        parts: &http::request::Parts,
        ou_id: Option<String>,
    ) -> Result<Tenant, DomainError> {
        let caller = caller(parts)?;
        let header = parts
            .headers
            .get(OU_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let requested = ou_id.filter(|v| !v.is_empty()).or(header);
        self.core.resolve_tenant(caller, requested.as_deref()).await
    }
}

fn request_parts(context: &RequestContext<RoleServer>) -> Result<&http::request::Parts, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .ok_or_else(|| ErrorData::internal_error("missing HTTP request", None))
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for LeadwireTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("leadwire", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Leadwire: real-time lead scoring, routing and enrichment. Tools act as the \
             token's member in the org unit given by their ou_id argument, else the X-OU-Id \
             header, else the member's default unit; writes need the Operator role. Read \
             lead://{lead_id} for a lead's profile and score explanation, and use the \
             qualify_lead prompt to judge a lead's sales-readiness.",
        )
    }

    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        let call = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        let response = self.tool_router.call(call).await?;
        Ok(args::argument_errors_as_bodies(response))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("lead://{lead_id}", "lead")
                .with_title("Lead profile and score explanation")
                .with_description(
                    "A lead's live scores, level, disqualification, metadata, owner, account, \
                     aliases, newest events and the why of its score, as JSON.",
                )
                .with_mime_type("application/json"),
        ]))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let parts = request_parts(&context)?;
        let top = async {
            let t = self.tenant(parts, None).await?;
            let params = leadwire_models::analytics::TopParams {
                limit: Some(LISTED_LEADS),
                hours: None,
            };
            self.core.top_leads(&t, params).await
        }
        .await
        .map_err(protocol_error)?;
        Ok(ListResourcesResult::with_all_items(
            top.into_iter()
                .map(|l| {
                    Resource::new(format!("{LEAD_URI_PREFIX}{}", l.lead_id), l.lead_id.clone())
                        .with_description(format!("Lead {} (score {})", l.lead_id, l.score))
                        .with_mime_type("application/json")
                })
                .collect(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let parts = request_parts(&context)?;
        let Some(lead_id) = request
            .uri
            .strip_prefix(LEAD_URI_PREFIX)
            .filter(|id| !id.is_empty())
        else {
            return Err(ErrorData::resource_not_found(
                format!("unknown resource {}: use lead://{{lead_id}}", request.uri),
                None,
            ));
        };
        let profile = async {
            let t = self.tenant(parts, None).await?;
            tools::lead_profile(&self.core, &t, lead_id).await
        }
        .await
        .map_err(protocol_error)?;
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            profile.to_string(),
            request.uri.clone(),
        )
        .with_mime_type("application/json")])
        .into())
    }
}

/// A failure of a resource read or a prompt as a JSON-RPC error: the kind by the domain
/// code, and the API's error body (code, message, details) as its data, so that a client
/// tells "unauthorized" from "not found" from "internal" as REST and GraphQL callers do.
pub(crate) fn protocol_error(e: DomainError) -> ErrorData {
    use leadwire_models::ErrorCode;
    let data = Some(e.body());
    match e.code {
        ErrorCode::NotFound => ErrorData::resource_not_found(e.message, data),
        ErrorCode::BadRequest | ErrorCode::ValidationFailed => {
            ErrorData::invalid_params(e.message, data)
        }
        ErrorCode::Internal | ErrorCode::Unavailable | ErrorCode::Timeout => {
            ErrorData::internal_error(e.message, data)
        }
        _ => ErrorData::invalid_request(e.message, data),
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
