//! One evaluator of `n` in threshold mode (`spec/12-threshold.md`): its key shares, the
//! share answers of flows H, A and B, the FROST signing of flow A, and its part in the shared
//! inversion of each flow B domain and flow A subject — as a participant (rounds one to
//! three, called by a peer over mutually authenticated TLS) and as the coordinator of a run a
//! caller asks it for. The protocol is the library's (`blindnym::threshold`); this file keeps
//! the states of runs and of signers, installs and persists the tweak shares, and moves the
//! messages.
//!
//! The peer API does one thing: inversions over the flow B key (on a domain) or the flow A key
//! (on a subject), never the flow H key; every run is bound to its run identifier and the
//! authenticated channel (§12.9.8 item 8, §12.12).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use blindnym::pseudonym::attested::{self, subject_info};
use blindnym::pseudonym::bulk::{self, Grants};
use blindnym::pseudonym::{
    EvaluationBudget, KeySetVerifier, SignedKeySet, SubjectId, VerifiedKeySet,
};
use blindnym::threshold::flow_a::{AttestedShareEvaluator, SignerState, SigningRequest};
use blindnym::threshold::flow_b::BulkShareEvaluator;
use blindnym::threshold::flow_h::ShareEvaluator;
use blindnym::threshold::inversion::{
    Dealing, InversionParticipant, MaskedProduct, PrivateShare, TweakRecord, TweakShare, deal_round,
};
use blindnym::threshold::signing::SigningShare;
use blindnym::threshold::{EpochShares, KeyShare, SignedEpochShares, VerificationShares};
use rand::RngExt as _;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::app::now;
use crate::config::{ThresholdSection, check_private};
use crate::error::{Result, ServerError};
use crate::peer::PeerClient;
use crate::peer_wire::{DealRequest, FinishRequest, ProductRequest, Role, RunId};
use crate::store::SharedStore;

/// How long a participant keeps the state of an unfinished run.
const RUN_LIFETIME: Duration = Duration::from_secs(120);
/// The most unfinished runs a participant keeps at once, and for any one coordinator.
const MAX_RUNS: usize = 64;
const MAX_RUNS_PER_COORDINATOR: usize = 16;
/// A renewal of a tweak within this time of its last run gets the current record.
const RENEW_SPACING: Duration = Duration::from_secs(10);
/// How long a flow A signer keeps its state between the two rounds.
const SIGNER_LIFETIME: Duration = Duration::from_secs(120);
/// The most flow A logins between their two rounds at once.
const MAX_SIGNERS: usize = 4096;

/// A flow A login between its rounds: the subject round one authenticated and the signer's
/// state (its FROST nonces: used once, then gone).
struct PendingSigner {
    subject: Vec<u8>,
    state: SignerState,
    started: Instant,
}

