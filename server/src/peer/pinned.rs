//! The peer client's check of the evaluator it calls (review L4): the certificate must chain
//! to the peer CA *and* be the one configured for that index (`[[threshold.peers]]
//! cert_sha256`). The CA alone would let any evaluator of the set, or anyone holding a
//! certificate the CA issued for the same name, answer as another.

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::{DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// A server verifier: the peer CA's, then the leaf's SHA-256 against one pin.
#[derive(Debug)]
pub(crate) struct PinnedPeer {
    ca: Arc<WebPkiServerVerifier>,
    pin: [u8; 32],
}

impl PinnedPeer {
    /// Trusts only `roots`' certificates whose leaf has SHA-256 `pin`.
    ///
    /// # Errors
    /// The verifier builder's error (no roots).
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        provider: Arc<CryptoProvider>,
        pin: [u8; 32],
    ) -> Result<Self, tokio_rustls::rustls::client::VerifierBuilderError> {
        Ok(Self {
            ca: WebPkiServerVerifier::builder_with_provider(roots, provider).build()?,
            pin,
        })
    }
}

impl ServerCertVerifier for PinnedPeer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.ca
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        if <[u8; 32]>::from(Sha256::digest(end_entity.as_ref())) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::General(
                "the peer's certificate is not the one configured for its index".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.ca.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.ca.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.ca.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L4: two certificates from the same CA for the same name; only the pinned one passes.
    #[test]
    fn only_the_pinned_certificate_of_the_ca_is_trusted() {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
        let leaf = || {
            let key = rcgen::KeyPair::generate().expect("key");
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
                .expect("params")
                .signed_by(&key, &ca)
                .expect("leaf")
        };
        let (pinned, other) = (leaf(), leaf());
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).expect("root");
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let verifier = PinnedPeer::new(
            Arc::new(roots),
            provider,
            Sha256::digest(pinned.der().as_ref()).into(),
        )
        .expect("verifier");
        let name = ServerName::try_from("127.0.0.1").expect("name");
        let now = UnixTime::now();
        assert!(
            verifier
                .verify_server_cert(pinned.der(), &[], &name, &[], now)
                .is_ok()
        );
        assert!(
            verifier
                .verify_server_cert(other.der(), &[], &name, &[], now)
                .is_err(),
            "another certificate of the same CA and name"
        );
    }
}
