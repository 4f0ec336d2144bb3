//! Who is calling (`spec/12-threshold.md` §12.12.6, `server/openapi.yaml`): the configured
//! callers, each known by its Ed25519 public key, with the flows it may use, its flow B
//! domains (the [`Grants`]) and, for flow A, the subject it authenticates as. A subject comes
//! from here, never from a body.
//!
//! Every request is an HTTP Message Signature (RFC 9421) of the caller's own key over this
//! evaluator's authority, the route, the body's digest, the realm and the tweak or session
//! it names (`blindnym::caller_auth`). This evaluator accepts it once (its nonce is spent in
//! the store) and no other evaluator accepts it at all: the credential an evaluator sees is
//! no credential anywhere else. Flow H takes no caller (§5.8: the evaluator must not learn
//! who derives a key), so no caller may list it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::request::Parts;
use blindnym::caller_auth::{Covered, OPTIONAL_FIELDS, Presented, REALM_HEADER};
use blindnym::pseudonym::SubjectId;
use blindnym::pseudonym::bulk::{CallerId, Grants};

use crate::config::CallerSection;
use crate::error::{AuthRefusal, Result, ServerError};
use crate::kit::{blocking, now};
use crate::store::Store;

/// Seconds of clock difference allowed between a caller and this evaluator.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// A flow a caller may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Attested (POPRF, subject public).
    A,
    /// Bulk (POPRF, domain public).
    B,
}

/// One configured caller.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) id: CallerId,
    pub(crate) flows: HashSet<Flow>,
    pub(crate) subject: Option<SubjectId>,
}

impl Caller {
    /// Fails with `Unauthorized` unless the caller may use `flow`.
    ///
    /// # Errors
    /// [`ServerError::Unauthorized`].
    pub(crate) fn require(&self, flow: Flow) -> Result<()> {
        if self.flows.contains(&flow) {
            Ok(())
        } else {
            Err(ServerError::Unauthorized)
        }
    }

    /// The flow A subject this caller authenticates as.
    ///
    /// # Errors
    /// [`ServerError::Unauthorized`] for a caller without flow A or without a subject.
    pub(crate) fn subject(&self) -> Result<SubjectId> {
        self.require(Flow::A)?;
        self.subject.clone().ok_or(ServerError::Unauthorized)
    }
}

/// A request whose signature, audience, realm, freshness and nonce were checked; its body is
/// checked against the signed digest with [`Authenticated::check_body`] once it is read.
#[derive(Debug)]
pub(crate) struct Authenticated {
    pub(crate) caller: Arc<Caller>,
    content_digest: String,
}

impl Authenticated {
    /// Checks that `body` is the body the caller signed.
    ///
    /// # Errors
    /// [`ServerError::Unauthenticated`] (`ContentDigestMismatch`).
    pub(crate) fn check_body(&self, body: &[u8]) -> Result<()> {
        blindnym::caller_auth::check_content_digest(&self.content_digest, body)
            .map_err(|_| ServerError::Unauthenticated(AuthRefusal::ContentDigestMismatch))
    }
}

/// The configured callers, by public key, and their flow B grants; the authority and realm
/// requests must be signed for.
#[derive(Debug)]
pub(crate) struct Callers {
    by_key: HashMap<[u8; 32], Arc<Caller>>,
    grants: Grants,
    authority: String,
    realm: String,
}

fn config_error(section: &CallerSection, what: &str) -> ServerError {
    ServerError::Config(format!("caller {}: {what}", section.name))
}

