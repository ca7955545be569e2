//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several operator replicas
//! exactly one acts. The holder renews the Lease every `renew_every`; another replica takes
//! it over only once it has not been renewed for `lease_duration`. Writes carry the
//! Lease's `resourceVersion`, so two replicas racing for it cannot both win.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// Settings of one replica's election.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long a Lease holds without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
}

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// This replica holds the Lease (acquired or renewed).
    Leading,
    /// Another replica holds it.
    Following(String),
}

impl LeaderElection {
    /// Tries once to acquire or renew the Lease.
    pub async fn try_lead(&self, client: &Client) -> kube::Result<Attempt> {
        let api: Api<Lease> = Api::namespaced(client.clone(), &self.namespace);
        let now = Timestamp::now();
        let Some(mut lease) = api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, 0, now)),
            };
            return match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Leading),
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    Ok(Attempt::Following("another replica".to_string()))
                }
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        let acquired = spec.acquire_time.as_ref().map_or(now, |t| t.0);
        let next_spec = if holder == self.identity {
            self.spec(acquired, transitions, now)
        } else {
            let renewed = spec.renew_time.as_ref().map(|t| t.0);
            let duration = spec
                .lease_duration_seconds
                .map_or(
                    self.lease_duration,
                    |s| Duration::from_secs(s.max(1) as u64),
                );
            let expired = match renewed {
                None => true,
                Some(renewed) => {
                    let held = now.duration_since(renewed);
                    held.as_secs_f64() >= duration.as_secs_f64()
                }
            };
            if !holder.is_empty() && !expired {
                return Ok(Attempt::Following(holder));
            }
            self.spec(now, transitions + 1, now)
        };
        lease.spec = Some(next_spec);
        // Replace carries the resourceVersion read above: a concurrent writer makes it 409.
        match api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Attempt::Leading),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Following(holder)),
            Err(e) => Err(e),
        }
    }

    fn spec(&self, acquired: Timestamp, transitions: i32, now: Timestamp) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_duration.as_secs().max(1) as i32),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Waits until this replica leads (polling every `renew_every`).
    pub async fn acquire(&self, client: &Client) {
        let mut last_holder = String::new();
        loop {
            match self.try_lead(client).await {
                Ok(Attempt::Leading) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "became the leader");
                    return;
                }
                Ok(Attempt::Following(holder)) => {
                    if holder != last_holder {
                        tracing::info!(lease = %self.name, leader = %holder, "following the leader");
                        last_holder = holder;
                    }
                }
                Err(error) => tracing::warn!(lease = %self.name, %error, "leader election failed"),
            }
            tokio::time::sleep(self.renew_every).await;
        }
    }

    /// Renews the Lease until renewal fails for longer than the lease duration or another
    /// replica holds it; returns then (the caller must stop acting at once).
    pub async fn hold(&self, client: &Client) {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.renew_every).await;
            match self.try_lead(client).await {
                Ok(Attempt::Leading) => last_renewed = tokio::time::Instant::now(),
                Ok(Attempt::Following(holder)) => {
                    tracing::error!(lease = %self.name, leader = %holder, "lost the lease");
                    return;
                }
                Err(error) => {
                    tracing::warn!(lease = %self.name, %error, "renewing the lease failed");
                    // Stop before another replica may take over.
                    if last_renewed.elapsed() + self.renew_every >= self.lease_duration {
                        tracing::error!(lease = %self.name, "could not renew the lease in time");
                        return;
                    }
                }
            }
        }
    }
}
