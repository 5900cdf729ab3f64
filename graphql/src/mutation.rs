//! Mutations: ingest events, create / update / merge leads, owners, score resets, and the
//! engagement rulesets and rules. Each calls the same core operation as REST, with the
//! same checks and errors; writes need the Operator role.

use async_graphql::{Context, MaybeUndefined, Object, Result};
use leadwire_models::leads::{LeadInput, LeadUpdate, MergeInput, OwnerInput, ResetResult};
use leadwire_models::rules::{Rule, Ruleset};
use serde_json::Value;

use crate::session::{gql_error, session};
use crate::types::{
    object, EventInputGql, IngestResult, LeadNode, MergeResultNode, RuleInputGql, RulesetInputGql,
    RulesetPatchGql, TruncateInputGql,
};

pub struct Mutation;

#[Object]
impl Mutation {
    /// Ingests one engagement event; answers once it is durable, with the score change
    /// in each ruleset.
    async fn ingest_event(&self, ctx: &Context<'_>, input: EventInputGql) -> Result<IngestResult> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let input = input.into_model()?;
        s.core()
            .ingest_event(&t, input)
            .await
            .map(IngestResult::from)
            .map_err(gql_error)
    }

    /// Creates a lead (`id` kept as given, else a new `ld_` id).
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        metadata: Option<Value>,
        account_id: Option<String>,
    ) -> Result<LeadNode> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let input = LeadInput {
            id,
            metadata: metadata.map(object).transpose()?,
            account_id,
        };
        s.core()
            .create_lead(&t, input)
            .await
            .map(LeadNode::from)
            .map_err(gql_error)
    }

    /// Replaces a lead's metadata; `accountId` links an account, null unlinks, absent
    /// leaves it. The lead's profile score follows at once.
    async fn update_lead(
        &self,
        ctx: &Context<'_>,
        id: String,
        metadata: Value,
        account_id: MaybeUndefined<String>,
    ) -> Result<LeadNode> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let input = LeadUpdate {
            metadata: object(metadata)?,
            account_id: match account_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
        };
        s.core()
            .update_lead(&t, &id, input)
            .await
            .map(LeadNode::from)
            .map_err(gql_error)
    }

    /// Merges keys into a lead's metadata; a null value removes the key.
    async fn patch_lead(&self, ctx: &Context<'_>, id: String, metadata: Value) -> Result<LeadNode> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .patch_lead(&t, &id, object(metadata)?)
            .await
            .map(LeadNode::from)
            .map_err(gql_error)
    }

    /// Merges source leads (at most 50) into a target: their events and aliases move to
    /// it, and it is rescored from the whole history.
    async fn merge_leads(
        &self,
        ctx: &Context<'_>,
        target_lead_id: String,
        source_lead_ids: Vec<String>,
        truncate: Option<TruncateInputGql>,
    ) -> Result<MergeResultNode> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let input = MergeInput {
            target_lead_id,
            source_lead_ids,
            truncate: truncate.map(|tr| leadwire_models::leads::TruncateInput {
                policy: tr.policy,
                max_events: tr.max_events,
            }),
        };
        s.core()
            .merge_leads(&t, input)
            .await
            .map(MergeResultNode::from)
            .map_err(gql_error)
    }

    /// Assigns a lead to an org member or rep (`ownerName` defaults to their name), or
    /// unassigns it when `ownerId` is null. `ownerId` is required: leaving it out is an
    /// error, never an unassignment.
    async fn assign_owner(
        &self,
        ctx: &Context<'_>,
        lead_id: String,
        owner_id: MaybeUndefined<String>,
        owner_name: Option<String>,
    ) -> Result<LeadNode> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let core = s.core();
        core.set_lead_owner(
            &t,
            &lead_id,
            OwnerInput {
                owner_id: crate::types::double(owner_id),
                owner_name,
            },
        )
        .await
        .map_err(gql_error)?;
        core.get_lead(&t, &lead_id)
            .await
            .map(LeadNode::from)
            .map_err(gql_error)
    }

    /// Resets a lead's scores to zero from now on (its events are kept).
    async fn reset_score(&self, ctx: &Context<'_>, lead_id: String) -> Result<ResetResult> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .reset_lead_score(&t, &lead_id)
            .await
            .map_err(gql_error)
    }

    /// Creates an engagement ruleset (an OU's first is its primary one).
    async fn create_ruleset(&self, ctx: &Context<'_>, input: RulesetInputGql) -> Result<Ruleset> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .create_ruleset(&t, input.into())
            .await
            .map_err(gql_error)
    }

    /// Renames a ruleset, changes its score column or makes it the primary one (fields
    /// left out keep their values).
    async fn update_ruleset(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: RulesetPatchGql,
    ) -> Result<Ruleset> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .update_ruleset(&t, &id, input.into_model()?)
            .await
            .map_err(gql_error)
    }

    /// Deletes a ruleset and its rules; returns its id.
    async fn delete_ruleset(&self, ctx: &Context<'_>, id: String) -> Result<String> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core().delete_ruleset(&t, &id).await.map_err(gql_error)?;
        Ok(id)
    }

    /// Creates a scoring rule; live scores follow at once.
    async fn create_rule(&self, ctx: &Context<'_>, input: RuleInputGql) -> Result<Rule> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .create_rule(&t, input.into_model()?)
            .await
            .map_err(gql_error)
    }

    /// Changes the fields sent of a rule.
    async fn update_rule(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: RuleInputGql,
    ) -> Result<Rule> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core()
            .update_rule(&t, &id, input.into_model()?)
            .await
            .map_err(gql_error)
    }

    /// Deletes a rule; returns its id.
    async fn delete_rule(&self, ctx: &Context<'_>, id: String) -> Result<String> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        s.core().delete_rule(&t, &id).await.map_err(gql_error)?;
        Ok(id)
    }

    /// Sets the priority order of a ruleset's rules (every rule once, first = highest);
    /// returns the rules in their new order.
    async fn reorder_rules(
        &self,
        ctx: &Context<'_>,
        ruleset_id: String,
        rule_ids: Vec<String>,
    ) -> Result<Vec<Rule>> {
        let s = session(ctx)?;
        let t = s.tenant().await?;
        let core = s.core();
        core.reorder_rules(&t, &ruleset_id, rule_ids)
            .await
            .map_err(gql_error)?;
        core.list_rules(&t, Some(&ruleset_id))
            .await
            .map_err(gql_error)
    }
}
