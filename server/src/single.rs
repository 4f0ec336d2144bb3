//! A single evaluator (no `[threshold]`): its three keys from the ratchet state it keeps, and
//! the key set the signer made for them (`spec/05`–`spec/07`, `spec/04-keys.md` §4.2–§4.5).
//!
//! The root seed is read once, at the first start, to begin the ratchet; from then on only
//! the ratchet state is on the evaluator's disk, and a configured `root_seed_file` is
//! refused. The evaluator never holds the key-set signer: it serves the signed bytes it was
//! given, byte for byte across restarts, after checking them against the anchor and its own
//! keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use blindnym::pseudonym::bulk::{self, Grants};
use blindnym::pseudonym::key_set::TRANSITION_WINDOW_S;
use blindnym::pseudonym::{
    EpochKeys, EvaluationBudget, KeyRatchet, KeySetVerifier, RootSeed, SignedKeySet,
    VerifiedKeySet, attested, holder_derived,
};
use zeroize::Zeroizing;

use crate::config::{Config, check_private, read_secret, write_private_atomic};
use crate::error::{Result, ServerError};
use crate::kit::{now, read_file};
use crate::store::{SharedStore, Store};

/// A key set this close to its `not_after` is reported at start (seconds).
const EXPIRY_WARNING_S: u64 = 7 * 86_400;

/// One epoch's three evaluators (`spec/05`–`spec/07`).
pub(crate) struct EpochEvaluators {
    pub(crate) epoch: u32,
    /// When the epoch becomes current (its key-set entry).
    pub(crate) not_before: u64,
    pub(crate) holder_derived: holder_derived::Evaluator,
    pub(crate) attested: attested::Evaluator,
    pub(crate) bulk: bulk::Evaluator,
}

/// A single evaluator: its current epoch and, after a rotation and while the key set lists
/// it, the previous one (`spec/04-keys.md` §4.6–§4.7).
pub(crate) struct Single {
    pub(crate) current: EpochEvaluators,
    pub(crate) previous: Option<EpochEvaluators>,
}

fn config_error(what: &str, e: &dyn std::fmt::Display) -> ServerError {
    ServerError::Config(format!("[keys] {what}: {e}"))
}

/// Where the ratchet state lives.
pub fn ratchet_state_path(config: &Config) -> PathBuf {
    config
        .keys
        .ratchet_state_file
        .clone()
        .unwrap_or_else(|| config.server.data_dir.join("ratchet.state"))
}

/// Begins the ratchet at epoch 1 from the root seed at `seed` and writes its state to
/// `state` (mode 0600, atomically, its folder made if missing).
///
/// # Errors
/// [`ServerError::Config`] for a loose or malformed seed or a state that cannot be written.
pub fn begin_ratchet(seed: &Path, realm: &[u8], state: &Path) -> Result<KeyRatchet> {
    let root = RootSeed::from_bytes(read_secret(seed)?.as_ref())?;
    let ratchet = KeyRatchet::new(&root, realm, 1)?;
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| ServerError::Config(format!("{}: {e}", dir.display())))?;
    }
    write_private_atomic(state, &ratchet.to_bytes())?;
    Ok(ratchet)
}

/// The ratchet: loaded from its state, or begun from the root seed at the first start (the
/// state is then written, and the seed is never read again).
///
/// # Errors
/// [`ServerError::Config`] for a root seed configured beside existing state, neither of the
/// two, a loose or malformed file, or state of another realm.
pub fn load_ratchet(config: &Config) -> Result<KeyRatchet> {
    let state = ratchet_state_path(config);
    let realm = config.keys.realm.as_bytes();
    match (state.exists(), &config.keys.root_seed_file) {
        (true, Some(seed)) => Err(config_error(
            "root_seed_file",
            &format!(
                "{} is refused: ratchet state exists at {}, and the seed is consumed once \
                 (remove the setting and destroy the file)",
                seed.display(),
                state.display()
            ),
        )),
        (true, None) => read_state(config, &state),
        (false, Some(seed)) => {
            let ratchet = begin_ratchet(seed, realm, &state)?;
            eprintln!(
                "blindnym-server: began the key ratchet in {}; destroy {} and remove \
                 root_seed_file from the configuration",
                state.display(),
                seed.display()
            );
            Ok(ratchet)
        }
        (false, None) => Err(config_error(
            "ratchet_state_file",
            &format!(
                "no ratchet state at {} and no root_seed_file to begin one",
                state.display()
            ),
        )),
    }
}

/// Where the previous epoch's ratchet state is kept after a rotation, for migrations
/// (`spec/04-keys.md` §4.7), until the key set no longer lists that epoch.
pub fn previous_state_path(config: &Config) -> PathBuf {
    let mut path = ratchet_state_path(config).into_os_string();
    path.push(".previous");
    PathBuf::from(path)
}

