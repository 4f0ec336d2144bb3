//! Threshold keys over time among real evaluator processes (`spec/12-threshold.md` §12.13):
//! three `blindnym-server --ceremony` processes generate epoch 2 with no dealer; the set serves
//! it; a refresh gives every evaluator new shares after which the old ones no longer combine
//! with the new; a committee change moves the keys from 2 of 3 to 3 of 5. Flows H, A and B,
//! each over HTTP through `t` evaluator processes, give byte-identical pseudonyms before and
//! after the refresh and the committee change.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blindnym::pseudonym::bulk::DataHolder;
use blindnym::pseudonym::holder_derived::{self, MasterCredential};
use blindnym::pseudonym::{
    ChannelBinding, EpochPublicKeys, KeySet, KeySetSigner, MemoryNonceStore, Pseudonym, ServiceId,
    SignedKeySet, SubjectId, attested,
};
use blindnym::threshold::flow_a::{ShareEvaluation, combine_evaluations, finish};
use blindnym::threshold::flow_h::ShareEvaluator;
use blindnym::threshold::inversion::TweakRecord;
use blindnym::threshold::signing::SignatureShare;
use blindnym::threshold::{EpochShares, KeyShare, ShareResponse, SignedEpochShares, Threshold};
use blindnym_server::config::{Config, PeerSection};
use blindnym_server::dev::{self, DEV_DOMAIN, DEV_REALM};
use sha2::{Digest, Sha256};
use support::{free_base_port, now, post};

const SERVER: &str = env!("CARGO_BIN_EXE_blindnym-server");

/// An evaluator process, killed when dropped.
struct Evaluator {
    child: Child,
    url: String,
}

impl Drop for Evaluator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_file(config: &Path, what: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_file_name(format!("{what}.log")))
        .unwrap()
}

