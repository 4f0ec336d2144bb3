//! `blindnym-server --dev`: a local evaluator with generated keys and two known tokens, for
//! trying things out. Plain HTTP on 127.0.0.1; never for a deployment.

use std::path::Path;

use rand::RngExt as _;
use sha2::{Digest, Sha256};

use crate::config::{CallerSection, Config, KeysSection, ServerSection, write_secret};
use crate::error::Result;

/// The data holder's development token (flow B, domain [`DEV_DOMAIN`]).
pub const DEV_DATA_HOLDER_TOKEN: &str = "dev-data-holder";
/// The holder's development token (flows H and A, subject `alice`).
pub const DEV_HOLDER_TOKEN: &str = "dev-holder";
/// The flow B domain the development data holder may use.
pub const DEV_DOMAIN: &str = "dev domain";

/// A development configuration in `dir`: fresh secrets (mode 0600), a store, two callers.
///
/// # Errors
/// [`crate::ServerError::Config`] when the files cannot be written.
pub fn config(dir: &Path, listen: std::net::SocketAddr) -> Result<Config> {
    let mut rng = rand::rng();
    let root_seed_file = dir.join("root.seed");
    let signer_file = dir.join("signer.key");
    for path in [&root_seed_file, &signer_file] {
        if !path.exists() {
            let secret: [u8; 32] = rng.random();
            write_secret(path, &secret)?;
        }
    }
    let hash = |token: &str| hex::encode(Sha256::digest(token.as_bytes()));
    Ok(Config {
        server: ServerSection {
            listen,
            data_dir: dir.join("data"),
            postgres_url_file: None,
            insecure_http: true,
            tls_cert_file: None,
            tls_key_file: None,
            max_body_bytes: 2_200_000,
            request_timeout_ms: 30_000,
        },
        keys: KeysSection {
            realm: "blindnym dev".into(),
            root_seed_file,
            signer_file,
            epoch_budget: blindnym::pseudonym::DEFAULT_EVALUATION_BUDGET,
            quota: 1_000_000,
        },
        callers: vec![
            CallerSection {
                name: "dev data holder".into(),
                token_sha256: hash(DEV_DATA_HOLDER_TOKEN),
                flows: vec!["B".into()],
                subject: None,
                domains: vec![DEV_DOMAIN.into()],
            },
            CallerSection {
                name: "dev holder".into(),
                token_sha256: hash(DEV_HOLDER_TOKEN),
                flows: vec!["H".into(), "A".into()],
                subject: Some("alice".into()),
                domains: vec![],
            },
        ],
    })
}