/// Reads a ratchet state at `path` (mode 0600) of this realm.
fn read_state(config: &Config, path: &Path) -> Result<KeyRatchet> {
    check_private(path)?;
    let bytes = Zeroizing::new(read_file(path)?);
    let ratchet =
        KeyRatchet::from_bytes(&bytes).map_err(|e| config_error("ratchet_state_file", &e))?;
    if ratchet.realm() != config.keys.realm.as_bytes() {
        return Err(config_error(
            "ratchet_state_file",
            &format!("{} is for another realm", path.display()),
        ));
    }
    Ok(ratchet)
}

/// Overwrites the file at `path` with zeros, syncs and removes it: a retired chain key does
/// not stay in the file (a copy-on-write or journalling filesystem, or a backup, may still
/// hold old blocks: keep ratchet state on storage the operator can wipe).
fn erase(path: &Path) -> Result<()> {
    use std::io::Write as _;
    let io = |e: std::io::Error| ServerError::Config(format!("{}: {e}", path.display()));
    let len = std::fs::metadata(path).map_err(io)?.len();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io)?;
    file.write_all(&vec![0; usize::try_from(len).unwrap_or(0)])
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::remove_file(path).map_err(io)
}

/// Rotates (`spec/04-keys.md` §4.3): the current state is kept as the previous epoch's (for
/// migrations while the key set lists it), the ratchet advances and its new state replaces
/// the old one. Returns the new epoch's public keys, starting at `not_before` or now, and
/// after the current epoch's start in the served key set. Run it with the evaluator stopped;
/// the signer then signs a set listing both epochs, and the evaluator is started on it.
///
/// # Errors
/// [`ServerError::Config`] without ratchet state, with a root seed configured, for state
/// that cannot be read or written; [`ServerError::Protocol`] at the last epoch.
pub fn rotate(
    config: &Config,
    not_before: Option<u64>,
) -> Result<blindnym::pseudonym::EpochPublicKeys> {
    let state = ratchet_state_path(config);
    if !state.exists() {
        return Err(config_error(
            "ratchet_state_file",
            &format!("no ratchet state at {} to rotate", state.display()),
        ));
    }
    let mut ratchet = load_ratchet(config)?;
    let started = config
        .keys
        .key_set_file
        .as_deref()
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| SignedKeySet::from_bytes(&bytes).ok())
        .and_then(|set| {
            set.unverified()
                .epochs()
                .iter()
                .find(|entry| entry.epoch == ratchet.epoch())
                .map(|entry| entry.not_before)
        })
        .unwrap_or(0);
    // The current state is kept first: a crash between the two writes leaves the state at
    // the old epoch, and the rotation is run again.
    write_private_atomic(&previous_state_path(config), &ratchet.to_bytes())?;
    ratchet.advance()?;
    write_private_atomic(&state, &ratchet.to_bytes())?;
    let not_before = not_before
        .unwrap_or_else(now)
        .max(started.saturating_add(1));
    Ok(ratchet.keys()?.public(not_before))
}

/// Reads the signed key set at `path` and checks it against the anchor, the realm and the
/// time; returns its bytes and the verified set.
fn checked_key_set(config: &Config, path: &Path) -> Result<(Vec<u8>, VerifiedKeySet)> {
    let anchor = config
        .keys
        .anchor
        .as_deref()
        .ok_or_else(|| config_error("anchor", &"required with key_set_file"))?;
    let anchor = crate::config::parse_anchor("keys", anchor)?;
    let bytes = read_file(path)?;
    let signed = SignedKeySet::from_bytes(&bytes).map_err(|e| config_error("key_set_file", &e))?;
    let verified = KeySetVerifier::new(anchor, config.keys.realm.as_bytes())
        .accept(&signed, now())
        .map_err(|e| config_error("key_set_file", &e))?;
    let left = verified.set().not_after().saturating_sub(now());
    if left < EXPIRY_WARNING_S {
        eprintln!(
            "blindnym-server: the key set expires in {} h: have the signer sign the next one",
            left / 3600
        );
    }
    Ok((bytes, verified))
}

/// `keys`' entry in `set`, when the set lists their epoch with exactly these keys.
fn listed(set: &VerifiedKeySet, keys: &EpochKeys) -> Option<u64> {
    set.set()
        .epochs()
        .iter()
        .find(|entry| entry.epoch == keys.epoch())
        .filter(|entry| **entry == keys.public(entry.not_before))
        .map(|entry| entry.not_before)
}

