//! The tweak records this evaluator answers under (`spec/12-threshold.md` §12.12.4): for each
//! flow B domain and flow A subject, the installed record with its digest, the share
//! evaluators that answer under it, and the local store that keeps the tweak shares across a
//! restart. A share and its record's digest change together, under one lock, after the share
//! is on disk, so no answer goes out under a record that says otherwise.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

use blindnym::pseudonym::SubjectId;
use blindnym::pseudonym::attested;
use blindnym::pseudonym::bulk::{self};
use blindnym::threshold::flow_a::{AttestedShareEvaluator, SignerState, SigningRequest};
use blindnym::threshold::flow_b::BulkShareEvaluator;
use blindnym::threshold::inversion::{Target, TweakRecord, TweakShare};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::config::check_private;
use crate::error::{Result, ServerError};

/// The record a domain's or subject's answers are made under, with its digest (the
/// `Blindnym-Tweak` header a caller sends names it).
#[derive(Debug, Clone)]
pub struct Installed {
    /// SHA-256 of the record's bytes.
    pub digest: [u8; 32],
    /// The record's bytes.
    pub record: Vec<u8>,
}

impl Installed {
    /// The installed form of `record`.
    pub fn of(record: &TweakRecord) -> Self {
        let bytes = record.to_bytes();
        Self {
            digest: Sha256::digest(&bytes).into(),
            record: bytes,
        }
    }
}

/// A row of the tweak store: the target byte, the domain or subject, its record, the tweak
/// share (secret).
type KeptTweak = (u8, Vec<u8>, Vec<u8>, Zeroizing<Vec<u8>>);

fn poisoned(what: &str) -> ServerError {
    ServerError::Store(format!("{what} lock poisoned"))
}

/// The installed records and the evaluators that answer under them.
pub(crate) struct Records {
    epoch: u32,
    installed: RwLock<HashMap<Target, Installed>>,
    bulk: RwLock<BulkShareEvaluator>,
    attested: RwLock<AttestedShareEvaluator>,
    tweaks: Mutex<Connection>,
}

impl Records {
    /// The records of `epoch`, kept in `path` (created 0600), with the evaluators to install
    /// them into; installs every tweak share the store kept, or with `erase_all` (this
    /// evaluator's key shares were just replaced) erases them all first.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a loose or unreadable store; [`ServerError::Store`]; a
    /// kept share that no longer installs.
    pub(crate) fn open(
        epoch: u32,
        path: &Path,
        bulk: BulkShareEvaluator,
        attested: AttestedShareEvaluator,
        erase_all: bool,
    ) -> Result<Self> {
        let records = Self {
            epoch,
            installed: RwLock::new(HashMap::new()),
            bulk: RwLock::new(bulk),
            attested: RwLock::new(attested),
            tweaks: Mutex::new(open_tweak_store(path, epoch, erase_all)?),
        };
        records.reinstall()?;
        Ok(records)
    }

    /// The record installed for `target`.
    pub(crate) fn installed(&self, target: &Target) -> Option<Installed> {
        self.installed.read().ok()?.get(target).cloned()
    }

