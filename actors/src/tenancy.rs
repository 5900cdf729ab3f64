//! Org units, OU memberships and org members: the operations and who may perform them.
//!
//! Rules (from the seed, plus the ones a safe product needs):
//! - org admins create OUs and manage org members; an admin is Owner in every OU;
//! - an OU's Owner renames it and reads its audit log;
//! - Owners and Operators assign, re-role and remove memberships, but only an Owner may
//!   grant, change or remove the Owner role, and an OU always keeps at least one Owner;
//! - members of other orgs and OUs the caller cannot see are "not found".

use leadwire_models::auth as secrets;
use leadwire_models::ids::is_plausible_id;
use leadwire_models::tenancy::{
    Access, Caller, MemberView, OrgRole, OrgUnit, OuMembership, OuRole, Tenant,
};
use leadwire_models::{validate, DomainError, Result};
use leadwire_store::{MemberPatch, NewMember, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Core;

/// An OU as listed for the caller, with their role in it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitView {
    pub unit_id: String,
    pub name: String,
    pub slug: String,
    pub role: OuRole,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationView {
    pub org_id: String,
    pub name: String,
}

/// `GET /v1/org-units`: the caller's OUs and their organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitsView {
    pub units: Vec<UnitView>,
    pub organization: OrganizationView,
}

/// An OU membership with the member's profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipView {
    pub org_member_id: String,
    pub unit_id: String,
    pub role: OuRole,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A new org member, as requested.
#[derive(Debug, Clone)]
pub struct MemberInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password: String,
    pub role: OrgRole,
}

/// Changes to an org member.
#[derive(Debug, Clone, Default)]
pub struct MemberUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<OrgRole>,
    pub password: Option<String>,
}

/// A unique-index refusal as 409 with `message`; other store errors as usual.
pub(crate) fn duplicate_as(e: StoreError, message: &str) -> DomainError {
    match e {
        StoreError::Duplicate(_) => DomainError::conflict(message),
        other => other.into(),
    }
}

impl Core {
    // ----- org units -----

    pub async fn list_units(&self, caller: &Caller) -> Result<UnitsView> {
        let org = self
            .store
            .org(&caller.org_id)
            .await?
            .ok_or_else(|| DomainError::not_found("organization"))?;
        let units = self.store.org_units(&caller.org_id).await?;
        let memberships = self
            .store
            .memberships_of_member(&caller.org_id, &caller.member_id)
            .await?;
        let units = units
            .into_iter()
            .filter_map(|u| {
                let membership = memberships.iter().find(|m| m.ou_id == u.id).map(|m| m.role);
                caller.effective_role(membership).map(|role| UnitView {
                    unit_id: u.id,
                    name: u.name,
                    slug: u.slug,
                    role,
                    created_at: u.created_at,
                })
            })
            .collect();
        Ok(UnitsView {
            units,
            organization: OrganizationView {
                org_id: org.id,
                name: org.name,
            },
        })
    }

    /// Creates an OU (org admins only); the creator becomes its Owner.
    pub async fn create_unit(&self, caller: &Caller, name: &str) -> Result<OrgUnit> {
        caller.require_admin()?;
        let name = validate::name("name", name, 1, 100)?;
        let slug = validate::slugify(&name);
        self.store
            .create_org_unit(&caller.org_id, &name, &slug, &caller.member_id)
            .await
            .map_err(|e| duplicate_as(e, "an org unit with this name already exists"))
    }

    /// Renames an OU (its Owner or an org admin).
    pub async fn rename_unit(&self, caller: &Caller, ou_id: &str, name: &str) -> Result<OrgUnit> {
        let tenant = self.tenant_in(caller, ou_id).await?;
        tenant.require(Access::Manage)?;
        let name = validate::name("name", name, 1, 100)?;
        let slug = validate::slugify(&name);
        self.store
            .rename_org_unit(&caller.org_id, ou_id, &name, &slug)
            .await
            .map_err(|e| duplicate_as(e, "an org unit with this name already exists"))?
            .ok_or_else(|| DomainError::not_found("org unit"))
    }

    // ----- OU memberships -----

