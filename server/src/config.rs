//! The service's TOML configuration (`config.example.toml` documents every field) and the
//! secret files it names, which must not be readable by group or others.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Result, ServerError};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listening, limits and storage.
    pub server: ServerSection,
    /// The evaluator's keys.
    pub keys: KeysSection,
    /// Threshold mode: this evaluator holds one share of each key (`spec/12-threshold.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdSection>,
    /// Who may call, with which token, for which flows.
    #[serde(default)]
    pub callers: Vec<CallerSection>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder of the SQLite store.
    pub data_dir: PathBuf,
    /// A file (mode 0600) holding a PostgreSQL connection string: budgets and quotas are kept
    /// there instead of SQLite, shared by every replica of this evaluator that names it.
    #[serde(default)]
    pub postgres_url_file: Option<PathBuf>,
    /// Serve plain HTTP. Development only: TLS is the deployment setting.
    #[serde(default)]
    pub insecure_http: bool,
    /// PEM certificate chain for TLS (required unless `insecure_http`).
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for TLS, mode 0600 (required unless `insecure_http`).
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Largest request body, bytes (a flow B batch of 65535 elements is about 2.1 MB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Per-request time limit, milliseconds.
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    /// This evaluator's host and port as callers address it (`evaluator1.example`,
    /// `127.0.0.1:9080`): the audience every request must be signed for (`@authority`,
    /// `spec/12-threshold.md` §12.12.6). Default: the address it listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Anonymous flow H evaluations answered per second, all callers together (flow H takes
    /// no credential, so its rate limit needs no identity).
    #[serde(default = "default_flow_h_rate")]
    pub flow_h_per_second: u32,
}

fn default_flow_h_rate() -> u32 {
    200
}

fn default_max_body() -> usize {
    2_200_000
}

fn default_timeout() -> u64 {
    30_000
}

/// `[keys]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    /// The realm the keys serve.
    pub realm: String,
    /// The 32-byte root seed of the key ratchet (`spec/04-keys.md` §4.2); mode 0600. Read once,
    /// at a single evaluator's first start, to begin the ratchet; refused once the ratchet
    /// state exists (remove the setting and destroy the file). Absent in threshold mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_seed_file: Option<PathBuf>,
    /// A single evaluator's ratchet state (`KeyRatchet` bytes), mode 0600, written
    /// atomically; `data_dir/ratchet.state` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratchet_state_file: Option<PathBuf>,
    /// A single evaluator's signed key set (`SignedKeySet` bytes, made by `blindnym
    /// sign-key-set` on the signer's machine): served byte for byte. In threshold mode it is
    /// `[threshold] key_set_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_set_file: Option<PathBuf>,
    /// The key-set signer's public key (hex): the key set is checked against it at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// Evaluations each epoch key may do (`spec/04-keys.md` §4.3).
    #[serde(default = "default_budget")]
    pub epoch_budget: u64,
    /// Evaluations each flow B caller may do per domain.
    #[serde(default = "default_quota")]
    pub quota: u64,
}

fn default_budget() -> u64 {
    blindnym::pseudonym::DEFAULT_EVALUATION_BUDGET
}

fn default_quota() -> u64 {
    1_000_000
}

/// `[[callers]]`: one authenticated caller (flow A or B; flow H takes none).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallerSection {
    /// A name for quotas (never logged with a request).
    pub name: String,
    /// The caller's Ed25519 public key (hex, 32 bytes): it signs every request (RFC 9421).
    /// Each evaluator of a set lists the same public key; none holds anything that would
    /// let it sign for the caller.
    pub public_key: String,
    /// Flows this caller may use: `"A"`, `"B"` or both.
    pub flows: Vec<String>,
    /// Flow A: the subject this key authenticates (taken from here, never from a body).
    #[serde(default)]
    pub subject: Option<String>,
    /// Flow B: the domains this caller may pseudonymise.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// `[threshold]`: one evaluator of `n`, holding shares of the epoch's keys.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSection {
    /// This evaluator's index, 1 to n.
    pub index: u16,
    /// The key-set signer's public key (hex): the signed key set and the signed verification
    /// shares are checked against it at start.
    pub anchor: String,
    /// The signed key set of the group keys (`SignedKeySet` bytes; public).
    pub key_set_file: PathBuf,
    /// The signed verification shares (`SignedEpochShares` bytes; public).
    pub epoch_shares_file: PathBuf,
    /// This evaluator's share of the flow H key (`KeyShare` bytes), mode 0600.
    pub holder_derived_share_file: PathBuf,
    /// This evaluator's share of the flow B key (`KeyShare` bytes), mode 0600.
    pub bulk_share_file: PathBuf,
    /// This evaluator's share of the flow A key (`KeyShare` bytes), mode 0600.
    pub attested_share_file: PathBuf,
    /// This evaluator's share of the flow A assertion signing key (`SigningShare` bytes),
    /// mode 0600.
    pub signing_share_file: PathBuf,
    /// Where the other evaluators reach this one (mutually authenticated TLS only).
    pub peer_listen: SocketAddr,
    /// This evaluator's certificate chain (PEM) on the peer listener and as a client of peers.
    pub peer_cert_file: PathBuf,
    /// Its private key (PEM), mode 0600.
    pub peer_key_file: PathBuf,
    /// The CA (PEM) that issued every evaluator's peer certificate.
    pub peer_ca_file: PathBuf,
    /// The other evaluators.
    pub peers: Vec<PeerSection>,
    /// The most inversion runs (round ones) each peer may start at this participant per
    /// second, with a burst of as many (review M2): one peer cannot keep every record
    /// changing. 20 by default.
    #[serde(default = "default_runs_per_second")]
    pub runs_per_second_per_peer: u32,
}

