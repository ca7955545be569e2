//! Prometheus metrics of the operator, served at `/metrics` beside `/healthz` and `/readyz`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// The operator's metrics and health.
pub struct Metrics {
    registry: Registry,
    /// Reconciles run, by kind.
    pub reconciles: Family<Labels, Counter>,
    /// Reconciles that failed, by kind.
    pub reconcile_errors: Family<Labels, Counter>,
    /// Reconcile duration in seconds, by kind.
    pub reconcile_seconds: Family<Labels, Histogram>,
    /// Objects whose status awaits a write, by kind (the status writer's queue).
    pub queue_depth: Family<Labels, Gauge>,
    /// Device resources created for devices that informed without one.
    pub devices_discovered: Counter,
    /// Writes to the API server (status patches and creations).
    pub api_writes: Counter,
    /// 1 while this replica leads.
    pub leader: Gauge,
    /// Whether the process has started (readiness).
    pub ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kubeacs_operator");
        let reconciles = Family::<Labels, Counter>::default();
        let reconcile_errors = Family::<Labels, Counter>::default();
        let reconcile_seconds = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.001, 2.0, 14))) as fn() -> Histogram,
        );
        let queue_depth = Family::<Labels, Gauge>::default();
        let devices_discovered = Counter::default();
        let api_writes = Counter::default();
        let leader = Gauge::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciles that failed",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            reconcile_seconds.clone(),
        );
        registry.register(
            "queue_depth",
            "Objects whose status awaits a write",
            queue_depth.clone(),
        );
        registry.register(
            "devices_discovered",
            "Device resources created for devices that informed without one",
            devices_discovered.clone(),
        );
        registry.register(
            "api_writes",
            "Writes to the Kubernetes API server",
            api_writes.clone(),
        );
        registry.register("leader", "1 while this replica leads", leader.clone());
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_seconds,
            queue_depth,
            devices_discovered,
            api_writes,
            leader,
            ready: AtomicBool::new(false),
        }
    }
}

impl Metrics {
    /// Labels for a kind.
    pub fn kind(kind: &str) -> Labels {
        vec![("kind", kind.to_string())]
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// `/metrics`, `/healthz` (the process runs) and `/readyz` (it has started: connected to the
/// API server and the store, leading or standing by).
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(metrics)
}

async fn render(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
}

async fn ready(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    if metrics.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}
