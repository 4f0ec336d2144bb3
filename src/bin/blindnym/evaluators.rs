//! The data holder's connection to the evaluator service for `blindnym pseudonymise`: one
//! evaluator (flow B, `spec/07-flow-b.md`), or the evaluators of a threshold set (flow B in
//! threshold mode, `spec/12-threshold.md` §12.7), with retries and backoff. Every answer's
//! proof is checked before a pseudonym comes out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blindnym::pseudonym::bulk::{BatchResponse, DataHolder};
use blindnym::pseudonym::{KeySetVerifier, Pseudonym, SignedKeySet, VerifiedKeySet};
use blindnym::threshold::SignedEpochShares;

use blindnym::caller_auth::{self, RequestSigner};

use crate::Error;
use crate::pseudonymise::PseudonymiseArgs;
use crate::threshold_set::ThresholdSet;

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The data holder's request key and realm: every request is signed for the one evaluator
/// it goes to (`blindnym::caller_auth`, RFC 9421), so no evaluator can replay it to another.
pub(crate) struct Signing {
    pub(crate) key: RequestSigner,
    pub(crate) realm: String,
}

impl Signing {
    /// A signed POST of `body` to `url`, with `Blindnym-Tweak` when given.
    pub(crate) fn post(
        &self,
        agent: &ureq::Agent,
        url: &str,
        tweak: Option<&str>,
        epoch: Option<&str>,
        body: &[u8],
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let signed = self
            .key
            .sign_post(url, &self.realm, tweak, None, body, now(), &mut rand::rng())
            .map_err(|e| ureq::Error::BadUri(format!("cannot sign for {url}: {e}")))?;
        let mut request = agent
            .post(url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Digest", &signed.content_digest)
            .header("Signature-Input", &signed.signature_input)
            .header("Signature", &signed.signature)
            .header(caller_auth::REALM_HEADER, &self.realm);
        if let Some(tweak) = tweak {
            request = request.header("Blindnym-Tweak", tweak);
        }
        if let Some(epoch) = epoch {
            request = request.header("Blindnym-Epoch", epoch);
        }
        request.send(body)
    }
}

/// A transport failure worth retrying, or the evaluator's refusal with its code and reason.
pub(crate) enum Failure {
    Retry(String),
    Refused { code: String, reason: String },
}

impl Failure {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::Retry(reason) => format!("the evaluator is unreachable: {reason}").into(),
            Failure::Refused { reason, .. } => format!("the evaluator refused: {reason}").into(),
        }
    }
}

/// One HTTP exchange. 408, 500–502 and 504, and a threshold evaluator that cannot reach its
/// peers (`PeersUnavailable`), are worth retrying; any other status is a refusal.
pub(crate) fn exchange(
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
pub(crate) fn with_retries<T>(
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
pub(crate) fn get_any(
    agent: &ureq::Agent,
    urls: &[String],
    path: &str,
) -> Result<Vec<u8>, Failure> {
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
        /// The run's epoch, named on every batch (`Blindnym-Epoch`): one run, one epoch,
        /// even across a rotation during the transition window (`spec/04-keys.md` §4.6).
        epoch: u32,
        /// The request key.
        signing: Box<Signing>,
        /// Attempts per batch.
        retries: u32,
    },
    /// A threshold set.
    Threshold(Box<ThresholdSet>),
}

impl Evaluators {
    /// Fetches and checks the signed key set (and, for several evaluators, the signed
    /// verification shares and the domain's tweak record) and returns the data holder.
    ///
    /// # Errors
    /// An unreachable evaluator, a refusal, or a key set, share set or record that does not
    /// verify against the anchor.
    pub fn connect(args: &PseudonymiseArgs, signing: Signing) -> Result<(Self, DataHolder), Error> {
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
        // The last accepted set, kept between runs: no rollback, no re-keyed epoch.
        let state = args.key_set_state.clone().unwrap_or_else(|| {
            let mut path = args.output.as_os_str().to_owned();
            path.push(".key-set");
            path.into()
        });
        let mut verifier = match std::fs::read(&state) {
            Ok(kept) => KeySetVerifier::with_last_accepted_set(
                anchor,
                args.realm.as_bytes(),
                &SignedKeySet::from_bytes(&kept)?,
            )
            .map_err(|e| format!("{}: {e}", state.display()))?,
            Err(_) => KeySetVerifier::new(anchor, args.realm.as_bytes()),
        };
        let bytes = with_retries(args.retries, || get_any(&agent, &urls, "/v1/key-set"))?;
        let keys: VerifiedKeySet = verifier.accept(&SignedKeySet::from_bytes(&bytes)?, now())?;
        let staged = state.with_extension("key-set.new");
        std::fs::write(&staged, &bytes)
            .and_then(|()| std::fs::rename(&staged, &state))
            .map_err(|e| format!("{}: {e}", state.display()))?;
        eprintln!(
            "key set {} accepted (digest {}), kept in {}",
            keys.set().sequence(),
            hex::encode(keys.digest()),
            state.display()
        );
        let holder = DataHolder::new(keys.clone(), args.domain.as_bytes())?;
        if urls.len() == 1 {
            let url = format!("{}/v1/flow-b/evaluate", urls[0]);
            return Ok((
                Evaluators::Single {
                    agent,
                    url,
                    epoch: keys.current(now())?.epoch,
                    signing: Box::new(signing),
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
            signing,
            retries: args.retries,
            domain: args.domain.as_bytes().to_vec(),
            shares,
            record: None,
            batches: 0,
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
                epoch,
                signing,
                retries,
            } => {
                let named = epoch.to_string();
                let answer = with_retries(*retries, || {
                    exchange(signing.post(agent, url, None, Some(&named), &body))
                })?;
                let response = BatchResponse::from_bytes(&answer)?;
                if response.epoch != *epoch {
                    return Err(format!(
                        "the evaluator answered under epoch {}, not this run's epoch {epoch}",
                        response.epoch
                    )
                    .into());
                }
                Ok(holder.finalize_batch(&blinded, &response, now())?)
            }
            Evaluators::Threshold(set) => set.batch(holder, &blinded, &body),
        }
    }
}
