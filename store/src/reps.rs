//! Sales reps of an OU, and the leads they own.

use std::collections::BTreeMap;

use leadwire_models::reps::Rep;
use serde_json::json;

use crate::filters::row;
use crate::{Result, Store};

impl Store {
    /// Creates or replaces a rep (a duplicate email in the org is `Duplicate`).
    pub async fn put_rep(&self, rep: &Rep) -> Result<()> {
        self.run(
            "UPSERT type::record('rep', $id) CONTENT $c",
            json!({ "id": rep.rep_id, "c": row(rep, &rep.unit_id, "open_assignments")? }),
        )
        .await?;
        Ok(())
    }

    /// A rep of the OU.
    pub async fn rep(&self, org_id: &str, ou_id: &str, id: &str) -> Result<Option<Rep>> {
        self.row(
            "SELECT * FROM type::record('rep', $id) WHERE org_id = $org AND ou_id = $ou",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Every rep of the OU, by name.
    pub async fn reps(&self, org_id: &str, ou_id: &str) -> Result<Vec<Rep>> {
        self.rows(
            "SELECT * FROM rep WHERE org_id = $org AND ou_id = $ou ORDER BY name, rep_id",
            json!({ "org": org_id, "ou": ou_id }),
            0,
        )
        .await
    }

    /// Deletes a rep of the OU; whether it existed there.
    pub async fn delete_rep(&self, org_id: &str, ou_id: &str, id: &str) -> Result<bool> {
        let gone: Vec<serde_json::Value> = self
            .rows(
                "DELETE type::record('rep', $id) WHERE org_id = $org AND ou_id = $ou RETURN BEFORE",
                json!({ "id": id, "org": org_id, "ou": ou_id }),
                0,
            )
            .await?;
        if gone.is_empty() {
            return Ok(false);
        }
        // its deals keep the owner's name as history, but no longer point at it
        self.run(
            "UPDATE deal SET owner_id = NONE WHERE org_id = $org AND ou_id = $ou AND owner_id = $id",
            json!({ "id": id, "org": org_id, "ou": ou_id }),
        )
        .await?;
        Ok(true)
    }

    /// How many (unmerged) leads of the OU each of `owners` owns.
    pub async fn owned_lead_counts(
        &self,
        org_id: &str,
        ou_id: &str,
        owners: &[String],
    ) -> Result<BTreeMap<String, u64>> {
        #[derive(serde::Deserialize)]
        struct Count {
            owner_id: String,
            n: u64,
        }
        let counts: Vec<Count> = self
            .rows(
                "SELECT owner_id, count() AS n FROM lead WHERE ou_id = $ou AND owner_id IN $owners AND org_id = $org AND merged_into = NONE GROUP BY owner_id",
                json!({ "org": org_id, "ou": ou_id, "owners": owners }),
                0,
            )
            .await?;
        Ok(counts.into_iter().map(|c| (c.owner_id, c.n)).collect())
    }
}
