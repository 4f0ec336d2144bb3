//! One evaluator of `n` in threshold mode (`spec/12-threshold.md`): its key shares, the
//! share answers of flows H and B, and its part in the shared inversion of each flow B domain
//! — as a participant (rounds one to three, called by a peer over mutually authenticated TLS)
//! and as the coordinator of a run a data holder asks it for. The protocol is the library's
//! (`blindnym::threshold`); this file keeps the states of runs, installs and persists the
//! tweak shares, and moves the messages.
//!
//! The peer API does one thing: inversions on the tweak of a flow B domain, over the flow B key
//! share. Its role is fixed by the endpoint (it never inverts over another key) and every run
//! is bound to its run identifier and the authenticated channel (§12.9.8 item 8).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use blindnym::pseudonym::bulk::{self, Grants};
use blindnym::pseudonym::{EvaluationBudget, KeySetVerifier, SignedKeySet, VerifiedKeySet};
use blindnym::threshold::flow_b::BulkShareEvaluator;
use blindnym::threshold::flow_h::ShareEvaluator;
use blindnym::threshold::inversion::{
    Dealing, InversionParticipant, MaskedProduct, PrivateShare, TweakRecord, TweakShare, deal_round,
};
use blindnym::threshold::{EpochShares, KeyShare, SignedEpochShares};
use rand::RngExt as _;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::config::{ThresholdSection, check_private};
use crate::error::{Result, ServerError};
use crate::peer::PeerClient;
use crate::peer_wire::{DealRequest, FinishRequest, ProductRequest, RunId};
use crate::store::SharedStore;

/// How long a participant keeps the state of an unfinished run.
const RUN_LIFETIME: Duration = Duration::from_secs(120);
/// The most unfinished runs a participant keeps at once.
const MAX_RUNS: usize = 64;

/// A participant's state in one run.
struct Run {
    domain: Vec<u8>,
    participants: Vec<u16>,
    participant: Option<InversionParticipant>,
    privates: Vec<PrivateShare>,
    started: Instant,
}

/// The record a domain's answers are made under, with its digest (the `Blindnym-Tweak`
/// header a data holder sends names it).
#[derive(Debug, Clone)]
pub struct Installed {
    /// SHA-256 of the record's bytes.
    pub digest: [u8; 32],
    /// The record's bytes.
    pub record: Vec<u8>,
}

/// A row of the tweak store: the domain, its record, the tweak share (secret).
type KeptTweak = (Vec<u8>, Vec<u8>, Zeroizing<Vec<u8>>);

/// This evaluator in threshold mode.
pub struct ThresholdState {
    index: u16,
    public: EpochShares,
    key_set: Vec<u8>,
    epoch_shares: Vec<u8>,
    holder_derived: ShareEvaluator,
    bulk_share: KeyShare,
    bulk: RwLock<BulkShareEvaluator>,
    installed: RwLock<HashMap<Vec<u8>, Installed>>,
    tweaks: Mutex<Connection>,
    runs: Mutex<HashMap<RunId, Run>>,
    coordinating: Mutex<()>,
    peers: PeerClient,
}

impl core::fmt::Debug for ThresholdState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThresholdState")
            .field("index", &self.index)
            .field("params", &self.public.bulk.params())
            .finish_non_exhaustive()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
}

