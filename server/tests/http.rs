//! The evaluator over real HTTP on 127.0.0.1: every flow end to end equals the in-process
//! library; each refusal gets its own status and code and leaves the counts consistent; the
//! counts survive a restart over the same store.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

mod support;

use std::path::Path;
use std::sync::Arc;

use blindnym::pseudonym::bulk::{BatchResponse, DataHolder};
use blindnym::pseudonym::holder_derived::{self, MasterCredential};
use blindnym::pseudonym::{ChannelBinding, MemoryNonceStore, ServiceId, SubjectId, attested};
use blindnym_server::config::read_secret;
use blindnym_server::dev::DEV_DOMAIN;
use blindnym_server::{AppState, Config, serve};
use support::{code, dev_config, key_set, now, post, start};
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_over_http_equals_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(dir.path());
    let (dh_key, holder_key) = (
        support::data_holder(dir.path()),
        support::holder(dir.path()),
    );
    let running = start(&config).await;
    let keys = key_set(&running, &config).await;
    let mut rng = rand::rng();

    // Flow B: a register of three through the service, against the non-blind evaluation of
    // the same key (the in-process library).
    let holder = DataHolder::new(keys.clone(), DEV_DOMAIN.as_bytes()).unwrap();
    let register = ["19800101-1234", "19911231-0000", "x"];
    let (batch, request) = holder.blind_batch(&register, &mut rng).unwrap();
    let (status, body) = post(
        &format!("{}/v1/flow-b/evaluate", running.url),
        Some(&dh_key),
        request.to_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let pseudonyms = holder
        .finalize_batch(&batch, &BatchResponse::from_bytes(&body).unwrap(), now())
        .unwrap();
    let seed = read_secret(&dir.path().join(blindnym_server::dev::DEV_ROOT_SEED)).unwrap();
    let root = blindnym::pseudonym::RootSeed::from_bytes(seed.as_ref()).unwrap();
    let epoch = blindnym::pseudonym::KeyRatchet::new(&root, config.keys.realm.as_bytes(), 1)
        .unwrap()
        .keys()
        .unwrap();
    let local = blindnym::pseudonym::bulk::Evaluator::new(
        epoch.bulk(),
        blindnym::pseudonym::bulk::Grants::new(),
        blindnym::pseudonym::bulk::MemoryQuota::new(0),
        blindnym::pseudonym::EvaluationBudget::default(),
    );
    for (identity, pseudonym) in register.iter().zip(&pseudonyms) {
        assert_eq!(
            &local
                .evaluate_direct(DEV_DOMAIN.as_bytes(), identity.as_bytes())
                .unwrap(),
            pseudonym
        );
    }
    assert_eq!(
        running
            .state
            .store()
            .quota_used(b"dev data holder", DEV_DOMAIN.as_bytes())
            .unwrap(),
        3
    );

    // Flow H: the holder's service key through the service equals the in-process one.
    let shop = ServiceId::from_origin("https://shop.example").unwrap();
    let credential = MasterCredential::from_bytes(&[7; 32]).unwrap();
    let h_holder = holder_derived::Holder::new(keys.clone(), credential);
    let (state, request) = h_holder.blind(&shop, &mut rng).unwrap();
    let (status, body) = post(
        &format!("{}/v1/flow-h/evaluate", running.url),
        None,
        request.to_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let remote = h_holder
        .finalize(
            state,
            &holder_derived::Response::from_bytes(&body).unwrap(),
            now(),
        )
        .unwrap();
    let (state, request) = h_holder.blind(&shop, &mut rng).unwrap();
    let response = holder_derived::Evaluator::new(epoch.holder_derived(), Default::default())
        .evaluate(&request, &mut rng)
        .unwrap();
    let local_key = h_holder.finalize(state, &response, now()).unwrap();
    assert_eq!(
        remote.pseudonym(&shop).unwrap(),
        local_key.pseudonym(&shop).unwrap()
    );

    // Flow A: the subject comes from the holder's key (alice); the relying party accepts the
    // assertion and the pseudonym equals the in-process evaluator's for alice.
    let rp = attested::RelyingParty::new(keys.clone(), shop.clone()).unwrap();
    let channel = ChannelBinding::new([1; 32]);
    let alice = attested::Holder::new(keys.clone(), SubjectId::new("alice").unwrap()).unwrap();
    let (pending, challenge) = rp.challenge(&mut rng, now());
    let (state, request) = alice
        .request(&shop, &challenge, &channel, &mut rng)
        .unwrap();
    let (status, body) = post(
        &format!("{}/v1/flow-a/evaluate", running.url),
        Some(&holder_key),
        request.to_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let assertion = alice
        .finish(
            state,
            &attested::Evaluation::from_bytes(&body).unwrap(),
            now(),
        )
        .unwrap();
    let remote = rp
        .verify(
            pending,
            &assertion,
            &channel,
            now(),
            &MemoryNonceStore::new(),
        )
        .unwrap();
    let (pending, challenge) = rp.challenge(&mut rng, now());
    let (state, request) = alice
        .request(&shop, &challenge, &channel, &mut rng)
        .unwrap();
    let evaluation = attested::Evaluator::new(epoch.attested(), Default::default())
        .evaluate(&SubjectId::new("alice").unwrap(), &request, now(), &mut rng)
        .unwrap();
    let assertion = alice.finish(state, &evaluation, now()).unwrap();
    let local = rp
        .verify(
            pending,
            &assertion,
            &channel,
            now(),
            &MemoryNonceStore::new(),
        )
        .unwrap();
    assert_eq!(remote, local);

    // Health and metrics.
    let health = support::client()
        .get(format!("{}/healthz", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let metrics = support::client()
        .get(format!("{}/metrics", running.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("blindnym_evaluations_total{flow=\"B\"} 3"),
        "{metrics}"
    );
    // What the flow B key's budget has left, for the operator to rotate in time.
    let left = format!(
        "blindnym_budget_remaining{{role=\"bulk\"}} {}",
        config.keys.epoch_budget - 3
    );
    assert!(metrics.contains(&left), "{metrics}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_have_their_own_status_and_leave_counts_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = dev_config(dir.path());
    let (dh_key, holder_key) = (
        support::data_holder(dir.path()),
        support::holder(dir.path()),
    );
    config.keys.quota = 4;
    config.server.max_body_bytes = 4096;
    let running = start(&config).await;
    let keys = key_set(&running, &config).await;
    let mut rng = rand::rng();
    let url = format!("{}/v1/flow-b/evaluate", running.url);
    let holder = DataHolder::new(keys.clone(), DEV_DOMAIN.as_bytes()).unwrap();
    let (_, three) = holder.blind_batch(&["a", "b", "c"], &mut rng).unwrap();
    let (_, two) = holder.blind_batch(&["d", "e"], &mut rng).unwrap();
    let quota = || {
        running
            .state
            .store()
            .quota_used(b"dev data holder", DEV_DOMAIN.as_bytes())
            .unwrap()
    };
    let budget = || {
        running
            .state
            .store()
            .budget_used(&running.state.budget_key(1, "bulk"))
            .unwrap()
    };

    // Unauthenticated: no signature, or a key no caller has.
    let (status, body) = post(&url, None, three.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (401, "Unauthenticated"));
    let stranger = blindnym::caller_auth::RequestSigner::generate(&mut rand::rng());
    let (status, body) = post(&url, Some(&stranger), three.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (401, "UnknownCaller"));
    // A holder's key may not use flow B; another domain is not granted.
    let (status, body) = post(&url, Some(&holder_key), three.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (403, "Unauthorized"));
    let other = DataHolder::new(keys.clone(), b"another domain").unwrap();
    let (_, elsewhere) = other.blind_batch(&["a"], &mut rng).unwrap();
    let (status, body) = post(&url, Some(&dh_key), elsewhere.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (403, "Unauthorized"));
    // Malformed bytes: the decoder's own error.
    let mut bad = three.to_bytes();
    bad.push(0);
    let (status, body) = post(&url, Some(&dh_key), bad).await;
    assert_eq!((status, code(&body).as_str()), (400, "InvalidLength"));
    // Oversized: refused before the handler.
    let (status, _) = post(&url, Some(&dh_key), vec![0; 8192]).await;
    assert_eq!(status, 413);
    assert_eq!((quota(), budget()), (0, 0), "no refusal spent anything");

    // Three fit the quota of four; two more do not, and spend budget but not quota.
    let (status, _) = post(&url, Some(&dh_key), three.to_bytes()).await;
    assert_eq!(status, 200);
    let (status, body) = post(&url, Some(&dh_key), two.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (429, "QuotaExceeded"));
    assert_eq!((quota(), budget()), (3, 5));
    running.stop().await;

    // Over budget: a store with a budget of 6 has one left.
    config.keys.quota = 100;
    config.keys.epoch_budget = 6;
    let running = start(&config).await;
    let (status, body) = post(
        &url.replace(&url[..url.find("/v1").unwrap()], &running.url),
        Some(&dh_key),
        two.to_bytes(),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (503, "BudgetExhausted"));
    assert_eq!(
        running
            .state
            .store()
            .budget_used(&running.state.budget_key(1, "bulk"))
            .unwrap(),
        5,
        "a refusal spends nothing"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = dev_config(dir.path());
    let dh_key = support::data_holder(dir.path());
    config.keys.quota = 5;
    let running = start(&config).await;
    let keys = key_set(&running, &config).await;
    let holder = DataHolder::new(keys, DEV_DOMAIN.as_bytes()).unwrap();
    let (_, request) = holder
        .blind_batch(&["a", "b", "c"], &mut rand::rng())
        .unwrap();
    let (status, _) = post(
        &format!("{}/v1/flow-b/evaluate", running.url),
        Some(&dh_key),
        request.to_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    running.stop().await;

    // A new process of the evaluator over the same store: 3 of 5 are spent.
    let running = start(&config).await;
    assert_eq!(
        running
            .state
            .store()
            .quota_used(b"dev data holder", DEV_DOMAIN.as_bytes())
            .unwrap(),
        3
    );
    let (status, body) = post(
        &format!("{}/v1/flow-b/evaluate", running.url),
        Some(&dh_key),
        request.to_bytes(),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (429, "QuotaExceeded"));
    running.stop().await;
}

#[test]
fn loose_secret_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed");
    std::fs::write(&path, [7u8; 32]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_secret(&path),
            Err(blindnym_server::ServerError::Config(_))
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_eq!(read_secret(&path).unwrap().as_ref(), &[7u8; 32]);
}

#[test]
fn the_example_configuration_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let config = Config::load(&path).unwrap();
    assert_eq!(config.callers.len(), 2);
    assert_eq!(config.callers[1].subject.as_deref(), Some("alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_and_plain_http_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(dir.path());
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    blindnym_server::config::write_private(&key, certified.signing_key.serialize_pem().as_bytes())
        .unwrap();
    let tls = blindnym_server::tls::server_config(&cert, &key).unwrap();

    let state = Arc::new(AppState::new(&config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state, Some(tls), async move {
        let _ = stopped.await;
    }));

    // A client that trusts the certificate gets the key set over TLS.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = connector.connect(name, tcp).await.unwrap();
    stream
        .write_all(b"GET /v1/key-set HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = support::client()
        .get(format!("http://{address}/healthz"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    let _ = stop.send(());
    task.await.unwrap().unwrap();

    // A key file others may read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(blindnym_server::tls::server_config(&cert, &key).is_err());
    }
}

/// L7 (`../shared/reviews/threshold.md`): a flow H evaluation names no one. It takes no
/// credential and refuses one; what the evaluator keeps of it (store, metrics) names no
/// caller; its rate limit needs no identity; a configuration that would give a flow H caller
/// an identity is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_h_evaluations_carry_no_identity() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = dev_config(dir.path());
    config.server.flow_h_per_second = 3;
    let running = start(&config).await;
    let keys = key_set(&running, &config).await;
    let holder_key = support::holder(dir.path());
    let url = format!("{}/v1/flow-h/evaluate", running.url);
    let h_holder =
        holder_derived::Holder::new(keys, MasterCredential::from_bytes(&[7; 32]).unwrap());
    let shop = ServiceId::from_origin("https://shop.example").unwrap();
    let (_, request) = h_holder.blind(&shop, &mut rand::rng()).unwrap();

    // A signed or bearer request is refused, not recorded.
    let (status, body) = post(&url, Some(&holder_key), request.to_bytes().to_vec()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "CredentialOnAnonymousRoute")
    );
    let bearer = vec![("authorization".to_owned(), "Bearer alice".to_owned())];
    let (status, _) = support::post_headers(&url, &bearer, request.to_bytes().to_vec()).await;
    assert_eq!(status, 400);
    // Anonymous: answered, within a rate that needs no identity.
    let mut answered = 0;
    let mut limited = None;
    for _ in 0..6 {
        let (status, body) = post(&url, None, request.to_bytes().to_vec()).await;
        match status {
            200 => answered += 1,
            _ => limited = Some((status, code(&body))),
        }
    }
    assert!(answered >= 3, "the rate's burst is answered");
    assert_eq!(limited, Some((429, "RateLimited".to_owned())));

    // Nothing kept names a caller: no nonce, no quota row, the budget by role only.
    let db = rusqlite::Connection::open(config.server.data_dir.join("blindnym.sqlite3")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM nonces"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM quotas"), 0);
    let key = running.state.budget_key(1, "holder-derived");
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM budgets WHERE key != '{key}'"
        )),
        0
    );
    let metrics = support::client()
        .get(format!("{}/metrics", running.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in ["dev holder", "alice", &holder_key.public_key_hex()] {
        assert!(!metrics.contains(name), "metrics name {name}");
    }
    running.stop().await;

    // A caller listed for flow H is refused at start, with or without a subject.
    for subject in [None, Some("alice".to_owned())] {
        let mut config = dev_config(dir.path());
        config.callers[1].flows = vec!["H".into()];
        config.callers[1].subject = subject;
        let error = AppState::new(&config).unwrap_err().to_string();
        assert!(error.contains("flow H takes no caller"), "{error}");
    }
}

/// Issue 20: the evaluator serves the signed key set it was given, byte for byte across
/// restarts, and a holder that persists its last accepted set accepts it again after the
/// restart (before, every start signed a new set with sequence 1, which such a holder refused
/// as a rollback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_set_is_stable_across_restarts() {
    use blindnym::pseudonym::{KeySetVerifier, SignedKeySet};
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(dir.path());
    let running = start(&config).await;
    let first = support::get(format!("{}/v1/key-set", running.url)).await;
    let anchor: [u8; 32] = hex::decode(config.keys.anchor.as_ref().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let anchor = blindnym::pseudonym::key_set::decode_verifying_key(&anchor).unwrap();
    let mut verifier = KeySetVerifier::new(anchor, config.keys.realm.as_bytes());
    verifier
        .accept(&SignedKeySet::from_bytes(&first).unwrap(), now())
        .unwrap();
    let persisted = verifier.last_accepted_set().unwrap().to_bytes();
    running.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    // A restart, as `blindnym-server --dev` does it: the configuration made again.
    let config = dev_config(dir.path());
    let running = start(&config).await;
    let second = support::get(format!("{}/v1/key-set", running.url)).await;
    assert_eq!(first, second, "the same bytes after a restart");
    let mut restored = KeySetVerifier::with_last_accepted_set(
        anchor,
        config.keys.realm.as_bytes(),
        &SignedKeySet::from_bytes(&persisted).unwrap(),
    )
    .unwrap();
    assert!(
        restored
            .accept(&SignedKeySet::from_bytes(&second).unwrap(), now())
            .is_ok()
    );
    running.stop().await;
}

/// Issue 20: the root seed is read once. The first start begins the ratchet and writes its
/// state (mode 0600); a start that still names the seed beside existing state is refused,
/// and one without it serves the same keys from the state alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_seed_is_refused_once_ratchet_state_exists() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = dev_config(dir.path());
    // A second evaluator of the same keys, at its first start: no state yet, the seed named.
    let fresh_state = dir.path().join("fresh").join("ratchet.state");
    config.keys.ratchet_state_file = Some(fresh_state.clone());
    config.keys.root_seed_file = Some(dir.path().join(blindnym_server::dev::DEV_ROOT_SEED));
    assert!(!fresh_state.exists());
    AppState::new(&config).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fresh_state)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let refused = AppState::new(&config).err().unwrap().to_string();
    assert!(
        refused.contains("root_seed_file") && refused.contains("consumed once"),
        "{refused}"
    );
    // Without the seed, from the state alone: the key set (signed for the dev evaluator's
    // keys, the same seed's) still lists this evaluator's keys.
    config.keys.root_seed_file = None;
    AppState::new(&config).unwrap();
}

/// Signs, as the development signer, a key set of `epochs` with `sequence` into the
/// evaluator's `key_set_file`.
fn sign_dev_key_set(
    dir: &Path,
    config: &Config,
    sequence: u64,
    epochs: Vec<blindnym::pseudonym::EpochPublicKeys>,
) {
    use blindnym::pseudonym::{KeySet, KeySetSigner};
    let secret = read_secret(&dir.join(blindnym_server::dev::DEV_SIGNER)).unwrap();
    let signer = KeySetSigner::from_bytes(secret.as_ref()).unwrap();
    let set = KeySet::new(
        config.keys.realm.as_bytes(),
        sequence,
        now() - 60,
        now() + 30 * 86_400,
        epochs,
    )
    .unwrap();
    std::fs::write(
        config.keys.key_set_file.as_ref().unwrap(),
        signer.sign(set).to_bytes(),
    )
    .unwrap();
}

/// Issue 20: a key whose budget is spent refuses; the operator rotates (the evaluator
/// stopped), the signer signs a set listing both epochs under the next sequence number, and
/// the restarted evaluator answers under the new epoch, serves flow A migrations and flow H's
/// previous epoch, and takes flow B under a named epoch. Once a set leaves the old epoch out,
/// the next start erases its keys: migrations are refused and nothing on the evaluator's disk
/// computes the old epoch any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_serves_the_next_epoch_and_a_migration() {
    use blindnym::pseudonym::{KeyRatchet, KeySetVerifier, SignedKeySet};
    let dir = tempfile::tempdir().unwrap();
    let mut config = dev_config(dir.path());
    config.keys.epoch_budget = 2;
    let (dh_key, holder_key) = (
        support::data_holder(dir.path()),
        support::holder(dir.path()),
    );
    // A deployment keeps no root seed: only the ratchet state is on the evaluator's disk.
    std::fs::remove_file(dir.path().join(blindnym_server::dev::DEV_ROOT_SEED)).unwrap();
    let anchor: [u8; 32] = hex::decode(config.keys.anchor.as_ref().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let anchor = blindnym::pseudonym::key_set::decode_verifying_key(&anchor).unwrap();
    let mut verifier = KeySetVerifier::new(anchor, config.keys.realm.as_bytes());
    let mut accept = |bytes: &[u8]| {
        verifier
            .accept(&SignedKeySet::from_bytes(bytes).unwrap(), now())
            .unwrap()
    };
    let mut rng = rand::rng();
    let shop = ServiceId::from_origin("https://shop.example").unwrap();
    let channel = ChannelBinding::new([7; 32]);
    let alice = SubjectId::new("alice").unwrap();
    let credential = MasterCredential::generate(&mut rng);

    // Epoch 1: one flow A login and one flow H evaluation; a batch of two spends the bulk
    // key's budget, and the next batch is refused.
    let running = start(&config).await;
    let first = accept(&support::get(format!("{}/v1/key-set", running.url)).await);
    let login = async |keys: &blindnym::pseudonym::VerifiedKeySet, url: &str, path: &str| {
        let rp = attested::RelyingParty::new(keys.clone(), shop.clone()).unwrap();
        let holder = attested::Holder::new(keys.clone(), alice.clone()).unwrap();
        let (pending, challenge) = rp.challenge(&mut rand::rng(), now());
        let (state, request) = holder
            .request(&shop, &challenge, &channel, &mut rand::rng())
            .unwrap();
        let (status, body) = post(
            &format!("{url}{path}"),
            Some(&holder_key),
            request.to_bytes().to_vec(),
        )
        .await;
        (rp, holder, pending, state, status, body)
    };
    let (rp, holder, pending, state, status, body) =
        login(&first, &running.url, "/v1/flow-a/evaluate").await;
    assert_eq!(status, 200);
    let assertion = holder
        .finish(
            state,
            &attested::Evaluation::from_bytes(&body).unwrap(),
            now(),
        )
        .unwrap();
    let before = rp
        .verify(
            pending,
            &assertion,
            &channel,
            now(),
            &MemoryNonceStore::new(),
        )
        .unwrap();
    let h_holder = holder_derived::Holder::new(first.clone(), credential.clone());
    let (state, request) = h_holder.blind(&shop, &mut rng).unwrap();
    let (status, body) = post(
        &format!("{}/v1/flow-h/evaluate", running.url),
        None,
        request.to_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let h_before = h_holder
        .finalize(
            state,
            &holder_derived::Response::from_bytes(&body).unwrap(),
            now(),
        )
        .unwrap()
        .pseudonym(&shop)
        .unwrap();
    let data_holder = DataHolder::new(first.clone(), DEV_DOMAIN.as_bytes()).unwrap();
    let (_, two) = data_holder.blind_batch(&["a", "b"], &mut rng).unwrap();
    let flow_b = format!("{}/v1/flow-b/evaluate", running.url);
    let (status, _) = post(&flow_b, Some(&dh_key), two.to_bytes()).await;
    assert_eq!(status, 200);
    let (status, body) = post(&flow_b, Some(&dh_key), two.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (503, "BudgetExhausted"));
    let metrics =
        String::from_utf8(support::get(format!("{}/metrics", running.url)).await).unwrap();
    assert!(
        metrics.contains("blindnym_budget_remaining{role=\"bulk\"} 0"),
        "{metrics}"
    );
    running.stop().await;

    // The rotation, then the signer's set: epochs 1 and 2, sequence 2.
    let next = blindnym_server::single::rotate(&config, None).unwrap();
    assert_eq!(next.epoch, 2);
    let previous_state = blindnym_server::single::previous_state_path(&config);
    assert!(previous_state.exists());
    sign_dev_key_set(dir.path(), &config, 2, vec![first.set().epochs()[0], next]);
    let running = start(&config).await;
    let second = accept(&support::get(format!("{}/v1/key-set", running.url)).await);
    assert_eq!(second.set().sequence(), 2);
    assert_eq!(second.current(now()).unwrap().epoch, 2);

    // Flow B works again, under the new epoch or naming it; an unknown epoch is refused.
    let flow_b = format!("{}/v1/flow-b/evaluate", running.url);
    let data_holder = DataHolder::new(second.clone(), DEV_DOMAIN.as_bytes()).unwrap();
    let (batch, two) = data_holder.blind_batch(&["a", "b"], &mut rng).unwrap();
    let (status, body) = post(&flow_b, Some(&dh_key), two.to_bytes()).await;
    assert_eq!(status, 200);
    let response = BatchResponse::from_bytes(&body).unwrap();
    assert_eq!(response.epoch, 2);
    data_holder
        .finalize_batch(&batch, &response, now())
        .unwrap();
    let named = |epoch: &str| {
        let mut headers = support::signed_headers(&flow_b, &dh_key, None, None, &two.to_bytes());
        headers.push((
            blindnym_server::api::EPOCH_HEADER.to_owned(),
            epoch.to_owned(),
        ));
        headers
    };
    let (status, body) = support::post_headers(&flow_b, &named("3"), two.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (409, "UnknownEpoch"));
    // Epoch 1 is still taken within the transition window, and its spent key refuses.
    let (status, body) = support::post_headers(&flow_b, &named("1"), two.to_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (503, "BudgetExhausted"));

    // Flow A answers under epoch 2; a migration gives the RP alice's epoch-1 pseudonym,
    // unchanged, beside her new one.
    let (rp, holder, pending, state, status, body) =
        login(&second, &running.url, "/v1/flow-a/evaluate").await;
    assert_eq!(status, 200);
    let evaluation = attested::Evaluation::from_bytes(&body).unwrap();
    assert_eq!(evaluation.epoch, 2);
    let assertion = holder.finish(state, &evaluation, now()).unwrap();
    let after = rp
        .verify(
            pending,
            &assertion,
            &channel,
            now(),
            &MemoryNonceStore::new(),
        )
        .unwrap();
    assert_ne!(before, after, "every pseudonym changes at rotation");
    let (rp, holder, pending, state, status, body) =
        login(&second, &running.url, "/v1/flow-a/migrate").await;
    assert_eq!(status, 200);
    let migration = holder
        .finish_migration(
            state,
            &attested::MigrationEvaluation::from_bytes(&body).unwrap(),
            now(),
        )
        .unwrap();
    let (old, new) = rp
        .verify_migration(
            pending,
            &migration,
            &channel,
            now(),
            &MemoryNonceStore::new(),
        )
        .unwrap();
    assert_eq!((old, new), (before, after));

    // Flow H: the previous epoch's answer, for `finalize_previous`, is the same key as before.
    let h_holder = holder_derived::Holder::new(second.clone(), credential.clone());
    let (state, request) = h_holder.blind(&shop, &mut rng).unwrap();
    let (status, body) = post(
        &format!("{}/v1/flow-h/evaluate/previous", running.url),
        None,
        request.to_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let old_key = h_holder
        .finalize_previous(
            state,
            &holder_derived::Response::from_bytes(&body).unwrap(),
            now(),
        )
        .unwrap();
    assert_eq!(old_key.pseudonym(&shop).unwrap(), h_before);
    running.stop().await;

    // The signer retires epoch 1 (sequence 3); the next start erases its state.
    sign_dev_key_set(dir.path(), &config, 3, vec![next]);
    let running = start(&config).await;
    accept(&support::get(format!("{}/v1/key-set", running.url)).await);
    assert!(
        !previous_state.exists(),
        "the retired epoch's state is erased"
    );
    let (_, _, _, _, status, body) = login(&second, &running.url, "/v1/flow-a/migrate").await;
    assert_eq!((status, code(&body).as_str()), (409, "StaleEpoch"));
    let (status, body) = post(
        &format!("{}/v1/flow-h/evaluate/previous", running.url),
        None,
        request.to_bytes().to_vec(),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (409, "StaleEpoch"));
    running.stop().await;
    // Nothing left in the evaluator's folder computes epoch 1.
    let state = std::fs::read(blindnym_server::single::ratchet_state_path(&config)).unwrap();
    let ratchet = KeyRatchet::from_bytes(&state).unwrap();
    assert_eq!(ratchet.epoch(), 2);
    assert!(matches!(
        ratchet.keys_for(1),
        Err(blindnym::Error::EpochErased)
    ));
    let leftovers: Vec<_> = std::fs::read_dir(&config.server.data_dir)
        .unwrap()
        .filter_map(|entry| {
            let bytes = std::fs::read(entry.unwrap().path()).ok()?;
            KeyRatchet::from_bytes(&bytes).ok()
        })
        .filter(|ratchet| ratchet.epoch() < 2)
        .collect();
    assert!(leftovers.is_empty());
}
