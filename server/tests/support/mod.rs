//! Helpers of the service's integration tests: a server on 127.0.0.1, requests, codes.
#![allow(
    clippy::unwrap_used,
    dead_code,
    reason = "test helpers outside #[test]: a panic is a failed test; each test file uses some"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use blindnym::caller_auth::{self, RequestSigner};
use blindnym::pseudonym::{KeySetVerifier, SignedKeySet, VerifiedKeySet};
use blindnym_server::{AppState, Config, dev, serve};
use serde_json::Value;
use tokio::sync::oneshot;

pub struct Running {
    pub url: String,
    /// The development folder: the configuration's data folder's parent.
    pub dev_dir: std::path::PathBuf,
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    // Callers sign for the address they reach: this one.
    let mut config = config.clone();
    config.server.authority = Some(address.to_string());
    let state = Arc::new(AppState::new(&config).unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state.clone(), None, async move {
        let _ = stopped.await;
    }));
    Running {
        url: format!("http://{address}"),
        dev_dir: config
            .server
            .data_dir
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf(),
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

/// The development data holder's request key in `dir` (flow B).
pub fn data_holder(dir: &Path) -> RequestSigner {
    dev::caller_key(dir, dev::DEV_DATA_HOLDER_KEY).unwrap()
}

/// The development holder's request key in `dir` (flow A, subject alice).
pub fn holder(dir: &Path) -> RequestSigner {
    dev::caller_key(dir, dev::DEV_HOLDER_KEY).unwrap()
}

/// The headers of a POST to `url` signed by `signer` (`blindnym::caller_auth`), for the
/// development realm, with the optional tweak and session headers it covers.
pub fn signed_headers(
    url: &str,
    signer: &RequestSigner,
    tweak: Option<&str>,
    session: Option<&str>,
    body: &[u8],
) -> Vec<(String, String)> {
    let signed = signer
        .sign_post(
            url,
            dev::DEV_REALM,
            tweak,
            session,
            body,
            now(),
            &mut rand::rng(),
        )
        .unwrap();
    let mut headers = vec![
        ("content-digest".to_owned(), signed.content_digest),
        ("signature-input".to_owned(), signed.signature_input),
        ("signature".to_owned(), signed.signature),
        (
            caller_auth::REALM_HEADER.to_owned(),
            dev::DEV_REALM.to_owned(),
        ),
    ];
    if let Some(tweak) = tweak {
        headers.push(("blindnym-tweak".to_owned(), tweak.to_owned()));
    }
    if let Some(session) = session {
        headers.push(("blindnym-session".to_owned(), session.to_owned()));
    }
    headers
}

/// A POST of `body` with exactly `headers`.
pub async fn post_headers(
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut request = client().post(url).body(body);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.bytes().await.unwrap().to_vec(),
    )
}

/// A POST signed by `signer`, or unsigned.
pub async fn post(url: &str, signer: Option<&RequestSigner>, body: Vec<u8>) -> (u16, Vec<u8>) {
    let client = client();
    let mut request = client.post(url).body(body.clone());
    if let Some(signer) = signer {
        for (name, value) in signed_headers(url, signer, None, None, &body) {
            request = request.header(name, value);
        }
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

/// The body of a GET.
pub async fn get(url: String) -> Vec<u8> {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

pub async fn key_set(running: &Running, config: &Config) -> VerifiedKeySet {
    let bytes = get(format!("{}/v1/key-set", running.url)).await;
    let anchor: [u8; 32] = hex::decode(config.keys.anchor.as_ref().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let anchor = blindnym::pseudonym::key_set::decode_verifying_key(&anchor).unwrap();
    KeySetVerifier::new(anchor, config.keys.realm.as_bytes())
        .accept(&SignedKeySet::from_bytes(&bytes).unwrap(), now())
        .unwrap()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A base port with its next `n − 1` and the `n` 100 above free.
pub fn free_base_port(n: u16) -> u16 {
    use std::net::TcpListener;
    // Random starts: tests running at once (threads or processes) rarely meet, and a base
    // taken between the check and the bind fails loudly rather than silently.
    (0..200)
        .map(|_| 21_000 + rand::random::<u16>() % 30_000)
        .find(|&base| {
            (0..n).all(|i| {
                TcpListener::bind(("127.0.0.1", base + i)).is_ok()
                    && TcpListener::bind(("127.0.0.1", base + 100 + i)).is_ok()
            })
        })
        .unwrap()
}

/// The development set's key-set verifier: the anchor in `dir/anchor.hex`, the dev realm.
pub fn dev_verifier(dir: &Path) -> KeySetVerifier {
    let anchor: [u8; 32] = hex::decode(std::fs::read_to_string(dir.join("anchor.hex")).unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    KeySetVerifier::new(
        blindnym::pseudonym::key_set::decode_verifying_key(&anchor).unwrap(),
        dev::DEV_REALM.as_bytes(),
    )
}

/// The key set one threshold evaluator serves at `key_set_url` and the verification shares
/// another (or the same) serves at `shares_url`, verified against `dir`'s anchor.
pub async fn public_side_of(
    dir: &Path,
    key_set_url: &str,
    shares_url: &str,
) -> (VerifiedKeySet, blindnym::threshold::EpochShares) {
    let mut verifier = dev_verifier(dir);
    let keys = verifier
        .accept(
            &SignedKeySet::from_bytes(&get(format!("{key_set_url}/v1/key-set")).await).unwrap(),
            now(),
        )
        .unwrap();
    let shares = blindnym::threshold::SignedEpochShares::from_bytes(
        &get(format!("{shares_url}/v1/threshold/epoch-shares")).await,
    )
    .unwrap()
    .verify(&verifier, &keys, now())
    .unwrap();
    (keys, shares)
}

/// [`public_side_of`] one evaluator.
pub async fn public_side(
    dir: &Path,
    url: &str,
) -> (VerifiedKeySet, blindnym::threshold::EpochShares) {
    public_side_of(dir, url, url).await
}

/// A POST signed by `signer` with optional `Blindnym-Tweak` and `Blindnym-Session` headers:
/// the status, the session header of the answer, the body.
pub async fn post_signed(
    url: &str,
    signer: &RequestSigner,
    tweak: Option<&str>,
    session: Option<&str>,
    body: Vec<u8>,
) -> (u16, Option<String>, Vec<u8>) {
    let mut request = client().post(url).body(body.clone());
    for (name, value) in signed_headers(url, signer, tweak, session, &body) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let session = response
        .headers()
        .get("blindnym-session")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        session,
        response.bytes().await.unwrap().to_vec(),
    )
}
