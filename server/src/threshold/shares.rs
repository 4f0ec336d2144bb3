//! This evaluator's key shares on disk and the published side they are checked against
//! (`spec/12-threshold.md` §12.3, §12.13.4). A ceremony leaves its new shares beside the
//! current ones as `<file>.next`; they replace the current files at the first start whose
//! signed verification shares they match, never before (until the signer has published them,
//! the current shares keep serving).

use std::path::{Path, PathBuf};

use blindnym::pseudonym::{KeySetVerifier, SignedKeySet};
use blindnym::threshold::signing::SigningShare;
use blindnym::threshold::{EpochShares, EvaluatorShares, KeyShare, SignedEpochShares};
use zeroize::Zeroizing;

use crate::config::{ThresholdSection, check_private, write_private_atomic};
use crate::error::{Result, ServerError};
use crate::kit::{now, read_file};

/// The published side as read at start.
#[derive(Debug)]
pub(crate) struct Published {
    /// The signed key set's bytes.
    pub key_set: Vec<u8>,
    /// The signed verification shares' bytes.
    pub epoch_shares: Vec<u8>,
    /// The verification shares, verified.
    pub public: EpochShares,
}

fn config(what: &str, e: &dyn std::fmt::Display) -> ServerError {
    ServerError::Config(format!("[threshold] {what}: {e}"))
}

/// Reads the signed key set and verification shares and checks both under the anchor.
///
/// # Errors
/// [`ServerError::Config`] for a file that is missing, malformed or not signed by the anchor.
pub(crate) fn published(section: &ThresholdSection, realm: &[u8]) -> Result<Published> {
    let anchor = crate::config::parse_anchor("threshold", &section.anchor)?;
    let key_set = read_file(&section.key_set_file)?;
    let mut verifier = KeySetVerifier::new(anchor, realm);
    let keys = verifier
        .accept(
            &SignedKeySet::from_bytes(&key_set).map_err(|e| config("key_set_file", &e))?,
            now(),
        )
        .map_err(|e| config("key_set_file", &e))?;
    let epoch_shares = read_file(&section.epoch_shares_file)?;
    let public = SignedEpochShares::from_bytes(&epoch_shares)
        .and_then(|signed| signed.verify(&verifier, &keys, now()))
        .map_err(|e| config("epoch_shares_file", &e))?;
    Ok(Published {
        key_set,
        epoch_shares,
        public,
    })
}

/// `path` with `.next` appended: where a ceremony leaves the share that replaces `path`'s.
pub fn next_path(path: &Path) -> PathBuf {
    let mut next = path.as_os_str().to_owned();
    next.push(".next");
    PathBuf::from(next)
}

/// The four share files, in the order of [`EvaluatorShares`]' keys.
fn files(section: &ThresholdSection) -> [(&Path, &'static str); 4] {
    [
        (
            &section.holder_derived_share_file,
            "holder_derived_share_file",
        ),
        (&section.attested_share_file, "attested_share_file"),
        (&section.bulk_share_file, "bulk_share_file"),
        (&section.signing_share_file, "signing_share_file"),
    ]
}

fn read_key_share(path: &Path, what: &str) -> Result<KeyShare> {
    check_private(path)?;
    let bytes = Zeroizing::new(read_file(path)?);
    KeyShare::from_bytes(&bytes).map_err(|e| config(what, &format!("{}: {e}", path.display())))
}

/// The shares in the four files at `paths`, checked to be evaluator `index`'s of `public`.
fn read_bundle(
    paths: [(PathBuf, &'static str); 4],
    index: u16,
    realm: &[u8],
    public: &EpochShares,
) -> Result<EvaluatorShares> {
    let [h, a, b, s] = paths;
    let holder_derived = read_key_share(&h.0, h.1)?;
    let attested = read_key_share(&a.0, a.1)?;
    let bulk = read_key_share(&b.0, b.1)?;
    check_private(&s.0)?;
    let signing =
        SigningShare::from_bytes(&Zeroizing::new(read_file(&s.0)?)).map_err(|e| config(s.1, &e))?;
    // A wrong signing package signs shares the holder names (`BadSignatureShare`); the index
    // is checked here.
    if signing.index() != index {
        return Err(config(s.1, &"not this evaluator's index"));
    }
    for (share, shares, what) in [
        (&holder_derived, &public.holder_derived, h.1),
        (&attested, &public.attested, a.1),
        (&bulk, &public.bulk, b.1),
    ] {
        let expected = shares.share(index).map_err(|e| config(what, &e))?;
        if share.index() != index || share.verification_share() != *expected {
            return Err(config(
                what,
                &"not this evaluator's share of the published key",
            ));
        }
    }
    Ok(EvaluatorShares {
        realm: realm.to_vec(),
        epoch: public.epoch,
        holder_derived,
        attested,
        signing,
        bulk,
    })
}

/// This evaluator's shares of the published keys, and whether they were just installed from
/// a ceremony's `.next` files. The current files are used when they match the published
/// verification shares; otherwise the `.next` files, when they match, are renamed over the
/// current ones (the old shares are gone from disk) and used.
///
/// # Errors
/// [`ServerError::Config`] when neither matches, naming the current files' fault.
pub(crate) fn own_shares(
    section: &ThresholdSection,
    realm: &[u8],
    public: &EpochShares,
) -> Result<(EvaluatorShares, bool)> {
    let current = files(section).map(|(path, what)| (path.to_path_buf(), what));
    let refused = match read_bundle(current, section.index, realm, public) {
        Ok(shares) => return Ok((shares, false)),
        Err(e) => e,
    };
    let next = files(section).map(|(path, what)| (next_path(path), what));
    if !next.iter().all(|(path, _)| path.exists()) {
        return Err(refused);
    }
    let shares = read_bundle(next, section.index, realm, public).map_err(|_| refused)?;
    // Each new share replaces the old one atomically; then the `.next` files go.
    for ((path, _), bytes) in files(section).into_iter().zip(bundle_bytes(&shares)?) {
        write_private_atomic(path, bytes.as_slice())?;
        let _ = std::fs::remove_file(next_path(path));
    }
    Ok((shares, true))
}

/// The four shares' saved forms, in file order.
fn bundle_bytes(shares: &EvaluatorShares) -> Result<[Zeroizing<Vec<u8>>; 4]> {
    let key = |share: &KeyShare| Zeroizing::new(share.to_bytes().to_vec());
    Ok([
        key(&shares.holder_derived),
        key(&shares.attested),
        key(&shares.bulk),
        shares.signing.to_bytes()?,
    ])
}

/// Writes `shares` as the `.next` files of this evaluator's share files (mode 0600).
///
/// # Errors
/// [`ServerError::Config`] when a file cannot be written.
pub(crate) fn write_next(section: &ThresholdSection, shares: &EvaluatorShares) -> Result<()> {
    for ((path, _), bytes) in files(section).into_iter().zip(bundle_bytes(shares)?) {
        write_private_atomic(&next_path(path), bytes.as_slice())?;
    }
    Ok(())
}
