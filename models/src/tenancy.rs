//! Organisations, org units (OUs), members, roles, and the one function that decides
//! what a caller may do.
//!
//! An org member has an org role (`admin` or `member`). Within an OU a member has an OU
//! role (Owner, Operator, Viewer). An org admin acts as Owner in every OU of the org.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{DomainError, Result};

/// The role of a member in the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    /// May manage members, org units and everything within them.
    Admin,
    /// Works within the OUs they are a member of, with their OU role.
    Member,
}

/// The role of a member within one org unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum OuRole {
    /// Read-only.
    Viewer,
    /// Reads and writes the OU's data, manages memberships.
    Operator,
    /// Everything an Operator may, plus the OU's settings, rename and audit log.
    Owner,
}

impl OuRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OuRole::Viewer => "Viewer",
            OuRole::Operator => "Operator",
            OuRole::Owner => "Owner",
        }
    }
}

/// The header naming the org unit a request acts in (REST, GraphQL, MCP, SSE).
pub const OU_HEADER: &str = "x-ou-id";

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// `Authorization: Bearer <jwt>` from `POST /v1/auth/login`.
    Jwt,
    /// `Authorization: Basic` with an API credential's client_id:client_secret.
    ApiCredential,
    /// `Authorization: Bearer lw_pat_…`.
    PersonalAccessToken,
}

/// The authenticated principal of a request, before an OU is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org_id: String,
    pub member_id: String,
    pub email: String,
    pub org_role: OrgRole,
    pub auth: AuthKind,
    /// The OU an API credential is bound to (credentials act within one OU only).
    pub bound_ou: Option<String>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.org_role == OrgRole::Admin
    }

    /// The effective role of this caller in an OU, given their membership role there (if any).
    pub fn effective_role(&self, membership: Option<OuRole>) -> Option<OuRole> {
        if self.is_admin() {
            Some(OuRole::Owner)
        } else {
            membership
        }
    }

    /// Admin-only operations (org members, creating OUs).
    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(DomainError::forbidden(
                "this action requires the org admin role",
            ))
        }
    }
}

/// A caller acting within one org unit: what every OU-scoped operation receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub caller: Caller,
    pub ou_id: String,
    pub role: OuRole,
}

/// What an operation needs of the caller's OU role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any member of the OU.
    Read,
    /// Operator or Owner (Viewers are read-only).
    Write,
    /// Owner only (settings, audit log, renaming the OU).
    Manage,
}

/// The member id automatic work (routing triggers, the scheduler) acts as.
pub const SYSTEM_MEMBER: &str = "system";

impl Tenant {
    /// Leadwire itself acting in an OU as its Owner: for work no request asked for
    /// (automatic routing, scheduled retrains). Never reachable from outside.
    pub fn system(org_id: &str, ou_id: &str) -> Tenant {
        Tenant {
            caller: Caller {
                org_id: org_id.to_string(),
                member_id: SYSTEM_MEMBER.to_string(),
                email: String::new(),
                org_role: OrgRole::Member,
                auth: AuthKind::Jwt,
                bound_ou: Some(ou_id.to_string()),
            },
            ou_id: ou_id.to_string(),
            role: OuRole::Owner,
        }
    }

    pub fn org_id(&self) -> &str {
        &self.caller.org_id
    }
    pub fn member_id(&self) -> &str {
        &self.caller.member_id
    }

    /// The one role check: every OU-scoped operation calls it with what it needs.
    pub fn require(&self, access: Access) -> Result<()> {
        let allowed = match access {
            Access::Read => true,
            Access::Write => self.role >= OuRole::Operator,
            Access::Manage => self.role >= OuRole::Owner,
        };
        if allowed {
            Ok(())
        } else {
            let needed = match access {
                Access::Read => "Viewer",
                Access::Write => "Operator",
                Access::Manage => "Owner",
            };
            Err(DomainError::forbidden(format!(
                "your role in this org unit is {}; this action requires {needed} or above",
                self.role.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: OrgRole) -> Caller {
        Caller {
            org_id: "org_1".into(),
            member_id: "om_1".into(),
            email: "a@b.c".into(),
            org_role: role,
            auth: AuthKind::Jwt,
            bound_ou: None,
        }
    }

    #[test]
    fn viewer_reads_only() {
        let t = Tenant {
            caller: caller(OrgRole::Member),
            ou_id: "ou_1".into(),
            role: OuRole::Viewer,
        };
        assert!(t.require(Access::Read).is_ok());
        assert_eq!(
            t.require(Access::Write).unwrap_err().code,
            crate::ErrorCode::Forbidden
        );
        assert!(t.require(Access::Manage).is_err());
    }

    #[test]
    fn operator_writes_but_does_not_manage() {
        let t = Tenant {
            caller: caller(OrgRole::Member),
            ou_id: "ou_1".into(),
            role: OuRole::Operator,
        };
        assert!(t.require(Access::Write).is_ok());
        assert!(t.require(Access::Manage).is_err());
    }

    #[test]
    fn admin_is_owner_everywhere() {
        assert_eq!(
            caller(OrgRole::Admin).effective_role(None),
            Some(OuRole::Owner)
        );
        assert_eq!(caller(OrgRole::Member).effective_role(None), None);
        assert_eq!(
            caller(OrgRole::Member).effective_role(Some(OuRole::Viewer)),
            Some(OuRole::Viewer)
        );
    }

    #[test]
    fn roles_parse_from_the_seed_spelling() {
        let r: OuRole = serde_json::from_str("\"Operator\"").unwrap();
        assert_eq!(r, OuRole::Operator);
        assert!(serde_json::from_str::<OuRole>("\"operator\"").is_err());
    }
}

/// An organisation: the top of the tenancy tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

/// An org unit (OU): the scope of almost all data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrgUnit {
    #[serde(rename = "unit_id", alias = "id")]
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub slug: String,
    pub created_at: String,
}

/// A member of an organisation as stored (with the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub org_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password_hash: String,
    pub role: OrgRole,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_user_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A member as every API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub org_member_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: OrgRole,
    pub verified: bool,
    pub slack_user_id: Option<String>,
    pub created_at: String,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        MemberView {
            org_member_id: m.id.clone(),
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            email: m.email.clone(),
            role: m.role,
            verified: m.verified,
            slack_user_id: m.slack_user_id.clone(),
            created_at: m.created_at.clone(),
        }
    }
}

/// A member's role in one OU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OuMembership {
    pub id: String,
    pub org_id: String,
    pub ou_id: String,
    pub member_id: String,
    pub role: OuRole,
    pub created_at: String,
    pub updated_at: String,
}
