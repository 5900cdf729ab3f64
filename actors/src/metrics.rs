//! Prometheus metrics, registered at start-up so every series is visible from the first
//! scrape (counters at 0).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `http_requests_total{status,method}`.
    pub http_requests: IntCounterVec,
    /// `http_request_duration_seconds{method}`.
    pub http_duration: HistogramVec,
    /// `events_ingested_total`: events accepted (durably stored).
    pub events_ingested: IntCounter,
    /// `queue_depth`: work waiting in the asynchronous processing queues.
    pub queue_depth: IntGauge,
    /// `event_to_notification_latency_seconds{channel}`.
    pub event_to_notification: HistogramVec,
    /// `rate_limited_total`: requests refused (or, in observe mode, that would have been).
    pub rate_limited: IntCounter,
    /// `routing_predictions_total{trigger}`: predictions made, by what made them.
    pub routing_predictions: IntCounterVec,
    /// `routing_reactor_backlog`: bus messages the routing reactor has yet to handle.
    pub routing_backlog: IntGauge,
}

impl Metrics {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Total number of HTTP requests by status code and method.",
            ),
            &["status", "method"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency in seconds by method.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method"],
        )
        .expect("valid metric");
        let events_ingested = IntCounter::new(
            "events_ingested_total",
            "Total number of events ingested (accepted).",
        )
        .expect("valid metric");
        let queue_depth = IntGauge::new(
            "queue_depth",
            "Current depth of the async processing queue.",
        )
        .expect("valid metric");
        let event_to_notification = HistogramVec::new(
            HistogramOpts::new(
                "event_to_notification_latency_seconds",
                "Latency in seconds from event ingestion to notification delivery, by channel.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["channel"],
        )
        .expect("valid metric");
        let rate_limited = IntCounter::new(
            "rate_limited_total",
            "Requests over the caller's rate limit.",
        )
        .expect("valid metric");
        let routing_predictions = IntCounterVec::new(
            Opts::new(
                "routing_predictions_total",
                "Predictive-routing predictions made, by trigger.",
            ),
            &["trigger"],
        )
        .expect("valid metric");
        for trigger in [
            "on_demand",
            "lead_created",
            "level_reached",
            "score_threshold",
        ] {
            routing_predictions.with_label_values(&[trigger]);
        }
        let routing_backlog = IntGauge::new(
            "routing_reactor_backlog",
            "Bus messages the predictive-routing reactor has yet to handle.",
        )
        .expect("valid metric");
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(routing_predictions.clone()),
            Box::new(routing_backlog.clone()),
            Box::new(http_duration.clone()),
            Box::new(events_ingested.clone()),
            Box::new(queue_depth.clone()),
            Box::new(event_to_notification.clone()),
            Box::new(rate_limited.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            events_ingested,
            queue_depth,
            event_to_notification,
            rate_limited,
            routing_predictions,
            routing_backlog,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            return String::new();
        }
        let mut text = String::from_utf8(buf).unwrap_or_default();
        // histograms without observations are omitted by the encoder: announce them anyway
        if !text.contains("# TYPE event_to_notification_latency_seconds") {
            text.push_str("# HELP event_to_notification_latency_seconds Latency in seconds from event ingestion to notification delivery, by channel.\n# TYPE event_to_notification_latency_seconds histogram\n");
        }
        if !text.contains("# TYPE http_requests_total") {
            text.push_str("# HELP http_requests_total Total number of HTTP requests by status code and method.\n# TYPE http_requests_total counter\n");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_metrics_are_present_from_the_start() {
        let m = Metrics::new();
        let text = m.render();
        for name in [
            "events_ingested_total 0",
            "queue_depth 0",
            "# TYPE event_to_notification_latency_seconds histogram",
            "# TYPE http_requests_total counter",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
        m.http_requests.with_label_values(&["200", "GET"]).inc();
        assert!(m
            .render()
            .contains("http_requests_total{method=\"GET\",status=\"200\"} 1"));
    }
}
