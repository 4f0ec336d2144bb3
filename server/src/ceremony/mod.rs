//! Threshold keys over time, run by the evaluators themselves (`spec/12-threshold.md`
//! §12.13): a new epoch's keys generated with no dealer, a proactive refresh of the current
//! epoch's shares, and a committee change `(t, n) → (t', n')` with the same group keys. The
//! protocols are the library's (`blindnym::threshold::generation`, `reshare`); this room
//! carries their messages between the evaluator processes over the peer listener's mutual
//! TLS and leaves the results on disk:
//!
//! - `plan`: the plan file every participant is given, named on the wire by its SHA-256;
//! - `mailbox`: what the others sent, by round and certificate-authenticated sender;
//! - this file: one participant's run, from the files it starts from to the files it leaves.
//!
//! A ceremony never changes what an evaluator serves by itself: the new shares wait as
//! `<share file>.next`, the new public side as `epoch-shares.unsigned` (and `epoch-keys.bin`
//! for a new epoch) in the data folder, until the key-set signer signs them
//! (`blindnym sign-key-set --epoch-shares`) and the evaluator starts on the signed bytes.

mod mailbox;
mod plan;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use blindnym::pseudonym::SignedKeySet;
use blindnym::threshold::generation::{
    EpochBroadcast, EpochConfirmation, EpochGeneration, EpochPrivate,
};
use blindnym::threshold::reshare::{ReshareContext, ReshareMessage, ReshareReceiver, deal_reshare};
use blindnym::threshold::{EpochShares, EvaluatorShares};
use sha2::{Digest, Sha256};

pub use mailbox::Mailbox;
pub use plan::{CeremonyKind, Plan};

use crate::config::{Config, ThresholdSection, write_private_atomic};
use crate::error::{Result, ServerError};
use crate::kit::read_file;
use crate::peer::PeerClient;
use crate::threshold::shares::{self, next_path};

/// Round numbers on the wire (§12.13.3).
const GENERATE_BROADCAST: u8 = 1;
const GENERATE_PRIVATE: u8 = 2;
const GENERATE_CONFIRM: u8 = 3;
const RESHARE_DEAL: u8 = 1;
const RESHARE_CONFIRM: u8 = 2;

/// The public side's file in the data folder, for the signer.
pub const UNSIGNED_EPOCH_SHARES: &str = "epoch-shares.unsigned";
/// A new epoch's public keys in the data folder, for the signer (`--epoch-keys`).
pub const EPOCH_KEYS: &str = "epoch-keys.bin";

/// What one participant's run left on disk.
#[derive(Debug)]
pub struct Outcome {
    /// The new public side (unsigned), or none for a dealer that leaves the committee.
    pub epoch_shares: Option<PathBuf>,
    /// SHA-256 of its bytes: every participant must print the same.
    pub digest: Option<[u8; 32]>,
    /// A new epoch's public keys (generate).
    pub epoch_keys: Option<PathBuf>,
    /// The new share files (`.next`).
    pub share_files: Vec<PathBuf>,
}

/// One evaluator's part in one ceremony, checked before it listens.
#[derive(Debug)]
pub struct Ceremony {
    plan: Plan,
    section: ThresholdSection,
    realm: Vec<u8>,
    data_dir: PathBuf,
    peers: Arc<PeerClient>,
    mailbox: Arc<Mailbox>,
    /// Refresh and reshare: the current public side.
    old: Option<EpochShares>,
    /// A dealer's current shares.
    dealing: Option<EvaluatorShares>,
}

fn bad(e: &dyn std::fmt::Display) -> ServerError {
    ServerError::Config(format!("ceremony: {e}"))
}

