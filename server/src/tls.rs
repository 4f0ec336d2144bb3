//! TLS with rustls (ring provider): the server's certificate chain and key from PEM files,
//! and a listener that runs each handshake in its own task (with a time limit), so a slow or
//! silent client never holds up the others.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

use crate::config::check_private;
use crate::error::{Result, ServerError};
use crate::kit::pem_certificates;

/// How long a client may take to finish its handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// The server's TLS configuration from a PEM certificate chain and a PEM private key (the key
/// file must not be readable by group or others). TLS 1.2 and 1.3, ring's cipher suites.
///
/// # Errors
/// [`ServerError::Config`] for an unreadable, loose or malformed file.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>> {
    let bad = |path: &Path, e: &dyn std::fmt::Display| {
        ServerError::Config(format!("{}: {e}", path.display()))
    };
    check_private(key_file)?;
    let chain = pem_certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| bad(key_file, &e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| ServerError::Config(format!("TLS: {e}")))?;
    Ok(Arc::new(config))
}

/// Accepts TCP connections and hands axum only those whose TLS handshake completed.
#[derive(Debug)]
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` with `config`.
    ///
    /// # Errors
    /// [`ServerError::Config`] when the listener has no local address.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> Result<Self> {
        let local = listener
            .local_addr()
            .map_err(|e| ServerError::Config(e.to_string()))?;
        let acceptor = TlsAcceptor::from(config);
        let (sender, incoming) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, address)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if sender.is_closed() {
                    break;
                }
                let (acceptor, sender) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    // A failed or slow handshake is dropped; nothing about it is logged.
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(tcp)).await
                    {
                        let _ = sender.send((stream, address)).await;
                    }
                });
            }
        });
        Ok(Self { incoming, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
