//! Orgs, org units, members and OU memberships.

use leadwire_models::ids::{new_id, prefix};
use leadwire_models::tenancy::{Member, Org, OrgRole, OrgUnit, OuMembership, OuRole};
use leadwire_models::time;
use serde_json::{json, Value};

use crate::db::content;
use crate::{Result, Store};

/// A member to create (the password already hashed).
#[derive(Debug, Clone)]
pub struct NewMember {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password_hash: String,
    pub role: OrgRole,
}

/// Fields of a member to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<OrgRole>,
    pub password_hash: Option<String>,
    pub slack_user_id: Option<String>,
}

fn now() -> String {
    time::format(&time::now())
}

fn member_row(org_id: &str, m: &NewMember, at: &str) -> Member {
    Member {
        id: new_id(prefix::MEMBER),
        org_id: org_id.to_string(),
        first_name: m.first_name.clone(),
        last_name: m.last_name.clone(),
        email: m.email.clone(),
        password_hash: m.password_hash.clone(),
        role: m.role,
        verified: true,
        slack_user_id: None,
        created_at: at.to_string(),
        updated_at: at.to_string(),
    }
}

impl Store {
    /// Whether the database has no organisation yet (first start).
    pub async fn is_empty(&self) -> Result<bool> {
        let n = self
            .count("SELECT count() FROM org GROUP ALL", json!({}), 0)
            .await?;
        Ok(n == 0)
    }

    /// Creates an org, its first OU and its first admin (Owner of that OU), atomically.
    pub async fn create_org_with_admin(
        &self,
        org_name: &str,
        ou_name: &str,
        ou_slug: &str,
        admin: &NewMember,
    ) -> Result<(Org, OrgUnit, Member)> {
        let _clear = self.memo.clear_after();
        let at = now();
        let org = Org {
            id: new_id(prefix::ORG),
            name: org_name.to_string(),
            created_at: at.clone(),
        };
        let ou = OrgUnit {
            id: new_id(prefix::ORG_UNIT),
            org_id: org.id.clone(),
            name: ou_name.to_string(),
            slug: ou_slug.to_string(),
            created_at: at.clone(),
        };
        let member = member_row(&org.id, admin, &at);
        let membership = OuMembership {
            id: new_id("oum"),
            org_id: org.id.clone(),
            ou_id: ou.id.clone(),
            member_id: member.id.clone(),
            role: OuRole::Owner,
            created_at: at.clone(),
            updated_at: at.clone(),
        };
        let mut ou_content = content(&ou)?;
        ou_content["updated_at"] = json!(at);
        self.run(
            "BEGIN TRANSACTION;
             CREATE type::record('org', $org_id) CONTENT $org;
             CREATE type::record('org_unit', $ou_id) CONTENT $ou;
             CREATE type::record('member', $member_id) CONTENT $member;
             CREATE type::record('ou_membership', $membership_id) CONTENT $membership;
             COMMIT TRANSACTION;",
            json!({
                "org_id": org.id, "org": content(&org)?,
                "ou_id": ou.id, "ou": ou_content,
                "member_id": member.id, "member": content(&member)?,
                "membership_id": membership.id, "membership": content(&membership)?,
            }),
        )
        .await?;
        Ok((org, ou, member))
    }

    pub async fn org(&self, org_id: &str) -> Result<Option<Org>> {
        self.row(
            "SELECT * FROM type::record('org', $id)",
            json!({ "id": org_id }),
            0,
        )
        .await
    }

    /// The first organisation created (for the CLI on a single-org install).
    pub async fn first_org(&self) -> Result<Option<Org>> {
        self.row(
            "SELECT * FROM org ORDER BY created_at LIMIT 1",
            json!({}),
            0,
        )
        .await
    }

    // ----- org units -----

    pub async fn org_unit(&self, org_id: &str, ou_id: &str) -> Result<Option<OrgUnit>> {
        self.memo_row(
            format!("org_unit {org_id} {ou_id}"),
            "SELECT * FROM type::record('org_unit', $id) WHERE org_id = $org",
            json!({ "id": ou_id, "org": org_id }),
        )
        .await
    }

