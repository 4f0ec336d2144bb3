//! A 2-of-3 threshold set of evaluators in one process, each on its own listeners on
//! 127.0.0.1 (public HTTP, and the peer API with mutually authenticated TLS): flows H and B
//! over HTTP equal the single evaluator under the dealt key; a flow A login through two
//! evaluators verifies at the unchanged relying party with the single evaluator's pseudonym;
//! the refusals of threshold mode have their own codes; the peer API refuses a client
//! without a certificate, one with a certificate from another CA, a replayed round and an
//! inversion over any key but flow A's and flow B's.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use blindnym::caller_auth::RequestSigner;
use blindnym::pseudonym::bulk::{DataHolder, Evaluator, Grants, MemoryQuota};
use blindnym::pseudonym::holder_derived::{self, MasterCredential};
use blindnym::pseudonym::{
    EvaluationBudget, KeyRatchet, RootSeed, ServiceId, SubjectId, VerifiedKeySet,
};
use blindnym::threshold::inversion::TweakRecord;
use blindnym::threshold::inversion::{DealRequest, ProductRequest, RunScope, Target};
use blindnym::threshold::{EpochShares, ShareResponse, Threshold};
use blindnym_server::dev::DEV_DOMAIN;
use blindnym_server::{AppState, Config, dev, peer, serve, serve_peers};
use sha2::{Digest, Sha256};
use support::{code, free_base_port, now, post};
use tokio::sync::oneshot;

const REALM: &str = "blindnym dev";

struct Set {
    urls: Vec<String>,
    states: Vec<Arc<AppState>>,
    configs: Vec<Config>,
    stops: Vec<oneshot::Sender<()>>,
}

