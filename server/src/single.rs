//! A single evaluator (no `[threshold]`): its three keys from the root seed, and the key set
//! it signs (`spec/05`–`spec/07`, `spec/04-keys.md`).

use std::sync::Arc;

use blindnym::pseudonym::bulk::{self, Grants};
use blindnym::pseudonym::{
    EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, RootSeed, attested, holder_derived,
};

use crate::config::{Config, read_secret};
use crate::error::{Result, ServerError};
use crate::kit::now;
use crate::store::{SharedStore, Store};

/// A single evaluator's three keys (`spec/05`–`spec/07`).
pub(crate) struct Single {
    pub(crate) holder_derived: holder_derived::Evaluator,
    pub(crate) attested: attested::Evaluator,
    pub(crate) bulk: bulk::Evaluator,
}

/// A single evaluator's keys from the root seed: the ratchet's first epoch and a key set
/// signed now for 30 days.
pub(crate) fn single_evaluator(
    config: &Config,
    grants: &Grants,
    store: &Arc<Store>,
) -> Result<(u32, Vec<u8>, Single)> {
    let required = |file: &Option<std::path::PathBuf>, name: &str| {
        file.clone().ok_or_else(|| {
            ServerError::Config(format!("[keys] {name} is required without [threshold]"))
        })
    };
    let realm = config.keys.realm.as_bytes();
    let seed = read_secret(&required(&config.keys.root_seed_file, "root_seed_file")?)?;
    let root = RootSeed::from_bytes(seed.as_ref())?;
    let ratchet = KeyRatchet::new(&root, realm, 1)?;
    let keys = ratchet.keys()?;
    let signer = KeySetSigner::from_bytes(
        read_secret(&required(&config.keys.signer_file, "signer_file")?)?.as_ref(),
    )?;
    let start = now().saturating_sub(60);
    let set = KeySet::new(
        realm,
        1,
        start,
        start + 30 * 86_400,
        vec![keys.public(start)],
    )?;
    // The store enforces the budgets (they survive restarts); the library's own counters
    // are left unlimited.
    let unlimited = || EvaluationBudget::new(u64::MAX);
    Ok((
        keys.epoch(),
        signer.sign(set).to_bytes(),
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
