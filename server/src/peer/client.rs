//! This evaluator as a client of its peers (`spec/12-threshold.md` §12.12): it presents its
//! own peer certificate, trusts for each peer only the certificate pinned for its index
//! (issued by the peer CA), and carries the inversion's three rounds and the private-share
//! fetch. Asynchronous (reqwest on the service's tokio runtime, rustls with
//! ring as on the listener): a coordination holds no thread while it waits on its peers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use blindnym::threshold::inversion::{
    DealRequest, Dealing, FinishRequest, MaskedProduct, PrivateShare, ProductRequest, RunId,
};

use super::pinned::PinnedPeer;
use crate::config::{ThresholdSection, check_private};
use crate::error::{Result, ServerError};
use crate::kit::pem_certificates;

/// The largest peer message (a product request of 255 dealings at t = 255 is under 7 MB;
/// deployments use far fewer).
pub(crate) const MAX_PEER_BODY: usize = 8 * 1024 * 1024;

/// How long one call to a peer may take, connection included.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// This evaluator as a client of its peers.
#[derive(Debug)]
pub struct PeerClient {
    http: HashMap<u16, reqwest::Client>,
    urls: HashMap<u16, String>,
    certificates: HashMap<[u8; 32], u16>,
}

impl PeerClient {
    /// A client presenting this evaluator's peer certificate and trusting the peer CA only:
    /// the same rustls (ring) as the peer listener, from the same PEM files.
    ///
    /// # Errors
    /// [`ServerError::Config`] for an unreadable, loose or malformed file, a bad digest or a
    /// repeated index.
    pub fn new(section: &ThresholdSection) -> Result<Self> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            ServerError::Config(format!("[threshold] {what}: {e}"))
        };
        check_private(&section.peer_key_file)?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in pem_certificates(&section.peer_ca_file)? {
            roots.add(ca).map_err(|e| bad("peer_ca_file", &e))?;
        }
        let roots = Arc::new(roots);
        let chain = pem_certificates(&section.peer_cert_file)?;
        let key = PrivateKeyDer::from_pem_file(&section.peer_key_file)
            .map_err(|e| bad("peer_key_file", &e))?;
        // One client per peer, each trusting only that peer's pinned certificate (review L4).
        let client_for = |pin: [u8; 32]| -> Result<reqwest::Client> {
            let verifier = PinnedPeer::new(roots.clone(), provider.clone(), pin)
                .map_err(|e| bad("peer_ca_file", &e))?;
            let tls = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| bad("TLS", &e))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| bad("peer_cert_file", &e))?;
            // Peers only: no redirects, no proxies from the environment.
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .timeout(PEER_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .map_err(|e| bad("peer client", &e))
        };
        let (mut urls, mut certificates, mut http) =
            (HashMap::new(), HashMap::new(), HashMap::new());
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
            if certificates.insert(digest, peer.index).is_some() {
                return Err(bad("peers", &"one cert_sha256 for two evaluators"));
            }
            http.insert(peer.index, client_for(digest)?);
        }
        Ok(Self {
            http,
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

    /// A call to peer `index`: its `200` body (at most [`MAX_PEER_BODY`] bytes). Any other
    /// answer, or none, is [`ServerError::Peers`].
    async fn call(&self, index: u16, path: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>> {
        let unknown = ServerError::Protocol(blindnym::Error::UnknownEvaluator { index });
        let (Some(base), Some(http)) = (self.urls.get(&index), self.http.get(&index)) else {
            return Err(unknown);
        };
        let url = format!("{base}{path}");
        let unreachable =
            |e: &dyn std::fmt::Display| ServerError::Peers(format!("evaluator {index}: {e}"));
        let request = match body {
            Some(body) => http
                .post(&url)
                .header("Content-Type", "application/octet-stream")
                .body(body),
            None => http.get(&url),
        };
        let mut response = request.send().await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            if bytes.len() + chunk.len() > MAX_PEER_BODY {
                return Err(unreachable(&"answer over the peer body limit"));
            }
            bytes.extend_from_slice(&chunk);
        }
        if status != 200 {
            // A participant's accusation of a dealer comes back as itself (review M1).
            let refusal = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
            if let Some(refusal) = &refusal
                && refusal["error"] == "BadDealing"
                && let Some(dealer) = refusal["culprit"]
                    .as_u64()
                    .and_then(|d| u16::try_from(d).ok())
            {
                return Err(ServerError::Protocol(blindnym::Error::BadDealing {
                    dealer,
                }));
            }
            let reason = String::from_utf8_lossy(&bytes).into_owned();
            return Err(unreachable(&format!("HTTP {status}: {reason}")));
        }
        Ok(bytes)
    }

    /// Delivers this evaluator's message of `round` in the ceremony named `digest` to peer
    /// `index` (`POST /peer/v1/ceremony/{digest}/{round}`, `spec/12-threshold.md` §12.13.3).
    /// Participants start at different times: a peer that does not answer yet is tried again
    /// until `deadline`; a peer that answers with a refusal is not.
    ///
    /// # Errors
    /// [`ServerError::Peers`] for a refusal, or no answer by the deadline.
    pub async fn deliver(
        &self,
        index: u16,
        digest: &[u8; 32],
        round: u8,
        body: &[u8],
        deadline: tokio::time::Instant,
    ) -> Result<()> {
        let (Some(base), Some(http)) = (self.urls.get(&index), self.http.get(&index)) else {
            return Err(ServerError::Protocol(blindnym::Error::UnknownEvaluator {
                index,
            }));
        };
        let url = format!("{base}/peer/v1/ceremony/{}/{round}", hex::encode(digest));
        loop {
            let sent = http
                .post(&url)
                .header("Content-Type", "application/octet-stream")
                .body(body.to_vec())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().as_u16() == 200 => return Ok(()),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let reason = response.text().await.unwrap_or_default();
                    let reason: String = reason.chars().take(512).collect();
                    return Err(ServerError::Peers(format!(
                        "evaluator {index} refused round {round}: HTTP {status}: {reason}"
                    )));
                }
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(ServerError::Peers(format!(
                        "evaluator {index}: round {round} not delivered in time: {e}"
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Round one at peer `index`.
    ///
    /// # Errors
    /// [`ServerError::Peers`]; the dealing's decoding error.
    pub async fn deal(&self, index: u16, request: &DealRequest) -> Result<Dealing> {
        let bytes = self
            .call(index, "/peer/v1/inversion/deal", Some(request.to_bytes()))
            .await?;
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
    pub async fn private_share(
        &self,
        index: u16,
        coordinator: u16,
        run: &RunId,
    ) -> Result<PrivateShare> {
        let path = format!(
            "/peer/v1/inversion/{coordinator}/{}/private",
            hex::encode(run)
        );
        let bytes = zeroize::Zeroizing::new(self.call(index, &path, None).await?);
        Ok(PrivateShare::from_bytes(&bytes)?)
    }

    /// Round two at peer `index`.
    ///
    /// # Errors
    /// [`ServerError::Peers`]; the product's decoding error.
    pub async fn product(&self, index: u16, request: &ProductRequest) -> Result<MaskedProduct> {
        let bytes = self
            .call(
                index,
                "/peer/v1/inversion/product",
                Some(request.to_bytes()),
            )
            .await?;
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
    pub async fn finish(&self, index: u16, request: &FinishRequest) -> Result<()> {
        self.call(index, "/peer/v1/inversion/finish", Some(request.to_bytes()))
            .await
            .map(drop)
    }
}