/// The dev domain's record, coordinated by the evaluator at `url`, and its digest.
async fn domain_record(url: &str, key: &RequestSigner) -> (TweakRecord, String) {
    let (status, bytes) = post(
        &format!("{url}/v1/threshold/flow-b/tweak"),
        Some(key),
        DEV_DOMAIN.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    (
        TweakRecord::from_bytes(&bytes).unwrap(),
        hex::encode(Sha256::digest(&bytes)),
    )
}

impl Set {
    /// Stops every evaluator of the set.
    fn stop(self) {
        for stop in self.stops {
            let _ = stop.send(());
        }
    }
}

async fn start_set(dir: &Path) -> Set {
    start_set_with(dir, Threshold::new(2, 3).unwrap(), |_| {}).await
}

/// A dev set of `threshold`, each evaluator's configuration changed by `edit`.
async fn start_set_with(dir: &Path, threshold: Threshold, edit: impl Fn(&mut Config)) -> Set {
    let base = free_base_port(threshold.n());
    let files =
        dev::threshold_set(dir, threshold, SocketAddr::from(([127, 0, 0, 1], base))).unwrap();
    let (mut urls, mut configs, mut stops) = (Vec::new(), Vec::new(), Vec::new());
    let mut states = Vec::new();
    for file in files {
        let mut config = Config::load(&file).unwrap();
        edit(&mut config);
        let section = config.threshold.clone().unwrap();
        let state = Arc::new(AppState::new(&config).unwrap());
        let public = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .unwrap();
        let peers = tokio::net::TcpListener::bind(section.peer_listen)
            .await
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let (stop_peers, peers_stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(public, state.clone(), None, async move {
            let _ = stopped.await;
            let _ = stop_peers.send(());
        }));
        states.push(state.clone());
        tokio::spawn(serve_peers(
            peers,
            state,
            peer::server_config(&section).unwrap(),
            async move {
                let _ = peers_stopped.await;
            },
        ));
        urls.push(format!("http://{}", config.server.listen));
        configs.push(config);
        stops.push(stop);
    }
    Set {
        urls,
        states,
        configs,
        stops,
    }
}

async fn public_side(set: &Set, dir: &Path) -> (VerifiedKeySet, EpochShares) {
    support::public_side_of(dir, &set.urls[1], &set.urls[2]).await
}

async fn post_with(
    url: &str,
    signer: &RequestSigner,
    tweak: Option<&str>,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let headers = support::signed_headers(url, signer, tweak, None, &body);
    support::post_headers(url, &headers, body).await
}

fn single_epoch(dir: &Path) -> blindnym::pseudonym::EpochKeys {
    let seed = std::fs::read(dir.join("root.seed")).unwrap();
    KeyRatchet::new(&RootSeed::from_bytes(&seed).unwrap(), REALM.as_bytes(), 1)
        .unwrap()
        .keys()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flows_h_and_b_over_http_equal_the_single_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let set = start_set(dir.path()).await;
    let (keys, shares) = public_side(&set, dir.path()).await;
    let epoch = single_epoch(dir.path());
    let dh_key = support::data_holder(dir.path());

    // Flow B: evaluator 1 coordinates the inversion with its peers over mutual TLS; the
    // record it returns is the one evaluators 2 and 3 answer under.
    let (record, digest) = domain_record(&set.urls[0], &dh_key).await;
    let holder = DataHolder::new(keys.clone(), DEV_DOMAIN.as_bytes()).unwrap();
    let register = ["19800101-1234", "19911231-0000", "x"];
    let (batch, request) = holder.blind_batch(&register, &mut rand::rng()).unwrap();
    let mut responses = Vec::new();
    for url in &set.urls[1..] {
        let (status, body) = post_with(
            &format!("{url}/v1/threshold/flow-b/evaluate"),
            &dh_key,
            Some(&digest),
            request.to_bytes(),
        )
        .await;
        assert_eq!(status, 200);
        responses.push(ShareResponse::from_bytes(&body).unwrap());
    }
    let (pseudonyms, selection) = blindnym::threshold::flow_b::finalize_batch(
        &holder,
        &batch,
        &shares.bulk,
        &record,
        &responses,
        now(),
    )
    .unwrap();
    assert_eq!(selection.used, vec![2, 3]);
    let single = Evaluator::new(
        epoch.bulk(),
        Grants::new(),
        MemoryQuota::new(0),
        EvaluationBudget::default(),
    );
    for (identity, pseudonym) in register.iter().zip(&pseudonyms) {
        assert_eq!(
            &single
                .evaluate_direct(DEV_DOMAIN.as_bytes(), identity.as_bytes())
                .unwrap(),
            pseudonym
        );
    }

    // Flow H: share answers of evaluators 1 and 3 combine to the single evaluator's key; the
    // requests carry no credential.
    let shop = ServiceId::from_origin("https://shop.example").unwrap();
    let h_holder = holder_derived::Holder::new(
        keys.clone(),
        MasterCredential::from_bytes(&[7; 32]).unwrap(),
    );
    let (state, request) = h_holder.blind(&shop, &mut rand::rng()).unwrap();
    let mut answers = Vec::new();
    for url in [&set.urls[0], &set.urls[2]] {
        let (status, body) = post(
            &format!("{url}/v1/threshold/flow-h/evaluate"),
            None,
            request.to_bytes().to_vec(),
        )
        .await;
        assert_eq!(status, 200);
        answers.push(ShareResponse::from_bytes(&body).unwrap());
    }
    let (remote, _) = blindnym::threshold::flow_h::finalize(
        &h_holder,
        state,
        &shares.holder_derived,
        &answers,
        now(),
    )
    .unwrap();
    let (state, request) = h_holder.blind(&shop, &mut rand::rng()).unwrap();
    let local = holder_derived::Evaluator::new(epoch.holder_derived(), Default::default())
        .evaluate(&request, &mut rand::rng())
        .unwrap();
    let local = h_holder.finalize(state, &local, now()).unwrap();
    assert_eq!(
        remote.pseudonym(&shop).unwrap(),
        local.pseudonym(&shop).unwrap()
    );
    set.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn threshold_refusals_have_their_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let set = start_set(dir.path()).await;
    let (keys, _) = public_side(&set, dir.path()).await;
    let (dh_key, holder_key) = (
        support::data_holder(dir.path()),
        support::holder(dir.path()),
    );
    let holder = DataHolder::new(keys, DEV_DOMAIN.as_bytes()).unwrap();
    let (_, request) = holder.blind_batch(&["a"], &mut rand::rng()).unwrap();
    let evaluate = format!("{}/v1/threshold/flow-b/evaluate", set.urls[0]);

    // No inversion yet, no header, a made-up record: 409 TweakMismatch, nothing evaluated.
    for tweak in [None, Some("00".repeat(32))] {
        let (status, body) =
            post_with(&evaluate, &dh_key, tweak.as_deref(), request.to_bytes()).await;
        assert_eq!((status, code(&body).as_str()), (409, "TweakMismatch"));
    }
    let store = set.states[0].store();
    assert_eq!(
        (
            store
                .budget_used(&set.states[0].budget_key(1, "bulk"))
                .unwrap(),
            store
                .quota_used(b"dev data holder", DEV_DOMAIN.as_bytes())
                .unwrap()
        ),
        (0, 0),
        "a batch under the wrong record is refused before anything is charged"
    );
    // A domain the caller is not granted gets no inversion; a holder's key neither.
    for (signer, domain) in [(&dh_key, "another domain"), (&holder_key, DEV_DOMAIN)] {
        let (status, body) = post(
            &format!("{}/v1/threshold/flow-b/tweak", set.urls[0]),
            Some(signer),
            domain.as_bytes().to_vec(),
        )
        .await;
        assert_eq!((status, code(&body).as_str()), (403, "Unauthorized"));
    }
    let (status, _) = post(
        &format!("{}/v1/threshold/flow-b/tweak", set.urls[0]),
        None,
        DEV_DOMAIN.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 401);
    // The single evaluator's routes are not served in threshold mode.
    let (status, body) = post(
        &format!("{}/v1/flow-b/evaluate", set.urls[0]),
        Some(&dh_key),
        request.to_bytes(),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (404, "NotServed"));
    assert_eq!(
        set.configs[0].threshold.as_ref().unwrap().index,
        1,
        "evaluator order"
    );
    set.stop();
}

/// A blocking call to a peer listener with an optional client certificate (chain, key PEM).
fn peer_call(
    ca: &Path,
    client: Option<(&[u8], &[u8])>,
    url: &str,
    body: Option<Vec<u8>>,
) -> Result<(u16, Vec<u8>), String> {
    let certificates = |pem: &[u8]| {
        ureq::tls::parse_pem(pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let mut tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(
        &certificates(&std::fs::read(ca).unwrap()),
    ));
    if let Some((chain, key)) = client {
        tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(
            &certificates(chain),
            ureq::tls::PrivateKey::from_pem(key).unwrap(),
        )));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .build()
        .into();
    let response = match body {
        Some(body) => agent.post(url).send(&body[..]),
        None => agent.get(url).call(),
    }
    .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    Ok((status, response.into_body().read_to_vec().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_peer_api_takes_only_the_sets_certificates_and_no_replayed_round() {
    let dir = tempfile::tempdir().unwrap();
    let set = start_set(dir.path()).await;
    let section = set.configs[1].threshold.clone().unwrap();
    let peer_url = format!(
        "https://{}",
        set.configs[0].threshold.as_ref().unwrap().peer_listen
    );
    let ca = section.peer_ca_file.clone();
    let own = (
        std::fs::read(&section.peer_cert_file).unwrap(),
        std::fs::read(&section.peer_key_file).unwrap(),
    );
    let third = set.configs[2].threshold.clone().unwrap();
    let third = (
        std::fs::read(&third.peer_cert_file).unwrap(),
        std::fs::read(&third.peer_key_file).unwrap(),
    );
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let stranger = (
        stranger.cert.pem().into_bytes(),
        stranger.signing_key.serialize_pem().into_bytes(),
    );
    let run = hex::encode([9u8; 16]);
    let scope = RunScope::new(set.states[0].threshold().unwrap().epoch(), REALM.as_bytes());
    let deal = DealRequest {
        run: [9; 16],
        scope,
        target: Target::domain(DEV_DOMAIN.as_bytes()).unwrap(),
        participants: vec![1, 2, 3],
    }
    .to_bytes();
    let product_request = ProductRequest {
        run: [9; 16],
        dealings: Vec::new(),
    }
    .to_bytes();
    // No role byte asks for an inversion over the flow H key: an unknown role is malformed.
    let mut other_role = deal.clone();
    other_role[16 + 4 + 32] = b'H';
    let same_run_of_another_coordinator = deal.clone();
    let results = tokio::task::spawn_blocking(move || {
        let private = format!("{peer_url}/peer/v1/inversion/2/{run}/private");
        let deal_url = format!("{peer_url}/peer/v1/inversion/deal");
        (
            // No client certificate: the handshake fails.
            peer_call(&ca, None, &private, None),
            // A certificate from another issuer: the handshake fails.
            peer_call(&ca, Some((&stranger.0, &stranger.1)), &private, None),
            // Evaluator 2's certificate: authenticated; the run is unknown.
            peer_call(&ca, Some((&own.0, &own.1)), &private, None),
            // A round one, then the same run again: a replay is refused.
            peer_call(&ca, Some((&own.0, &own.1)), &deal_url, Some(deal.clone())),
            peer_call(&ca, Some((&own.0, &own.1)), &deal_url, Some(deal)),
            peer_call(&ca, Some((&own.0, &own.1)), &deal_url, Some(other_role)),
            // Evaluator 3 cannot move on the run evaluator 2 dealt out.
            peer_call(
                &ca,
                Some((&third.0, &third.1)),
                &format!("{peer_url}/peer/v1/inversion/product"),
                Some(product_request),
            ),
            // L5: evaluator 3 dealing evaluator 2's run id takes a run of its own; it neither
            // is refused nor blocks evaluator 2's.
            peer_call(
                &ca,
                Some((&third.0, &third.1)),
                &deal_url,
                Some(same_run_of_another_coordinator),
            ),
        )
    })
    .await
    .unwrap();
    assert!(results.0.is_err(), "{:?}", results.0);
    assert!(results.1.is_err(), "{:?}", results.1);
    let (status, body) = results.2.unwrap();
    assert_eq!((status, code(&body).as_str()), (409, "TweakMismatch"));
    assert_eq!(results.3.unwrap().0, 200);
    let (status, body) = results.4.unwrap();
    assert_eq!((status, code(&body).as_str()), (400, "Replayed"));
    let (status, body) = results.5.unwrap();
    assert_eq!((status, code(&body).as_str()), (400, "Malformed"));
    let (status, body) = results.6.unwrap();
    assert_eq!((status, code(&body).as_str()), (409, "TweakMismatch"));
    assert_eq!(
        results.7.unwrap().0,
        200,
        "runs are scoped by their coordinator"
    );
    set.stop();
}

async fn post_flow_a(
    holder: &RequestSigner,
    url: String,
    tweak: Option<&str>,
    session: Option<&str>,
    body: Vec<u8>,
) -> (u16, Option<String>, Vec<u8>) {
    support::post_signed(&url, holder, tweak, session, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flow_a_login_through_two_evaluators_verifies_at_the_unchanged_relying_party() {
    use blindnym::pseudonym::{ChannelBinding, MemoryNonceStore, attested};
    use blindnym::threshold::flow_a::{ShareEvaluation, combine_evaluations, finish};
    use blindnym::threshold::signing::SignatureShare;

    let dir = tempfile::tempdir().unwrap();
    let set = start_set(dir.path()).await;
    let (keys, shares) = public_side(&set, dir.path()).await;
    let epoch = single_epoch(dir.path());
    let shop = ServiceId::from_origin("https://shop.example").unwrap();
    let rp = attested::RelyingParty::new(keys.clone(), shop.clone()).unwrap();
    let channel = ChannelBinding::new([1; 32]);
    let alice = attested::Holder::new(keys.clone(), SubjectId::new("alice").unwrap()).unwrap();
    let holder = support::holder(dir.path());

    // The subject's record: evaluator 3 coordinates the inversion for the token's subject.
    let (status, _, record_bytes) = post_flow_a(
        &holder,
        format!("{}/v1/threshold/flow-a/record", set.urls[2]),
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, 200);
    let record = TweakRecord::from_bytes(&record_bytes).unwrap();
    let digest = hex::encode(Sha256::digest(&record_bytes));

    // Round one at evaluators 1 and 2, round two at the same two.
    let (pending, challenge) = rp.challenge(&mut rand::rng(), now());
    let (state, request) = alice
        .request(&shop, &challenge, &channel, &mut rand::rng())
        .unwrap();
    let (mut evaluations, mut sessions) = (Vec::new(), Vec::new());
    for url in &set.urls[..2] {
        let (status, session, body) = post_flow_a(
            &holder,
            format!("{url}/v1/threshold/flow-a/evaluate"),
            Some(&digest),
            None,
            request.to_bytes().to_vec(),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        evaluations.push(ShareEvaluation::from_bytes(&body).unwrap());
        sessions.push(session.unwrap());
    }
    let combination = combine_evaluations(
        &alice,
        &state,
        &shares.attested,
        &record,
        &evaluations,
        now(),
    )
    .unwrap();
    let mut signature_shares = Vec::new();
    for (url, session) in set.urls[..2].iter().zip(&sessions) {
        let (status, _, body) = post_flow_a(
            &holder,
            format!("{url}/v1/threshold/flow-a/sign"),
            None,
            Some(session),
            combination.request.to_bytes().unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        signature_shares.push(SignatureShare::from_bytes(&body).unwrap());
    }
    // A session's nonces sign once: the same round two again is refused.
    let (status, _, body) = post_flow_a(
        &holder,
        format!("{}/v1/threshold/flow-a/sign", set.urls[0]),
        None,
        Some(&sessions[0]),
        combination.request.to_bytes().unwrap(),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (409, "TweakMismatch"));

    let assertion = finish(
        &alice,
        state,
        &shares.signing,
        &combination,
        &signature_shares,
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

    // The single evaluator under the dealt key gives the same pseudonym.
    let (pending, challenge) = rp.challenge(&mut rand::rng(), now());
    let (state, request) = alice
        .request(&shop, &challenge, &channel, &mut rand::rng())
        .unwrap();
    let evaluation = attested::Evaluator::new(epoch.attested(), Default::default())
        .evaluate(
            &SubjectId::new("alice").unwrap(),
            &request,
            now(),
            &mut rand::rng(),
        )
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
    set.stop();
}

/// H1 (`../shared/reviews/threshold.md`): everything evaluator 3 received from a subject and
/// from a data holder, replayed to evaluators 1 and 2 on every threshold route, is refused
/// with its own reason — verbatim (signed for evaluator 3: `WrongAudience`) or readdressed
/// (`BadRequestSignature`) — and again at evaluator 3 itself (`ReplayedNonce`). No record,
/// share answer, session or signature share results.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_credential_seen_by_one_evaluator_is_refused_by_the_others() {
    use blindnym::pseudonym::{ChannelBinding, SubjectId, attested};

    let dir = tempfile::tempdir().unwrap();
    let set = start_set(dir.path()).await;
    let (keys, _) = public_side(&set, dir.path()).await;
    let (dh_key, holder_key) = (
        support::data_holder(dir.path()),
        support::holder(dir.path()),
    );
    let third = &set.urls[2];
    let authority_of_third = third.trim_start_matches("http://").to_owned();

    // What evaluator 3 sees: each request, sent once there and answered.
    /// A route, the headers a caller signed for evaluator 3, the body.
    type Seen = (&'static str, Vec<(String, String)>, Vec<u8>);
    let mut seen: Vec<Seen> = Vec::new();
    let mut send_to_third = async |route: &'static str,
                                   signer: &RequestSigner,
                                   tweak: Option<&str>,
                                   session: Option<&str>,
                                   body: Vec<u8>| {
        let url = format!("{third}{route}");
        let headers = support::signed_headers(&url, signer, tweak, session, &body);
        let mut request = support::client().post(&url).body(body.clone());
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get("blindnym-session")
            .map(|v| v.to_str().unwrap().to_owned());
        let answer = response.bytes().await.unwrap().to_vec();
        assert_eq!(status, 200, "{route}: {}", String::from_utf8_lossy(&answer));
        seen.push((route, headers, body));
        (answer, session)
    };

    // The data holder: its domain's record, then a batch under it.
    let (record, _) = send_to_third(
        "/v1/threshold/flow-b/tweak",
        &dh_key,
        None,
        None,
        DEV_DOMAIN.as_bytes().to_vec(),
    )
    .await;
    let digest = hex::encode(Sha256::digest(&record));
    let holder = DataHolder::new(keys.clone(), DEV_DOMAIN.as_bytes()).unwrap();
    let (_, batch) = holder
        .blind_batch(&["19800101-1234"], &mut rand::rng())
        .unwrap();
    send_to_third(
        "/v1/threshold/flow-b/evaluate",
        &dh_key,
        Some(&digest),
        None,
        batch.to_bytes(),
    )
    .await;
    // The subject: its record, round one, and a round two naming round one's session.
    let (record, _) = send_to_third(
        "/v1/threshold/flow-a/record",
        &holder_key,
        None,
        None,
        Vec::new(),
    )
    .await;
    let subject_digest = hex::encode(Sha256::digest(&record));
    let shop = ServiceId::from_origin("https://shop.example").unwrap();
    let rp = attested::RelyingParty::new(keys.clone(), shop.clone()).unwrap();
    let alice = attested::Holder::new(keys, SubjectId::new("alice").unwrap()).unwrap();
    let (_, challenge) = rp.challenge(&mut rand::rng(), now());
    let (_, request) = alice
        .request(
            &shop,
            &challenge,
            &ChannelBinding::new([1; 32]),
            &mut rand::rng(),
        )
        .unwrap();
    let (_, session) = send_to_third(
        "/v1/threshold/flow-a/evaluate",
        &holder_key,
        Some(&subject_digest),
        None,
        request.to_bytes().to_vec(),
    )
    .await;
    // Round two's body is not checked before its signature: any bytes stand in for it.
    let sign_url = format!("{third}/v1/threshold/flow-a/sign");
    let sign_headers = support::signed_headers(
        &sign_url,
        &holder_key,
        None,
        session.as_deref(),
        b"round two",
    );
    seen.push((
        "/v1/threshold/flow-a/sign",
        sign_headers,
        b"round two".to_vec(),
    ));
    // The record routes and renewals, as evaluator 3 would have seen them too.
    for (route, signer, body) in [
        ("/v1/threshold/flow-a/record/renew", &holder_key, Vec::new()),
        (
            "/v1/threshold/flow-b/tweak/renew",
            &dh_key,
            DEV_DOMAIN.as_bytes().to_vec(),
        ),
    ] {
        let url = format!("{third}{route}");
        seen.push((
            route,
            support::signed_headers(&url, signer, None, None, &body),
            body,
        ));
    }
    assert_eq!(
        seen.len(),
        7,
        "every threshold route a caller signs for (flow H takes none)"
    );

    for (route, headers, body) in &seen {
        for other in &set.urls[..2] {
            let url = format!("{other}{route}");
            // Verbatim, still addressed to evaluator 3.
            let mut verbatim = headers.clone();
            verbatim.push(("host".to_owned(), authority_of_third.clone()));
            let (status, answer) = support::post_headers(&url, &verbatim, body.clone()).await;
            assert_eq!(
                (status, code(&answer).as_str()),
                (401, "WrongAudience"),
                "{route} at {other}"
            );
            // Readdressed to this evaluator: the signature no longer verifies.
            let (status, answer) = support::post_headers(&url, headers, body.clone()).await;
            assert_eq!(
                (status, code(&answer).as_str()),
                (401, "BadRequestSignature"),
                "{route} at {other}"
            );
        }
    }
    // At evaluator 3 itself, each request it already answered is spent.
    for (route, headers, body) in &seen[..4] {
        let url = format!("{third}{route}");
        let (status, answer) = support::post_headers(&url, headers, body.clone()).await;
        assert_eq!(
            (status, code(&answer).as_str()),
            (401, "ReplayedNonce"),
            "{route} at evaluator 3"
        );
    }
    // Evaluators 1 and 2 hold no record of the subject but the one evaluator 3's genuine
    // request made, and counted nothing for a replay.
    for state in &set.states[..2] {
        assert_eq!(
            state
                .store()
                .budget_used(&state.budget_key(1, "attested"))
                .unwrap(),
            0
        );
        assert_eq!(
            state
                .store()
                .quota_used(b"dev data holder", DEV_DOMAIN.as_bytes())
                .unwrap(),
            0
        );
    }
    set.stop();
}

/// M3 (`../shared/reviews/threshold.md`): tweak shares of a past epoch are erased when the
/// evaluator starts under another: no row of it is left, and its bytes are nowhere in the
/// store's files. The current epoch's records survive the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tweak_shares_of_past_epochs_are_erased() {
    let dir = tempfile::tempdir().unwrap();
    let set = start_set(dir.path()).await;
    let dh_key = support::data_holder(dir.path());
    domain_record(&set.urls[0], &dh_key).await;
    let config = set.configs[0].clone();
    set.stop();
    // A share of an earlier epoch, as a store that lived through an epoch change holds.
    let store = config.server.data_dir.join("tweaks.sqlite3");
    let past = [0xa5u8; 32];
    {
        let db = rusqlite::Connection::open(&store).unwrap();
        db.execute(
            "INSERT INTO tweak_shares (epoch, role, input, record, share) VALUES (0, 66, ?1, ?2, ?3)",
            rusqlite::params![b"old domain".to_vec(), vec![0x5au8; 64], past.to_vec()],
        )
        .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let state = AppState::new(&config).unwrap();
    let threshold = state.threshold().unwrap();
    assert!(
        threshold
            .installed(&Target::domain(DEV_DOMAIN.as_bytes()).unwrap())
            .is_some(),
        "the current epoch's record survives"
    );
    let db = rusqlite::Connection::open(&store).unwrap();
    let rows: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM tweak_shares WHERE epoch != 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0);
    for entry in std::fs::read_dir(&config.server.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("tweaks.sqlite3") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(32).any(|w| w == past),
                "{} holds the past share",
                path.display()
            );
        }
    }
}

/// M2 and L6 (`../shared/reviews/threshold.md`): a peer cannot start a run under another
/// epoch or realm (refused before anything is dealt), for a domain no caller of the
/// participant is granted or a subject none of its callers is (no unmetered records for
/// tweaks nobody here serves, so the records kept are bounded by the configuration), faster
/// than its rate, nor one replacing a record the participant installed moments ago (no
/// targeted churn of a domain's or subject's record).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_cannot_start_a_run_out_of_scope_unserved_too_fast_or_over_a_fresh_record() {
    let dir = tempfile::tempdir().unwrap();
    let set = start_set_with(dir.path(), Threshold::new(2, 3).unwrap(), |config| {
        if let Some(threshold) = config.threshold.as_mut() {
            threshold.runs_per_second_per_peer = 1;
        }
    })
    .await;
    let dh_key = support::data_holder(dir.path());
    domain_record(&set.urls[0], &dh_key).await;
    let epoch = set.states[1].threshold().unwrap().epoch();
    let section = set.configs[2].threshold.clone().unwrap();
    let ca = section.peer_ca_file.clone();
    let third = (
        std::fs::read(&section.peer_cert_file).unwrap(),
        std::fs::read(&section.peer_key_file).unwrap(),
    );
    let deal_url = format!(
        "https://{}/peer/v1/inversion/deal",
        set.configs[1].threshold.as_ref().unwrap().peer_listen
    );
    let deal = |scope: RunScope, target: Target| {
        DealRequest {
            run: [3; 16],
            scope,
            target,
            participants: vec![1, 2, 3],
        }
        .to_bytes()
    };
    let ours = RunScope::new(epoch, REALM.as_bytes());
    let domain = |d: &[u8]| Target::domain(d).unwrap();
    let requests = vec![
        deal(
            RunScope::new(epoch + 1, REALM.as_bytes()),
            domain(DEV_DOMAIN.as_bytes()),
        ),
        deal(
            RunScope::new(epoch, b"another realm"),
            domain(DEV_DOMAIN.as_bytes()),
        ),
        deal(ours, domain(b"a domain nobody serves")),
        deal(
            ours,
            Target::Subject(SubjectId::new("nobody@example").unwrap()),
        ),
        // Served and in scope: the first takes the peer's one run this second and meets
        // the fresh record, the second finds no run left.
        deal(ours, domain(DEV_DOMAIN.as_bytes())),
        deal(ours, domain(DEV_DOMAIN.as_bytes())),
    ];
    let results = tokio::task::spawn_blocking(move || {
        requests
            .into_iter()
            .map(|body| {
                let (status, body) =
                    peer_call(&ca, Some((&third.0, &third.1)), &deal_url, Some(body)).unwrap();
                (status, code(&body))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let expected = [
        (409, "UnknownEpoch"),
        (400, "RealmMismatch"),
        (403, "Unauthorized"),
        (403, "Unauthorized"),
        (400, "Replayed"),
        (429, "RateLimited"),
    ];
    let results: Vec<(u16, &str)> = results.iter().map(|(s, c)| (*s, c.as_str())).collect();
    assert_eq!(results, expected);
    set.stop();
}

/// M5 (`../shared/reviews/threshold.md`): a caller's quota holds across evaluator subsets.
/// In a (2, 4) set whose data holder has a quota of 100, batches of 10 sent alternately to
/// evaluators {1, 2} and {3, 4} yield 100 pseudonyms, not the 200 that a quota of 100 at
/// each evaluator would give: each evaluator allows its share, ⌈100·2/4⌉ = 50.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_holds_across_disjoint_evaluator_subsets() {
    let dir = tempfile::tempdir().unwrap();
    let set = start_set_with(dir.path(), Threshold::new(2, 4).unwrap(), |config| {
        config.keys.quota = 100;
    })
    .await;
    let (keys, shares) = public_side(&set, dir.path()).await;
    let dh_key = support::data_holder(dir.path());
    let (record, digest) = domain_record(&set.urls[0], &dh_key).await;
    let holder = DataHolder::new(keys, DEV_DOMAIN.as_bytes()).unwrap();
    let (mut pseudonyms, mut refusals) = (0usize, 0usize);
    for round in 0..20 {
        let pair = if round % 2 == 0 { [0, 1] } else { [2, 3] };
        let register: Vec<String> = (0..10).map(|i| format!("{round:02}-{i}")).collect();
        let register: Vec<&str> = register.iter().map(String::as_str).collect();
        let (batch, request) = holder.blind_batch(&register, &mut rand::rng()).unwrap();
        let mut responses = Vec::new();
        for evaluator in pair {
            let (status, body) = post_with(
                &format!("{}/v1/threshold/flow-b/evaluate", set.urls[evaluator]),
                &dh_key,
                Some(&digest),
                request.to_bytes(),
            )
            .await;
            if status == 200 {
                responses.push(ShareResponse::from_bytes(&body).unwrap());
            } else {
                assert_eq!((status, code(&body).as_str()), (429, "QuotaExceeded"));
                refusals += 1;
            }
        }
        if let Ok((out, _)) = blindnym::threshold::flow_b::finalize_batch(
            &holder,
            &batch,
            &shares.bulk,
            &record,
            &responses,
            now(),
        ) {
            pseudonyms += out.len();
        }
    }
    assert_eq!(pseudonyms, 100, "the set's quota, not n/t times it");
    assert_eq!(
        refusals, 20,
        "every evaluator refused its last five batches"
    );
    set.stop();
}
