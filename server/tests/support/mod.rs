//! Helpers of the service's integration tests: a server on 127.0.0.1, requests, codes.
#![allow(
    clippy::unwrap_used,
    dead_code,
    reason = "test helpers outside #[test]: a panic is a failed test; each test file uses some"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use blindnym::pseudonym::{KeySetSigner, KeySetVerifier, SignedKeySet, VerifiedKeySet};
use blindnym_server::config::read_secret;
use blindnym_server::{AppState, Config, dev, serve};
use serde_json::Value;
use tokio::sync::oneshot;

pub struct Running {
    pub url: String,
    pub state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<blindnym_server::Result<()>>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

pub async fn start(config: &Config) -> Running {
    let state = Arc::new(AppState::new(config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state.clone(), None, async move {
        let _ = stopped.await;
    }));
    Running {
        url: format!("http://{address}"),
        state,
        stop: Some(stop),
        task,
    }
}

pub fn dev_config(dir: &Path) -> Config {
    dev::config(dir, "127.0.0.1:0".parse().unwrap()).unwrap()
}

/// An HTTP client for the tests. The workspace builds reqwest with rustls and no built-in
/// crypto provider (the service hands its peer client a preconfigured rustls): install ring
/// as the process default first.
pub fn client() -> reqwest::Client {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub async fn post(url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
    let client = client();
    let mut request = client.post(url).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.bytes().await.unwrap().to_vec(),
    )
}

pub fn code(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap();
    value["error"].as_str().unwrap().to_owned()
}

pub async fn key_set(running: &Running, config: &Config) -> VerifiedKeySet {
    let bytes = client()
        .get(format!("{}/v1/key-set", running.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let signer = KeySetSigner::from_bytes(
        read_secret(config.keys.signer_file.as_ref().unwrap())
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    KeySetVerifier::new(signer.verifying_key(), config.keys.realm.as_bytes())
        .accept(&SignedKeySet::from_bytes(&bytes).unwrap(), now())
        .unwrap()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
