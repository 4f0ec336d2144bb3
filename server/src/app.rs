//! The evaluator's state and its HTTP routes. Element paths take and return the project's
//! own wire formats (`application/octet-stream`, `spec/08-encodings.md`); the handlers'
//! refusals are JSON `{"error": code, "message": …}` with a status per refusal
//! (`ServerError::status`). Two come before a handler and are plain text: 413 for a body over
//! the limit, 408 for a request past its time limit. A request that times out may still have
//! spent budget and quota: its evaluation was already under way.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use blindnym::pseudonym::bulk::{self, BatchRequest, CallerId, Grants};
use blindnym::pseudonym::{
    EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, RootSeed, SubjectId, attested,
    holder_derived,
};
use sha2::{Digest, Sha256};

use zeroize::Zeroizing;

use crate::config::{Config, check_private, read_secret};
use crate::error::{Result, ServerError};
use crate::store::{SharedStore, Store};
use crate::threshold::ThresholdState;

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

/// Request and evaluation counters for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    evaluations: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    fn request(&self, route: &'static str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((route, status)).or_default() += 1;
        }
    }

    pub(crate) fn evaluated(&self, flow: &'static str, count: u64) {
        if let Ok(mut map) = self.evaluations.lock() {
            *map.entry(flow).or_default() += count;
        }
    }

    fn render(&self) -> String {
        let mut out = String::from(
            "# HELP blindnym_requests_total HTTP requests by route and status.\n\
             # TYPE blindnym_requests_total counter\n",
        );
        if let Ok(map) = self.requests.lock() {
            for ((route, status), n) in map.iter() {
                out.push_str(&format!(
                    "blindnym_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
                ));
            }
        }
        out.push_str(
            "# HELP blindnym_evaluations_total Elements evaluated by flow.\n\
             # TYPE blindnym_evaluations_total counter\n",
        );
        if let Ok(map) = self.evaluations.lock() {
            for (flow, n) in map.iter() {
                out.push_str(&format!(
                    "blindnym_evaluations_total{{flow=\"{flow}\"}} {n}\n"
                ));
            }
        }
        out
    }
}

/// A single evaluator's three keys (`spec/05`–`spec/07`).
struct Single {
    holder_derived: holder_derived::Evaluator,
    attested: attested::Evaluator,
    bulk: bulk::Evaluator,
}

/// Everything the handlers share.
pub struct AppState {
    epoch: u32,
    key_set: Vec<u8>,
    pub(crate) budget: u64,
    single: Option<Single>,
    threshold: Option<Arc<ThresholdState>>,
    pub(crate) grants: Grants,
    callers: HashMap<[u8; 32], Caller>,
    pub(crate) store: Arc<Store>,
    pub(crate) metrics: Metrics,
    max_body: usize,
    timeout: Duration,
}

impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("epoch", &self.epoch)
            .field("callers", &self.callers.len())
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A single evaluator's keys from the root seed: the ratchet's first epoch and a key set
/// signed now for 30 days.
fn single_evaluator(
    config: &Config,
    grants: &Grants,
    store: &Arc<Store>,
) -> Result<(u32, Vec<u8>, Single)> {
    let required = |file: &Option<std::path::PathBuf>, name: &str| {
        file.clone().ok_or_else(|| {
            ServerError::Config(format!("[keys] {name} is required without [threshold]"))
        })
    };
    let realm = config.keys.realm.as_bytes();
    let seed = read_secret(&required(&config.keys.root_seed_file, "root_seed_file")?)?;
    let root = RootSeed::from_bytes(seed.as_ref())?;
    let ratchet = KeyRatchet::new(&root, realm, 1)?;
    let keys = ratchet.keys()?;
    let signer = KeySetSigner::from_bytes(
        read_secret(&required(&config.keys.signer_file, "signer_file")?)?.as_ref(),
    )?;
    let start = now().saturating_sub(60);
    let set = KeySet::new(
        realm,
        1,
        start,
        start + 30 * 86_400,
        vec![keys.public(start)],
    )?;
    // The store enforces the budgets (they survive restarts); the library's own counters
    // are left unlimited.
    let unlimited = || EvaluationBudget::new(u64::MAX);
    Ok((
        keys.epoch(),
        signer.sign(set).to_bytes(),
        Single {
            holder_derived: holder_derived::Evaluator::new(keys.holder_derived(), unlimited()),
            attested: attested::Evaluator::new(keys.attested(), unlimited()),
            bulk: bulk::Evaluator::new(
                keys.bulk(),
                grants.clone(),
                SharedStore(store.clone()),
                unlimited(),
            ),
        },
    ))
}