impl Ceremony {
    /// Checks the plan against this evaluator's configuration and files: it takes part, every
    /// other participant is a configured peer, and a refresh or reshare is of the published
    /// epoch (a dealer's shares are read and checked against it); a generation is of an epoch
    /// the key set does not list.
    ///
    /// # Errors
    /// [`ServerError::Config`] naming what is wrong.
    pub fn prepare(config: &Config, plan: Plan) -> Result<Self> {
        let section = config
            .threshold
            .clone()
            .ok_or_else(|| bad(&"--ceremony needs a [threshold] section"))?;
        let own = section.index;
        let participants = plan.participants();
        if !participants.contains(&own) {
            return Err(bad(&format!(
                "evaluator {own} has no part in this ceremony"
            )));
        }
        let peers = PeerClient::new(&section)?;
        let known = peers.indices_with(own);
        if let Some(missing) = participants.iter().find(|p| !known.contains(p)) {
            return Err(bad(&format!(
                "no [[threshold.peers]] entry for evaluator {missing}"
            )));
        }
        let realm = config.keys.realm.as_bytes().to_vec();
        let (mut old, mut dealing) = (None, None);
        match plan.kind {
            CeremonyKind::Generate => {
                // The key set, where there is one, must not list the epoch already.
                if let Ok(bytes) = read_file(&section.key_set_file)
                    && let Ok(set) = SignedKeySet::from_bytes(&bytes)
                    && set
                        .unverified()
                        .epochs()
                        .iter()
                        .any(|e| e.epoch == plan.epoch)
                {
                    return Err(bad(&format!(
                        "epoch {} is already published: generate a later one",
                        plan.epoch
                    )));
                }
            }
            CeremonyKind::Refresh | CeremonyKind::Reshare => {
                let published = shares::published(&section, &realm)?;
                let public = published.public;
                if public.epoch != plan.epoch {
                    return Err(bad(&format!(
                        "the plan is for epoch {}, the published shares are of epoch {}",
                        plan.epoch, public.epoch
                    )));
                }
                if plan.kind == CeremonyKind::Refresh && public.params() != plan.new {
                    return Err(bad(&"a refresh keeps (t, n): use kind = \"reshare\""));
                }
                if plan.dealers.contains(&own) {
                    dealing = Some(shares::own_shares(&section, &realm, &public)?.0);
                }
                old = Some(public);
            }
        }
        let expected = expected_senders(&plan, own);
        let mailbox = Arc::new(Mailbox::new(plan.digest, expected));
        Ok(Self {
            plan,
            section,
            realm,
            data_dir: config.server.data_dir.clone(),
            peers: Arc::new(peers),
            mailbox,
            old,
            dealing,
        })
    }

    /// The mailbox the peer listener fills.
    pub fn mailbox(&self) -> Arc<Mailbox> {
        self.mailbox.clone()
    }

    /// The client of the peers (the listener knows senders by it).
    pub fn peers(&self) -> Arc<PeerClient> {
        self.peers.clone()
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// This participant's run: its messages out, the others' in, its results on disk.
    ///
    /// # Errors
    /// [`ServerError::Peers`] when a peer refuses or does not answer in time; the library's
    /// error for a message that fails its checks (`BadDealing` names the dealer,
    /// `TranscriptMismatch` the member whose view differs); [`ServerError::Config`] when a
    /// result cannot be written.
    pub async fn run(self) -> Result<Outcome> {
        let result = match self.plan.kind {
            CeremonyKind::Generate => self.generate().await?,
            CeremonyKind::Refresh | CeremonyKind::Reshare => match self.reshare().await? {
                Some(result) => result,
                None => {
                    return Ok(Outcome {
                        epoch_shares: None,
                        digest: None,
                        epoch_keys: None,
                        share_files: Vec::new(),
                    });
                }
            },
        };
        self.write(&result.0, &result.1)
    }

    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.plan.timeout
    }

    async fn deliver(&self, to: u16, round: u8, bytes: &[u8]) -> Result<()> {
        self.peers
            .deliver(to, &self.plan.digest, round, bytes, self.deadline())
            .await
    }

