//! Which member opened each MCP session, so that a session id is of use only to them.
//!
//! Every MCP request authenticates with its own personal access token and tools act as
//! that token's member, but a session also carries a server-sent stream: without this, a
//! member who learnt another's `mcp-session-id` could attach to it and read the answers
//! meant for the other. The server's gate records the opener when the transport hands
//! out a session id and refuses the id to anyone else as if it did not exist.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an unused session is remembered: twice the transport's idle timeout (five
/// minutes), after which the transport has closed it.
pub const FORGET_AFTER: Duration = Duration::from_secs(600);

/// Session id → (the member who opened it, when it was last used).
#[derive(Default)]
pub struct SessionOwners {
    sessions: Mutex<HashMap<String, (String, Instant)>>,
}

impl SessionOwners {
    /// Whether `member` may use `session`: yes for its opener (and the use is noted), no
    /// for anyone else. A session never recorded (or long forgotten) is left to the
    /// transport, which answers 404 for one it does not know.
    pub fn may_use(&self, session: &str, member: &str) -> bool {
        let Ok(mut sessions) = self.sessions.lock() else {
            return false;
        };
        match sessions.get_mut(session) {
            Some((owner, _)) if owner != member => false,
            Some((_, used)) => {
                *used = Instant::now();
                true
            }
            None => true,
        }
    }

    /// Records a session the transport has just opened for `member`, forgetting sessions
    /// unused for [`FORGET_AFTER`].
    pub fn opened(&self, session: &str, member: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|_, (_, used)| used.elapsed() < FORGET_AFTER);
            sessions.insert(session.to_string(), (member.to_string(), Instant::now()));
        }
    }

    /// Forgets a session its opener closed.
    pub fn closed(&self, session: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_only_its_openers() {
        let owners = SessionOwners::default();
        owners.opened("s1", "om_a");
        assert!(owners.may_use("s1", "om_a"));
        assert!(!owners.may_use("s1", "om_b"));
        // one never seen is the transport's to answer
        assert!(owners.may_use("s2", "om_b"));
        owners.closed("s1");
        assert!(owners.may_use("s1", "om_b"));
    }
}
