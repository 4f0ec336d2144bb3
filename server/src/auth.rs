//! Who is calling (`spec/12-threshold.md` §12.12, `server/openapi.yaml`): the configured
//! callers, each known by the SHA-256 of its bearer token, with the flows it may use, its flow
//! B domains (the [`Grants`]) and, for flow A, the subject it authenticates as. A subject comes
//! from here, never from a body.

use std::collections::{HashMap, HashSet};

use axum::http::{HeaderMap, header};
use blindnym::pseudonym::SubjectId;
use blindnym::pseudonym::bulk::{CallerId, Grants};
use sha2::{Digest, Sha256};

use crate::config::CallerSection;
use crate::error::{Result, ServerError};

/// A flow a caller may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Holder-derived (VOPRF).
    H,
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

/// The configured callers, by token hash, and their flow B grants.
#[derive(Debug)]
pub(crate) struct Callers {
    by_token: HashMap<[u8; 32], Caller>,
    grants: Grants,
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Callers {
    /// The callers of the configuration.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a bad token hash, flow or subject.
    pub(crate) fn new(sections: &[CallerSection]) -> Result<Self> {
        let mut grants = Grants::new();
        let mut by_token = HashMap::new();
        for section in sections {
            let hash: [u8; 32] = hex::decode(&section.token_sha256)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    ServerError::Config(format!(
                        "caller {}: token_sha256 is not 64 hex digits",
                        section.name
                    ))
                })?;
            let id = CallerId::new(section.name.as_bytes());
            let mut flows = HashSet::new();
            for flow in &section.flows {
                flows.insert(match flow.as_str() {
                    "H" => Flow::H,
                    "A" => Flow::A,
                    "B" => Flow::B,
                    other => {
                        return Err(ServerError::Config(format!(
                            "caller {}: unknown flow {other:?} (H, A or B)",
                            section.name
                        )));
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
                .map_err(|e| {
                    ServerError::Config(format!("caller {}: subject: {e}", section.name))
                })?;
            by_token.insert(hash, Caller { id, flows, subject });
        }
        Ok(Self { by_token, grants })
    }

    /// The flow B grants.
    pub(crate) fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The caller whose `Authorization: Bearer` token the request carries.
    ///
    /// # Errors
    /// [`ServerError::Unauthenticated`] for no such header or an unknown token.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<&Caller> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ServerError::Unauthenticated)?;
        self.by_token
            .get(&token_hash(token.trim()))
            .ok_or(ServerError::Unauthenticated)
    }

    /// The caller, if it may use flow B for `domain`.
    ///
    /// # Errors
    /// [`ServerError::Unauthenticated`]; [`ServerError::Unauthorized`] without flow B or the
    /// domain's grant.
    pub(crate) fn authorize_domain(&self, headers: &HeaderMap, domain: &[u8]) -> Result<&Caller> {
        let caller = self.authenticate(headers)?;
        caller.require(Flow::B)?;
        if !blindnym::pseudonym::bulk::Policy::allows(&self.grants, &caller.id, domain) {
            return Err(ServerError::Unauthorized);
        }
        Ok(caller)
    }
}
