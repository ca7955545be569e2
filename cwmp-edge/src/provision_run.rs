//! Provisioning within one session: the pure planner's steps, with the device's tree and
//! progress record loaded from and saved to the store.

use std::collections::BTreeSet;

use acs_model::{DeviceId, Millis, ParameterTree, ProvisionRecord};
use acs_store::parameters::{TreeWriter, UnsavedObjects};
use acs_store::{records, StoreError, Transaction};
use cwmp::{Body, CwmpFault, EventCode, Inform};
use provisioning::desired::DesiredState;
use provisioning::inform::data_model_root;
use provisioning::plan::{next_step, Step};
use provisioning::resources::ResourceSet;
use provisioning::retry::RetryPolicy;

use crate::device_session::{write_updates, Note};

/// Most provisioning RPCs in one session (a guard against a device that never converges).
const MAX_STEPS: u32 = 64;

/// The device's stored tree as provisioning plans on it, kept in step with what it writes, and
/// the objects changed in it but not written yet (a listing waiting for its values).
///
/// A clone starts empty and loads the tree from the store on first use: sessions are cloned to
/// roll back an exchange whose transaction conflicted, and the tree is both the one large part
/// of a session and, after a conflict, the part that may be out of date.
#[derive(Default)]
struct TreeCache {
    tree: Option<ParameterTree>,
    unsaved: UnsavedObjects,
}

impl Clone for TreeCache {
    fn clone(&self) -> TreeCache {
        TreeCache::default()
    }
}

impl TreeCache {
    /// A writer on the tree (read in `txn` when not held), holding the unsaved objects.
    async fn writer<'t>(
        &'t mut self,
        txn: &mut dyn Transaction,
        device: &DeviceId,
    ) -> Result<TreeWriter<'t>, StoreError> {
        let unsaved = std::mem::take(&mut self.unsaved);
        let tree = self.load(txn, device).await?;
        TreeWriter::with_known_tree(device, tree, unsaved)
    }

    /// The tree, read in `txn` when not held.
    async fn load(
        &mut self,
        txn: &mut dyn Transaction,
        device: &DeviceId,
    ) -> Result<&mut ParameterTree, StoreError> {
        if self.tree.is_none() {
            self.tree = Some(records::load_tree(txn, device).await?);
        }
        Ok(self.tree.as_mut().expect("loaded above"))
    }

    /// Writes the unsaved objects.
    async fn save(
        &mut self,
        txn: &mut dyn Transaction,
        device: &DeviceId,
    ) -> Result<(), StoreError> {
        if self.unsaved.is_empty() {
            return Ok(());
        }
        self.writer(txn, device).await?.finish(txn).await
    }
}

/// The names of `profiles`, comma separated, for the log.
fn profile_names(profiles: &[(String, i64)]) -> String {
    let names: Vec<&str> = profiles.iter().map(|(name, _)| name.as_str()).collect();
    names.join(",")
}

/// Provisioning of one device in one session.
#[derive(Clone)]
pub struct ProvisionRun {
    device: DeviceId,
    desired: DesiredState,
    tree: TreeCache,
    record: ProvisionRecord,
    steps: u32,
    finished: bool,
    retry: RetryPolicy,
    /// Subtrees read in this session.
    read: BTreeSet<String>,
    /// Log lines of this exchange, taken by the session into its outcome.
    pub notes: Vec<Note>,
}

impl ProvisionRun {
    /// Starts provisioning at the device's Inform when something applies to it and it is not
    /// waiting out a retry delay (a changed desired state retries at once).
    pub async fn start(
        txn: &mut dyn Transaction,
        inform: &Inform,
        resources: &ResourceSet,
        retry: RetryPolicy,
        now: Millis,
    ) -> Result<Option<ProvisionRun>, StoreError> {
        if !resources.provisions_anything() {
            return Ok(None);
        }
        let identity = &inform.device_id;
        let device = &DeviceId::from_identity(identity);
        let root = data_model_root(inform);
        let bootstrap = inform.events.iter().any(|e| e.code == EventCode::Bootstrap);
        let mut record = records::get_provision(txn, device).await?;
        if bootstrap {
            // The device was reset: nothing it had is pending any more.
            record.pending_instances.clear();
        }
        let mut tree = TreeCache::default();
        let facts = resources.facts(identity, tree.load(txn, device).await?.iter());
        let (desired, errors) = resources.desired(identity, &facts, root);
        for error in errors {
            crate::warn_folded!(format!("profile {} not applicable: {}", error.profile, error.message), %device, profile = %error.profile, error = %error.message, "profile not applicable");
        }
        let fingerprint = desired.fingerprint();
        let changed = record.target != desired.profiles || record.target_hash != fingerprint;
        if !changed && (record.gave_up || record.not_before > now) {
            return Ok(None);
        }
        if changed {
            record.gave_up = false;
            record.attempts = 0;
            record.not_before = 0;
            record.target = desired.profiles.clone();
            record.target_hash = fingerprint;
        }
        Ok(Some(ProvisionRun {
            device: device.clone(),
            desired,
            tree,
            record,
            steps: 0,
            finished: false,
            retry,
            read: BTreeSet::new(),
            notes: Vec::new(),
        }))
    }