pub(crate) fn default_runs_per_second() -> u32 {
    20
}

/// `[[threshold.peers]]`: another evaluator of the same set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    /// Its index.
    pub index: u16,
    /// Its peer listener, `https://host:port`.
    pub url: String,
    /// SHA-256 (hex) of its certificate (DER): a request on the peer listener is taken to come
    /// from the evaluator whose certificate it presented.
    pub cert_sha256: String,
}

impl Config {
    /// Reads and parses a configuration file.
    ///
    /// # Errors
    /// [`ServerError::Config`] naming what is wrong.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }

    /// The configuration as TOML (development setups write theirs).
    ///
    /// # Errors
    /// [`ServerError::Config`] when it cannot be written as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| ServerError::Config(format!("TOML: {e}")))
    }
}

/// Refuses a secret file that group or others may read (on Unix).
///
/// # Errors
/// [`ServerError::Config`] for a missing or loose file.
pub fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(ServerError::Config(format!(
                "{}: secret file readable by group or others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads a 32-byte secret file, refusing one that group or others may read.
///
/// # Errors
/// [`ServerError::Config`] for a missing, loose or wrong-sized file.
pub fn read_secret(path: &Path) -> Result<Zeroizing<[u8; 32]>> {
    check_private(path)?;
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(ServerError::Config(format!(
            "{}: a secret file holds exactly 32 bytes, not {}",
            path.display(),
            bytes.len()
        )));
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// Writes a fresh 32-byte secret with mode 0600 (development setup).
///
/// # Errors
/// [`ServerError::Config`] when the file cannot be written.
pub fn write_secret(path: &Path, secret: &[u8; 32]) -> Result<()> {
    write_private(path, secret)
}

/// The key-set signer's public key from its hex in `[section] anchor`.
///
/// # Errors
/// [`ServerError::Config`] naming `section` for other than 64 hex digits or a key that is
/// not a strict Ed25519 key.
pub fn parse_anchor(
    section: &str,
    hex_text: &str,
) -> Result<blindnym::ed25519_dalek::VerifyingKey> {
    let fail = |e: &dyn std::fmt::Display| ServerError::Config(format!("[{section}] anchor: {e}"));
    let anchor: [u8; 32] = hex::decode(hex_text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| fail(&"not 64 hex digits"))?;
    blindnym::pseudonym::key_set::decode_verifying_key(&anchor).map_err(|e| fail(&e))
}

/// Replaces `path` with `bytes` atomically, mode 0600: a new file beside it, synced, then
/// renamed over it, so a crash leaves the old contents or the new, never a mix.
///
/// # Errors
/// [`ServerError::Config`] when the file cannot be written or renamed.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| ServerError::Config(format!("{}: {e}", path.display()));
    let mut staged = path.as_os_str().to_owned();
    staged.push(".new");
    let staged = PathBuf::from(staged);
    let _ = std::fs::remove_file(&staged);
    write_private(&staged, bytes)?;
    std::fs::File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(fail)?;
    std::fs::rename(&staged, path).map_err(fail)?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Creates `path` (which must not exist) with mode 0600 and writes `bytes` to it.
///
/// # Errors
/// [`ServerError::Config`] when the file exists or cannot be written.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| ServerError::Config(format!("{}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    std::io::Write::write_all(&mut file, bytes).map_err(fail)
}
