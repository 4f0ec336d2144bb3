//! Everything the handlers share: the callers, the store, the metrics and the limits, and the
//! evaluator itself as one `Mode`: a single evaluator or one of a threshold set.

use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::auth::Callers;
use crate::config::{Config, check_private};
use crate::error::{Result, ServerError};
use crate::metrics::Metrics;
use crate::rate::Rate;
use crate::single::{Single, single_evaluator};
use crate::store::{SharedStore, Store};
use crate::threshold::ThresholdState;

/// Which evaluator this service is.
pub(crate) enum Mode {
    /// A single evaluator holding whole keys.
    Single(Arc<Single>),
    /// One evaluator of a threshold set, holding shares (`spec/12-threshold.md`).
    Threshold(Arc<ThresholdState>),
}

/// Everything the handlers share.
pub struct AppState {
    /// Tags the store's budget counters with this realm (`budget_key`).
    realm_tag: String,
    pub(crate) key_set: Vec<u8>,
    pub(crate) budget: u64,
    pub(crate) mode: Mode,
    pub(crate) callers: Callers,
    pub(crate) store: Arc<Store>,
    pub(crate) metrics: Metrics,
    pub(crate) max_body: usize,
    pub(crate) timeout: Duration,
    pub(crate) flow_h_rate: Rate,
}

impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("epoch", &self.answering_epoch())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the evaluator from its configuration: a single evaluator's keys from its root
    /// seed, or one threshold evaluator's shares (`[threshold]`); the store; the callers.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a bad secret, token hash, flow, subject or domain;
    /// [`ServerError::Store`].
    pub fn new(config: &Config) -> Result<Self> {
        let authority = config
            .server
            .authority
            .clone()
            .unwrap_or_else(|| config.server.listen.to_string());
        let callers = Callers::new(&config.callers, &authority, &config.keys.realm)?;
        std::fs::create_dir_all(&config.server.data_dir).map_err(|e| {
            ServerError::Config(format!("{}: {e}", config.server.data_dir.display()))
        })?;
        let store = Arc::new(match &config.server.postgres_url_file {
            Some(path) => {
                check_private(path)?;
                let url = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?,
                );
                Store::open_postgres(url.trim(), config.keys.quota)?
            }
            None => Store::open(
                &config.server.data_dir.join("blindnym.sqlite3"),
                config.keys.quota,
            )?,
        });
        let (key_set, mode, budget) = match &config.threshold {
            Some(section) => {
                let threshold = ThresholdState::load(
                    section,
                    config.keys.realm.as_bytes(),
                    &config.server.data_dir,
                    callers.grants().clone(),
                    callers.subjects(),
                    SharedStore(store.clone()),
                    config.keys.quota,
                )?;
                // Each element is evaluated by t of the n evaluators: each keeps its share of
                // the set's budget (spec §12.7, review M5).
                let budget = threshold.share_of(config.keys.epoch_budget);
                (
                    threshold.key_set().to_vec(),
                    Mode::Threshold(Arc::new(threshold)),
                    budget,
                )
            }
            None => {
                let (key_set, single) = single_evaluator(config, callers.grants(), &store)?;
                (
                    key_set,
                    Mode::Single(Arc::new(single)),
                    config.keys.epoch_budget,
                )
            }
        };
        let digest = <sha2::Sha256 as sha2::Digest>::digest(config.keys.realm.as_bytes());
        let state = Self {
            realm_tag: hex::encode(&digest[..8]),
            key_set,
            budget,
            mode,
            callers,
            store,
            metrics: Metrics::default(),
            max_body: config.server.max_body_bytes,
            timeout: Duration::from_millis(config.server.request_timeout_ms),
            flow_h_rate: Rate::new(config.server.flow_h_per_second),
        };
        state.warn_low_budgets();
        Ok(state)
    }

    /// This evaluator in threshold mode.
    ///
    /// # Errors
    /// [`ServerError::NotServed`] for a single evaluator.
    pub fn threshold(&self) -> Result<&Arc<ThresholdState>> {
        match &self.mode {
            Mode::Threshold(threshold) => Ok(threshold),
            Mode::Single(_) => Err(ServerError::NotServed("threshold mode")),
        }
    }

    /// The store (tests read counts from it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The epoch that answers now: a single evaluator's current one (or, before it starts,
    /// the previous one), or the threshold set's.
    pub(crate) fn answering_epoch(&self) -> u32 {
        match &self.mode {
            Mode::Single(single) => single.answering(crate::kit::now()).epoch,
            Mode::Threshold(threshold) => threshold.epoch(),
        }
    }

    /// What each key's budget has left under the answering epoch, by role.
    pub(crate) fn budgets_left(&self) -> Vec<(&'static str, u64)> {
        let epoch = self.answering_epoch();
        ["holder-derived", "attested", "bulk"]
            .into_iter()
            .map(|role| {
                let used = self
                    .store
                    .budget_used(&self.budget_key(epoch, role))
                    .unwrap_or(0);
                (role, self.budget.saturating_sub(used))
            })
            .collect()
    }

    /// Reports at start any key with less than a tenth of its budget left: it must be
    /// rotated before it refuses (`spec/04-keys.md` §4.3).
    pub(crate) fn warn_low_budgets(&self) {
        for (role, left) in self.budgets_left() {
            if left < self.budget / 10 {
                eprintln!(
                    "blindnym-server: the epoch {} {role} key has {left} of {} evaluations left: rotate it",
                    self.answering_epoch(),
                    self.budget
                );
            }
        }
    }

    /// The store's budget counter of `role`'s key in `epoch` of this realm
    /// (`spec/04-keys.md` §4.3): `<first 8 bytes of SHA-256(realm), hex>/epoch-<e>/<role>`.
    pub fn budget_key(&self, epoch: u32, role: &str) -> String {
        format!("{}/epoch-{epoch}/{role}", self.realm_tag)
    }
}
