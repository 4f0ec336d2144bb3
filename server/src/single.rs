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
use blindnym::pseudonym::{
    EpochKeys, EvaluationBudget, KeyRatchet, KeySetVerifier, RootSeed, SignedKeySet, attested,
    holder_derived,
};
use zeroize::Zeroizing;

use crate::config::{Config, check_private, read_secret, write_private_atomic};
use crate::error::{Result, ServerError};
use crate::kit::{now, read_file};
use crate::store::{SharedStore, Store};

/// A key set this close to its `not_after` is reported at start (seconds).
const EXPIRY_WARNING_S: u64 = 7 * 86_400;

/// A single evaluator's three keys (`spec/05`–`spec/07`).
pub(crate) struct Single {
    pub(crate) holder_derived: holder_derived::Evaluator,
    pub(crate) attested: attested::Evaluator,
    pub(crate) bulk: bulk::Evaluator,
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
        (true, None) => {
            check_private(&state)?;
            let bytes = Zeroizing::new(read_file(&state)?);
            let ratchet = KeyRatchet::from_bytes(&bytes)
                .map_err(|e| config_error("ratchet_state_file", &e))?;
            if ratchet.realm() != realm {
                return Err(config_error(
                    "ratchet_state_file",
                    &"the state is for another realm",
                ));
            }
            Ok(ratchet)
        }
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

/// Reads the signed key set at `path`, checks it against the anchor, the realm and the time,
/// and that it lists `keys`' epoch with exactly these keys; returns its bytes.
fn checked_key_set(config: &Config, path: &Path, keys: &EpochKeys) -> Result<Vec<u8>> {
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
    let listed = verified
        .set()
        .epochs()
        .iter()
        .find(|entry| entry.epoch == keys.epoch())
        .is_some_and(|entry| *entry == keys.public(entry.not_before));
    if !listed {
        return Err(config_error(
            "key_set_file",
            &format!(
                "does not list this evaluator's epoch {} keys (sign the keys that \
                 `blindnym-server --export-epoch-keys` writes)",
                keys.epoch()
            ),
        ));
    }
    let left = verified.set().not_after().saturating_sub(now());
    if left < EXPIRY_WARNING_S {
        eprintln!(
            "blindnym-server: the key set expires in {} h: have the signer sign the next one",
            left / 3600
        );
    }
    Ok(bytes)
}

/// A single evaluator's keys from its ratchet state and the signed key set it serves.
pub(crate) fn single_evaluator(
    config: &Config,
    grants: &Grants,
    store: &Arc<Store>,
) -> Result<(u32, Vec<u8>, Single)> {
    let keys = load_ratchet(config)?.keys()?;
    let key_set_file = config.keys.key_set_file.as_deref().ok_or_else(|| {
        config_error(
            "key_set_file",
            &"required without [threshold] (the evaluator never signs its own key set)",
        )
    })?;
    let key_set = checked_key_set(config, key_set_file, &keys)?;
    // The store enforces the budgets (they survive restarts); the library's own counters
    // are left unlimited.
    let unlimited = || EvaluationBudget::new(u64::MAX);
    Ok((
        keys.epoch(),
        key_set,
        Single {
            holder_derived: holder_derived::Evaluator::new(keys.holder_derived(), unlimited()),
            attested: attested::Evaluator::new(keys.attested(), unlimited()),
            bulk: bulk::Evaluator::new(
                keys.bulk(),
                grants.clone(),
                SharedStore(store.clone()),
                unlimited(),
            ),
        },
    ))
}
