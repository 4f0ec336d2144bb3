//! The peer API between the evaluators of one threshold set, on its own listener with
//! mutually authenticated TLS: every evaluator's certificate is issued by one CA, a client
//! is known by the SHA-256 of the certificate it presented (`[[threshold.peers]]
//! cert_sha256`), and nothing else is served there. The client side (`PeerClient`) presents
//! this evaluator's certificate and trusts only that CA.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path as UrlPath, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use blindnym::threshold::inversion::{Dealing, MaskedProduct, PrivateShare};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use crate::app::{AppState, blocking, octets};
use crate::config::{ThresholdSection, check_private};
use crate::error::{Result, ServerError};
use crate::peer_wire::{DealRequest, FinishRequest, ProductRequest, RunId};
use crate::tls::TlsListener;

/// The largest peer message (a product request of 255 dealings at t = 255 is under 7 MB;
/// deployments use far fewer).
const MAX_PEER_BODY: usize = 8 * 1024 * 1024;

/// The SHA-256 of the certificate a peer presented on this connection.
#[derive(Debug, Clone, Copy)]
pub struct PeerIdentity(Option<[u8; 32]>);

impl Connected<IncomingStream<'_, TlsListener>> for PeerIdentity {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        let (_, connection) = stream.io().get_ref();
        PeerIdentity(
            connection
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| Sha256::digest(leaf.as_ref()).into()),
        )
    }
}

fn pem_certificates(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |e: &dyn std::fmt::Display| ServerError::Config(format!("{}: {e}", path.display()));
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<core::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if chain.is_empty() {
        return Err(bad(&"no certificate"));
    }
    Ok(chain)
}

/// The peer listener's TLS: this evaluator's certificate, and a client certificate issued by
/// the peer CA required of every connection.
///
/// # Errors
/// [`ServerError::Config`] for an unreadable, loose or malformed file.
pub fn server_config(section: &ThresholdSection) -> Result<Arc<ServerConfig>> {
    check_private(&section.peer_key_file)?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in pem_certificates(&section.peer_ca_file)? {
        roots
            .add(ca)
            .map_err(|e| ServerError::Config(format!("peer CA: {e}")))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ServerError::Config(format!("peer CA: {e}")))?;
    let key = PrivateKeyDer::from_pem_file(&section.peer_key_file)
        .map_err(|e| ServerError::Config(format!("{}: {e}", section.peer_key_file.display())))?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Config(format!("TLS: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(pem_certificates(&section.peer_cert_file)?, key)
        .map_err(|e| ServerError::Config(format!("TLS: {e}")))?;
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, for ureq.
fn ureq_certificates(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// This evaluator as a client of its peers.
#[derive(Debug)]
pub struct PeerClient {
    agent: ureq::Agent,
    urls: HashMap<u16, String>,
    certificates: HashMap<[u8; 32], u16>,
}

impl PeerClient {
    /// A client presenting this evaluator's peer certificate and trusting the peer CA only.
    ///
    /// # Errors
    /// [`ServerError::Config`] for an unreadable file, a bad digest or a repeated index.
    pub fn new(section: &ThresholdSection) -> Result<Self> {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
        };
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            ServerError::Config(format!("[threshold] {what}: {e}"))
        };
        check_private(&section.peer_key_file)?;
        let chain = ureq_certificates(&read(&section.peer_cert_file)?);
        let key = ureq::tls::PrivateKey::from_pem(&read(&section.peer_key_file)?)
            .map_err(|e| bad("peer_key_file", &e))?;
        let roots = ureq_certificates(&read(&section.peer_ca_file)?);
        if chain.is_empty() || roots.is_empty() {
            return Err(bad("peer_cert_file/peer_ca_file", &"no certificate"));
        }
        let tls = ureq::tls::TlsConfig::builder()
            .client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)))
            .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        let (mut urls, mut certificates) = (HashMap::new(), HashMap::new());
        for peer in &section.peers {
            let digest: [u8; 32] = hex::decode(&peer.cert_sha256)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("peers.cert_sha256", &"not 64 hex digits"))?;
            if peer.index == section.index
                || urls
                    .insert(peer.index, peer.url.trim_end_matches('/').to_owned())
                    .is_some()
            {
                return Err(bad("peers", &format!("index {} repeated", peer.index)));
            }
            certificates.insert(digest, peer.index);
        }
        Ok(Self {
            agent,
            urls,
            certificates,
        })
    }

    /// The peer whose certificate has this digest.
    pub fn index_of(&self, digest: &[u8; 32]) -> Option<u16> {
        self.certificates.get(digest).copied()
    }

    /// Every peer's index and `own`, increasing.
    pub fn indices_with(&self, own: u16) -> Vec<u16> {
        let mut all: Vec<u16> = self.urls.keys().copied().chain([own]).collect();
        all.sort_unstable();
        all
    }

    fn call(&self, index: u16, path: &str, body: Option<&[u8]>) -> Result<Vec<u8>> {
        let base = self.urls.get(&index).ok_or(ServerError::Protocol(
            blindnym::Error::UnknownEvaluator { index },
        ))?;
        let url = format!("{base}{path}");
        let unreachable =
            |e: &dyn std::fmt::Display| ServerError::Peers(format!("evaluator {index}: {e}"));
        let response = match body {
            Some(body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/octet-stream")
                .send(body),
            None => self.agent.get(&url).call(),
        }
        .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .with_config()
            .limit(MAX_PEER_BODY as u64)
            .read_to_vec()
            .map_err(|e| unreachable(&e))?;
        if status != 200 {
            let reason = String::from_utf8_lossy(&bytes).into_owned();
            return Err(unreachable(&format!("HTTP {status}: {reason}")));
        }
        Ok(bytes)
    }

    /// Round one at peer `index`.
    ///
    /// # Errors
    /// [`ServerError::Peers`]; the dealing's decoding error.
    pub fn deal(&self, index: u16, request: &DealRequest) -> Result<Dealing> {
        let bytes = self.call(index, "/peer/v1/inversion/deal", Some(&request.to_bytes()))?;
        let dealing = Dealing::from_bytes(&bytes)?;
        if dealing.dealer() != index {
            return Err(ServerError::Protocol(blindnym::Error::UnknownEvaluator {
                index: dealing.dealer(),
            }));
        }
        Ok(dealing)
    }

    /// This evaluator's private share of `run` from dealer `index`.
    ///
    /// # Errors
    /// [`ServerError::Peers`]; the share's decoding error.
    pub fn private_share(&self, index: u16, run: &RunId) -> Result<PrivateShare> {
        let bytes = zeroize::Zeroizing::new(self.call(
            index,
            &format!("/peer/v1/inversion/{}/private", hex::encode(run)),
            None,
        )?);
        Ok(PrivateShare::from_bytes(&bytes)?)
    }

    /// Round two at peer `index`.
    ///
    /// # Errors
    /// [`ServerError::Peers`]; the product's decoding error.
    pub fn product(&self, index: u16, request: &ProductRequest) -> Result<MaskedProduct> {
        let bytes = self.call(
            index,
            "/peer/v1/inversion/product",
            Some(&request.to_bytes()),
        )?;
        let product = MaskedProduct::from_bytes(&bytes)?;
        // A product under another participant's index is that peer's fault, not the run's.
        if product.index != index {
            return Err(ServerError::Protocol(blindnym::Error::UnknownEvaluator {
                index: product.index,
            }));
        }
        Ok(product)
    }

    /// Round three at peer `index`.
    ///
    /// # Errors
    /// [`ServerError::Peers`].
    pub fn finish(&self, index: u16, request: &FinishRequest) -> Result<()> {
        self.call(
            index,
            "/peer/v1/inversion/finish",
            Some(&request.to_bytes()),
        )
        .map(drop)
    }
}

