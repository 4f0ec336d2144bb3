//! `blindnym-server --dev`: a local evaluator with generated keys and two callers' request
//! keys, for trying things out. Plain HTTP on 127.0.0.1; never for a deployment.

use std::path::Path;

use blindnym::caller_auth::RequestSigner;
use rand::RngExt as _;

use crate::config::{
    CallerSection, Config, KeysSection, ServerSection, write_private, write_secret,
};
use crate::error::{Result, ServerError};

/// The data holder's request key in the development folder (flow B, domain [`DEV_DOMAIN`]).
pub const DEV_DATA_HOLDER_KEY: &str = "data-holder.key";
/// The holder's request key in the development folder (flow A, subject `alice`).
pub const DEV_HOLDER_KEY: &str = "holder.key";
/// The flow B domain the development data holder may use.
pub const DEV_DOMAIN: &str = "dev domain";
/// The development realm.
pub const DEV_REALM: &str = "blindnym dev";

/// The request key in `dir/name`, made (mode 0600) when missing.
///
/// # Errors
/// [`ServerError::Config`] when the file cannot be read, written or parsed.
pub fn caller_key(dir: &Path, name: &str) -> Result<RequestSigner> {
    let path = dir.join(name);
    if !path.exists() {
        let key = RequestSigner::generate(&mut rand::rng());
        write_private(&path, key.to_hex().as_bytes())?;
    }
    crate::config::check_private(&path)?;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?,
    );
    RequestSigner::from_hex(&text)
        .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
}

/// The development root seed in `dir` (kept there, unlike a deployment's, so that tests can
/// recompute the development keys).
pub const DEV_ROOT_SEED: &str = "root.seed";
/// The development key-set signer in `dir` (on a deployment it lives on the signer's machine).
pub const DEV_SIGNER: &str = "signer.key";
/// The development signed key set in `dir`.
pub const DEV_KEY_SET: &str = "single-key-set.bin";

/// Plays the key-set signer for a development evaluator: signs `keys`' epoch into
/// `dir/single-key-set.bin` when it is missing or within a week of its end (the next sequence
/// number, the epoch's first start kept), so restarts serve the same bytes.
fn dev_key_set(dir: &Path, realm: &str, keys: &blindnym::pseudonym::EpochKeys) -> Result<String> {
    use blindnym::pseudonym::{KeySet, KeySetSigner, SignedKeySet};
    let signer =
        KeySetSigner::from_bytes(crate::config::read_secret(&dir.join(DEV_SIGNER))?.as_ref())?;
    let path = dir.join(DEV_KEY_SET);
    let now = crate::kit::now();
    let old = std::fs::read(&path)
        .ok()
        .and_then(|bytes| SignedKeySet::from_bytes(&bytes).ok());
    let fresh = old
        .as_ref()
        .is_some_and(|set| set.unverified().not_after() > now + 7 * 86_400);
    if !fresh {
        let not_before = old
            .as_ref()
            .and_then(|set| {
                set.unverified()
                    .epochs()
                    .iter()
                    .find(|e| e.epoch == keys.epoch())
            })
            .map_or(now.saturating_sub(60), |entry| entry.not_before);
        let sequence = old
            .as_ref()
            .map_or(1, |set| set.unverified().sequence() + 1);
        let set = KeySet::new(
            realm.as_bytes(),
            sequence,
            not_before.min(now.saturating_sub(60)),
            now + 30 * 86_400,
            vec![keys.public(not_before)],
        )?;
        crate::config::write_private_atomic(&path, &signer.sign(set).to_bytes())?;
    }
    Ok(hex::encode(signer.verifying_key().as_bytes()))
}

