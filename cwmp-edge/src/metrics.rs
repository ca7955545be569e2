//! Prometheus metrics of the edge, served at `/metrics` on the API port (never on the CWMP
//! port devices reach).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// The content type of [`Metrics::render`]'s output (OpenMetrics text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests on the CWMP port by status code.
    pub cwmp_requests: Family<Labels, Counter>,
    /// Sessions ended, by outcome (`completed`, `expired`, `error`).
    pub sessions: Family<Labels, Counter>,
    /// Sessions open now.
    pub active_sessions: Gauge,
    /// Inform events received, by event code.
    pub inform_events: Family<Labels, Counter>,
    /// Requests sent to CPEs, by method.
    pub rpcs_sent: Family<Labels, Counter>,
    /// Faults reported by CPEs, by fault code.
    pub cpe_faults: Family<Labels, Counter>,
    /// Connection requests, by outcome.
    pub connection_requests: Family<Labels, Counter>,
    /// Session duration in seconds.
    pub session_seconds: Histogram,
    /// Store commit latency in seconds.
    pub commit_seconds: Histogram,
    /// File server responses, by file and status (`200`, `206`, `304`, `403`, `404`...).
    pub file_downloads: Family<Vec<(&'static str, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kubeacs");
        let metrics = Metrics {
            cwmp_requests: Family::default(),
            sessions: Family::default(),
            active_sessions: Gauge::default(),
            inform_events: Family::default(),
            rpcs_sent: Family::default(),
            cpe_faults: Family::default(),
            connection_requests: Family::default(),
            session_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            file_downloads: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "cwmp_http_requests",
            "HTTP requests on the CWMP port",
            metrics.cwmp_requests.clone(),
        );
        registry.register(
            "cwmp_sessions",
            "CWMP sessions ended, by outcome",
            metrics.sessions.clone(),
        );
        registry.register(
            "cwmp_active_sessions",
            "CWMP sessions open now",
            metrics.active_sessions.clone(),
        );
        registry.register(
            "cwmp_inform_events",
            "Inform events received",
            metrics.inform_events.clone(),
        );
        registry.register(
            "cwmp_rpcs_sent",
            "Requests sent to CPEs",
            metrics.rpcs_sent.clone(),
        );
        registry.register(
            "cwmp_cpe_faults",
            "Faults reported by CPEs",
            metrics.cpe_faults.clone(),
        );
        registry.register(
            "connection_requests",
            "Connection requests sent, by outcome",
            metrics.connection_requests.clone(),
        );
        registry.register(
            "cwmp_session_seconds",
            "CWMP session duration",
            metrics.session_seconds.clone(),
        );
        registry.register(
            "store_commit_seconds",
            "Store commit latency",
            metrics.commit_seconds.clone(),
        );
        registry.register(
            "file_downloads",
            "File server responses, by file and status",
            metrics.file_downloads.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// Counts one event in a labelled counter family.
    pub fn count(family: &Family<Labels, Counter>, label: &'static str, value: impl Into<String>) {
        family.get_or_create(&vec![(label, value.into())]).inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