/// The index of the authenticated peer on this connection.
fn caller(state: &AppState, identity: PeerIdentity) -> Result<u16> {
    let threshold = state.threshold()?;
    identity
        .0
        .and_then(|digest| threshold.peer_index(&digest))
        .ok_or(ServerError::Unauthenticated)
}

async fn deal(
    State(state): State<Arc<AppState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    body: Bytes,
) -> Result<Response> {
    let coordinator = caller(&state, identity)?;
    let threshold = state.threshold()?.clone();
    let dealing =
        blocking(move || threshold.deal(&DealRequest::from_bytes(&body)?, coordinator)).await?;
    Ok(octets(dealing.to_bytes()))
}

async fn private(
    State(state): State<Arc<AppState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    UrlPath(run): UrlPath<String>,
) -> Result<Response> {
    // The share goes only to the peer it is for, known by its certificate.
    let recipient = caller(&state, identity)?;
    let run: RunId = hex::decode(&run)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(ServerError::Protocol(blindnym::Error::Malformed))?;
    let share = state.threshold()?.private_share(&run, recipient)?;
    Ok(octets(share.to_bytes().to_vec()))
}

async fn product(
    State(state): State<Arc<AppState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    body: Bytes,
) -> Result<Response> {
    let coordinator = caller(&state, identity)?;
    let threshold = state.threshold()?.clone();
    // Decoding checks every point of every dealing: off the async workers too.
    let product =
        blocking(move || threshold.product(&ProductRequest::from_bytes(&body)?, coordinator))
            .await?;
    Ok(octets(product.to_bytes().to_vec()))
}

async fn finish(
    State(state): State<Arc<AppState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    body: Bytes,
) -> Result<Response> {
    let coordinator = caller(&state, identity)?;
    let threshold = state.threshold()?.clone();
    blocking(move || threshold.finish(&FinishRequest::from_bytes(&body)?, coordinator)).await?;
    Ok(octets(Vec::new()))
}

/// The peer API's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/peer/v1/inversion/deal", post(deal))
        .route("/peer/v1/inversion/{run}/private", get(private))
        .route("/peer/v1/inversion/product", post(product))
        .route("/peer/v1/inversion/finish", post(finish))
        .layer(DefaultBodyLimit::max(MAX_PEER_BODY))
        .with_state(state)
}

/// Serves the peer API on `listener` (mutually authenticated TLS) until `shutdown`.
///
/// # Errors
/// [`ServerError::Config`] when serving fails or the state is not in threshold mode.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    tls: Arc<ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    state.threshold()?;
    axum::serve(
        TlsListener::new(listener, tls)?,
        router(state).into_make_service_with_connect_info::<PeerIdentity>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| ServerError::Config(format!("serve peers: {e}")))
}
