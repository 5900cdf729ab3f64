//! The tools an assistant calls, their arguments (each with a JSON schema), and the
//! prompt. Every tool acts as the token's member in the OU named by its `ou_id` argument,
//! else the `X-OU-Id` header, else the member's default OU, and calls the same core
//! operation REST does: the member's role there decides what it may do (writes need
//! Operator).

use std::future::Future;

use leadwire_actors::Core;
use leadwire_models::analytics::TopParams;
use leadwire_models::events::{EventInput, EventListParams};
use leadwire_models::leads::{Lead, LeadListParams, LeadSortBy, OwnerInput, SortOrder};
use leadwire_models::routing::prediction::{EntityType, PredictionRequest, PredictionTrigger};
use leadwire_models::rules::RuleInput;
use leadwire_models::tenancy::Tenant;
use leadwire_models::DomainError;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{CallToolResult, GetPromptResult, PromptMessage, Role};
use rmcp::{prompt, prompt_router, tool, tool_router, ErrorData};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::args::Parameters;
use crate::{caller, to_json, tool_result, LeadwireTools};

/// Most leads `search_leads` returns in one call.
const MAX_SEARCH: u32 = 100;

/// A tool that takes no arguments refuses any.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// The org unit a tool acts in (every tool but `list_org_units` takes it).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OuArg {
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchLeadsArgs {
    /// Text to find: a lead id prefix or an alias value such as an email (at least 2
    /// characters). Omit to list leads by score.
    pub query: Option<String>,
    /// Only leads scoring at least this much.
    pub min_score: Option<f64>,
    /// Only leads scoring at most this much.
    pub max_score: Option<f64>,
    /// Sort by `score` (default), `created_at`, `updated_at`, `last_event_at` or `id`.
    pub sort_by: Option<String>,
    /// `desc` (default) or `asc`.
    pub sort_order: Option<String>,
    /// Include leads disqualified by a hard-disqualify rule (default false).
    pub include_disqualified: Option<bool>,
    /// Page number from 1 (default 1).
    pub page: Option<u32>,
    /// Leads per page, 1–100 (default 20).
    pub limit: Option<u32>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadArgs {
    /// The lead's id (e.g. `ld_01J…` or the id your systems gave it).
    pub lead_id: String,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainArgs {
    /// The lead's id.
    pub lead_id: String,
    /// The window of recent activity to explain, in hours (1–8784, a year; default 24).
    pub hours: Option<u32>,
    /// The ruleset to explain (default the primary one).
    pub ruleset_id: Option<String>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopArgs {
    /// How many leads, 1–100 (default 10).
    pub limit: Option<u32>,
    /// For score gains: the window in hours, 1–720 (default 24).
    pub hours: Option<u32>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

impl TopArgs {
    fn params(&self) -> TopParams {
        TopParams {
            limit: self.limit,
            hours: self.hours,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEventsArgs {
    /// Only this lead's events.
    pub lead_id: Option<String>,
    /// Only events of this type (e.g. `Demo Request`).
    pub event_type: Option<String>,
    /// `key:value` metadata filters, all of which must hold (e.g. `utm_campaign:fall`).
    #[serde(default)]
    pub metadata: Vec<String>,
    /// Page number from 1 (default 1).
    pub page: Option<u32>,
    /// Events per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasArg {
    /// `email`, `phone`, `external_id`, `cookie` or `social`.
    pub alias_kind: String,
    /// The identifier as seen (emails and phones are normalised).
    pub raw_value: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestArgs {
    /// The event type, e.g. `Demo Request` (rules score by type).
    pub event_type: String,
    /// An existing lead's id. Send this or `aliases`, not both.
    pub lead_id: Option<String>,
    /// Identifiers of the person (a new lead is made when none is known).
    pub aliases: Option<Vec<AliasArg>>,
    /// When it happened, RFC 3339 (default now).
    pub timestamp: Option<String>,
    /// Properties of the event as a JSON object (at most 100 KB).
    pub metadata: Option<Map<String, Value>>,
    /// Your own name for this event (1-255 characters). Send it again on a retry: the
    /// event is then stored once, and the retry answers `duplicate: true`.
    pub idempotency_key: Option<String>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRulesArgs {
    /// Only this ruleset's rules.
    pub ruleset_id: Option<String>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRuleArgs {
    /// The event type the rule scores.
    pub event_type: String,
    /// Points per event, −1,000,000 to 1,000,000.
    pub weight: i64,
    /// The ruleset (default: the primary one, made if the OU has none).
    pub ruleset_id: Option<String>,
    /// Points halve every this many days (1–730); omit for no decay.
    pub half_life_days: Option<i64>,
    /// Whether the rule scores (default true).
    pub active: Option<bool>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRuleArgs {
    /// The rule to change; only the fields sent change.
    pub rule_id: String,
    /// The event type the rule scores (omit to keep; not null).
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    #[schemars(with = "String")]
    pub event_type: Option<String>,
    /// Points per event, −1,000,000 to 1,000,000 (omit to keep; not null).
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    #[schemars(with = "i64")]
    pub weight: Option<i64>,
    /// Points halve every this many days (1–730; omit to keep, not null).
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    #[schemars(with = "i64")]
    pub half_life_days: Option<i64>,
    /// True removes the half-life (points never decay).
    #[serde(default)]
    pub no_half_life: bool,
    /// Whether the rule scores (omit to keep; not null).
    #[serde(default, deserialize_with = "leadwire_models::validate::not_null")]
    #[schemars(with = "bool")]
    pub active: Option<bool>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignOwnerArgs {
    /// The lead to assign.
    pub lead_id: String,
    /// The org member or rep of the org unit who will own it; null unassigns. Required.
    #[serde(default, deserialize_with = "leadwire_models::validate::double_option")]
    #[schemars(with = "Option<String>")]
    pub owner_id: Option<Option<String>>,
    /// A display name (default: the member's name).
    pub owner_name: Option<String>,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualifyArgs {
    /// The lead to qualify.
    pub lead_id: String,
    /// The org unit to act in (default: the X-OU-Id header, else your default unit).
    pub ou_id: Option<String>,
}

/// The part of a lead an assistant scans in a list.
#[derive(Serialize)]
struct LeadSummary<'a> {
    lead_id: &'a str,
    score: f64,
    level: Option<&'a str>,
    profile_score: f64,
    disqualified: bool,
    owner_id: Option<&'a str>,
    owner_name: Option<&'a str>,
    account_id: Option<&'a str>,
    last_event_type: Option<&'a str>,
    last_event_at: Option<&'a str>,
}

fn summary(l: &Lead) -> LeadSummary<'_> {
    LeadSummary {
        lead_id: &l.id,
        score: l.score,
        level: l.level.as_ref().map(|v| v.name.as_str()),
        profile_score: l.profile_score,
        disqualified: l.disqualified,
        owner_id: l.owner_id.as_deref(),
        owner_name: l.owner_name.as_deref(),
        account_id: l.account_id.as_deref(),
        last_event_type: l.last_event_type.as_deref(),
        last_event_at: l.last_event_at.as_deref(),
    }
}

/// A value of a snake_case enum given as text (`sort_by`), or a validation error.
fn parse_enum<T: serde::de::DeserializeOwned>(
    field: &str,
    v: Option<String>,
) -> Result<Option<T>, DomainError> {
    v.map(|s| {
        serde_json::from_value(Value::String(s.clone()))
            .map_err(|_| DomainError::invalid(field, format!("unknown value {s:?}")))
    })
    .transpose()
}

/// Everything known of a lead: the lead with its live scores, account, aliases, its
/// newest events, and the why of its score (the `get_lead` tool and `lead://` resource).
pub(crate) async fn lead_profile(
    core: &Core,
    t: &Tenant,
    lead_id: &str,
) -> Result<Value, DomainError> {
    let with_account = core.get_lead_with_account(t, lead_id).await?;
    let aliases = core.lead_aliases(t, lead_id).await?;
    let why = core.why_lead(t, lead_id).await?;
    // the why names the lead the history is on: a merged-away lead's target
    let events = core
        .recent_events_of_leads(t, std::slice::from_ref(&why.lead_id), 10)
        .await?
        .into_values()
        .next()
        .unwrap_or_default();
    Ok(json!({
        "lead": with_account.lead,
        "account": with_account.account,
        "aliases": aliases,
        "recent_events": events,
        "why": why,
    }))
}

#[tool_router(vis = "pub(crate)")]
impl LeadwireTools {
    #[tool(
        description = "Who the access token belongs to: the member's profile, the organisation, and the org unit (with the member's role in it) the tools act in."
    )]
    async fn whoami(
        &self,
        Parameters(a): Parameters<OuArg>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let member = core.me(&t.caller).await?;
            to_json(&json!({
                "member": member,
                "org_id": t.caller.org_id,
                "ou_id": t.ou_id,
                "ou_role": t.role,
            }))
        })
        .await
    }

    #[tool(
        description = "The org units the member can see, each with the member's role (Owner, Operator or Viewer), and the organisation."
    )]
    async fn list_org_units(
        &self,
        Parameters(_): Parameters<NoArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = async {
            let caller = caller(&parts)?;
            to_json(&self.core.list_units(caller).await?)
        }
        .await;
        Ok(tool_result(result))
    }

    #[tool(
        description = "Find leads by id prefix or alias (email, phone, …), or list them by score. Returns compact summaries (score, level, owner, last activity) and the total; use get_lead for one lead's details. Disqualified leads are left out unless include_disqualified is true."
    )]
    async fn search_leads(
        &self,
        Parameters(a): Parameters<SearchLeadsArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id.clone(), |core, t| async move {
            let limit = a.limit.unwrap_or(20);
            if !(1..=MAX_SEARCH).contains(&limit) {
                return Err(DomainError::invalid(
                    "limit",
                    format!("must be 1-{MAX_SEARCH}"),
                ));
            }
            let params = LeadListParams {
                page: a.page,
                limit: Some(limit),
                min_score: a.min_score,
                max_score: a.max_score,
                include_disqualified: a.include_disqualified,
                search: a.query,
                sort_by: parse_enum::<LeadSortBy>("sort_by", a.sort_by)?,
                sort_order: parse_enum::<SortOrder>("sort_order", a.sort_order)?,
                ..Default::default()
            };
            let page = core.list_leads(&t, params).await?;
            to_json(&json!({
                "leads": page.leads.iter().map(summary).collect::<Vec<_>>(),
                "total": page.total,
                "page": page.page,
                "limit": page.limit,
            }))
        })
        .await
    }

    #[tool(
        description = "One lead in full: its live scores per ruleset, level, profile and account scores, disqualification, metadata, owner, account, aliases, its 10 newest events and a plain-language summary of why it has its score."
    )]
    async fn get_lead(
        &self,
        Parameters(a): Parameters<LeadArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            lead_profile(&core, &t, &a.lead_id).await
        })
        .await
    }

    #[tool(
        description = "Why a lead has its score: ranked factors with their share and a plain-language summary, plus the top drivers, surge boosts and decay over the last `hours` in one ruleset."
    )]
    async fn explain_score(
        &self,
        Parameters(a): Parameters<ExplainArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let why = core.why_lead(&t, &a.lead_id).await?;
            let explanation = core
                .explain_lead(&t, &a.lead_id, a.hours, a.ruleset_id.as_deref())
                .await?;
            to_json(&json!({ "why": why, "explanation": explanation }))
        })
        .await
    }

    #[tool(
        description = "The highest-scoring leads of the org unit right now (disqualified leads left out), with owner and last activity."
    )]
    async fn top_leads(
        &self,
        Parameters(a): Parameters<TopArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let params = a.params();
        self.run(&parts, a.ou_id, |core, t| async move {
            to_json(&core.top_leads(&t, params).await?)
        })
        .await
    }

    #[tool(
        description = "The leads whose score rose most in the last `hours` (default 24): the gain, the number of events behind it and the score now."
    )]
    async fn recent_score_gains(
        &self,
        Parameters(a): Parameters<TopArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let params = a.params();
        self.run(&parts, a.ou_id, |core, t| async move {
            to_json(&core.recent_gains(&t, params).await?)
        })
        .await
    }

    #[tool(
        description = "Engagement events of the org unit, newest first: optionally one lead's, one type's, or those whose metadata matches `key:value` filters. Each event shows the score change it caused per ruleset."
    )]
    async fn list_events(
        &self,
        Parameters(a): Parameters<ListEventsArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let params = EventListParams {
                page: a.page,
                limit: a.limit,
                metadata: a.metadata,
                logic: None,
                lead_id: a.lead_id,
                event_type: a.event_type,
            };
            to_json(&core.list_events(&t, params).await?)
        })
        .await
    }

    #[tool(
        description = "Record an engagement event for a lead (named by lead_id, or by aliases such as an email: a new lead is made when none is known). Returns once the event is stored, with the score change per ruleset. Needs the Operator role."
    )]
    async fn ingest_event(
        &self,
        Parameters(a): Parameters<IngestArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            // each alias as the API reads it, an error naming its place (`aliases[0].alias_kind`)
            let aliases = a
                .aliases
                .map(|list| {
                    list.into_iter()
                        .enumerate()
                        .map(|(i, alias)| {
                            serde_path_to_error::deserialize(json!(alias)).map_err(|e| {
                                leadwire_models::validate::serde_error(
                                    &e.path().to_string(),
                                    &e.inner().to_string(),
                                )
                                .within(&format!("aliases[{i}]"))
                            })
                        })
                        .collect::<Result<Vec<_>, DomainError>>()
                })
                .transpose()?;
            let input = EventInput {
                lead_id: a.lead_id,
                aliases,
                event_type: a.event_type,
                timestamp: a.timestamp,
                metadata: a.metadata,
                idempotency_key: a.idempotency_key,
                ..Default::default()
            };
            to_json(&core.ingest_event(&t, input).await?)
        })
        .await
    }

    #[tool(
        description = "The engagement rulesets of the org unit and their scoring rules (event type, weight, half-life, active, priority)."
    )]
    async fn list_rules(
        &self,
        Parameters(a): Parameters<ListRulesArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let rulesets = core.list_rulesets(&t).await?;
            let rules = core.list_rules(&t, a.ruleset_id.as_deref()).await?;
            to_json(&json!({ "rulesets": rulesets, "rules": rules }))
        })
        .await
    }

    #[tool(
        description = "Create a scoring rule: every event of `event_type` earns `weight` points (decaying by half every `half_life_days` if given). Live scores follow at once. Needs the Operator role."
    )]
    async fn create_rule(
        &self,
        Parameters(a): Parameters<CreateRuleArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let input = RuleInput {
                ruleset_id: a.ruleset_id,
                event_type: Some(a.event_type),
                weight: Some(a.weight),
                half_life_days: a.half_life_days.map(Some),
                active: a.active,
                ..Default::default()
            };
            to_json(&core.create_rule(&t, input).await?)
        })
        .await
    }

    #[tool(
        description = "Change a scoring rule: only the fields given change (no_half_life: true removes its decay). Live scores follow at once. Needs the Operator role."
    )]
    async fn update_rule(
        &self,
        Parameters(a): Parameters<UpdateRuleArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let half_life_days = match (a.no_half_life, a.half_life_days) {
                (true, Some(_)) => {
                    return Err(DomainError::invalid(
                        "half_life_days",
                        "send half_life_days or no_half_life, not both",
                    ))
                }
                (true, None) => Some(None),
                (false, days) => days.map(Some),
            };
            let input = RuleInput {
                event_type: a.event_type,
                weight: a.weight,
                half_life_days,
                active: a.active,
                ..Default::default()
            };
            to_json(&core.update_rule(&t, &a.rule_id, input).await?)
        })
        .await
    }

    #[tool(
        description = "Assign a lead to an org member or a rep of the org unit (owner_name defaults to their name), or unassign it with owner_id null (owner_id is required). Giving a lead to a rep records a routing assignment whose outcome trains the routing model. Returns the lead's summary. Needs the Operator role."
    )]
    async fn assign_owner(
        &self,
        Parameters(a): Parameters<AssignOwnerArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let owner = OwnerInput {
                owner_id: a.owner_id,
                owner_name: a.owner_name,
            };
            core.set_lead_owner(&t, &a.lead_id, owner).await?;
            let lead = core.get_lead(&t, &a.lead_id).await?;
            to_json(&summary(&lead))
        })
        .await
    }

    #[tool(
        description = "Suggest the best rep for a lead with the org unit's predictive-routing model: the eligible reps (available, under capacity) ranked by their estimated chance of converting this lead, the confidence of the pick and the features behind it. Records a PENDING prediction a person can route or override in Leadwire. Fails when no model is trained yet or no rep is eligible. Needs the Operator role."
    )]
    async fn suggest_rep(
        &self,
        Parameters(a): Parameters<LeadArgs>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            let request = PredictionRequest {
                entity_type: EntityType::Lead,
                entity_id: a.lead_id,
            };
            to_json(
                &core
                    .create_prediction(&t, request, PredictionTrigger::OnDemand)
                    .await?,
            )
        })
        .await
    }

    #[tool(
        description = "How predictive routing is doing in the org unit: predictions by status, acceptance and override rates, how accepted, overridden and manual assignments converted (the accuracy of accepted predictions), average confidence, training examples and the model version."
    )]
    async fn routing_stats(
        &self,
        Parameters(a): Parameters<OuArg>,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&parts, a.ou_id, |core, t| async move {
            to_json(&core.routing_stats(&t).await?)
        })
        .await
    }
}