/// A participant's state in one run.
struct Run {
    /// The evaluator that dealt this run out: only it moves the run on.
    coordinator: u16,
    role: Role,
    input: Vec<u8>,
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

/// The installed records, by role and domain or subject.
type InstalledMap = HashMap<(Role, Vec<u8>), Installed>;

/// A row of the tweak store: the role, the domain or subject, its record, the tweak share
/// (secret).
type KeptTweak = (u8, Vec<u8>, Vec<u8>, Zeroizing<Vec<u8>>);

/// This evaluator in threshold mode.
pub struct ThresholdState {
    index: u16,
    public: EpochShares,
    key_set: Vec<u8>,
    epoch_shares: Vec<u8>,
    holder_derived: ShareEvaluator,
    bulk_share: KeyShare,
    bulk: RwLock<BulkShareEvaluator>,
    attested_share: KeyShare,
    attested: RwLock<AttestedShareEvaluator>,
    signers: Mutex<HashMap<RunId, PendingSigner>>,
    installed: RwLock<InstalledMap>,
    tweaks: Mutex<Connection>,
    runs: Mutex<HashMap<RunId, Run>>,
    coordinating: Mutex<HashMap<(Role, Vec<u8>), Instant>>,
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
        let attested_share = read_share(&section.attested_share_file)?;
        check_private(&section.signing_share_file)?;
        let signing =
            SigningShare::from_bytes(&Zeroizing::new(read_file(&section.signing_share_file)?))
                .map_err(|e| config("signing_share_file", &e))?;
        // A wrong package signs shares the holder names (`BadSignatureShare`); the index is
        // checked here.
        if signing.index() != section.index {
            return Err(config("signing_share_file", &"not this evaluator's index"));
        }
        for (share, shares, what) in [
            (
                &holder_derived,
                &public.holder_derived,
                "holder_derived_share_file",
            ),
            (&bulk_share, &public.bulk, "bulk_share_file"),
            (&attested_share, &public.attested, "attested_share_file"),
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
        let attested = AttestedShareEvaluator::new(
            realm,
            public.epoch,
            public.attested.clone(),
            signing,
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
            attested_share,
            attested: RwLock::new(attested),
            signers: Mutex::new(HashMap::new()),
            installed: RwLock::new(HashMap::new()),
            tweaks: Mutex::new(tweaks),
            runs: Mutex::new(HashMap::new()),
            coordinating: Mutex::new(HashMap::new()),
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

    /// The record installed for `input` (a domain or a subject) under `role`.
    pub fn installed(&self, role: Role, input: &[u8]) -> Option<Installed> {
        self.installed
            .read()
            .ok()?
            .get(&(role, input.to_vec()))
            .cloned()
    }

    /// Fails with `TweakMismatch` unless the record installed for `input` is `tweak` (a check
    /// before anything is charged; answers check again under the lock).
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)`.
    pub fn check_installed(&self, role: Role, input: &[u8], tweak: &[u8; 32]) -> Result<()> {
        let installed = self.installed_read()?;
        check_digest(&installed, role, input, tweak)
    }

    fn installed_read(&self) -> Result<std::sync::RwLockReadGuard<'_, InstalledMap>> {
        self.installed
            .read()
            .map_err(|_| ServerError::Store("installed lock poisoned".into()))
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
        // The record is read and the answer made under one lock: `install` swaps both at once.
        let installed = self.installed_read()?;
        check_digest(&installed, Role::Bulk, request.domain(), tweak)?;
        let bulk = self
            .bulk
            .read()
            .map_err(|_| ServerError::Store("evaluator lock poisoned".into()))?;
        Ok(bulk
            .evaluate_batch(caller, request, &mut rand::rng())?
            .to_bytes()?)
    }

    /// Installs a tweak share under its record: the share and the record's digest change
    /// together under the `installed` lock, after the share is kept on disk.
    fn install(
        &self,
        role: Role,
        input: &[u8],
        share: TweakShare,
        record: &TweakRecord,
    ) -> Result<()> {
        let bytes = record.to_bytes();
        let secret = share.to_bytes();
        let poisoned = || ServerError::Store("evaluator lock poisoned".into());
        let mut installed = self
            .installed
            .write()
            .map_err(|_| ServerError::Store("installed lock poisoned".into()))?;
        let key = (role, input.to_vec());
        // Checked (by the library's install) and swapped; if it cannot be kept on disk, the
        // tweak is forgotten here too, so no answer goes out under a record that says otherwise.
        match role {
            Role::Bulk => self
                .bulk
                .write()
                .map_err(|_| poisoned())?
                .install(input, share, record)?,
            Role::Attested => self.attested.write().map_err(|_| poisoned())?.install(
                &subject(input)?,
                share,
                record.clone(),
            )?,
        }
        let kept = self
            .tweaks
            .lock()
            .map_err(|_| ServerError::Store("tweak store lock poisoned".into()))
            .and_then(|tweaks| {
                tweaks
                    .execute(
                        "INSERT INTO tweak_shares (epoch, role, input, record, share)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (epoch, role, input)
                         DO UPDATE SET record = excluded.record, share = excluded.share",
                        params![
                            self.public.epoch,
                            role.byte(),
                            input,
                            bytes,
                            secret.as_slice()
                        ],
                    )
                    .map_err(ServerError::from)
            });
        if let Err(e) = kept {
            installed.remove(&key);
            return Err(e);
        }
        installed.insert(
            key,
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
            let mut statement = tweaks
                .prepare("SELECT role, input, record, share FROM tweak_shares WHERE epoch = ?1")?;
            statement
                .query_map([self.public.epoch], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        Zeroizing::new(row.get(3)?),
                    ))
                })?
                .collect::<core::result::Result<_, _>>()?
        };
        for (role, input, record, share) in rows {
            let record = TweakRecord::from_bytes(&record)?;
            let share = TweakShare::from_bytes(&share)?;
            self.install(Role::from_byte(role)?, &input, share, &record)?;
        }
        Ok(())
    }

    fn runs(&self) -> Result<std::sync::MutexGuard<'_, HashMap<RunId, Run>>> {
        self.runs
            .lock()
            .map_err(|_| ServerError::Store("run table lock poisoned".into()))
    }

    /// Round one as a participant, for `coordinator`: deals for the run and keeps its state.
    ///
    /// # Errors
    /// `Protocol(Replayed)` for a run it already dealt in; [`ServerError::Peers`] when it
    /// keeps too many unfinished runs; as [`deal_round`].
    pub fn deal(&self, request: &DealRequest, coordinator: u16) -> Result<Dealing> {
        let (share, public) = self.key_of(request.role);
        let (participant, dealing, privates) = deal_round(
            share,
            public,
            &tweak_info(request.role, &request.input)?,
            &request.participants,
            &mut rand::rng(),
        )?;
        let mut runs = self.runs()?;
        runs.retain(|_, run| run.started.elapsed() < RUN_LIFETIME);
        if runs.contains_key(&request.run) {
            return Err(ServerError::Protocol(blindnym::Error::Replayed));
        }
        if runs.len() >= MAX_RUNS
            || runs
                .values()
                .filter(|r| r.coordinator == coordinator)
                .count()
                >= MAX_RUNS_PER_COORDINATOR
        {
            return Err(unavailable("too many inversion runs under way"));
        }
        runs.insert(
            request.run,
            Run {
                coordinator,
                role: request.role,
                input: request.input.clone(),
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
    pub fn product(&self, request: &ProductRequest, coordinator: u16) -> Result<MaskedProduct> {
        let participants = {
            let runs = self.runs()?;
            let run = runs
                .get(&request.run)
                .filter(|run| run.coordinator == coordinator)
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
            .filter(|run| run.coordinator == coordinator)
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
    pub fn finish(&self, request: &FinishRequest, coordinator: u16) -> Result<()> {
        let run = {
            let mut runs = self.runs()?;
            if runs
                .get(&request.run)
                .is_none_or(|run| run.coordinator != coordinator)
            {
                return Err(ServerError::Protocol(blindnym::Error::TweakMismatch));
            }
            runs.remove(&request.run)
                .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))?
        };
        let participant = run
            .participant
            .ok_or(ServerError::Protocol(blindnym::Error::Replayed))?;
        let share = participant.finish(&request.record, &tweak_info(run.role, &run.input)?)?;
        self.install(run.role, &run.input, share, &request.record)
    }

    /// Coordinates one inversion for `input` (a domain or a subject, as `role` says) among
    /// this evaluator and every peer that
    /// answers, and returns the record. A participant that fails round one is left out and the
    /// run starts again without it while `2t − 1` remain; one that fails round two is left
    /// out of the record (`TweakRecord::assemble` names a bad product).
    ///
    /// # Errors
    /// [`ServerError::Peers`] with fewer than `2t − 1` participants reachable; as
    /// [`TweakRecord::assemble`].
    pub fn coordinate(&self, role: Role, input: &[u8], renew: bool) -> Result<Installed> {
        let mut last_runs = self
            .coordinating
            .lock()
            .map_err(|_| ServerError::Store("coordinator lock poisoned".into()))?;
        let key = (role, input.to_vec());
        // Another request may have run it while this one waited; a renewal right after a run
        // gets that run's record (renewals replace every participant's share).
        if let Some(installed) = self.installed(role, input) {
            let recent = last_runs
                .get(&key)
                .is_some_and(|at| at.elapsed() < RENEW_SPACING);
            if !renew || recent {
                return Ok(installed);
            }
        }
        let installed = self.run_inversion(role, input)?;
        last_runs.retain(|_, at| at.elapsed() < RENEW_SPACING);
        last_runs.insert(key, Instant::now());
        Ok(installed)
    }

    /// One inversion with as many participants as answer. A participant that fails round one
    /// or two is left out, and so is a dealer this evaluator's own round two blames
    /// (`BadDealing`) or a product `TweakRecord::assemble` names (`BadProduct`); the run
    /// starts again while `2t − 1` remain.
    fn run_inversion(&self, role: Role, input: &[u8]) -> Result<Installed> {
        let (_, public) = self.key_of(role);
        let need = public.params().inversion_quorum();
        let info = tweak_info(role, input)?;
        let mut participants = self.peers.indices_with(self.index);
        let drop = |participants: &mut Vec<u16>, out: &[u16]| {
            participants.retain(|i| *i == self.index || !out.contains(i));
        };
        for _attempt in 0..4 {
            if participants.len() < need {
                break;
            }
            let request = DealRequest {
                run: rand::rng().random(),
                role,
                participants: participants.clone(),
                input: input.to_vec(),
            };
            let dealt = self.each(&participants, |index| {
                if index == self.index {
                    self.deal(&request, self.index)
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
                drop(&mut participants, &failed);
                continue;
            }
            let dealings: Vec<Dealing> = dealt.into_iter().filter_map(|(_, r)| r.ok()).collect();
            let product_request = ProductRequest {
                run: request.run,
                dealings: dealings.clone(),
            };
            let mut blamed = Vec::new();
            let mut products = Vec::new();
            for (index, product) in self.each(&participants, |index| {
                if index == self.index {
                    self.product(&product_request, self.index)
                } else {
                    self.peers.product(index, &product_request)
                }
            }) {
                match product {
                    Ok(product) => products.push(product),
                    Err(ServerError::Protocol(blindnym::Error::BadDealing { dealer })) => {
                        blamed.push(dealer);
                    }
                    Err(_) => blamed.push(index),
                }
            }
            let record = match TweakRecord::assemble(public, &info, dealings, &products) {
                Ok((record, _)) => record,
                Err(blindnym::Error::BadProduct { evaluator }) => {
                    blamed.push(evaluator);
                    drop(&mut participants, &blamed);
                    continue;
                }
                Err(_) if !blamed.is_empty() => {
                    drop(&mut participants, &blamed);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let finish = FinishRequest {
                run: request.run,
                record: record.clone(),
            };
            let finished = self.each(&participants, |index| {
                if index == self.index {
                    self.finish(&finish, self.index)
                } else {
                    self.peers.finish(index, &finish)
                }
            });
            let installed = finished.iter().filter(|(_, r)| r.is_ok()).count();
            if installed < usize::from(public.params().t()) {
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

    /// The key share and verification shares an inversion of `role` is over.
    fn key_of(&self, role: Role) -> (&KeyShare, &VerificationShares) {
        match role {
            Role::Bulk => (&self.bulk_share, &self.public.bulk),
            Role::Attested => (&self.attested_share, &self.public.attested),
        }
    }

    /// Flow A round one for the authenticated `subject` under the installed record `tweak`:
    /// the share answer and FROST commitments, and the session its round two must name.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for another record or none; [`ServerError::Peers`] with too
    /// many logins between rounds; as [`AttestedShareEvaluator::evaluate`].
    pub fn evaluate_attested(
        &self,
        subject: &SubjectId,
        request: &attested::Request,
        tweak: &[u8; 32],
    ) -> Result<(RunId, Vec<u8>)> {
        let installed = self.installed_read()?;
        check_digest(&installed, Role::Attested, subject.as_bytes(), tweak)?;
        let (state, evaluation) = self
            .attested
            .read()
            .map_err(|_| ServerError::Store("evaluator lock poisoned".into()))?
            .evaluate(subject, request, &mut rand::rng())?;
        drop(installed);
        let session: RunId = rand::rng().random();
        let mut signers = self
            .signers
            .lock()
            .map_err(|_| ServerError::Store("signer table lock poisoned".into()))?;
        signers.retain(|_, pending| pending.started.elapsed() < SIGNER_LIFETIME);
        if signers.len() >= MAX_SIGNERS {
            return Err(unavailable("too many logins between their rounds"));
        }
        signers.insert(
            session,
            PendingSigner {
                subject: subject.as_bytes().to_vec(),
                state,
                started: Instant::now(),
            },
        );
        Ok((session, evaluation.to_bytes()?))
    }

    /// Flow A round two: the signature share for the session round one opened for the same
    /// authenticated subject. The session's nonces are used once.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for an unknown or expired session, or one of another subject
    /// (left in place for its owner); as [`AttestedShareEvaluator::sign`].
    pub fn sign_attested(
        &self,
        subject: &SubjectId,
        session: &RunId,
        request: &SigningRequest,
    ) -> Result<Vec<u8>> {
        let pending = {
            let mut signers = self
                .signers
                .lock()
                .map_err(|_| ServerError::Store("signer table lock poisoned".into()))?;
            match signers.get(session) {
                Some(pending)
                    if pending.subject == subject.as_bytes()
                        && pending.started.elapsed() < SIGNER_LIFETIME => {}
                _ => return Err(ServerError::Protocol(blindnym::Error::TweakMismatch)),
            }
            signers
                .remove(session)
                .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))?
        };
        Ok(self
            .attested
            .read()
            .map_err(|_| ServerError::Store("evaluator lock poisoned".into()))?
            .sign(pending.state, request, now())?
            .to_bytes())
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

/// `TweakMismatch` unless `installed` holds `tweak` for `input` under `role`.
fn check_digest(
    installed: &InstalledMap,
    role: Role,
    input: &[u8],
    tweak: &[u8; 32],
) -> Result<()> {
    match installed.get(&(role, input.to_vec())) {
        Some(installed) if installed.digest == *tweak => Ok(()),
        _ => Err(ServerError::Protocol(blindnym::Error::TweakMismatch)),
    }
}

/// A subject from its bytes.
fn subject(input: &[u8]) -> Result<SubjectId> {
    let text = std::str::from_utf8(input)
        .map_err(|_| ServerError::Protocol(blindnym::Error::NonCanonicalId))?;
    Ok(SubjectId::new(text)?)
}

/// The tweak info of `input` under `role`: `domain_info` (§7.2) or `subject_info` (§6.2).
fn tweak_info(role: Role, input: &[u8]) -> Result<Vec<u8>> {
    Ok(match role {
        Role::Bulk => bulk::domain_info(input)?,
        Role::Attested => subject_info(&subject(input)?)?,
    })
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
         PRAGMA secure_delete = ON;
         CREATE TABLE IF NOT EXISTS tweak_shares (
             epoch INTEGER NOT NULL, role INTEGER NOT NULL, input BLOB NOT NULL,
             record BLOB NOT NULL, share BLOB NOT NULL, PRIMARY KEY (epoch, role, input));",
    )?;
    Ok(connection)
}

/// A shared handle for the handlers.
pub type SharedThreshold = Arc<ThresholdState>;