fn read_share(path: &Path) -> Result<KeyShare> {
    check_private(path)?;
    let bytes = Zeroizing::new(read_file(path)?);
    KeyShare::from_bytes(&bytes)
        .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unavailable(reason: impl Into<String>) -> ServerError {
    ServerError::Peers(reason.into())
}

impl ThresholdState {
    /// Loads this evaluator's shares and the signed public side, checks them against the
    /// anchor and each other, opens the local tweak store in `data_dir` and installs the
    /// tweak shares kept there.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a file that is missing, loose, malformed, unsigned or not
    /// this evaluator's; [`ServerError::Store`].
    pub fn load(
        section: &ThresholdSection,
        realm: &[u8],
        data_dir: &Path,
        grants: Grants,
        store: SharedStore,
    ) -> Result<Self> {
        let config = |what: &str, e: &dyn std::fmt::Display| {
            ServerError::Config(format!("[threshold] {what}: {e}"))
        };
        let anchor: [u8; 32] = hex::decode(section.anchor.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| config("anchor", &"not 64 hex digits"))?;
        let anchor = blindnym::pseudonym::key_set::decode_verifying_key(&anchor)
            .map_err(|e| config("anchor", &e))?;
        let key_set = read_file(&section.key_set_file)?;
        let mut verifier = KeySetVerifier::new(anchor, realm);
        let keys: VerifiedKeySet = verifier
            .accept(
                &SignedKeySet::from_bytes(&key_set).map_err(|e| config("key_set_file", &e))?,
                now(),
            )
            .map_err(|e| config("key_set_file", &e))?;
        let epoch_shares = read_file(&section.epoch_shares_file)?;
        let public = SignedEpochShares::from_bytes(&epoch_shares)
            .and_then(|signed| signed.verify(&verifier, &keys, now()))
            .map_err(|e| config("epoch_shares_file", &e))?;
        let holder_derived = read_share(&section.holder_derived_share_file)?;
        let bulk_share = read_share(&section.bulk_share_file)?;
        for (share, shares, what) in [
            (
                &holder_derived,
                &public.holder_derived,
                "holder_derived_share_file",
            ),
            (&bulk_share, &public.bulk, "bulk_share_file"),
        ] {
            let expected = shares.share(section.index).map_err(|e| config(what, &e))?;
            if share.index() != section.index || share.verification_share() != *expected {
                return Err(config(
                    what,
                    &"not this evaluator's share of the published key",
                ));
            }
        }
        // The store's budgets apply; the library's own counters are left unlimited.
        let unlimited = || EvaluationBudget::new(u64::MAX);
        let bulk = BulkShareEvaluator::new(
            public.epoch,
            section.index,
            public.bulk.clone(),
            grants,
            store,
            unlimited(),
        );
        let tweaks = open_tweak_store(&data_dir.join("tweaks.sqlite3"))?;
        let state = Self {
            index: section.index,
            holder_derived: ShareEvaluator::new(public.epoch, holder_derived, unlimited()),
            public,
            key_set,
            epoch_shares,
            bulk_share,
            bulk: RwLock::new(bulk),
            installed: RwLock::new(HashMap::new()),
            tweaks: Mutex::new(tweaks),
            runs: Mutex::new(HashMap::new()),
            coordinating: Mutex::new(()),
            peers: PeerClient::new(section)?,
        };
        state.reinstall()?;
        Ok(state)
    }

    /// The signed key set of the group keys.
    pub fn key_set(&self) -> &[u8] {
        &self.key_set
    }

    /// The signed verification shares.
    pub fn epoch_shares(&self) -> &[u8] {
        &self.epoch_shares
    }

    /// The epoch.
    pub fn epoch(&self) -> u32 {
        self.public.epoch
    }

    /// The flow H share evaluator.
    pub fn holder_derived(&self) -> &ShareEvaluator {
        &self.holder_derived
    }

    /// The peer whose certificate has SHA-256 `digest`, if any.
    pub fn peer_index(&self, digest: &[u8; 32]) -> Option<u16> {
        self.peers.index_of(digest)
    }

    /// The record installed for `domain`.
    pub fn installed(&self, domain: &[u8]) -> Option<Installed> {
        self.installed.read().ok()?.get(domain).cloned()
    }

    /// Answers a flow B batch under the installed record whose digest is `tweak`.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` when this evaluator holds no share for the domain or one
    /// under another record; as [`BulkShareEvaluator::evaluate_batch`].
    pub fn evaluate_bulk(
        &self,
        caller: &bulk::CallerId,
        request: &bulk::BatchRequest,
        tweak: &[u8; 32],
    ) -> Result<Vec<u8>> {
        match self.installed(request.domain()) {
            Some(installed) if installed.digest == *tweak => {}
            _ => return Err(ServerError::Protocol(blindnym::Error::TweakMismatch)),
        }
        let bulk = self
            .bulk
            .read()
            .map_err(|_| ServerError::Store("evaluator lock poisoned".into()))?;
        Ok(bulk
            .evaluate_batch(caller, request, &mut rand::rng())?
            .to_bytes()?)
    }

    fn install(&self, domain: &[u8], share: TweakShare, record: &TweakRecord) -> Result<()> {
        let bytes = record.to_bytes();
        let secret = share.to_bytes();
        self.bulk
            .write()
            .map_err(|_| ServerError::Store("evaluator lock poisoned".into()))?
            .install(domain, share, record)?;
        self.tweaks
            .lock()
            .map_err(|_| ServerError::Store("tweak store lock poisoned".into()))?
            .execute(
                "INSERT INTO tweaks (domain, record, share) VALUES (?1, ?2, ?3)
                 ON CONFLICT (domain) DO UPDATE SET record = excluded.record, share = excluded.share",
                params![domain, bytes, secret.as_slice()],
            )?;
        self.installed
            .write()
            .map_err(|_| ServerError::Store("installed lock poisoned".into()))?
            .insert(
                domain.to_vec(),
                Installed {
                    digest: Sha256::digest(&bytes).into(),
                    record: bytes,
                },
            );
        Ok(())
    }

    /// Installs the tweak shares the local store kept across a restart.
    fn reinstall(&self) -> Result<()> {
        let rows: Vec<KeptTweak> = {
            let tweaks = self
                .tweaks
                .lock()
                .map_err(|_| ServerError::Store("tweak store lock poisoned".into()))?;
            let mut statement = tweaks.prepare("SELECT domain, record, share FROM tweaks")?;
            statement
                .query_map([], |row| {
                    Ok((row.get(0)?, row.get(1)?, Zeroizing::new(row.get(2)?)))
                })?
                .collect::<core::result::Result<_, _>>()?
        };
        for (domain, record, share) in rows {
            let record = TweakRecord::from_bytes(&record)?;
            let share = TweakShare::from_bytes(&share)?;
            self.install(&domain, share, &record)?;
        }
        Ok(())
    }

    fn runs(&self) -> Result<std::sync::MutexGuard<'_, HashMap<RunId, Run>>> {
        self.runs
            .lock()
            .map_err(|_| ServerError::Store("run table lock poisoned".into()))
    }

    /// Round one as a participant: deals for the run and keeps its state.
    ///
    /// # Errors
    /// `Protocol(Replayed)` for a run it already dealt in; [`ServerError::Peers`] when it
    /// keeps too many unfinished runs; as [`deal_round`].
    pub fn deal(&self, request: &DealRequest) -> Result<Dealing> {
        let info = bulk::domain_info(&request.domain)?;
        let (participant, dealing, privates) = deal_round(
            &self.bulk_share,
            &self.public.bulk,
            &info,
            &request.participants,
            &mut rand::rng(),
        )?;
        let mut runs = self.runs()?;
        runs.retain(|_, run| run.started.elapsed() < RUN_LIFETIME);
        if runs.contains_key(&request.run) {
            return Err(ServerError::Protocol(blindnym::Error::Replayed));
        }
        if runs.len() >= MAX_RUNS {
            return Err(unavailable("too many inversion runs under way"));
        }
        runs.insert(
            request.run,
            Run {
                domain: request.domain.clone(),
                participants: request.participants.clone(),
                participant: Some(participant),
                privates,
                started: Instant::now(),
            },
        );
        Ok(dealing)
    }

    /// Round one's private share from this participant to `recipient` (a peer authenticated
    /// by its certificate, or this evaluator itself).
    ///
    /// # Errors
    /// `Protocol(UnknownEvaluator)` for a recipient outside the run, `Protocol(TweakMismatch)`
    /// for an unknown run.
    pub fn private_share(&self, run: &RunId, recipient: u16) -> Result<PrivateShare> {
        let runs = self.runs()?;
        let run = runs
            .get(run)
            .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))?;
        run.privates
            .iter()
            .find(|p| p.recipient() == recipient)
            .cloned()
            .ok_or(ServerError::Protocol(blindnym::Error::UnknownEvaluator {
                index: recipient,
            }))
    }

    /// Round two as a participant: fetches its private share from every other participant
    /// over the peer channel, checks every dealing and publishes its masked product.
    ///
    /// # Errors
    /// [`ServerError::Peers`] when a participant cannot be reached; as
    /// [`InversionParticipant::product_round`].
    pub fn product(&self, request: &ProductRequest) -> Result<MaskedProduct> {
        let participants = {
            let runs = self.runs()?;
            let run = runs
                .get(&request.run)
                .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))?;
            run.participants.clone()
        };
        let mut privates = Vec::with_capacity(participants.len());
        for &dealer in &participants {
            privates.push(if dealer == self.index {
                self.private_share(&request.run, self.index)?
            } else {
                self.peers.private_share(dealer, &request.run)?
            });
        }
        let mut runs = self.runs()?;
        let run = runs
            .get_mut(&request.run)
            .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))?;
        let participant = run
            .participant
            .as_mut()
            .ok_or(ServerError::Protocol(blindnym::Error::Replayed))?;
        Ok(participant.product_round(&request.dealings, &privates, &mut rand::rng())?)
    }

    /// Round three as a participant: checks the record, takes and installs its tweak share.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for an unknown run; as [`InversionParticipant::finish`].
    pub fn finish(&self, request: &FinishRequest) -> Result<()> {
        let run = self
            .runs()?
            .remove(&request.run)
            .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))?;
        let participant = run
            .participant
            .ok_or(ServerError::Protocol(blindnym::Error::Replayed))?;
        let share = participant.finish(&request.record, &bulk::domain_info(&run.domain)?)?;
        self.install(&run.domain, share, &request.record)
    }

    /// Coordinates one inversion for `domain` among this evaluator and every peer that
    /// answers, and returns the record. A participant that fails round one is left out and the
    /// run starts again without it while `2t − 1` remain; one that fails round two is left
    /// out of the record (`TweakRecord::assemble` names a bad product).
    ///
    /// # Errors
    /// [`ServerError::Peers`] with fewer than `2t − 1` participants reachable; as
    /// [`TweakRecord::assemble`].
    pub fn coordinate(&self, domain: &[u8]) -> Result<Installed> {
        let _one_at_a_time = self
            .coordinating
            .lock()
            .map_err(|_| ServerError::Store("coordinator lock poisoned".into()))?;
        let need = self.public.bulk.params().inversion_quorum();
        let info = bulk::domain_info(domain)?;
        let mut participants = self.peers.indices_with(self.index);
        for _attempt in 0..3 {
            if participants.len() < need {
                break;
            }
            let request = DealRequest {
                run: rand::rng().random(),
                participants: participants.clone(),
                domain: domain.to_vec(),
            };
            let dealt = self.each(&participants, |index| {
                if index == self.index {
                    self.deal(&request)
                } else {
                    self.peers.deal(index, &request)
                }
            });
            let failed: Vec<u16> = dealt
                .iter()
                .filter(|(_, r)| r.is_err())
                .map(|(i, _)| *i)
                .collect();
            if !failed.is_empty() {
                participants.retain(|i| !failed.contains(i));
                continue;
            }
            let dealings: Vec<Dealing> = dealt.into_iter().filter_map(|(_, r)| r.ok()).collect();
            let product_request = ProductRequest {
                run: request.run,
                dealings: dealings.clone(),
            };
            let products: Vec<MaskedProduct> = self
                .each(&participants, |index| {
                    if index == self.index {
                        self.product(&product_request)
                    } else {
                        self.peers.product(index, &product_request)
                    }
                })
                .into_iter()
                .filter_map(|(_, r)| r.ok())
                .collect();
            let (record, _rejected) =
                TweakRecord::assemble(&self.public.bulk, &info, dealings, &products)?;
            let finish = FinishRequest {
                run: request.run,
                record: record.clone(),
            };
            let finished = self.each(&participants, |index| {
                if index == self.index {
                    self.finish(&finish)
                } else {
                    self.peers.finish(index, &finish)
                }
            });
            let installed = finished.iter().filter(|(_, r)| r.is_ok()).count();
            if installed < usize::from(self.public.bulk.params().t()) {
                return Err(unavailable(format!(
                    "only {installed} evaluators installed the tweak"
                )));
            }
            let bytes = record.to_bytes();
            return Ok(Installed {
                digest: Sha256::digest(&bytes).into(),
                record: bytes,
            });
        }
        Err(unavailable(format!(
            "an inversion needs {need} evaluators; {} answer",
            participants.len()
        )))
    }

    /// Runs `f` for every participant at once (one thread each) and returns the results in
    /// participant order.
    fn each<T: Send>(
        &self,
        participants: &[u16],
        f: impl Fn(u16) -> Result<T> + Sync,
    ) -> Vec<(u16, Result<T>)> {
        let f = &f;
        std::thread::scope(|scope| {
            let handles: Vec<_> = participants
                .iter()
                .map(|&index| (index, scope.spawn(move || f(index))))
                .collect();
            handles
                .into_iter()
                .map(|(index, handle)| {
                    let result = handle
                        .join()
                        .unwrap_or_else(|_| Err(unavailable("a participant's thread failed")));
                    (index, result)
                })
                .collect()
        })
    }
}

/// The local store of installed tweak shares: as secret as the key share file beside it, so
/// it is created with mode 0600.
fn open_tweak_store(path: &Path) -> Result<Connection> {
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
         CREATE TABLE IF NOT EXISTS tweaks (
             domain BLOB PRIMARY KEY, record BLOB NOT NULL, share BLOB NOT NULL);",
    )?;
    Ok(connection)
}

/// A shared handle for the handlers.
pub type SharedThreshold = Arc<ThresholdState>;