impl Callers {
    /// The callers of the configuration, for requests signed for `authority` (this
    /// evaluator's host and port as callers address it) and `realm`.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a bad public key, a key or name listed twice, an unknown
    /// flow, flow H (which takes no caller) or a bad subject.
    pub(crate) fn new(sections: &[CallerSection], authority: &str, realm: &str) -> Result<Self> {
        let mut grants = Grants::new();
        let mut by_key = HashMap::new();
        let mut names = HashSet::new();
        for section in sections {
            let key: [u8; 32] = hex::decode(&section.public_key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .filter(|k| blindnym::ed25519_dalek::VerifyingKey::from_bytes(k).is_ok())
                .ok_or_else(|| {
                    config_error(section, "public_key is not an Ed25519 key (64 hex digits)")
                })?;
            if !names.insert(section.name.clone()) {
                return Err(config_error(section, "name listed twice"));
            }
            let id = CallerId::new(section.name.as_bytes());
            let mut flows = HashSet::new();
            for flow in &section.flows {
                flows.insert(match flow.as_str() {
                    "A" => Flow::A,
                    "B" => Flow::B,
                    "H" => {
                        return Err(config_error(
                            section,
                            "flow H takes no caller: its evaluations are anonymous \
                             (spec/05-flow-h.md §5.8), so no credential may name who asks",
                        ));
                    }
                    other => {
                        return Err(config_error(
                            section,
                            &format!("unknown flow {other:?} (A or B)"),
                        ));
                    }
                });
            }
            for domain in &section.domains {
                grants = grants.allow(&id, domain.as_bytes());
            }
            let subject = section
                .subject
                .as_deref()
                .map(SubjectId::new)
                .transpose()
                .map_err(|e| config_error(section, &format!("subject: {e}")))?;
            let caller = Arc::new(Caller { id, flows, subject });
            if by_key.insert(key, caller).is_some() {
                return Err(config_error(section, "public_key listed for two callers"));
            }
        }
        Ok(Self {
            by_key,
            grants,
            authority: authority.to_ascii_lowercase(),
            realm: realm.to_owned(),
        })
    }

    /// The flow B grants.
    pub(crate) fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The subjects some flow A caller authenticates as: a threshold participant runs
    /// inversions on these subjects only (review M2).
    pub(crate) fn subjects(&self) -> HashSet<SubjectId> {
        self.by_key
            .values()
            .filter(|caller| caller.flows.contains(&Flow::A))
            .filter_map(|caller| caller.subject.clone())
            .collect()
    }

    /// Checks the request's signature (RFC 9421, the `blindnym` profile) from its headers
    /// alone, in this order: the form, a known key, the signature, this evaluator as its
    /// audience, this realm, its time, and its nonce, which is spent in `store`.
    ///
    /// # Errors
    /// [`ServerError::Unauthenticated`] with the first check that failed.
    pub(crate) async fn authenticate(
        &self,
        parts: &Parts,
        store: &Arc<Store>,
    ) -> Result<Authenticated> {
        let refuse = |reason| ServerError::Unauthenticated(reason);
        let headers = &parts.headers;
        let (Some(input), Some(signature)) =
            (one(headers, "signature-input")?, one(headers, "signature")?)
        else {
            return Err(refuse(AuthRefusal::Missing));
        };
        let authority = parts
            .uri
            .authority()
            .map(|a| a.as_str())
            .or(one(headers, "host")?)
            .ok_or(refuse(AuthRefusal::MalformedSignature))?
            .to_ascii_lowercase();
        let digest =
            one(headers, "content-digest")?.ok_or(refuse(AuthRefusal::MalformedSignature))?;
        let covered = Covered {
            method: parts.method.as_str(),
            authority: &authority,
            path: parts.uri.path(),
            content_digest: digest,
            realm: one(headers, REALM_HEADER)?.ok_or(refuse(AuthRefusal::MalformedSignature))?,
            tweak: one(headers, OPTIONAL_FIELDS[0])?,
            session: one(headers, OPTIONAL_FIELDS[1])?,
        };
        let presented = Presented::parse(&covered, input, signature)
            .map_err(|_| refuse(AuthRefusal::MalformedSignature))?;
        let caller = self
            .by_key
            .get(&presented.key)
            .ok_or(refuse(AuthRefusal::UnknownCaller))?
            .clone();
        presented
            .verify(&covered)
            .map_err(|_| refuse(AuthRefusal::BadSignature))?;
        // Genuine, but for another evaluator: what one evaluator would replay to another.
        if covered.authority != self.authority {
            return Err(refuse(AuthRefusal::WrongAudience));
        }
        if covered.realm != self.realm {
            return Err(refuse(AuthRefusal::WrongRealm));
        }
        if !presented.is_fresh(now(), CLOCK_SKEW_SECS) {
            return Err(refuse(AuthRefusal::StaleSignature));
        }
        let content_digest = digest.to_owned();
        let store = store.clone();
        let fresh = blocking(move || {
            store.spend_nonce(
                &presented.key,
                &presented.nonce,
                presented.expires.saturating_add(CLOCK_SKEW_SECS),
                now(),
            )
        })
        .await?;
        if !fresh {
            return Err(refuse(AuthRefusal::ReplayedNonce));
        }
        Ok(Authenticated {
            caller,
            content_digest,
        })
    }
}

/// The one value of header `name`, if present.
///
/// # Errors
/// [`ServerError::Unauthenticated`] (`MalformedSignature`) for a repeated header or one that
/// is not visible ASCII.
fn one<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return if headers.contains_key(name) {
            Err(ServerError::Unauthenticated(
                AuthRefusal::MalformedSignature,
            ))
        } else {
            Ok(None)
        };
    };
    value
        .to_str()
        .map(Some)
        .map_err(|_| ServerError::Unauthenticated(AuthRefusal::MalformedSignature))
}