impl AppState {
    /// Builds the evaluator from its configuration: a single evaluator's keys from its root
    /// seed, or one threshold evaluator's shares (`[threshold]`); the store; the callers.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a bad secret, token hash, flow, subject or domain;
    /// [`ServerError::Store`].
    pub fn new(config: &Config) -> Result<Self> {
        let mut grants = Grants::new();
        let mut callers = HashMap::new();
        for section in &config.callers {
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
            callers.insert(hash, Caller { id, flows, subject });
        }
        std::fs::create_dir_all(&config.server.data_dir).map_err(|e| {
            ServerError::Config(format!("{}: {e}", config.server.data_dir.display()))
        })?;
        let store = Arc::new(match &config.server.postgres_url_file {
            Some(path) => {
                check_private(path)?;
                let url = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?,
                );
                Store::open_postgres(url.trim(), config.keys.quota)?
            }
            None => Store::open(
                &config.server.data_dir.join("blindnym.sqlite3"),
                config.keys.quota,
            )?,
        });
        let (epoch, key_set, single, threshold) = match &config.threshold {
            Some(section) => {
                let threshold = ThresholdState::load(
                    section,
                    config.keys.realm.as_bytes(),
                    &config.server.data_dir,
                    grants.clone(),
                    SharedStore(store.clone()),
                )?;
                (
                    threshold.epoch(),
                    threshold.key_set().to_vec(),
                    None,
                    Some(Arc::new(threshold)),
                )
            }
            None => {
                let (epoch, key_set, single) = single_evaluator(config, &grants, &store)?;
                (epoch, key_set, Some(single), None)
            }
        };
        Ok(Self {
            epoch,
            key_set,
            budget: config.keys.epoch_budget,
            single,
            threshold,
            grants,
            callers,
            store,
            metrics: Metrics::default(),
            max_body: config.server.max_body_bytes,
            timeout: Duration::from_millis(config.server.request_timeout_ms),
        })
    }

    /// This evaluator in threshold mode.
    ///
    /// # Errors
    /// [`ServerError::NotServed`] for a single evaluator.
    pub fn threshold(&self) -> Result<&Arc<ThresholdState>> {
        self.threshold
            .as_ref()
            .ok_or(ServerError::NotServed("threshold mode"))
    }

    fn single(&self) -> Result<&Single> {
        self.single
            .as_ref()
            .ok_or(ServerError::NotServed("a single evaluator"))
    }

    /// The store (tests read counts from it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn caller(&self, headers: &HeaderMap) -> Result<&Caller> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ServerError::Unauthenticated)?;
        self.callers
            .get(&token_hash(token.trim()))
            .ok_or(ServerError::Unauthenticated)
    }

    pub(crate) fn budget_key(&self, role: &str) -> String {
        format!("epoch-{}/{role}", self.epoch)
    }
}

pub(crate) fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// Runs CPU-bound protocol work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerError::Store(format!("worker: {e}")))?
}

async fn flow_h(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let caller = state.caller(&headers)?;
    if !caller.flows.contains(&Flow::H) {
        return Err(ServerError::Unauthorized);
    }
    let request = holder_derived::Request::from_bytes(&body)?;
    let s = state.clone();
    let response = blocking(move || {
        s.store
            .charge_budget(&s.budget_key("holder-derived"), s.budget, 1)?;
        Ok(s.single()?
            .holder_derived
            .evaluate(&request, &mut rand::rng())?)
    })
    .await?;
    state.metrics.evaluated("H", 1);
    Ok(octets(response.to_bytes().to_vec()))
}

async fn flow_a(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let caller = state.caller(&headers)?;
    // The subject comes from the authentication layer, never from the body.
    let subject = match (&caller.subject, caller.flows.contains(&Flow::A)) {
        (Some(subject), true) => subject.clone(),
        _ => return Err(ServerError::Unauthorized),
    };
    let request = attested::Request::from_bytes(&body)?;
    let s = state.clone();
    let evaluation = blocking(move || {
        s.store
            .charge_budget(&s.budget_key("attested"), s.budget, 1)?;
        Ok(s.single()?
            .attested
            .evaluate(&subject, &request, now(), &mut rand::rng())?)
    })
    .await?;
    state.metrics.evaluated("A", 1);
    Ok(octets(evaluation.to_bytes().to_vec()))
}

async fn flow_b(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let answer = bulk_batch(
        state,
        &headers,
        body,
        |_| Ok(()),
        |s, id, request| {
            Ok(s.single()?
                .bulk
                .evaluate_batch(id, request, &mut rand::rng())?
                .to_bytes()?)
        },
    )
    .await?;
    Ok(octets(answer))
}