    /// Every expected message of `round`, decoded by `decode(sender, bytes)`, in sender order.
    async fn receive<T>(
        &self,
        round: u8,
        decode: impl Fn(u16, &[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut decoded = Vec::new();
        for (from, bytes) in self.mailbox.collect(round, self.plan.timeout).await? {
            decoded.push(decode(from, &bytes)?);
        }
        Ok(decoded)
    }

    fn others(&self) -> impl Iterator<Item = u16> + '_ {
        let own = self.section.index;
        self.plan.members().into_iter().filter(move |&m| m != own)
    }

    async fn generate(&self) -> Result<(EvaluatorShares, EpochShares)> {
        let own = self.section.index;
        let (generation, broadcast) = EpochGeneration::start(
            own,
            self.plan.new,
            &self.realm,
            self.plan.epoch,
            &mut rand::rng(),
        )?;
        let bytes = broadcast.to_bytes()?;
        for to in self.others() {
            self.deliver(to, GENERATE_BROADCAST, &bytes).await?;
        }
        let broadcasts = self
            .receive(GENERATE_BROADCAST, |from, bytes| {
                let broadcast = EpochBroadcast::from_bytes(bytes)?;
                check_sender(broadcast.from(), from)?;
                Ok(broadcast)
            })
            .await?;
        let (dealt, privates, confirmation) = generation.deal(&broadcasts)?;
        for private in &privates {
            self.deliver(private.to(), GENERATE_PRIVATE, &private.to_bytes()?)
                .await?;
        }
        drop(privates);
        let confirmation = confirmation.to_bytes();
        for to in self.others() {
            self.deliver(to, GENERATE_CONFIRM, &confirmation).await?;
        }
        let received = self
            .receive(GENERATE_PRIVATE, |from, bytes| {
                let private = EpochPrivate::from_bytes(bytes)?;
                check_sender(private.from(), from)?;
                check_sender(private.to(), own)?;
                Ok(private)
            })
            .await?;
        let confirmations = self
            .receive(GENERATE_CONFIRM, |from, bytes| {
                let confirmation = EpochConfirmation::from_bytes(bytes)?;
                check_sender(confirmation.from(), from)?;
                Ok(confirmation)
            })
            .await?;
        Ok(dealt.finish(&confirmations, &received)?)
    }

    /// A refresh or reshare; `None` for a dealer that leaves the committee.
    async fn reshare(&self) -> Result<Option<(EvaluatorShares, EpochShares)>> {
        let own = self.section.index;
        let old = self
            .old
            .as_ref()
            .ok_or_else(|| bad(&"no published shares"))?;
        let context = ReshareContext::new(
            &self.realm,
            self.plan.epoch,
            old.params(),
            self.plan.new,
            &self.plan.dealers,
        )?;
        let mut messages: Vec<ReshareMessage> = Vec::new();
        if let Some(shares) = &self.dealing {
            for message in deal_reshare(&context, shares, old, &mut rand::rng())? {
                if message.to() == own {
                    messages.push(message);
                } else {
                    self.deliver(message.to(), RESHARE_DEAL, &message.to_bytes())
                        .await?;
                }
            }
        }
        if !self.plan.members().contains(&own) {
            return Ok(None);
        }
        let receiver = ReshareReceiver::new(&context, own, old)?;
        let dealt = self
            .receive(RESHARE_DEAL, |from, bytes| {
                let message = ReshareMessage::from_bytes(bytes)?;
                check_sender(message.from(), from)?;
                check_sender(message.to(), own)?;
                Ok(message)
            })
            .await?;
        messages.extend(dealt);
        messages.sort_by_key(ReshareMessage::from);
        let received = receiver.receive(&messages)?;
        drop(messages);
        let digest = received.transcript_digest();
        for to in self.others() {
            self.deliver(to, RESHARE_CONFIRM, &digest).await?;
        }
        let confirmations = self
            .receive(RESHARE_CONFIRM, |from, bytes| {
                let digest: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| ServerError::Protocol(blindnym::Error::Malformed))?;
                Ok((from, digest))
            })
            .await?;
        Ok(Some(received.finish(&confirmations)?))
    }

    /// The new shares as `.next` files, the public side (and a new epoch's keys) in the data
    /// folder.
    fn write(&self, shares: &EvaluatorShares, public: &EpochShares) -> Result<Outcome> {
        shares::write_next(&self.section, shares)?;
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| bad(&format!("{}: {e}", self.data_dir.display())))?;
        let bytes = public.to_bytes()?;
        let epoch_shares = self.data_dir.join(UNSIGNED_EPOCH_SHARES);
        write_private_atomic(&epoch_shares, &bytes)?;
        let epoch_keys = match self.plan.kind {
            CeremonyKind::Generate => {
                let not_before = self
                    .plan
                    .not_before
                    .unwrap_or_else(|| crate::kit::now().saturating_sub(60));
                let path = self.data_dir.join(EPOCH_KEYS);
                write_private_atomic(&path, &public.public_keys(not_before)?.to_bytes())?;
                Some(path)
            }
            CeremonyKind::Refresh | CeremonyKind::Reshare => None,
        };
        let section = &self.section;
        Ok(Outcome {
            epoch_shares: Some(epoch_shares),
            digest: Some(Sha256::digest(&bytes).into()),
            epoch_keys,
            share_files: [
                &section.holder_derived_share_file,
                &section.attested_share_file,
                &section.bulk_share_file,
                &section.signing_share_file,
            ]
            .into_iter()
            .map(|p| next_path(p))
            .collect(),
        })
    }
}

/// A message's stated sender (or recipient) must be the one its channel authenticated.
fn check_sender(stated: u16, authenticated: u16) -> Result<()> {
    if stated == authenticated {
        Ok(())
    } else {
        Err(ServerError::Protocol(blindnym::Error::UnknownEvaluator {
            index: stated,
        }))
    }
}

/// Whom participant `own` hears from in each round.
fn expected_senders(plan: &Plan, own: u16) -> HashMap<u8, BTreeSet<u16>> {
    let others: BTreeSet<u16> = plan.members().into_iter().filter(|&m| m != own).collect();
    let mut expected = HashMap::new();
    match plan.kind {
        CeremonyKind::Generate => {
            for round in [GENERATE_BROADCAST, GENERATE_PRIVATE, GENERATE_CONFIRM] {
                expected.insert(round, others.clone());
            }
        }
        CeremonyKind::Refresh | CeremonyKind::Reshare if plan.members().contains(&own) => {
            let dealers = plan.dealers.iter().copied().filter(|&d| d != own).collect();
            expected.insert(RESHARE_DEAL, dealers);
            expected.insert(RESHARE_CONFIRM, others);
        }
        CeremonyKind::Refresh | CeremonyKind::Reshare => {}
    }
    expected
}
