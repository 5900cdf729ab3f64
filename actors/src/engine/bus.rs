//! The per-OU bus: a broadcast of what just happened (an event stored, a score changed),
//! heard by SSE streams, GraphQL subscriptions and (later) triggers. Messages are published
//! only after the write they describe committed.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

/// How many messages a slow listener may fall behind before it misses some.
const CAPACITY: usize = 4096;

/// The cause of a score update that a change of the OU's scoring config made (its
/// rules, rulesets, filters, inactivity decay, surge or other settings).
pub const CONFIG_CHANGE: &str = "config_change";

/// One message on an OU's bus.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusEvent {
    /// A lead was created (by an ingest whose aliases were new, or by the API).
    LeadCreated { lead_id: String },
    EventIngested {
        event_id: String,
        lead_id: String,
        event_type: String,
        occurred_at: String,
        channel: String,
    },
    ScoreUpdate {
        lead_id: String,
        ruleset_id: String,
        before: f64,
        after: f64,
        delta: f64,
        /// What changed the score: `event:<id>`, `decay`, `reset`, `rescore`, `merge`,
        /// `events_deleted`, or [`CONFIG_CHANGE`].
        cause: String,
    },
    /// A lead's session reached a higher surge band: its events now earn `multiplier`×.
    Surge {
        lead_id: String,
        event_id: String,
        session_events: u32,
        multiplier: f64,
    },
    /// A lead moved to another level (or out of every level) in a dimension.
    LevelChange {
        lead_id: String,
        dimension: String,
        before: Option<leadwire_models::levels::LevelRef>,
        after: Option<leadwire_models::levels::LevelRef>,
    },
    /// A lead became disqualified by a hard_disqualify rule, or stopped being.
    Disqualification {
        lead_id: String,
        disqualified: bool,
        rule_id: Option<String>,
        reason: Option<String>,
    },
}

impl BusEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            BusEvent::LeadCreated { .. } => "lead_created",
            BusEvent::EventIngested { .. } => "event_ingested",
            BusEvent::ScoreUpdate { .. } => "score_update",
            BusEvent::Surge { .. } => "surge",
            BusEvent::LevelChange { .. } => "level_change",
            BusEvent::Disqualification { .. } => "disqualification",
        }
    }
}

/// What a tap receives: the OU id and the message.
pub type Tapped = (String, Arc<BusEvent>);

/// Every OU's broadcast channel, made on first use, and the taps.
#[derive(Clone, Default)]
pub struct Bus {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<BusEvent>>>>>,
    taps: Arc<Mutex<Vec<mpsc::UnboundedSender<Tapped>>>>,
}

impl Bus {
    fn sender(&self, ou_id: &str) -> broadcast::Sender<Arc<BusEvent>> {
        self.channels
            .lock()
            .entry(ou_id.to_string())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .clone()
    }

    /// Listens to an OU's bus from now on.
    pub fn subscribe(&self, ou_id: &str) -> broadcast::Receiver<Arc<BusEvent>> {
        self.sender(ou_id).subscribe()
    }

    /// Every message of every OU, with its OU id, from now on. Unlike a subscription a
    /// tap never drops a message: it is for Leadwire's own reactions (routing triggers,
    /// conversions), which must not miss one however busy the bus is.
    pub fn tap(&self) -> mpsc::UnboundedReceiver<Tapped> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.taps.lock().push(tx);
        rx
    }

    /// Publishes to an OU's listeners (none listening is fine) and to the taps.
    pub fn publish(&self, ou_id: &str, event: BusEvent) {
        let event = Arc::new(event);
        {
            let mut taps = self.taps.lock();
            if !taps.is_empty() {
                taps.retain(|t| t.send((ou_id.to_string(), event.clone())).is_ok());
            }
        }
        let _ = self.sender(ou_id).send(event);
    }
}