/// A development configuration in `dir`: fresh secrets (mode 0600), the ratchet state begun
/// from the development root seed, a key set signed for it, a store, two callers whose
/// request keys are in `dir` ([`DEV_DATA_HOLDER_KEY`], [`DEV_HOLDER_KEY`]).
///
/// # Errors
/// [`crate::ServerError::Config`] when the files cannot be written.
pub fn config(dir: &Path, listen: std::net::SocketAddr) -> Result<Config> {
    use blindnym::pseudonym::KeyRatchet;
    let mut rng = rand::rng();
    let root_seed_file = dir.join(DEV_ROOT_SEED);
    let signer_file = dir.join(DEV_SIGNER);
    for path in [&root_seed_file, &signer_file] {
        if !path.exists() {
            let secret: [u8; 32] = rng.random();
            write_secret(path, &secret)?;
        }
    }
    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| ServerError::Config(format!("{}: {e}", data_dir.display())))?;
    let ratchet_state = data_dir.join("ratchet.state");
    let ratchet = if ratchet_state.exists() {
        KeyRatchet::from_bytes(&zeroize::Zeroizing::new(crate::kit::read_file(
            &ratchet_state,
        )?))?
    } else {
        // The development seed stays in `dir` (tests recompute the keys from it); the
        // configuration names only the state.
        crate::single::begin_ratchet(&root_seed_file, DEV_REALM.as_bytes(), &ratchet_state)?
    };
    let anchor = dev_key_set(dir, DEV_REALM, &ratchet.keys()?)?;
    let data_holder = caller_key(dir, DEV_DATA_HOLDER_KEY)?.public_key_hex();
    let holder = caller_key(dir, DEV_HOLDER_KEY)?.public_key_hex();
    Ok(Config {
        server: ServerSection {
            listen,
            data_dir,
            postgres_url_file: None,
            insecure_http: true,
            tls_cert_file: None,
            tls_key_file: None,
            max_body_bytes: 2_200_000,
            request_timeout_ms: 30_000,
            authority: None,
            flow_h_per_second: 200,
        },
        keys: KeysSection {
            realm: DEV_REALM.into(),
            root_seed_file: None,
            ratchet_state_file: Some(ratchet_state),
            key_set_file: Some(dir.join(DEV_KEY_SET)),
            anchor: Some(anchor),
            epoch_budget: blindnym::pseudonym::DEFAULT_EVALUATION_BUDGET,
            quota: 1_000_000,
        },
        threshold: None,
        callers: vec![
            CallerSection {
                name: "dev data holder".into(),
                public_key: data_holder,
                flows: vec!["B".into()],
                subject: None,
                domains: vec![DEV_DOMAIN.into()],
            },
            CallerSection {
                name: "dev holder".into(),
                public_key: holder,
                flows: vec!["A".into()],
                subject: Some("alice".into()),
                domains: vec![],
            },
        ],
    })
}