fn logs(configs: &[PathBuf], what: &str) -> String {
    configs
        .iter()
        .map(|c| {
            std::fs::read_to_string(c.with_file_name(format!("{what}.log"))).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// Starts every evaluator of `configs` and waits until each answers `/healthz`.
async fn start(configs: &[PathBuf]) -> Vec<Evaluator> {
    let mut running = Vec::new();
    for file in configs {
        let config = Config::load(file).unwrap();
        let child = Command::new(SERVER)
            .arg("--config")
            .arg(file)
            .stdout(Stdio::null())
            .stderr(log_file(file, "server"))
            .spawn()
            .unwrap();
        running.push(Evaluator {
            child,
            url: format!("http://{}", config.server.listen),
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for evaluator in &mut running {
        loop {
            let up = support::client()
                .get(format!("{}/healthz", evaluator.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            if let Ok(Some(status)) = evaluator.child.try_wait() {
                panic!(
                    "an evaluator exited ({status}):\n{}",
                    logs(configs, "server")
                );
            }
            assert!(Instant::now() < deadline, "{}", logs(configs, "server"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    running
}

/// Runs the ceremony `plan` in one `--ceremony` process per configuration, all at once; each
/// must succeed.
fn ceremony(configs: &[PathBuf], plan: &str) {
    let (codes, logs) = ceremony_with_plans(configs, &vec![plan; configs.len()]);
    assert!(codes.iter().all(|ok| *ok), "{logs}");
}

/// What every participant left for the signer: the same public side from each.
fn unsigned_public(configs: &[PathBuf]) -> EpochShares {
    let sides: Vec<Vec<u8>> = configs
        .iter()
        .map(|c| {
            let config = Config::load(c).unwrap();
            std::fs::read(config.server.data_dir.join("epoch-shares.unsigned")).unwrap()
        })
        .collect();
    assert!(
        sides.windows(2).all(|w| w[0] == w[1]),
        "every participant ends with the same public side"
    );
    EpochShares::from_bytes(&sides[0]).unwrap()
}

/// The key-set signer's part: the next set listing `epochs` and `public` signed beside it,
/// installed where every evaluator reads them.
fn sign(dir: &Path, epochs: Vec<EpochPublicKeys>, public: &EpochShares) {
    let signer = KeySetSigner::from_bytes(&std::fs::read(dir.join("signer.key")).unwrap()).unwrap();
    let previous =
        SignedKeySet::from_bytes(&std::fs::read(dir.join("key-set.bin")).unwrap()).unwrap();
    let start = now() - 60;
    let set = signer.sign(
        KeySet::new(
            DEV_REALM.as_bytes(),
            previous.unverified().sequence() + 1,
            start,
            start + 30 * 86_400,
            epochs,
        )
        .unwrap(),
    );
    let shares = SignedEpochShares::sign(&signer, &set, public).unwrap();
    std::fs::write(dir.join("key-set.bin"), set.to_bytes()).unwrap();
    std::fs::write(dir.join("epoch-shares.bin"), shares.to_bytes()).unwrap();
}

/// A signed POST that must succeed: the session header and the body.
async fn signed_post(
    url: String,
    signer: &blindnym::caller_auth::RequestSigner,
    tweak: Option<&str>,
    session: Option<&str>,
    body: Vec<u8>,
) -> (Option<String>, Vec<u8>) {
    let (status, session, body) = support::post_signed(&url, signer, tweak, session, body).await;
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    (session, body)
}

/// The pseudonyms of flows B (three identities of the dev domain), H (a master credential
/// at a shop) and A (alice at the shop), each through the evaluators `through` over HTTP.
async fn pseudonyms(
    dir: &Path,
    set: &[Evaluator],
    through: &[usize],
) -> (Vec<Pseudonym>, Pseudonym, Pseudonym) {
    let urls: Vec<&str> = through.iter().map(|&i| set[i - 1].url.as_str()).collect();
    let (keys, shares) = support::public_side(dir, urls[0]).await;
    let shop = ServiceId::from_origin("https://shop.example").unwrap();

    // Flow B: the first evaluator coordinates the domain's record.
    let dh_key = support::data_holder(dir);
    let (status, record_bytes) = post(
        &format!("{}/v1/threshold/flow-b/tweak", urls[0]),
        Some(&dh_key),
        DEV_DOMAIN.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&record_bytes));
    let record = TweakRecord::from_bytes(&record_bytes).unwrap();
    let digest = hex::encode(Sha256::digest(&record_bytes));
    let holder = DataHolder::new(keys.clone(), DEV_DOMAIN.as_bytes()).unwrap();
    let register = ["19800101-1234", "19911231-0000", "x"];
    let (batch, request) = holder.blind_batch(&register, &mut rand::rng()).unwrap();
    let mut responses = Vec::new();
    for url in &urls {
        let (_, body) = signed_post(
            format!("{url}/v1/threshold/flow-b/evaluate"),
            &dh_key,
            Some(&digest),
            None,
            request.to_bytes(),
        )
        .await;
        responses.push(ShareResponse::from_bytes(&body).unwrap());
    }
    let (bulk, _) = blindnym::threshold::flow_b::finalize_batch(
        &holder,
        &batch,
        &shares.bulk,
        &record,
        &responses,
        now(),
    )
    .unwrap();

    // Flow H: anonymous share answers.
    let h_holder = holder_derived::Holder::new(
        keys.clone(),
        MasterCredential::from_bytes(&[7; 32]).unwrap(),
    );
    let (state, request) = h_holder.blind(&shop, &mut rand::rng()).unwrap();
    let mut answers = Vec::new();
    for url in &urls {
        let (status, body) = post(
            &format!("{url}/v1/threshold/flow-h/evaluate"),
            None,
            request.to_bytes().to_vec(),
        )
        .await;
        assert_eq!(status, 200);
        answers.push(ShareResponse::from_bytes(&body).unwrap());
    }
    let (service_key, _) = blindnym::threshold::flow_h::finalize(
        &h_holder,
        state,
        &shares.holder_derived,
        &answers,
        now(),
    )
    .unwrap();
    let holder_derived = service_key.pseudonym(&shop).unwrap();

    // Flow A: alice's record, two rounds at the same evaluators, verified by the RP.
    let holder_key = support::holder(dir);
    let (_, record_bytes) = signed_post(
        format!("{}/v1/threshold/flow-a/record", urls[0]),
        &holder_key,
        None,
        None,
        Vec::new(),
    )
    .await;
    let record = TweakRecord::from_bytes(&record_bytes).unwrap();
    let digest = hex::encode(Sha256::digest(&record_bytes));
    let rp = attested::RelyingParty::new(keys.clone(), shop.clone()).unwrap();
    let channel = ChannelBinding::new([1; 32]);
    let alice = attested::Holder::new(keys.clone(), SubjectId::new("alice").unwrap()).unwrap();
    let (pending, challenge) = rp.challenge(&mut rand::rng(), now());
    let (state, request) = alice
        .request(&shop, &challenge, &channel, &mut rand::rng())
        .unwrap();
    let (mut evaluations, mut sessions) = (Vec::new(), Vec::new());
    for url in &urls {
        let (session, body) = signed_post(
            format!("{url}/v1/threshold/flow-a/evaluate"),
            &holder_key,
            Some(&digest),
            None,
            request.to_bytes().to_vec(),
        )
        .await;
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
    for (url, session) in urls.iter().zip(&sessions) {
        let (_, body) = signed_post(
            format!("{url}/v1/threshold/flow-a/sign"),
            &holder_key,
            None,
            Some(session),
            combination.request.to_bytes().unwrap(),
        )
        .await;
        signature_shares.push(SignatureShare::from_bytes(&body).unwrap());
    }
    let assertion = finish(
        &alice,
        state,
        &shares.signing,
        &combination,
        &signature_shares,
        now(),
    )
    .unwrap();
    let attested = rp
        .verify(
            pending,
            &assertion,
            &channel,
            now(),
            &MemoryNonceStore::new(),
        )
        .unwrap();
    (bulk, holder_derived, attested)
}

/// A peer CA and, for evaluators `1..=n`, a certificate and key; each evaluator's
/// configuration rewritten for a set of `n` (new members get folders, ports and share paths
/// like the first three).
fn committee_of(dir: &Path, base: u16, n: u16) -> Vec<PathBuf> {
    let template = Config::load(&dir.join("evaluator-1/config.toml")).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "blindnym test peer CA, committee of 5",
    );
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let ca_file = dir.join("peer-ca-2.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let write_key = |path: &Path, bytes: &[u8]| {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
    };
    let mut digests = Vec::new();
    for index in 1..=n {
        let folder = dir.join(format!("evaluator-{index}"));
        std::fs::create_dir_all(&folder).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let certificate = params.signed_by(&key, &ca).unwrap();
        std::fs::write(folder.join("peer-cert-2.pem"), certificate.pem()).unwrap();
        write_key(
            &folder.join("peer-key-2.pem"),
            key.serialize_pem().as_bytes(),
        );
        digests.push(hex::encode(Sha256::digest(certificate.der().as_ref())));
    }
    let port = |index: u16, offset: u16| base + index - 1 + offset;
    let mut files = Vec::new();
    for index in 1..=n {
        let folder = dir.join(format!("evaluator-{index}"));
        let mut config = template.clone();
        config.server.listen = SocketAddr::from(([127, 0, 0, 1], port(index, 0)));
        config.server.authority = Some(config.server.listen.to_string());
        config.server.data_dir = folder.join("data");
        let section = config.threshold.as_mut().unwrap();
        section.index = index;
        section.holder_derived_share_file = folder.join("holder-derived.share");
        section.bulk_share_file = folder.join("bulk.share");
        section.attested_share_file = folder.join("attested.share");
        section.signing_share_file = folder.join("signing.share");
        section.peer_listen = SocketAddr::from(([127, 0, 0, 1], port(index, 100)));
        section.peer_cert_file = folder.join("peer-cert-2.pem");
        section.peer_key_file = folder.join("peer-key-2.pem");
        section.peer_ca_file = ca_file.clone();
        section.peers = (1..=n)
            .filter(|&i| i != index)
            .map(|i| PeerSection {
                index: i,
                url: format!("https://127.0.0.1:{}", port(i, 100)),
                cert_sha256: digests[usize::from(i - 1)].clone(),
            })
            .collect();
        let file = folder.join("config.toml");
        std::fs::write(&file, config.to_toml().unwrap()).unwrap();
        files.push(file);
    }
    files
}

fn stop(set: Vec<Evaluator>) {
    drop(set);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn evaluator_processes_generate_an_epoch_refresh_it_and_change_committee_with_the_same_pseudonyms()
 {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let base = free_base_port(5);
    let configs = dev::threshold_set(
        dir,
        Threshold::new(2, 3).unwrap(),
        SocketAddr::from(([127, 0, 0, 1], base)),
    )
    .unwrap();

    // Epoch 2 with no dealer: the three evaluators generate it among themselves.
    ceremony(
        &configs,
        "id = \"epoch 2\"\nkind = \"generate\"\nepoch = 2\nt = 2\nn = 3\n",
    );
    let public = unsigned_public(&configs);
    let keys = EpochPublicKeys::from_bytes(
        &std::fs::read(dir.join("evaluator-1/data/epoch-keys.bin")).unwrap(),
    )
    .unwrap();
    assert_eq!((public.epoch, keys.epoch), (2, 2));
    sign(dir, vec![keys], &public);
    let set = start(&configs).await;
    let (_, served) = support::public_side(dir, &set[0].url).await;
    assert_eq!(
        served, public,
        "each evaluator installed its generated shares"
    );
    let before = pseudonyms(dir, &set, &[1, 2]).await;
    assert_eq!(pseudonyms(dir, &set, &[2, 3]).await, before);
    stop(set);
    let old_share = std::fs::read(dir.join("evaluator-1/holder-derived.share")).unwrap();

    // A proactive refresh dealt by evaluators 1 and 3: new shares, the same keys.
    ceremony(
        &configs,
        "id = \"refresh\"\nkind = \"refresh\"\nepoch = 2\nt = 2\nn = 3\ndealers = [1, 3]\n",
    );
    let refreshed = unsigned_public(&configs);
    assert_eq!(
        refreshed.public_keys(0).unwrap(),
        public.public_keys(0).unwrap()
    );
    assert_ne!(refreshed, public);
    let listed = SignedKeySet::from_bytes(&std::fs::read(dir.join("key-set.bin")).unwrap())
        .unwrap()
        .unverified()
        .epochs()
        .to_vec();
    sign(dir, listed.clone(), &refreshed);
    let set = start(&configs).await;
    assert_ne!(
        std::fs::read(dir.join("evaluator-1/holder-derived.share")).unwrap(),
        old_share,
        "the old share is gone from disk"
    );
    assert!(!dir.join("evaluator-1/holder-derived.share.next").exists());
    assert_eq!(pseudonyms(dir, &set, &[1, 3]).await, before);
    assert_eq!(pseudonyms(dir, &set, &[1, 2]).await, before);

    // The old share beside a new one: checked against either public side, the pair fails.
    let (keys_now, _) = support::public_side(dir, &set[0].url).await;
    let shop = ServiceId::from_origin("https://shop.example").unwrap();
    let h_holder =
        holder_derived::Holder::new(keys_now, MasterCredential::from_bytes(&[7; 32]).unwrap());
    let old = ShareEvaluator::new(
        2,
        KeyShare::from_bytes(&old_share).unwrap(),
        Default::default(),
    );
    for side in [&refreshed.holder_derived, &public.holder_derived] {
        let (state, request) = h_holder.blind(&shop, &mut rand::rng()).unwrap();
        let (status, body) = post(
            &format!("{}/v1/threshold/flow-h/evaluate", set[1].url),
            None,
            request.to_bytes().to_vec(),
        )
        .await;
        assert_eq!(status, 200);
        let answers = [
            old.evaluate(&request, &mut rand::rng()).unwrap(),
            ShareResponse::from_bytes(&body).unwrap(),
        ];
        assert!(
            blindnym::threshold::flow_h::finalize(&h_holder, state, side, &answers, now()).is_err(),
            "an old share does not combine with a new one"
        );
    }
    stop(set);

    // A committee change from 2 of 3 to 3 of 5, dealt by evaluators 1 and 2: evaluators 4
    // and 5 join with shares of the same keys.
    let committee = committee_of(dir, base, 5);
    ceremony(
        &committee,
        "id = \"five\"\nkind = \"reshare\"\nepoch = 2\nt = 3\nn = 5\ndealers = [1, 2]\n",
    );
    let five = unsigned_public(&committee);
    assert_eq!(five.params(), Threshold::new(3, 5).unwrap());
    assert_eq!(five.public_keys(0).unwrap(), public.public_keys(0).unwrap());
    sign(dir, listed, &five);
    let set = start(&committee).await;
    assert_eq!(pseudonyms(dir, &set, &[3, 4, 5]).await, before);
    assert_eq!(pseudonyms(dir, &set, &[1, 2, 5]).await, before);
    stop(set);
}

/// Runs `--ceremony` for each configuration with its own plan text, all at once: whether each
/// succeeded, and the logs. One still running after four minutes fails the test.
fn ceremony_with_plans(configs: &[PathBuf], plans: &[&str]) -> (Vec<bool>, String) {
    let children: Vec<Child> = configs
        .iter()
        .zip(plans)
        .map(|(file, plan)| {
            let path = file.with_file_name("plan.toml");
            std::fs::write(&path, plan).unwrap();
            Command::new(SERVER)
                .arg("--config")
                .arg(file)
                .arg("--ceremony")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(log_file(file, "ceremony"))
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut codes = Vec::new();
    for mut child in children {
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("a ceremony hung:\n{}", logs(configs, "ceremony"));
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        codes.push(status.success());
    }
    (codes, logs(configs, "ceremony"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ceremony_with_a_participant_on_another_plan_or_outside_the_set_fails_and_changes_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let base = free_base_port(3);
    let configs = dev::threshold_set(
        dir,
        Threshold::new(2, 3).unwrap(),
        SocketAddr::from(([127, 0, 0, 1], base)),
    )
    .unwrap();
    let plan = "id = \"epoch 2\"\nkind = \"generate\"\nepoch = 2\nt = 2\nn = 3\ntimeout_s = 5\n";
    // Evaluator 3 was given another plan (another t): its messages are for another ceremony,
    // and the others' are for one it does not run.
    let other = "id = \"epoch 2\"\nkind = \"generate\"\nepoch = 2\nt = 3\nn = 3\ntimeout_s = 5\n";
    let (codes, logs) = ceremony_with_plans(&configs, &[plan, plan, other]);
    assert_eq!(codes, vec![false; 3], "{logs}");
    assert!(logs.contains("HTTP 404"), "{logs}");
    // Nothing was left for the signer or the next start.
    for index in 1..=3 {
        let folder = dir.join(format!("evaluator-{index}"));
        assert!(!folder.join("holder-derived.share.next").exists());
        assert!(!folder.join("data/epoch-shares.unsigned").exists());
    }
    // A plan whose committee leaves this evaluator out, or names an evaluator no peer entry
    // knows, is refused before anything is sent.
    let (codes, logs) = ceremony_with_plans(
        &configs[..1],
        &["id = \"x\"\nkind = \"refresh\"\nepoch = 1\nt = 2\nn = 3\ndealers = [1, 4]\n"],
    );
    assert_eq!(codes, vec![false], "{logs}");
    assert!(
        logs.contains("no [[threshold.peers]] entry for evaluator 4"),
        "{logs}"
    );
    // A refresh of an epoch that is not the published one.
    let (codes, logs) = ceremony_with_plans(
        &configs[..1],
        &["id = \"x\"\nkind = \"refresh\"\nepoch = 7\nt = 2\nn = 3\ndealers = [1, 2]\n"],
    );
    assert_eq!(codes, vec![false], "{logs}");
    assert!(
        logs.contains("the published shares are of epoch 1"),
        "{logs}"
    );
    // The set still serves epoch 1 with its old shares.
    let set = start(&configs).await;
    let (_, served) = support::public_side(dir, &set[2].url).await;
    assert_eq!(served.epoch, 1);
    stop(set);
}