    pub async fn org_units(&self, org_id: &str) -> Result<Vec<OrgUnit>> {
        self.rows(
            "SELECT * FROM org_unit WHERE org_id = $org ORDER BY created_at, name",
            json!({ "org": org_id }),
            0,
        )
        .await
    }

    /// Creates an OU and makes `owner_member_id` its Owner, atomically.
    pub async fn create_org_unit(
        &self,
        org_id: &str,
        name: &str,
        slug: &str,
        owner_member_id: &str,
    ) -> Result<OrgUnit> {
        let _clear = self.memo.clear_after();
        let at = now();
        let ou = OrgUnit {
            id: new_id(prefix::ORG_UNIT),
            org_id: org_id.to_string(),
            name: name.to_string(),
            slug: slug.to_string(),
            created_at: at.clone(),
        };
        let mut ou_content = content(&ou)?;
        ou_content["updated_at"] = json!(at);
        self.run(
            "BEGIN TRANSACTION;
             CREATE type::record('org_unit', $ou_id) CONTENT $ou;
             CREATE type::record('ou_membership', $membership_id) CONTENT {
                org_id: $org, ou_id: $ou_id, member_id: $member, role: 'Owner', created_at: $at, updated_at: $at
             };
             COMMIT TRANSACTION;",
            json!({
                "ou_id": ou.id, "ou": ou_content, "membership_id": new_id("oum"),
                "org": org_id, "member": owner_member_id, "at": at,
            }),
        )
        .await?;
        Ok(ou)
    }

    pub async fn rename_org_unit(
        &self,
        org_id: &str,
        ou_id: &str,
        name: &str,
        slug: &str,
    ) -> Result<Option<OrgUnit>> {
        let _clear = self.memo.clear_after();
        self.row(
            "UPDATE type::record('org_unit', $id) SET name = $name, slug = $slug, updated_at = $at
             WHERE org_id = $org RETURN AFTER",
            json!({ "id": ou_id, "org": org_id, "name": name, "slug": slug, "at": now() }),
            0,
        )
        .await
    }

    // ----- members -----

    pub async fn create_member(&self, org_id: &str, m: &NewMember) -> Result<Member> {
        let _clear = self.memo.clear_after();
        let member = member_row(org_id, m, &now());
        self.run(
            "CREATE type::record('member', $id) CONTENT $member",
            json!({ "id": member.id, "member": content(&member)? }),
        )
        .await?;
        Ok(member)
    }

    /// A member by id, whatever their org (authentication only: callers compare the org).
    pub async fn member_by_id(&self, member_id: &str) -> Result<Option<Member>> {
        self.memo_row(
            format!("member {member_id}"),
            "SELECT * FROM type::record('member', $id)",
            json!({ "id": member_id }),
        )
        .await
    }

    pub async fn member(&self, org_id: &str, member_id: &str) -> Result<Option<Member>> {
        self.row(
            "SELECT * FROM type::record('member', $id) WHERE org_id = $org",
            json!({ "id": member_id, "org": org_id }),
            0,
        )
        .await
    }

    pub async fn member_by_email(&self, email: &str) -> Result<Option<Member>> {
        self.row(
            "SELECT * FROM member WHERE email = $email LIMIT 1",
            json!({ "email": email }),
            0,
        )
        .await
    }

    pub async fn members(&self, org_id: &str) -> Result<Vec<Member>> {
        self.rows(
            "SELECT * FROM member WHERE org_id = $org ORDER BY created_at",
            json!({ "org": org_id }),
            0,
        )
        .await
    }

    pub async fn update_member(
        &self,
        org_id: &str,
        member_id: &str,
        patch: &MemberPatch,
    ) -> Result<Option<Member>> {
        let _clear = self.memo.clear_after();
        let mut set = serde_json::Map::new();
        if let Some(v) = &patch.first_name {
            set.insert("first_name".into(), json!(v));
        }
        if let Some(v) = &patch.last_name {
            set.insert("last_name".into(), json!(v));
        }
        if let Some(v) = &patch.email {
            set.insert("email".into(), json!(v));
        }
        if let Some(v) = &patch.role {
            set.insert("role".into(), serde_json::to_value(v)?);
        }
        if let Some(v) = &patch.password_hash {
            set.insert("password_hash".into(), json!(v));
        }
        if let Some(v) = &patch.slack_user_id {
            set.insert("slack_user_id".into(), json!(v));
        }
        set.insert("updated_at".into(), json!(now()));
        self.row(
            "UPDATE type::record('member', $id) MERGE $set WHERE org_id = $org RETURN AFTER",
            json!({ "id": member_id, "org": org_id, "set": set }),
            0,
        )
        .await
    }

