//! The data holder's connection to the evaluator service for `blindnym pseudonymise`: one
//! evaluator (flow B, `spec/07-flow-b.md`), or the evaluators of a threshold set (flow B in
//! threshold mode, `spec/12-threshold.md` §12.7), with retries and backoff. Every answer's
//! proof is checked before a pseudonym comes out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blindnym::pseudonym::bulk::{BatchResponse, DataHolder};
use blindnym::pseudonym::{KeySetVerifier, Pseudonym, SignedKeySet, VerifiedKeySet};
use blindnym::threshold::flow_b::finalize_batch;
use blindnym::threshold::inversion::TweakRecord;
use blindnym::threshold::{ShareResponse, SignedEpochShares, VerificationShares};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::pseudonymise::PseudonymiseArgs;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A transport failure worth retrying, or the evaluator's refusal with its code and reason.
enum Failure {
    Retry(String),
    Refused { code: String, reason: String },
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Retry(reason) => format!("the evaluator is unreachable: {reason}").into(),
            Failure::Refused { reason, .. } => format!("the evaluator refused: {reason}").into(),
        }
    }
}

/// One HTTP exchange. 408, 500–502 and 504, and a threshold evaluator that cannot reach its
/// peers (`PeersUnavailable`), are worth retrying; any other status is a refusal.
fn exchange(
    request: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Vec<u8>, Failure> {
    let response = request.map_err(|e| Failure::Retry(e.to_string()))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .with_config()
        .limit(4 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| Failure::Retry(e.to_string()))?;
    if status == 200 {
        return Ok(bytes);
    }
    if matches!(status, 408 | 500..=502 | 504) {
        return Err(Failure::Retry(format!("HTTP {status}")));
    }
    let body = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    let code = body
        .as_ref()
        .and_then(|v| v["error"].as_str())
        .unwrap_or("")
        .to_owned();
    let reason = body
        .as_ref()
        .and_then(|v| Some(format!("{code}: {}", v["message"].as_str()?)))
        .unwrap_or_else(|| format!("HTTP {status}"));
    if code == "PeersUnavailable" {
        return Err(Failure::Retry(reason));
    }
    Err(Failure::Refused { code, reason })
}

/// Tries `once` up to `attempts` times, waiting 100 ms, doubling up to 5 s, between tries.
fn with_retries<T>(
    attempts: u32,
    mut once: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Error> {
    let mut delay = Duration::from_millis(100);
    let mut last = String::new();
    for _ in 0..attempts.max(1) {
        match once() {
            Ok(value) => return Ok(value),
            Err(Failure::Retry(reason)) => last = reason,
            Err(refused) => return Err(refused.into_error()),
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    Err(format!("the evaluator is unreachable after {attempts} attempts: {last}").into())
}

/// The first of `urls` that answers `GET path`.
fn get_any(agent: &ureq::Agent, urls: &[String], path: &str) -> Result<Vec<u8>, Failure> {
    let mut last = Failure::Retry("no evaluator".into());
    for url in urls {
        match exchange(agent.get(&format!("{url}{path}")).call()) {
            Ok(bytes) => return Ok(bytes),
            Err(failure) => last = failure,
        }
    }
    Err(last)
}

/// The evaluators of one run of `blindnym pseudonymise`.
pub enum Evaluators {
    /// One evaluator.
    Single {
        /// The HTTP client.
        agent: ureq::Agent,
        /// Its flow B URL.
        url: String,
        /// The bearer token.
        token: String,
        /// Attempts per batch.
        retries: u32,
    },
    /// A threshold set.
    Threshold(Box<ThresholdSet>),
}

/// The evaluators of a threshold set, with the domain's record their answers are made under.
pub struct ThresholdSet {
    agent: ureq::Agent,
    urls: Vec<String>,
    token: String,
    retries: u32,
    domain: Vec<u8>,
    shares: VerificationShares,
    record: Option<Record>,
}

impl Evaluators {
    /// Fetches and checks the signed key set (and, for several evaluators, the signed
    /// verification shares and the domain's tweak record) and returns the data holder.
    ///
    /// # Errors
    /// An unreachable evaluator, a refusal, or a key set, share set or record that does not
    /// verify against the anchor.
    pub fn connect(args: &PseudonymiseArgs, token: String) -> Result<(Self, DataHolder), Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        let urls: Vec<String> = args
            .evaluators
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect();
        let text = match std::fs::read_to_string(&args.anchor) {
            Ok(text) => text,
            Err(_) => args.anchor.clone(),
        };
        let anchor: [u8; 32] = hex::decode(text.trim())?
            .try_into()
            .map_err(|_| "--anchor is 32 bytes of hex")?;
        let anchor = blindnym::pseudonym::key_set::decode_verifying_key(&anchor)?;
        let mut verifier = KeySetVerifier::new(anchor, args.realm.as_bytes());
        let bytes = with_retries(args.retries, || get_any(&agent, &urls, "/v1/key-set"))?;
        let keys: VerifiedKeySet = verifier.accept(&SignedKeySet::from_bytes(&bytes)?, now())?;
        let holder = DataHolder::new(keys.clone(), args.domain.as_bytes())?;
        if urls.len() == 1 {
            let url = format!("{}/v1/flow-b/evaluate", urls[0]);
            return Ok((
                Evaluators::Single {
                    agent,
                    url,
                    token,
                    retries: args.retries,
                },
                holder,
            ));
        }
        let bytes = with_retries(args.retries, || {
            get_any(&agent, &urls, "/v1/threshold/epoch-shares")
        })?;
        let shares = SignedEpochShares::from_bytes(&bytes)?
            .verify(&verifier, &keys, now())?
            .bulk;
        if usize::from(shares.params().n()) != urls.len() {
            return Err(format!(
                "the threshold set has {} evaluators; give each with --evaluator",
                shares.params().n()
            )
            .into());
        }
        let mut set = ThresholdSet {
            agent,
            urls,
            token,
            retries: args.retries,
            domain: args.domain.as_bytes().to_vec(),
            shares,
            record: None,
        };
        set.fetch_record(false)?;
        Ok((Evaluators::Threshold(Box::new(set)), holder))
    }

    /// Pseudonymises one batch: blinds, asks the evaluator(s), verifies every proof,
    /// finalizes.
    ///
    /// # Errors
    /// A refusal (with the evaluator's reason), too few evaluators after every retry, or an
    /// answer that does not verify.
    pub fn pseudonymise(
        &mut self,
        holder: &DataHolder,
        ids: &[&str],
    ) -> Result<Vec<Pseudonym>, Error> {
        let (blinded, request) = holder.blind_batch(ids, &mut rand::rng())?;
        let body = request.to_bytes();
        match self {
            Evaluators::Single {
                agent,
                url,
                token,
                retries,
            } => {
                let answer = with_retries(*retries, || {
                    exchange(
                        agent
                            .post(url.as_str())
                            .header("Authorization", &format!("Bearer {token}"))
                            .header("Content-Type", "application/octet-stream")
                            .send(&body[..]),
                    )
                })?;
                Ok(holder.finalize_batch(&blinded, &BatchResponse::from_bytes(&answer)?, now())?)
            }
            Evaluators::Threshold(set) => set.batch(holder, &blinded, &body),
        }
    }
}

/// A record and the digest evaluators name it by.
struct Record {
    record: TweakRecord,
    digest: String,
}

impl ThresholdSet {
    /// Asks the evaluators, in order, for the domain's record (`renew`: for a new inversion).
    fn fetch_record(&mut self, renew: bool) -> Result<(), Error> {
        let path = if renew {
            "/v1/threshold/flow-b/tweak/renew"
        } else {
            "/v1/threshold/flow-b/tweak"
        };
        let bytes = with_retries(self.retries, || {
            let mut last = Failure::Retry("no evaluator".into());
            for url in &self.urls {
                match exchange(
                    self.agent
                        .post(&format!("{url}{path}"))
                        .header("Authorization", &format!("Bearer {}", self.token))
                        .send(&self.domain[..]),
                ) {
                    Ok(bytes) => return Ok(bytes),
                    Err(failure) => last = failure,
                }
            }
            Err(last)
        })?;
        let record = TweakRecord::from_bytes(&bytes)?;
        // Checked now against the published shares, and again with every batch.
        record.check(
            &self.shares,
            &blindnym::pseudonym::bulk::domain_info(&self.domain)?,
        )?;
        self.record = Some(Record {
            record,
            digest: hex::encode(Sha256::digest(&bytes)),
        });
        Ok(())
    }

    /// One batch: asks the evaluators in order until `t` answers verify, retrying with
    /// backoff while fewer than `t` answer; fetches the record again when evaluators hold
    /// another one (a restarted set, a renewed inversion).
    fn batch(
        &mut self,
        holder: &DataHolder,
        blinded: &blindnym::pseudonym::bulk::BlindBatch,
        body: &[u8],
    ) -> Result<Vec<Pseudonym>, Error> {
        let t = usize::from(self.shares.params().t());
        let mut delay = Duration::from_millis(100);
        let mut last = String::new();
        for _ in 0..self.retries.max(1) {
            let Some(current) = &self.record else {
                return Err("no tweak record".into());
            };
            let (mut responses, mut conflicts) = (Vec::new(), 0usize);
            let (mut refused, mut retryable) = (None, false);
            for url in &self.urls {
                let answer = exchange(
                    self.agent
                        .post(&format!("{url}/v1/threshold/flow-b/evaluate"))
                        .header("Authorization", &format!("Bearer {}", self.token))
                        .header("Content-Type", "application/octet-stream")
                        .header("Blindnym-Tweak", &current.digest)
                        .send(body),
                );
                match answer {
                    Ok(bytes) => match ShareResponse::from_bytes(&bytes) {
                        Ok(response) => responses.push(response),
                        Err(e) => last = format!("{url}: {e}"),
                    },
                    Err(Failure::Refused { code, .. }) if code == "TweakMismatch" => {
                        conflicts += 1;
                    }
                    Err(Failure::Retry(reason)) => {
                        retryable = true;
                        last = format!("{url}: {reason}");
                    }
                    // One evaluator's refusal does not stop the batch while others may serve
                    // (a lying or misconfigured evaluator is one of n).
                    Err(failure) => refused = Some(failure),
                }
                if responses.len() >= t {
                    // A bad answer is dropped and named; with fewer than t left, ask the next.
                    match finalize_batch(
                        holder,
                        blinded,
                        &self.shares,
                        &current.record,
                        &responses,
                        now(),
                    ) {
                        Ok((pseudonyms, _)) => return Ok(pseudonyms),
                        Err(blindnym::Error::TooFewShares { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            // Every evaluator that did not answer refused: that is the run's answer.
            if !retryable
                && conflicts == 0
                && let Some(refusal) = refused
            {
                return Err(refusal.into_error());
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
            if conflicts > 0 {
                // Some evaluators answer under another record: take the current one, and
                // ask for a new inversion if that changes nothing.
                let before = current.digest.clone();
                self.fetch_record(false)?;
                if self.record.as_ref().is_some_and(|r| r.digest == before)
                    && responses.len() + conflicts >= t
                {
                    self.fetch_record(true)?;
                }
            }
        }
        Err(format!(
            "fewer than {t} evaluators answered after {} attempts: {last}",
            self.retries
        )
        .into())
    }
}