    /// The next step and its RPC, or `None` when the device has converged (recorded) or this
    /// session's provisioning is over.
    pub async fn next(
        &mut self,
        txn: &mut dyn Transaction,
        now: Millis,
    ) -> Result<Option<(Step, Body)>, StoreError> {
        if self.finished {
            return Ok(None);
        }
        if self.steps >= MAX_STEPS {
            tracing::warn!(device = %self.device, steps = self.steps, "provisioning did not converge in one session");
            self.finished = true;
            self.tree.save(txn, &self.device).await?;
            return Ok(None);
        }
        let tree = self.tree.load(txn, &self.device).await?;
        let step = next_step(
            &self.desired,
            tree,
            &self.record.pending_instances,
            &self.read,
        );
        match step.request() {
            Some(body) => {
                self.steps += 1;
                Ok(Some((step, body)))
            }
            None => {
                self.finished = true;
                self.tree.save(txn, &self.device).await?;
                // Logged when it changed something, or converged for the first time.
                if self.steps > 0 || (!self.record.converged && !self.desired.is_empty()) {
                    self.notes.push(Note::ProvisioningApplied {
                        profiles: profile_names(&self.desired.profiles),
                        rpcs: self.steps,
                    });
                }
                let record = &mut self.record;
                record.converged = true;
                record.attempts = 0;
                record.fault = None;
                record.gave_up = false;
                record.not_before = 0;
                record.applied = self.desired.profiles.clone();
                record.updated = now;
                records::put_provision(txn, &self.device, record).await?;
                Ok(None)
            }
        }
    }

    /// Stores what a successful answer changed, its names and values moved into the tree.
    /// `Ok(Err(..))` is an answer that does not fit the step (to be recorded as a fault).
    pub async fn answered(
        &mut self,
        txn: &mut dyn Transaction,
        step: &Step,
        answer: Body,
        now: Millis,
    ) -> Result<Result<(), String>, StoreError> {
        let updates = match step.outcome(answer, &mut self.record.pending_instances) {
            Ok(updates) => updates,
            Err(message) => return Ok(Err(message)),
        };
        let mut writer = self.tree.writer(txn, &self.device).await?;
        write_updates(txn, &mut writer, updates, now).await?;
        if matches!(step, Step::Discover { .. }) {
            // A listing is stored with the values read next (or at the end of provisioning).
            self.tree.unsaved = writer.defer()?;
        } else {
            writer.finish(txn).await?;
        }
        if let Step::Read { names } = step {
            self.read.extend(names.iter().cloned());
        }
        self.record.updated = now;
        records::put_provision(txn, &self.device, &self.record).await?;
        Ok(Ok(()))
    }

    /// Records a fault: provisioning stops for this session and is retried in a later one
    /// with backoff, until the retry limit; a fault that can never succeed (a read-only
    /// parameter, an invalid name, type or value) is not retried. Logs one line naming the
    /// parameters that failed.
    pub async fn faulted(
        &mut self,
        txn: &mut dyn Transaction,
        fault: CwmpFault,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.finished = true;
        self.tree.save(txn, &self.device).await?;
        let record = &mut self.record;
        record.attempts += 1;
        record.converged = false;
        record.updated = now;
        let gives_up = self.retry.gives_up(&fault, record.attempts);
        let retry_in_s = if gives_up {
            record.gave_up = true;
            None
        } else {
            let delay = self.retry.delay_after(record.attempts);
            record.not_before = now + delay;
            Some(delay / 1000)
        };
        self.notes.push(Note::ProvisioningFailed {
            profiles: profile_names(&self.desired.profiles),
            fault: fault.clone(),
            attempts: record.attempts,
            retry_in_s,
        });
        record.fault = Some(fault);
        records::put_provision(txn, &self.device, record).await
    }

    /// Stops provisioning for this session without a fault (the CPE left a request unanswered).
    pub fn stop(&mut self) {
        self.finished = true;
    }
}