    /// Deletes a member with everything that authenticates as them (memberships, tokens,
    /// credentials), atomically. Returns whether the member existed in the org.
    pub async fn delete_member(&self, org_id: &str, member_id: &str) -> Result<bool> {
        let _clear = self.memo.clear_after();
        if self.member(org_id, member_id).await?.is_none() {
            return Ok(false);
        }
        self.run(
            "BEGIN TRANSACTION;
             DELETE ou_membership WHERE member_id = $id AND org_id = $org;
             DELETE access_token WHERE member_id = $id AND org_id = $org;
             DELETE api_credential WHERE member_id = $id AND org_id = $org;
             DELETE type::record('member', $id) WHERE org_id = $org;
             COMMIT TRANSACTION;",
            json!({ "id": member_id, "org": org_id }),
        )
        .await?;
        Ok(true)
    }

    // ----- OU memberships -----

    pub async fn membership(&self, ou_id: &str, member_id: &str) -> Result<Option<OuMembership>> {
        self.memo_row(
            format!("membership {ou_id} {member_id}"),
            "SELECT * FROM ou_membership WHERE ou_id = $ou AND member_id = $member LIMIT 1",
            json!({ "ou": ou_id, "member": member_id }),
        )
        .await
    }

    pub async fn memberships_of_ou(&self, org_id: &str, ou_id: &str) -> Result<Vec<OuMembership>> {
        self.rows(
            "SELECT * FROM ou_membership WHERE org_id = $org AND ou_id = $ou ORDER BY created_at",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    pub async fn memberships_of_member(
        &self,
        org_id: &str,
        member_id: &str,
    ) -> Result<Vec<OuMembership>> {
        self.memo_rows(
            format!("memberships {org_id} {member_id}"),
            "SELECT * FROM ou_membership WHERE org_id = $org AND member_id = $member ORDER BY created_at",
            json!({ "org": org_id, "member": member_id }),
        )
        .await
    }

    /// Sets a member's role in an OU, creating the membership if needed (idempotent).
    /// Returns the membership and whether it was created now.
    pub async fn upsert_membership(
        &self,
        org_id: &str,
        ou_id: &str,
        member_id: &str,
        role: OuRole,
    ) -> Result<(OuMembership, bool)> {
        let _clear = self.memo.clear_after();
        if let Some(existing) = self.membership(ou_id, member_id).await? {
            if existing.role == role {
                return Ok((existing, false));
            }
            let updated = self
                .set_membership_role(org_id, ou_id, member_id, role)
                .await?;
            return Ok((updated.unwrap_or(existing), false));
        }
        let at = now();
        let m = OuMembership {
            id: new_id("oum"),
            org_id: org_id.to_string(),
            ou_id: ou_id.to_string(),
            member_id: member_id.to_string(),
            role,
            created_at: at.clone(),
            updated_at: at,
        };
        match self
            .run(
                "CREATE type::record('ou_membership', $id) CONTENT $m",
                json!({ "id": m.id, "m": content(&m)? }),
            )
            .await
        {
            Ok(_) => Ok((m, true)),
            // a concurrent assign won the race: the pair now exists, so set its role
            Err(crate::StoreError::Duplicate(_)) => {
                let updated = self
                    .set_membership_role(org_id, ou_id, member_id, role)
                    .await?;
                updated
                    .map(|u| (u, false))
                    .ok_or_else(|| crate::StoreError::Database("membership vanished".into()))
            }
            Err(e) => Err(e),
        }
    }

    pub async fn set_membership_role(
        &self,
        org_id: &str,
        ou_id: &str,
        member_id: &str,
        role: OuRole,
    ) -> Result<Option<OuMembership>> {
        let _clear = self.memo.clear_after();
        self.row(
            "UPDATE ou_membership SET role = $role, updated_at = $at
             WHERE org_id = $org AND ou_id = $ou AND member_id = $member RETURN AFTER",
            json!({ "org": org_id, "ou": ou_id, "member": member_id, "role": role, "at": now() }),
            0,
        )
        .await
    }

    /// Removes a membership; returns whether it existed.
    pub async fn delete_membership(
        &self,
        org_id: &str,
        ou_id: &str,
        member_id: &str,
    ) -> Result<bool> {
        let _clear = self.memo.clear_after();
        let rows: Vec<Value> = self
            .rows(
                "DELETE ou_membership WHERE org_id = $org AND ou_id = $ou AND member_id = $member RETURN BEFORE",
                json!({ "org": org_id, "ou": ou_id, "member": member_id }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    pub async fn count_owners(&self, org_id: &str, ou_id: &str) -> Result<u64> {
        self.count(
            "SELECT count() FROM ou_membership WHERE org_id = $org AND ou_id = $ou AND role = 'Owner' GROUP ALL",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> NewMember {
        NewMember {
            first_name: "Ada".into(),
            last_name: "Admin".into(),
            email: "ada@example.com".into(),
            password_hash: "x".into(),
            role: OrgRole::Admin,
        }
    }

    #[tokio::test]
    async fn bootstrap_creates_org_ou_admin_and_ownership() {
        let s = Store::memory().await.unwrap();
        assert!(s.is_empty().await.unwrap());
        let (org, ou, m) = s
            .create_org_with_admin("Acme", "Default", "default", &admin())
            .await
            .unwrap();
        assert!(!s.is_empty().await.unwrap());
        assert_eq!(
            s.org_unit(&org.id, &ou.id).await.unwrap().unwrap().name,
            "Default"
        );
        assert_eq!(
            s.org_unit("org_other", &ou.id).await.unwrap(),
            None,
            "another org never sees the OU"
        );
        assert_eq!(
            s.membership(&ou.id, &m.id).await.unwrap().unwrap().role,
            OuRole::Owner
        );
        assert_eq!(
            s.member_by_email("ada@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
            m.id
        );
        assert_eq!(s.count_owners(&org.id, &ou.id).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn duplicate_email_and_slug_are_refused() {
        let s = Store::memory().await.unwrap();
        let (org, _ou, m) = s
            .create_org_with_admin("Acme", "Default", "default", &admin())
            .await
            .unwrap();
        let err = s.create_member(&org.id, &admin()).await.unwrap_err();
        assert!(matches!(err, crate::StoreError::Duplicate(_)), "{err:?}");
        let err = s
            .create_org_unit(&org.id, "Default", "default", &m.id)
            .await
            .unwrap_err();
        assert!(matches!(err, crate::StoreError::Duplicate(_)), "{err:?}");
        assert_eq!(
            s.org_units(&org.id).await.unwrap().len(),
            1,
            "the failed create left nothing"
        );
    }

    #[tokio::test]
    async fn membership_upsert_is_idempotent_and_delete_cascades() {
        let s = Store::memory().await.unwrap();
        let (org, ou, _m) = s
            .create_org_with_admin("Acme", "Default", "default", &admin())
            .await
            .unwrap();
        let bob = s
            .create_member(
                &org.id,
                &NewMember {
                    email: "bob@example.com".into(),
                    role: OrgRole::Member,
                    ..admin()
                },
            )
            .await
            .unwrap();
        let (_, created) = s
            .upsert_membership(&org.id, &ou.id, &bob.id, OuRole::Viewer)
            .await
            .unwrap();
        assert!(created);
        let (m, created) = s
            .upsert_membership(&org.id, &ou.id, &bob.id, OuRole::Operator)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(m.role, OuRole::Operator);
        assert_eq!(s.memberships_of_ou(&org.id, &ou.id).await.unwrap().len(), 2);
        assert!(!s.delete_member("org_other", &bob.id).await.unwrap());
        assert!(s.delete_member(&org.id, &bob.id).await.unwrap());
        assert_eq!(s.memberships_of_ou(&org.id, &ou.id).await.unwrap().len(), 1);
        assert!(s.member_by_id(&bob.id).await.unwrap().is_none());
    }
}
