//! This evaluator as a client of its peers (`spec/12-threshold.md` §12.12): it presents its
//! own peer certificate, trusts only the peer CA, and carries the inversion's three rounds and
//! the private-share fetch. Blocking (ureq): the coordinator fans out on its own threads.

use std::collections::HashMap;
use std::time::Duration;

use blindnym::threshold::inversion::{
    DealRequest, Dealing, FinishRequest, MaskedProduct, PrivateShare, ProductRequest, RunId,
};

use crate::config::{ThresholdSection, check_private};
use crate::error::{Result, ServerError};

/// The largest peer message (a product request of 255 dealings at t = 255 is under 7 MB;
/// deployments use far fewer).
pub(crate) const MAX_PEER_BODY: usize = 8 * 1024 * 1024;

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
