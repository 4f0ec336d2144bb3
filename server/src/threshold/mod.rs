//! One evaluator of `n` in threshold mode (`spec/12-threshold.md`). The protocol is the
//! library's (`blindnym::threshold`); this room keeps its state, each concept in its file:
//!
//! - this file: the evaluator's state and the share answers of flows H, A and B;
//! - `shares`: the key shares on disk and the signed public side they are checked against at
//!   load (§12.3), and a ceremony's new shares installed (§12.13.4);
//! - `records`: the installed tweak records, the evaluators answering under them and the
//!   local tweak store (§12.12.4);
//! - `runs`: this evaluator as a participant in its peers' inversion runs (§12.6);
//! - `coordinator`: the library's sans-IO inversion coordinator driven over the peer API
//!   (§12.12.3);
//! - `signers`: flow A logins between their two rounds (§12.8).
//!
//! The peer API does one thing: inversions over the flow B key (on a domain) or the flow A key
//! (on a subject), never the flow H key; every run is bound to its run identifier and the
//! authenticated channel (§12.9.8 item 8, §12.12).

mod coordinator;
mod records;
mod runs;
pub(crate) mod shares;
mod signers;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use blindnym::pseudonym::bulk::{self, Grants};
use blindnym::pseudonym::{EvaluationBudget, SubjectId, attested};
use blindnym::threshold::flow_a::{AttestedShareEvaluator, SigningRequest};
use blindnym::threshold::flow_b::BulkShareEvaluator;
use blindnym::threshold::flow_h::ShareEvaluator;
use blindnym::threshold::inversion::{
    DealRequest, Dealing, FinishRequest, MaskedProduct, PrivateShare, ProductRequest, RunId,
    RunScope, Target,
};
use blindnym::threshold::{EpochShares, EvaluatorShares, KeyShare, VerificationShares};

pub use records::Installed;

use crate::config::ThresholdSection;
use crate::error::{Result, ServerError};
use crate::kit::{blocking, now};
use crate::peer::PeerClient;
use crate::rate::Rate;
use crate::store::{ShareOfQuota, SharedStore};
use records::Records;

/// A participant refuses to deal in a run that would replace a record it installed less than
/// this long ago, whoever coordinates (review M2): no peer can keep a subject's or domain's
/// record changing under its holders.
const MIN_REPLACEMENT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
use runs::Runs;
use signers::Signers;

