//! API credentials, personal access tokens and server secrets.

use leadwire_models::auth::{AccessToken, ApiCredential};
use serde_json::{json, Value};

use crate::db::content;
use crate::{Result, Store};

impl Store {
    // ----- API credentials -----

    pub async fn create_credential(&self, c: &ApiCredential) -> Result<()> {
        let _clear = self.memo.clear_after();
        self.run(
            "CREATE type::record('api_credential', $id) CONTENT $c",
            json!({ "id": c.id, "c": content(c)? }),
        )
        .await?;
        Ok(())
    }

    pub async fn credentials(&self, org_id: &str, ou_id: &str) -> Result<Vec<ApiCredential>> {
        self.rows(
            "SELECT * FROM api_credential WHERE org_id = $org AND ou_id = $ou ORDER BY created_at",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    pub async fn credential_by_client_id(&self, client_id: &str) -> Result<Option<ApiCredential>> {
        self.memo_row(
            format!("credential {client_id}"),
            "SELECT * FROM api_credential WHERE client_id = $cid LIMIT 1",
            json!({ "cid": client_id }),
        )
        .await
    }

    /// Deletes a credential of the OU; returns whether it existed there.
    pub async fn delete_credential(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        let _clear = self.memo.clear_after();
        self.delete_owned("api_credential", org_id, ou_id, id).await
    }

    // ----- personal access tokens -----

    pub async fn create_token(&self, t: &AccessToken) -> Result<()> {
        let _clear = self.memo.clear_after();
        self.run(
            "CREATE type::record('access_token', $id) CONTENT $t",
            json!({ "id": t.id, "t": content(t)? }),
        )
        .await?;
        Ok(())
    }

    pub async fn tokens_of_member(
        &self,
        org_id: &str,
        member_id: &str,
    ) -> Result<Vec<AccessToken>> {
        self.rows(
            "SELECT * FROM access_token WHERE org_id = $org AND member_id = $member ORDER BY created_at DESC",
            json!({ "org": org_id, "member": member_id }),
            0,
        )
        .await
    }

    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<AccessToken>> {
        self.memo_row(
            format!("token {token_hash}"),
            "SELECT * FROM access_token WHERE token_hash = $hash LIMIT 1",
            json!({ "hash": token_hash }),
        )
        .await
    }

    /// Records that a token was used: at once in the memo, when called (so the requests
    /// right behind this one do not touch it again), and in the database when the returned
    /// future runs (best effort: callers spawn it rather than wait).
    pub fn touch_token(
        &self,
        token_hash: &str,
        id: &str,
        at: &str,
    ) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
        self.memo.update(&format!("token {token_hash}"), |rows| {
            for r in rows {
                r["last_used_at"] = json!(at);
            }
        });
        let (store, vars) = (self.clone(), json!({ "id": id, "at": at }));
        async move {
            store
                .run(
                    "UPDATE type::record('access_token', $id) SET last_used_at = $at",
                    vars,
                )
                .await?;
            Ok(())
        }
    }

    /// Revokes (deletes) one of the member's own tokens; returns whether it existed.
    pub async fn delete_token(&self, org_id: &str, member_id: &str, id: &str) -> Result<bool> {
        let _clear = self.memo.clear_after();
        let rows: Vec<Value> = self
            .rows(
                "DELETE type::record('access_token', $id) WHERE org_id = $org AND member_id = $member RETURN BEFORE",
                json!({ "id": id, "org": org_id, "member": member_id }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    // ----- server settings -----

    /// The stored value of a server setting, or `make()`'s value stored now. Racing
    /// servers agree: the first write wins and the loser reads it back.
    pub async fn setting_or_init(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String> {
        let read = "SELECT * FROM type::record('server_setting', $key)";
        if let Some(row) = self.row::<Value>(read, json!({ "key": key }), 0).await? {
            if let Some(v) = row["value"].as_str() {
                return Ok(v.to_string());
            }
        }
        let value = make();
        match self
            .run(
                "CREATE type::record('server_setting', $key) SET value = $value",
                json!({ "key": key, "value": value }),
            )
            .await
        {
            Ok(_) => Ok(value),
            Err(crate::StoreError::Duplicate(_)) => {
                let row = self.row::<Value>(read, json!({ "key": key }), 0).await?;
                row.and_then(|r| r["value"].as_str().map(str::to_string))
                    .ok_or_else(|| crate::StoreError::Database(format!("setting {key} vanished")))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settings_are_created_once() {
        let s = Store::memory().await.unwrap();
        let a = s.setting_or_init("jwt", || "first".into()).await.unwrap();
        let b = s.setting_or_init("jwt", || "second".into()).await.unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("first", "first"));
    }

    #[tokio::test]
    async fn tokens_are_found_by_hash_and_revoked_only_by_owner() {
        let s = Store::memory().await.unwrap();
        let t = AccessToken {
            id: "pat_1".into(),
            org_id: "org_1".into(),
            member_id: "om_1".into(),
            name: "laptop".into(),
            token_hash: "h1".into(),
            token_prefix: "lw_pat_12345678".into(),
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            expires_at: None,
            last_used_at: None,
        };
        s.create_token(&t).await.unwrap();
        assert_eq!(s.token_by_hash("h1").await.unwrap().unwrap(), t);
        assert!(
            !s.delete_token("org_1", "om_2", "pat_1").await.unwrap(),
            "another member cannot revoke it"
        );
        assert!(s.delete_token("org_1", "om_1", "pat_1").await.unwrap());
        assert!(s.token_by_hash("h1").await.unwrap().is_none());
    }
}
