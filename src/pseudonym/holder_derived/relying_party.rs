//! Flow H's login proof and the relying party that checks it (`spec/05-flow-h.md` §5.5).

use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::CryptoRng;

use crate::codec::{Reader, concat, decodes_from_slice, frame};
use crate::error::{Error, Result};
use crate::pseudonym::context;
use crate::pseudonym::ids::ServiceId;
use crate::pseudonym::key_set::decode_verifying_key;
use crate::pseudonym::session::{Challenge, ChannelBinding, NonceStore, PendingChallenge};
use crate::pseudonym::text::Pseudonym;

use super::*;

pub(super) fn login_message(service: &ServiceId, session: &[u8; 32]) -> Result<Vec<u8>> {
    frame(&[
        context::FLOW_H_LOGIN.as_bytes(),
        service.as_bytes(),
        session,
    ])
}

/// Holder → relying party: the per-service public key and a signature over the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginProof {
    /// The holder's per-service public key.
    pub key: VerifyingKey,
    /// Its signature over the login message.
    pub signature: Signature,
}

impl LoginProof {
    /// `key (32) || signature (64)`.
    pub fn to_bytes(&self) -> [u8; LOGIN_PROOF_LEN] {
        concat(&[self.key.as_bytes(), &self.signature.to_bytes()])
    }

    /// Decodes a login proof strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 96 bytes; the key errors of
    /// [`decode_verifying_key`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, LOGIN_PROOF_LEN)?;
        let key = decode_verifying_key(&reader.array()?)?;
        let signature = Signature::from_bytes(&reader.array()?);
        reader.finish()?;
        Ok(Self { key, signature })
    }
}

decodes_from_slice!(Request, Response, LoginProof);

/// The relying party of flow H: checks login proofs for its own service.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    service: ServiceId,
}

impl RelyingParty {
    /// A relying party for `service`.
    pub fn new(service: ServiceId) -> Self {
        Self { service }
    }

    /// A fresh challenge: the one-shot state to keep and the message to send.
    pub fn challenge(
        &self,
        rng: &mut (impl CryptoRng + ?Sized),
        now: u64,
    ) -> (PendingChallenge, Challenge) {
        PendingChallenge::issue(rng, now)
    }

    /// Checks `proof` against the challenge it must answer and returns the pseudonym
    /// (`spec/05-flow-h.md` §5.5). `store` records the answered session.
    ///
    /// # Errors
    /// [`Error::BadSignature`] when the signature does not verify for this service and
    /// session (a bearer replay, another session's proof, or a forgery); [`Error::Expired`]
    /// when the challenge has lapsed; [`Error::Replayed`] when it was answered before.
    pub fn verify(
        &self,
        pending: PendingChallenge,
        proof: &LoginProof,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<Pseudonym> {
        let session = self.check(&pending, proof, channel)?;
        pending.consume(&session, now, store)?;
        pseudonym_of(&self.service, &proof.key)
    }

    /// Migration to a new epoch (`spec/05-flow-h.md` §5.6): proofs from the holder's old and
    /// new per-service keys answering one challenge; returns `(old, new)` pseudonyms so the
    /// application can move the account.
    ///
    /// # Errors
    /// As [`RelyingParty::verify`], for either proof.
    pub fn verify_migration(
        &self,
        pending: PendingChallenge,
        old: &LoginProof,
        new: &LoginProof,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<(Pseudonym, Pseudonym)> {
        let session = self.check(&pending, old, channel)?;
        self.check(&pending, new, channel)?;
        pending.consume(&session, now, store)?;
        Ok((
            pseudonym_of(&self.service, &old.key)?,
            pseudonym_of(&self.service, &new.key)?,
        ))
    }

    fn check(
        &self,
        pending: &PendingChallenge,
        proof: &LoginProof,
        channel: &ChannelBinding,
    ) -> Result<[u8; 32]> {
        let session = pending.session_hash(channel)?;
        let message = login_message(&self.service, &session)?;
        proof
            .key
            .verify_strict(&message, &proof.signature)
            .map_err(|_| Error::BadSignature)?;
        Ok(session)
    }
}
