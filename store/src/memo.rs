//! A read-through memo of the rows every authenticated request reads: the member behind a
//! token, the token or API credential itself, the OU and the caller's memberships. Without
//! it each request paid four or five queries before its handler ran.
//!
//! Exactness: every write to those tables goes through this crate and clears the memo
//! after it committed, and a read that raced with a write never stores its (possibly
//! older) answer, so within one process a change applies to the very next request.
//! Entries also expire after [`TTL`], which bounds how long another Leadwire process
//! sharing a remote database can see an older answer.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

/// How long an entry is served.
pub const TTL: Duration = Duration::from_secs(10);
/// Most entries kept; reaching it empties the memo (it refills with what is in use).
const CAPACITY: usize = 20_000;

#[derive(Default)]
pub(crate) struct Memo {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every clear: a read that began before it does not store its answer.
    epoch: u64,
    entries: HashMap<String, (Instant, Vec<Value>)>,
}

impl Memo {
    /// The rows stored under `key`, if fresh.
    pub(crate) fn get(&self, key: &str) -> Option<Vec<Value>> {
        let inner = self.inner.lock();
        inner
            .entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, rows)| rows.clone())
    }

    /// The epoch to hand back to [`Memo::put`] once the read is done.
    pub(crate) fn epoch(&self) -> u64 {
        self.inner.lock().epoch
    }

    /// Stores a read's rows, unless a write cleared the memo since the read began.
    pub(crate) fn put(&self, key: String, epoch: u64, rows: Vec<Value>) {
        let mut inner = self.inner.lock();
        if inner.epoch != epoch {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.clear();
        }
        inner.entries.insert(key, (Instant::now(), rows));
    }

    /// Changes the rows under `key` in place (a change that must not cost a re-read).
    pub(crate) fn update(&self, key: &str, change: impl FnOnce(&mut Vec<Value>)) {
        if let Some((_, rows)) = self.inner.lock().entries.get_mut(key) {
            change(rows);
        }
    }

    /// Forgets everything (after any write to a memoised table).
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        inner.entries.clear();
    }

    /// A guard that clears the memo when the write it guards is over, whatever its
    /// outcome (an early `?` return included).
    pub(crate) fn clear_after(&self) -> ClearOnDrop<'_> {
        ClearOnDrop(self)
    }
}

/// See [`Memo::clear_after`].
pub(crate) struct ClearOnDrop<'a>(&'a Memo);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_read_that_raced_with_a_write_is_not_stored() {
        let memo = Memo::default();
        let before = memo.epoch();
        memo.clear();
        memo.put("k".into(), before, vec![json!(1)]);
        assert_eq!(memo.get("k"), None);
        let now = memo.epoch();
        memo.put("k".into(), now, vec![json!(2)]);
        assert_eq!(memo.get("k"), Some(vec![json!(2)]));
        memo.update("k", |rows| rows[0] = json!(3));
        assert_eq!(memo.get("k"), Some(vec![json!(3)]));
        memo.clear();
        assert_eq!(memo.get("k"), None);
    }
}

#[cfg(test)]
mod store_tests {
    use leadwire_models::tenancy::{OrgRole, OuRole};

    use crate::{MemberPatch, NewMember, Store};

    #[tokio::test]
    async fn reads_are_served_from_the_memo_and_every_write_applies_to_the_next_read() {
        let store = Store::memory().await.expect("store");
        let admin = NewMember {
            first_name: "Ada".into(),
            last_name: "L".into(),
            email: "ada@example.com".into(),
            password_hash: "x".into(),
            role: OrgRole::Admin,
        };
        let (org, ou, ada) = store
            .create_org_with_admin("Acme", "Main", "main", &admin)
            .await
            .expect("org");
        let read = |s: &Store| {
            let (s, id) = (s.clone(), ada.id.clone());
            async move { s.member_by_id(&id).await.expect("read") }
        };
        read(&store).await;
        let queries = store.query_count();
        assert_eq!(read(&store).await.map(|m| m.role), Some(OrgRole::Admin));
        assert_eq!(store.query_count(), queries, "served from the memo");

        let patch = MemberPatch {
            role: Some(OrgRole::Member),
            ..MemberPatch::default()
        };
        store
            .update_member(&org.id, &ada.id, &patch)
            .await
            .expect("update");
        assert_eq!(read(&store).await.map(|m| m.role), Some(OrgRole::Member));

        let role = |s: &Store| {
            let (s, ou, id) = (s.clone(), ou.id.clone(), ada.id.clone());
            async move { s.membership(&ou, &id).await.expect("read").map(|m| m.role) }
        };
        assert_eq!(role(&store).await, Some(OuRole::Owner));
        store
            .set_membership_role(&org.id, &ou.id, &ada.id, OuRole::Viewer)
            .await
            .expect("set");
        assert_eq!(role(&store).await, Some(OuRole::Viewer));
        store
            .delete_membership(&org.id, &ou.id, &ada.id)
            .await
            .expect("delete");
        assert_eq!(role(&store).await, None);
        store.delete_member(&org.id, &ada.id).await.expect("delete");
        assert_eq!(read(&store).await.map(|m| m.role), None);
    }
}