    /// Fails with `TweakMismatch` unless the record installed for `target` is `tweak` (a
    /// check before anything is charged; answers check again under the lock).
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)`.
    pub(crate) fn check(&self, target: &Target, tweak: &[u8; 32]) -> Result<()> {
        check_digest(&*self.read()?, target, tweak)
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, HashMap<Target, Installed>>> {
        self.installed.read().map_err(|_| poisoned("installed"))
    }

    fn tweaks(&self) -> Result<MutexGuard<'_, Connection>> {
        self.tweaks.lock().map_err(|_| poisoned("tweak store"))
    }

    /// A flow B batch under the installed record whose digest is `tweak`.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for no share for the domain or one under another record;
    /// as [`BulkShareEvaluator::evaluate_batch`].
    pub(crate) fn evaluate_bulk(
        &self,
        caller: &bulk::CallerId,
        request: &bulk::BatchRequest,
        tweak: &[u8; 32],
    ) -> Result<Vec<u8>> {
        // The record is read and the answer made under one lock: `install` swaps both at once.
        let installed = self.read()?;
        check_digest(&installed, &Target::domain(request.domain())?, tweak)?;
        let bulk = self.bulk.read().map_err(|_| poisoned("evaluator"))?;
        Ok(bulk
            .evaluate_batch(caller, request, &mut rand::rng())?
            .to_bytes()?)
    }

    /// Flow A round one for `subject` under the installed record `tweak`: the signer state
    /// and the share evaluation's bytes.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)`; as [`AttestedShareEvaluator::evaluate`].
    pub(crate) fn evaluate_attested(
        &self,
        subject: &SubjectId,
        request: &attested::Request,
        tweak: &[u8; 32],
    ) -> Result<(SignerState, Vec<u8>)> {
        let installed = self.read()?;
        check_digest(&installed, &Target::Subject(subject.clone()), tweak)?;
        let (state, evaluation) = self
            .attested
            .read()
            .map_err(|_| poisoned("evaluator"))?
            .evaluate(subject, request, &mut rand::rng())?;
        Ok((state, evaluation.to_bytes()?))
    }

    /// Flow A round two: the signature share's bytes.
    ///
    /// # Errors
    /// As [`AttestedShareEvaluator::sign`].
    pub(crate) fn sign_attested(
        &self,
        state: SignerState,
        request: &SigningRequest,
        now: u64,
    ) -> Result<Vec<u8>> {
        Ok(self
            .attested
            .read()
            .map_err(|_| poisoned("evaluator"))?
            .sign(state, request, now)?
            .to_bytes())
    }

    /// Installs a tweak share under its record: checked by the library's `install`, kept on
    /// disk, then the digest swapped in; if the share cannot be kept, the target is forgotten
    /// here too.
    ///
    /// # Errors
    /// As the library's `install` ([`blindnym::Error::TweakMismatch`] for a share that is not
    /// this evaluator's under the record); [`ServerError::Store`].
    pub(crate) fn install(
        &self,
        target: &Target,
        share: TweakShare,
        record: &TweakRecord,
    ) -> Result<()> {
        let bytes = record.to_bytes();
        let secret = share.to_bytes();
        let mut installed = self.installed.write().map_err(|_| poisoned("installed"))?;
        match target {
            Target::Domain(domain) => self
                .bulk
                .write()
                .map_err(|_| poisoned("evaluator"))?
                .install(domain, share, record)?,
            Target::Subject(subject) => self
                .attested
                .write()
                .map_err(|_| poisoned("evaluator"))?
                .install(subject, share, record)?,
        }
        let kept = self.tweaks().and_then(|tweaks| {
            tweaks
                .execute(
                    "INSERT INTO tweak_shares (epoch, role, input, record, share)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (epoch, role, input)
                     DO UPDATE SET record = excluded.record, share = excluded.share",
                    params![
                        self.epoch,
                        target.byte(),
                        target.input(),
                        bytes,
                        secret.as_slice()
                    ],
                )
                .map_err(ServerError::from)
        });
        if let Err(e) = kept {
            installed.remove(target);
            return Err(e);
        }
        installed.insert(target.clone(), Installed::of(record));
        Ok(())
    }

    /// Installs the tweak shares the local store kept across a restart.
    fn reinstall(&self) -> Result<()> {
        let rows: Vec<KeptTweak> = {
            let tweaks = self.tweaks()?;
            let mut statement = tweaks
                .prepare("SELECT role, input, record, share FROM tweak_shares WHERE epoch = ?1")?;
            statement
                .query_map([self.epoch], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        Zeroizing::new(row.get(3)?),
                    ))
                })?
                .collect::<core::result::Result<_, _>>()?
        };
        for (byte, input, record, share) in rows {
            let record = TweakRecord::from_bytes(&record)?;
            let share = TweakShare::from_bytes(&share)?;
            self.install(&Target::from_parts(byte, &input)?, share, &record)?;
        }
        Ok(())
    }
}

/// `TweakMismatch` unless `installed` holds `tweak` for `target`.
fn check_digest(
    installed: &HashMap<Target, Installed>,
    target: &Target,
    tweak: &[u8; 32],
) -> Result<()> {
    match installed.get(target) {
        Some(installed) if installed.digest == *tweak => Ok(()),
        _ => Err(ServerError::Protocol(blindnym::Error::TweakMismatch)),
    }
}

/// The local store of installed tweak shares: as secret as the key share file beside it, so
/// it is created with mode 0600. Shares of every epoch but `epoch` are erased on opening
/// (review M3, `spec/12-threshold.md` §12.12.4): deleted with `secure_delete` (their pages
/// overwritten with zeros), the file rebuilt by `VACUUM`, the rollback journal deleted at
/// each commit; so a seized `data_dir` holds no share of a past epoch.
fn open_tweak_store(path: &Path, epoch: u32, erase_all: bool) -> Result<Connection> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
    }
    check_private(path)?;
    let connection = Connection::open(path)?;
    connection.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA journal_mode = DELETE;
         CREATE TABLE IF NOT EXISTS tweak_shares (
             epoch INTEGER NOT NULL, role INTEGER NOT NULL, input BLOB NOT NULL,
             record BLOB NOT NULL, share BLOB NOT NULL, PRIMARY KEY (epoch, role, input));",
    )?;
    let erased = connection.execute(
        "DELETE FROM tweak_shares WHERE epoch != ?1 OR ?2",
        rusqlite::params![epoch, erase_all],
    )?;
    if erased > 0 {
        connection.execute_batch("VACUUM;")?;
    }
    Ok(connection)
}