/// A flow B batch, single or threshold: the caller's token and flow, then (off the async
/// workers) the decoding, the policy, `check` (threshold mode: the named record), the key's
/// budget and `evaluate` (which charges the caller's quota), in the order of
/// `spec/07-flow-b.md` §7.4.
pub(crate) async fn bulk_batch(
    state: Arc<AppState>,
    headers: &HeaderMap,
    body: Bytes,
    check: impl FnOnce(&BatchRequest) -> Result<()> + Send + 'static,
    evaluate: impl FnOnce(&AppState, &CallerId, &BatchRequest) -> Result<Vec<u8>> + Send + 'static,
) -> Result<Vec<u8>> {
    let caller = state.caller(headers)?;
    if !caller.flows.contains(&Flow::B) {
        return Err(ServerError::Unauthorized);
    }
    let id = caller.id.clone();
    let s = state.clone();
    let (response, count) = blocking(move || {
        // The count is checked before any element is decoded (`BatchRequest::from_bytes`).
        let request = BatchRequest::from_bytes(&body)?;
        if !blindnym::pseudonym::bulk::Policy::allows(&s.grants, &id, request.domain()) {
            return Err(ServerError::Unauthorized);
        }
        check(&request)?;
        let count = u64::try_from(request.blinded().len()).map_err(|_| {
            ServerError::Protocol(blindnym::Error::BatchTooLarge {
                len: request.blinded().len(),
            })
        })?;
        s.store
            .charge_budget(&s.budget_key("bulk"), s.budget, count)?;
        Ok((evaluate(&s, &id, &request)?, count))
    })
    .await?;
    state.metrics.evaluated("B", count);
    Ok(response)
}

async fn key_set(State(state): State<Arc<AppState>>) -> Response {
    octets(state.key_set.clone())
}

async fn health() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The routes, and the label every other path is counted and logged under.
const ROUTES: [&str; 15] = [
    "/v1/threshold/flow-a/record",
    "/v1/threshold/flow-a/record/renew",
    "/v1/threshold/flow-a/evaluate",
    "/v1/threshold/flow-a/sign",
    "/v1/key-set",
    "/v1/flow-h/evaluate",
    "/v1/flow-a/evaluate",
    "/v1/flow-b/evaluate",
    "/v1/threshold/epoch-shares",
    "/v1/threshold/flow-h/evaluate",
    "/v1/threshold/flow-b/tweak",
    "/v1/threshold/flow-b/tweak/renew",
    "/v1/threshold/flow-b/evaluate",
    "/healthz",
    "/metrics",
];

fn route_label(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|r| **r == path)
        .copied()
        .unwrap_or("other")
}

/// One log line per request: method, route, status, milliseconds. Never a body, a subject,
/// a token or an element.
async fn log_and_count(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    // A fixed label, never the client's path: the metrics stay bounded and the log holds
    // nothing the client chose.
    let (method, route) = (request.method().clone(), route_label(request.uri().path()));
    let started = Instant::now();
    let response = match tokio::time::timeout(state.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request timed out\n").into_response(),
    };
    let status = response.status().as_u16();
    state.metrics.request(route, status);
    eprintln!(
        "{method} {route} {status} {}ms",
        started.elapsed().as_millis()
    );
    response
}

/// The service's routes (`openapi.yaml` describes them).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/key-set", get(key_set))
        .route("/v1/flow-h/evaluate", post(flow_h))
        .route("/v1/flow-a/evaluate", post(flow_a))
        .route("/v1/flow-b/evaluate", post(flow_b))
        .route(
            "/v1/threshold/epoch-shares",
            get(crate::threshold_routes::epoch_shares),
        )
        .route(
            "/v1/threshold/flow-h/evaluate",
            post(crate::threshold_routes::flow_h),
        )
        .route(
            "/v1/threshold/flow-b/tweak",
            post(crate::threshold_routes::tweak),
        )
        .route(
            "/v1/threshold/flow-b/tweak/renew",
            post(crate::threshold_routes::renew),
        )
        .route(
            "/v1/threshold/flow-b/evaluate",
            post(crate::threshold_routes::flow_b),
        )
        .route(
            "/v1/threshold/flow-a/record",
            post(crate::threshold_routes::subject_record),
        )
        .route(
            "/v1/threshold/flow-a/record/renew",
            post(crate::threshold_routes::subject_renew),
        )
        .route(
            "/v1/threshold/flow-a/evaluate",
            post(crate::threshold_routes::flow_a),
        )
        .route(
            "/v1/threshold/flow-a/sign",
            post(crate::threshold_routes::flow_a_sign),
        )
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(middleware::from_fn_with_state(state.clone(), log_and_count))
        .with_state(state)
}