/// `blindnym-server --dev-threshold T/N`: a development threshold set in `dir`. A dealer
/// splits the keys of the development root seed (so pseudonyms equal the single development
/// evaluator's, `spec/12-threshold.md` §12.4), signs the key set and the verification shares,
/// makes a CA and one peer certificate per evaluator, and writes `evaluator-I/config.toml`
/// for each: public HTTP on `listen`'s port + I − 1, the peer listener (mutual TLS) on that
/// port + 100. Returns the configuration files.
///
/// # Errors
/// [`crate::ServerError::Config`] when a file cannot be written or `dir` already holds a set.
pub fn threshold_set(
    dir: &Path,
    params: blindnym::threshold::Threshold,
    listen: std::net::SocketAddr,
) -> Result<Vec<std::path::PathBuf>> {
    use blindnym::pseudonym::{KeyRatchet, KeySet, KeySetSigner, RootSeed};
    use blindnym::threshold::{SignedEpochShares, deal_epoch};

    use sha2::{Digest, Sha256};

    use crate::config::{PeerSection, ThresholdSection, read_secret};

    let fail = |e: &dyn std::fmt::Display| ServerError::Config(format!("dev threshold: {e}"));
    let base = config(dir, listen)?;
    let realm = base.keys.realm.clone();
    let (seed_file, signer_file) = (dir.join(DEV_ROOT_SEED), dir.join(DEV_SIGNER));
    let root = RootSeed::from_bytes(read_secret(&seed_file)?.as_ref())?;
    let keys = KeyRatchet::new(&root, realm.as_bytes(), 1)?.keys()?;
    let signer = KeySetSigner::from_bytes(read_secret(&signer_file)?.as_ref())?;
    let mut rng = rand::rng();
    let (shares, public) = deal_epoch(&keys, params, &mut rng)?;
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(60);
    let set = KeySet::new(
        realm.as_bytes(),
        1,
        start,
        start + 30 * 86_400,
        vec![keys.public(start)],
    )?;
    let write = |path: &Path, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| fail(&format!("{}: {e}", path.display())))
    };
    let key_set_file = dir.join("key-set.bin");
    let epoch_shares_file = dir.join("epoch-shares.bin");
    let signed_set = signer.sign(set);
    write(&key_set_file, &signed_set.to_bytes())?;
    write(
        &epoch_shares_file,
        &SignedEpochShares::sign(&signer, &signed_set, &public)?.to_bytes(),
    )?;
    let anchor = hex::encode(signer.verifying_key().as_bytes());
    write(&dir.join("anchor.hex"), anchor.as_bytes())?;

    // The peer CA and one certificate per evaluator (for 127.0.0.1, client and server).
    let ca_key = rcgen::KeyPair::generate().map_err(|e| fail(&e))?;
    let mut ca_params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "blindnym dev peer CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(|e| fail(&e))?;
    let peer_ca_file = dir.join("peer-ca.pem");
    write(&peer_ca_file, ca.pem().as_bytes())?;
    let port = |index: u16, offset: u16| listen.port().saturating_add(index - 1 + offset);
    let mut certificates = Vec::new();
    for share in &shares {
        let folder = dir.join(format!("evaluator-{}", share.index()));
        std::fs::create_dir_all(&folder).map_err(|e| fail(&e))?;
        let key = rcgen::KeyPair::generate().map_err(|e| fail(&e))?;
        let mut params =
            rcgen::CertificateParams::new(vec![listen.ip().to_string()]).map_err(|e| fail(&e))?;
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("blindnym dev evaluator {}", share.index()),
        );
        let certificate = params.signed_by(&key, &ca).map_err(|e| fail(&e))?;
        write(&folder.join("peer-cert.pem"), certificate.pem().as_bytes())?;
        write_private(&folder.join("peer-key.pem"), key.serialize_pem().as_bytes())?;
        write_private(
            &folder.join("holder-derived.share"),
            share.holder_derived.to_bytes().as_ref(),
        )?;
        write_private(&folder.join("bulk.share"), share.bulk.to_bytes().as_ref())?;
        write_private(
            &folder.join("attested.share"),
            share.attested.to_bytes().as_ref(),
        )?;
        write_private(&folder.join("signing.share"), &share.signing.to_bytes()?)?;
        certificates.push((
            share.index(),
            hex::encode(Sha256::digest(certificate.der().as_ref())),
        ));
    }
    let mut files = Vec::new();
    for share in &shares {
        let index = share.index();
        let folder = dir.join(format!("evaluator-{index}"));
        let mut config = base.clone();
        config.server.listen = std::net::SocketAddr::new(listen.ip(), port(index, 0));
        // The audience each evaluator's callers sign for: its own address, no other's.
        config.server.authority = Some(config.server.listen.to_string());
        config.server.data_dir = folder.join("data");
        config.keys.root_seed_file = None;
        config.keys.ratchet_state_file = None;
        config.keys.key_set_file = None;
        config.keys.anchor = None;
        config.threshold = Some(ThresholdSection {
            index,
            anchor: anchor.clone(),
            key_set_file: key_set_file.clone(),
            epoch_shares_file: epoch_shares_file.clone(),
            holder_derived_share_file: folder.join("holder-derived.share"),
            bulk_share_file: folder.join("bulk.share"),
            attested_share_file: folder.join("attested.share"),
            signing_share_file: folder.join("signing.share"),
            peer_listen: std::net::SocketAddr::new(listen.ip(), port(index, 100)),
            peer_cert_file: folder.join("peer-cert.pem"),
            peer_key_file: folder.join("peer-key.pem"),
            peer_ca_file: peer_ca_file.clone(),
            peers: certificates
                .iter()
                .filter(|(i, _)| *i != index)
                .map(|(i, digest)| PeerSection {
                    index: *i,
                    url: format!("https://{}:{}", listen.ip(), port(*i, 100)),
                    cert_sha256: digest.clone(),
                })
                .collect(),
            runs_per_second_per_peer: crate::config::default_runs_per_second(),
        });
        let file = folder.join("config.toml");
        write(&file, config.to_toml()?.as_bytes())?;
        files.push(file);
    }
    Ok(files)
}
