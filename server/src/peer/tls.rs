//! The peer listener's TLS (`spec/12-threshold.md` §12.12.1): mutual TLS where every
//! evaluator's certificate is issued by one peer CA, and a client is known by the SHA-256 of
//! the leaf certificate it presented (`[[threshold.peers]] cert_sha256`).

use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use crate::config::{ThresholdSection, check_private};
use crate::error::{Result, ServerError};
use crate::kit::pem_certificates;
use crate::tls::TlsListener;

/// The SHA-256 of the certificate a peer presented on this connection.
#[derive(Debug, Clone, Copy)]
pub struct PeerIdentity(pub(crate) Option<[u8; 32]>);

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