/// This evaluator in threshold mode.
pub struct ThresholdState {
    index: u16,
    /// The epoch and realm every inversion run here is for (review L6).
    scope: RunScope,
    public: EpochShares,
    key_set: Vec<u8>,
    epoch_shares: Vec<u8>,
    holder_derived: ShareEvaluator,
    bulk_share: KeyShare,
    attested_share: KeyShare,
    records: Records,
    runs: Runs,
    signers: Signers,
    /// The coordinations under way, one lock per target, and when each target last ran.
    coordinations: coordinator::Coordinations,
    /// The flow B grants of this evaluator's callers: it runs inversions only for domains
    /// some caller is granted (review M2).
    grants: Grants,
    /// The subjects of this evaluator's flow A callers: it runs inversions only on these
    /// (review M2).
    subjects: HashSet<SubjectId>,
    /// The round ones each peer may start here, by index (review M2).
    run_rates: Vec<Rate>,
    /// When this participant last installed each target's record (review M2).
    installed_at: std::sync::Mutex<std::collections::HashMap<Target, std::time::Instant>>,
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

/// `⌈total·t/n⌉`, saturating.
fn share_of(total: u64, t: u16, n: u16) -> u64 {
    let (total, t, n) = (u128::from(total), u128::from(t), u128::from(n.max(1)));
    u64::try_from((total * t).div_ceil(n)).unwrap_or(u64::MAX)
}

impl ThresholdState {
    /// Loads this evaluator's shares and the signed public side, checks them against the
    /// anchor and each other, opens the local tweak store in `data_dir` and installs the
    /// tweak shares kept there. Inversions run only on `grants`' domains and on `subjects`;
    /// each caller may spend this evaluator's share of `quota` (see [`Self::share_of`]).
    ///
    /// # Errors
    /// [`ServerError::Config`] for a file that is missing, loose, malformed, unsigned or not
    /// this evaluator's; [`ServerError::Store`].
    pub fn load(
        section: &ThresholdSection,
        realm: &[u8],
        data_dir: &Path,
        grants: Grants,
        subjects: HashSet<SubjectId>,
        store: SharedStore,
        quota: u64,
    ) -> Result<Self> {
        let shares::Published {
            key_set,
            epoch_shares,
            public,
            ..
        } = shares::published(section, realm)?;
        let (own, installed) = shares::own_shares(section, realm, &public)?;
        if installed {
            eprintln!(
                "blindnym-server: evaluator {}: a ceremony's new shares of epoch {} installed \
                 (the old ones are erased; tweak records are made again under the new shares)",
                section.index, public.epoch
            );
        }
        let EvaluatorShares {
            holder_derived,
            attested: attested_share,
            signing,
            bulk: bulk_share,
            ..
        } = own;
        // The store's budgets apply; the library's own counters are left unlimited.
        let unlimited = || EvaluationBudget::new(u64::MAX);
        let params = public.bulk.params();
        let quota = ShareOfQuota {
            store,
            limit: share_of(quota, params.t(), params.n()),
        };
        let bulk = BulkShareEvaluator::new(
            public.epoch,
            section.index,
            public.bulk.clone(),
            grants.clone(),
            quota,
            unlimited(),
        );
        let attested = AttestedShareEvaluator::new(
            realm,
            public.epoch,
            public.attested.clone(),
            signing,
            unlimited(),
        );
        // New shares make every installed tweak share of the old sharing useless (a new
        // committee does not hold them): they are erased, and made again on demand.
        let records = Records::open(
            public.epoch,
            &data_dir.join("tweaks.sqlite3"),
            bulk,
            attested,
            installed,
        )?;
        Ok(Self {
            index: section.index,
            scope: RunScope::new(public.epoch, realm),
            run_rates: (0..=params.n())
                .map(|_| Rate::new(section.runs_per_second_per_peer))
                .collect(),
            subjects,
            holder_derived: ShareEvaluator::new(public.epoch, holder_derived, unlimited()),
            public,
            key_set,
            epoch_shares,
            bulk_share,
            attested_share,
            records,
            runs: Runs::default(),
            signers: Signers::default(),
            coordinations: coordinator::Coordinations::default(),
            installed_at: std::sync::Mutex::new(std::collections::HashMap::new()),
            grants,
            peers: PeerClient::new(section)?,
        })
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

    /// This evaluator's share of a limit `total` set for the whole set (a caller's quota, a
    /// key's budget): `⌈total·t/n⌉`, as each evaluation is made by `t` of the `n` (spec
    /// §12.7, review M5).
    pub fn share_of(&self, total: u64) -> u64 {
        let params = self.public.bulk.params();
        share_of(total, params.t(), params.n())
    }

    /// The flow H share evaluator.
    pub fn holder_derived(&self) -> &ShareEvaluator {
        &self.holder_derived
    }

    /// The peer whose certificate has SHA-256 `digest`, if any.
    pub fn peer_index(&self, digest: &[u8; 32]) -> Option<u16> {
        self.peers.index_of(digest)
    }

    /// The record installed for `target`.
    pub fn installed(&self, target: &Target) -> Option<Installed> {
        self.records.installed(target)
    }

    /// Fails with `TweakMismatch` unless the record installed for `target` is `tweak` (a
    /// check before anything is charged; answers check again under the lock).
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)`.
    pub fn check_installed(&self, target: &Target, tweak: &[u8; 32]) -> Result<()> {
        self.records.check(target, tweak)
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
        self.records.evaluate_bulk(caller, request, tweak)
    }

    /// Flow A round one for the authenticated `subject` under the installed record `tweak`:
    /// the session its round two must name, and the share answer with FROST commitments.
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
        let (state, evaluation) = self.records.evaluate_attested(subject, request, tweak)?;
        Ok((self.signers.open(subject, state)?, evaluation))
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
        let state = self.signers.take(subject, session)?;
        self.records.sign_attested(state, request, now())
    }

    /// The key share and verification shares an inversion on `target` is over.
    fn key_of(&self, target: &Target) -> (&KeyShare, &VerificationShares) {
        match target {
            Target::Domain(_) => (&self.bulk_share, &self.public.bulk),
            Target::Subject(_) => (&self.attested_share, &self.public.attested),
        }
    }

    /// Round one as a participant, for `coordinator`.
    ///
    /// # Errors
    /// `Protocol(Replayed)` for a run it already dealt in; [`ServerError::Peers`] when it
    /// keeps too many unfinished runs; as [`blindnym::threshold::inversion::deal`].
    pub fn deal(&self, request: &DealRequest, coordinator: u16) -> Result<Dealing> {
        // Review L6: a run under another epoch or realm is refused before anything is dealt.
        request.scope.check(&self.scope)?;
        // Review M2: no inversion for a domain no caller here is granted or a subject no
        // caller here is, none replacing a record installed moments ago, whoever
        // coordinates, and no more runs from one coordinator than its rate allows.
        let served = match &request.target {
            Target::Domain(domain) => self.grants.serves(domain),
            Target::Subject(subject) => self.subjects.contains(subject),
        };
        if !served {
            return Err(ServerError::Unauthorized);
        }
        self.run_rates
            .get(usize::from(coordinator))
            .ok_or(ServerError::Protocol(blindnym::Error::UnknownEvaluator {
                index: coordinator,
            }))?
            .take()?;
        if self.recently_installed(&request.target)? {
            return Err(ServerError::Protocol(blindnym::Error::Replayed));
        }
        let (share, public) = self.key_of(&request.target);
        self.runs.deal(request, coordinator, share, public)
    }

    /// Round one's private share from this participant to `recipient` (a peer authenticated
    /// by its certificate, or this evaluator itself).
    ///
    /// # Errors
    /// `Protocol(UnknownEvaluator)` for a recipient outside the run, `Protocol(TweakMismatch)`
    /// for an unknown run.
    pub fn private_share(
        &self,
        coordinator: u16,
        run: &RunId,
        recipient: u16,
    ) -> Result<PrivateShare> {
        self.runs.private_share(coordinator, run, recipient)
    }

    /// Round two as a participant: fetches its private share from every other participant
    /// over the peer channel, then (off the async workers) checks every dealing and publishes
    /// its masked product.
    ///
    /// # Errors
    /// [`ServerError::Peers`] when a participant cannot be reached; as
    /// [`blindnym::threshold::inversion::DealtParticipant::multiply`].
    pub async fn product(
        self: Arc<Self>,
        request: ProductRequest,
        coordinator: u16,
    ) -> Result<MaskedProduct> {
        let participants = self.runs.participants(&request.run, coordinator)?;
        let mut privates = Vec::with_capacity(participants.len());
        for &dealer in &participants {
            privates.push(if dealer == self.index {
                self.private_share(coordinator, &request.run, self.index)?
            } else {
                // A dealer that does not hand over this participant's share is named as
                // having dealt badly, so the coordinator learns whom (review M1).
                self.peers
                    .private_share(dealer, coordinator, &request.run)
                    .await
                    .map_err(|_| ServerError::Protocol(blindnym::Error::BadDealing { dealer }))?
            });
        }
        blocking(move || {
            self.runs
                .multiply(&request.run, coordinator, &request.dealings, &privates)
        })
        .await
    }

    /// Round three as a participant: checks the record, takes and installs its tweak share.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for an unknown run; as
    /// [`blindnym::threshold::inversion::MultipliedParticipant::finish`].
    pub fn finish(&self, request: &FinishRequest, coordinator: u16) -> Result<()> {
        let (target, share) = self
            .runs
            .finish(&request.run, coordinator, &request.record)?;
        self.records.install(&target, share, &request.record)?;
        let mut installed_at = self
            .installed_at
            .lock()
            .map_err(|_| ServerError::Store("install times lock poisoned".into()))?;
        installed_at.retain(|_, at| at.elapsed() < MIN_REPLACEMENT_INTERVAL);
        installed_at.insert(target, std::time::Instant::now());
        Ok(())
    }

    /// Whether `target`'s record was installed less than [`MIN_REPLACEMENT_INTERVAL`] ago.
    fn recently_installed(&self, target: &Target) -> Result<bool> {
        Ok(self
            .installed_at
            .lock()
            .map_err(|_| ServerError::Store("install times lock poisoned".into()))?
            .get(target)
            .is_some_and(|at| at.elapsed() < MIN_REPLACEMENT_INTERVAL))
    }
}