impl EpochEvaluators {
    fn new(keys: &EpochKeys, not_before: u64, grants: &Grants, store: &Arc<Store>) -> Self {
        // The store enforces the budgets (they survive restarts); the library's own counters
        // are left unlimited.
        let unlimited = || EvaluationBudget::new(u64::MAX);
        Self {
            epoch: keys.epoch(),
            not_before,
            holder_derived: holder_derived::Evaluator::new(keys.holder_derived(), unlimited()),
            attested: attested::Evaluator::new(keys.attested(), unlimited()),
            bulk: bulk::Evaluator::new(
                keys.bulk(),
                grants.clone(),
                SharedStore(store.clone()),
                unlimited(),
            ),
        }
    }
}

impl Single {
    /// The epoch that answers at `now`: the current one once it has started, the previous
    /// one before that (`spec/04-keys.md` §4.6: the set's current epoch).
    pub(crate) fn answering(&self, now: u64) -> &EpochEvaluators {
        match &self.previous {
            Some(previous) if now < self.current.not_before => previous,
            _ => &self.current,
        }
    }

    /// The previous epoch and the current one, for a migration (`spec/04-keys.md` §4.7): the
    /// current epoch must have started, and the previous one must still be held.
    ///
    /// # Errors
    /// [`blindnym::Error::StaleEpoch`] before the current epoch starts or once the previous
    /// one is retired.
    pub(crate) fn migration(&self, now: u64) -> Result<(&EpochEvaluators, &EpochEvaluators)> {
        match &self.previous {
            Some(previous) if now >= self.current.not_before => Ok((previous, &self.current)),
            _ => Err(ServerError::Protocol(blindnym::Error::StaleEpoch {
                epoch: self.current.epoch.saturating_sub(1),
            })),
        }
    }

    /// The epoch a flow B caller named, under the rule of `VerifiedKeySet::accept_epoch`
    /// (`spec/04-keys.md` §4.6): the answering epoch, or the one before it within the
    /// transition window.
    ///
    /// # Errors
    /// [`blindnym::Error::StaleEpoch`] for any other epoch this evaluator holds or held,
    /// [`blindnym::Error::UnknownEpoch`] for a later one.
    pub(crate) fn named(&self, epoch: u32, now: u64) -> Result<&EpochEvaluators> {
        let answering = self.answering(now);
        if epoch == answering.epoch {
            return Ok(answering);
        }
        match &self.previous {
            Some(previous)
                if epoch == previous.epoch
                    && now >= self.current.not_before
                    && now < self.current.not_before.saturating_add(TRANSITION_WINDOW_S) =>
            {
                Ok(previous)
            }
            _ if epoch > self.current.epoch => {
                Err(ServerError::Protocol(blindnym::Error::UnknownEpoch {
                    epoch,
                }))
            }
            _ => Err(ServerError::Protocol(blindnym::Error::StaleEpoch { epoch })),
        }
    }
}

/// A single evaluator's keys from its ratchet state and the signed key set it serves: the
/// current epoch, and the previous one while the set lists it (its state is erased once the
/// set no longer does).
pub(crate) fn single_evaluator(
    config: &Config,
    grants: &Grants,
    store: &Arc<Store>,
) -> Result<(Vec<u8>, Single)> {
    let keys = load_ratchet(config)?.keys()?;
    let key_set_file = config.keys.key_set_file.as_deref().ok_or_else(|| {
        config_error(
            "key_set_file",
            &"required without [threshold] (the evaluator never signs its own key set)",
        )
    })?;
    let (key_set, verified) = checked_key_set(config, key_set_file)?;
    let not_before = listed(&verified, &keys).ok_or_else(|| {
        config_error(
            "key_set_file",
            &format!(
                "does not list this evaluator's epoch {} keys (sign the keys that \
                 `blindnym-server --export-epoch-keys` or `--rotate` writes)",
                keys.epoch()
            ),
        )
    })?;
    let previous_path = previous_state_path(config);
    let previous = if previous_path.exists() {
        let old = read_state(config, &previous_path)?.keys()?;
        if old.epoch().checked_add(1) != Some(keys.epoch()) {
            return Err(config_error(
                "ratchet_state_file",
                &format!(
                    "{} holds epoch {}, not the one before {}",
                    previous_path.display(),
                    old.epoch(),
                    keys.epoch()
                ),
            ));
        }
        match verified
            .set()
            .epochs()
            .iter()
            .any(|e| e.epoch == old.epoch())
        {
            true => Some(EpochEvaluators::new(
                &old,
                listed(&verified, &old).ok_or_else(|| {
                    config_error(
                        "key_set_file",
                        &format!("lists epoch {} with other keys", old.epoch()),
                    )
                })?,
                grants,
                store,
            )),
            false => {
                erase(&previous_path)?;
                eprintln!(
                    "blindnym-server: the key set no longer lists epoch {}: its keys are erased",
                    old.epoch()
                );
                None
            }
        }
    } else {
        None
    };
    Ok((
        key_set,
        Single {
            current: EpochEvaluators::new(&keys, not_before, grants, store),
            previous,
        },
    ))
}