    pub async fn list_memberships(
        &self,
        caller: &Caller,
        ou_id: &str,
    ) -> Result<Vec<MembershipView>> {
        let tenant = self.tenant_in(caller, ou_id).await?;
        tenant.require(Access::Read)?;
        let members = self.store.members(&caller.org_id).await?;
        let memberships = self.store.memberships_of_ou(&caller.org_id, ou_id).await?;
        Ok(memberships
            .into_iter()
            .filter_map(|m| {
                let member = members.iter().find(|x| x.id == m.member_id)?;
                Some(membership_view(m, member))
            })
            .collect())
    }

    /// Assigns a member to an OU with a role (idempotent). Returns the membership and
    /// whether it was created.
    pub async fn assign_membership(
        &self,
        caller: &Caller,
        ou_id: &str,
        member_id: &str,
        role: OuRole,
    ) -> Result<(MembershipView, bool)> {
        let tenant = self.tenant_in(caller, ou_id).await?;
        tenant.require(Access::Write)?;
        let member = self.org_member(caller, member_id).await?;
        let current = self.store.membership(ou_id, member_id).await?;
        check_owner_rule(&tenant, current.as_ref().map(|m| m.role), Some(role))?;
        if current.as_ref().is_some_and(|m| m.role == OuRole::Owner) && role != OuRole::Owner {
            self.ensure_other_owner(&tenant, member_id).await?;
        }
        let (m, created) = self
            .store
            .upsert_membership(&caller.org_id, ou_id, member_id, role)
            .await?;
        Ok((membership_view(m, &member), created))
    }

    pub async fn update_membership(
        &self,
        caller: &Caller,
        ou_id: &str,
        member_id: &str,
        role: OuRole,
    ) -> Result<MembershipView> {
        let tenant = self.tenant_in(caller, ou_id).await?;
        tenant.require(Access::Write)?;
        let member = self.org_member(caller, member_id).await?;
        let current = self
            .store
            .membership(ou_id, member_id)
            .await?
            .ok_or_else(|| DomainError::not_found("membership"))?;
        check_owner_rule(&tenant, Some(current.role), Some(role))?;
        if current.role == OuRole::Owner && role != OuRole::Owner {
            self.ensure_other_owner(&tenant, member_id).await?;
        }
        let m = self
            .store
            .set_membership_role(&caller.org_id, ou_id, member_id, role)
            .await?
            .ok_or_else(|| DomainError::not_found("membership"))?;
        Ok(membership_view(m, &member))
    }

    pub async fn remove_membership(
        &self,
        caller: &Caller,
        ou_id: &str,
        member_id: &str,
    ) -> Result<()> {
        let tenant = self.tenant_in(caller, ou_id).await?;
        tenant.require(Access::Write)?;
        if !is_plausible_id(member_id) {
            return Err(DomainError::not_found("membership"));
        }
        let current = self
            .store
            .membership(ou_id, member_id)
            .await?
            .filter(|m| m.org_id == caller.org_id)
            .ok_or_else(|| DomainError::not_found("membership"))?;
        check_owner_rule(&tenant, Some(current.role), None)?;
        if current.role == OuRole::Owner {
            self.ensure_other_owner(&tenant, member_id).await?;
        }
        if !self
            .store
            .delete_membership(&caller.org_id, ou_id, member_id)
            .await?
        {
            return Err(DomainError::not_found("membership"));
        }
        Ok(())
    }

    async fn ensure_other_owner(&self, tenant: &Tenant, leaving_member: &str) -> Result<()> {
        let owners = self
            .store
            .count_owners(tenant.org_id(), &tenant.ou_id)
            .await?;
        let leaving_is_owner = self
            .store
            .membership(&tenant.ou_id, leaving_member)
            .await?
            .is_some_and(|m| m.role == OuRole::Owner);
        if leaving_is_owner && owners <= 1 {
            return Err(DomainError::conflict(
                "an org unit must keep at least one Owner",
            ));
        }
        Ok(())
    }

    // ----- org members -----

    async fn org_member(
        &self,
        caller: &Caller,
        member_id: &str,
    ) -> Result<leadwire_models::tenancy::Member> {
        if !is_plausible_id(member_id) {
            return Err(DomainError::not_found("member"));
        }
        self.store
            .member(&caller.org_id, member_id)
            .await?
            .ok_or_else(|| DomainError::not_found("member"))
    }

    /// The caller's own profile.
    pub async fn me(&self, caller: &Caller) -> Result<MemberView> {
        Ok(MemberView::from(
            &self.org_member(caller, &caller.member_id).await?,
        ))
    }

    pub async fn list_members(&self, caller: &Caller) -> Result<Vec<MemberView>> {
        Ok(self
            .store
            .members(&caller.org_id)
            .await?
            .iter()
            .map(MemberView::from)
            .collect())
    }