#[prompt_router(vis = "pub(crate)")]
impl LeadwireTools {
    /// Qualify a lead for sales: its profile, scores and the why of its score, with
    /// instructions to judge sales-readiness and propose a next step.
    #[prompt(name = "qualify_lead")]
    async fn qualify_lead(
        &self,
        rmcp::handler::server::wrapper::Parameters(a): rmcp::handler::server::wrapper::Parameters<
            QualifyArgs,
        >,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<GetPromptResult, ErrorData> {
        let profile = async {
            let t = self.tenant(&parts, a.ou_id).await?;
            lead_profile(&self.core, &t, &a.lead_id).await
        }
        .await
        .map_err(crate::protocol_error)?;
        let text = format!(
            "Qualify lead {id} for sales.\n\n\
             Here is everything Leadwire knows about it (live scores, level, profile and \
             account scores, disqualification, owner, account, aliases, its newest events, \
             and why it has its score):\n\n{profile:#}\n\n\
             1. Say whether it is sales-ready (yes / not yet / no) and why, citing the \
             factors above.\n\
             2. If it is disqualified, say by which rule and stop.\n\
             3. Propose one next step. If it should go to a rep now and has no owner, say \
             who and use the assign_owner tool once the user agrees.",
            id = a.lead_id
        );
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(format!("Qualify lead {}", a.lead_id)),
        )
    }
}

impl LeadwireTools {
    /// Runs one tool's work in the caller's tenant and answers with its JSON, or with the
    /// error as a tool error (never a failed session).
    async fn run<F, Fut>(
        &self,
        parts: &http::request::Parts,
        ou_id: Option<String>,
        work: F,
    ) -> Result<CallToolResult, ErrorData>
    where
        F: FnOnce(Core, Tenant) -> Fut,
        Fut: Future<Output = Result<Value, DomainError>>,
    {
        let result = async {
            let t = self.tenant(parts, ou_id).await?;
            work(self.core.clone(), t).await
        }
        .await;
        Ok(tool_result(result))
    }
}