    pub async fn create_member(&self, caller: &Caller, input: MemberInput) -> Result<MemberView> {
        caller.require_admin()?;
        let new = NewMember {
            first_name: validate::name("first_name", &input.first_name, 1, 100)?,
            last_name: validate::name("last_name", &input.last_name, 0, 100)?,
            email: validate::email("email", &input.email)?,
            password_hash: {
                validate::password("password", &input.password)?;
                secrets::hash_password(&input.password)?
            },
            role: input.role,
        };
        let m = self
            .store
            .create_member(&caller.org_id, &new)
            .await
            .map_err(|e| duplicate_as(e, "a member with this email already exists"))?;
        Ok(MemberView::from(&m))
    }

    pub async fn update_member(
        &self,
        caller: &Caller,
        member_id: &str,
        update: MemberUpdate,
    ) -> Result<MemberView> {
        caller.require_admin()?;
        self.org_member(caller, member_id).await?;
        if member_id == caller.member_id && update.role.is_some_and(|r| r != OrgRole::Admin) {
            return Err(DomainError::conflict(
                "you cannot remove your own admin role",
            ));
        }
        let patch = MemberPatch {
            first_name: update
                .first_name
                .map(|v| validate::name("first_name", &v, 1, 100))
                .transpose()?,
            last_name: update
                .last_name
                .map(|v| validate::name("last_name", &v, 0, 100))
                .transpose()?,
            email: update
                .email
                .map(|v| validate::email("email", &v))
                .transpose()?,
            role: update.role,
            password_hash: match update.password {
                Some(p) => {
                    validate::password("password", &p)?;
                    Some(secrets::hash_password(&p)?)
                }
                None => None,
            },
            slack_user_id: None,
        };
        let m = self
            .store
            .update_member(&caller.org_id, member_id, &patch)
            .await
            .map_err(|e| duplicate_as(e, "a member with this email already exists"))?
            .ok_or_else(|| DomainError::not_found("member"))?;
        Ok(MemberView::from(&m))
    }

    pub async fn delete_member(&self, caller: &Caller, member_id: &str) -> Result<()> {
        caller.require_admin()?;
        self.org_member(caller, member_id).await?;
        if member_id == caller.member_id {
            return Err(DomainError::conflict("you cannot delete yourself"));
        }
        for m in self
            .store
            .memberships_of_member(&caller.org_id, member_id)
            .await?
        {
            if m.role == OuRole::Owner
                && self.store.count_owners(&caller.org_id, &m.ou_id).await? <= 1
            {
                return Err(DomainError::conflict(format!(
                    "the member is the last Owner of org unit {}; make someone else Owner first",
                    m.ou_id
                )));
            }
        }
        if !self.store.delete_member(&caller.org_id, member_id).await? {
            return Err(DomainError::not_found("member"));
        }
        Ok(())
    }

    pub async fn set_slack_user_id(
        &self,
        caller: &Caller,
        member_id: &str,
        slack_user_id: &str,
    ) -> Result<MemberView> {
        caller.require_admin()?;
        self.org_member(caller, member_id).await?;
        validate::slack_user_id("slack_user_id", slack_user_id)?;
        let patch = MemberPatch {
            slack_user_id: Some(slack_user_id.to_string()),
            ..Default::default()
        };
        let m = self
            .store
            .update_member(&caller.org_id, member_id, &patch)
            .await?
            .ok_or_else(|| DomainError::not_found("member"))?;
        Ok(MemberView::from(&m))
    }
}

/// Only an Owner may grant, take away or remove the Owner role.
fn check_owner_rule(tenant: &Tenant, current: Option<OuRole>, next: Option<OuRole>) -> Result<()> {
    let touches_owner = current == Some(OuRole::Owner) || next == Some(OuRole::Owner);
    if touches_owner && current != next && tenant.role != OuRole::Owner {
        return Err(DomainError::forbidden(
            "only an Owner may grant, change or remove the Owner role",
        ));
    }
    Ok(())
}

fn membership_view(m: OuMembership, member: &leadwire_models::tenancy::Member) -> MembershipView {
    MembershipView {
        org_member_id: m.member_id,
        unit_id: m.ou_id,
        role: m.role,
        first_name: member.first_name.clone(),
        last_name: member.last_name.clone(),
        email: member.email.clone(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}
