//! `blindnym sign-key-set`: the key-set signer's command, for the signer's own machine
//! (`spec/04-keys.md` §4.5). It signs the epochs an evaluator exported
//! (`blindnym-server --export-epoch-keys`) together with those of the previous set, under the
//! next sequence number, and prints the new set's digest. The evaluator only ever receives the
//! signed bytes; it never holds this key.

use std::path::PathBuf;

use blindnym::pseudonym::key_set::MAX_WINDOW_S;
use blindnym::pseudonym::{EpochPublicKeys, KeySet, KeySetSigner, KeySetVerifier, SignedKeySet};
use blindnym::threshold::{EpochShares, SignedEpochShares};
use clap::Args as ClapArgs;

use crate::Error;

/// `blindnym sign-key-set`.
#[derive(ClapArgs, Debug)]
pub struct SignKeySetArgs {
    /// The signer's 32-byte secret key (mode 0600); or the key on a PKCS#11 token
    /// (`--pkcs11-*`).
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present = "pkcs11_module",
        conflicts_with = "pkcs11_module"
    )]
    pub signer_key: Option<PathBuf>,
    #[command(flatten)]
    pub token: crate::pkcs11::TokenArgs,
    /// The realm the keys serve.
    #[arg(long)]
    pub realm: String,
    /// The set signed before (its epochs are kept and its sequence number is followed).
    #[arg(long, value_name = "PATH")]
    pub previous: Option<PathBuf>,
    /// An epoch's public keys as the evaluator exported them; repeat for several.
    #[arg(long, value_name = "PATH")]
    pub epoch_keys: Vec<PathBuf>,
    /// An epoch to leave out of the new set (its migrations are over: the evaluator erases
    /// its keys at its next start); repeat for several. Epochs are only ever retired from
    /// the oldest end.
    #[arg(long, value_name = "EPOCH")]
    pub retire: Vec<u32>,
    /// Days the new set is valid from now (at most 92).
    #[arg(long, default_value_t = 30)]
    pub days: u64,
    /// Where to write the signed set.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Threshold mode: a set's verification shares as the evaluators' ceremony wrote them
    /// (`epoch-shares.unsigned`); signed beside the new set into `--epoch-shares-out`
    /// (`spec/12-threshold.md` §12.3, §12.13).
    #[arg(long, value_name = "PATH", requires = "epoch_shares_out")]
    pub epoch_shares: Option<PathBuf>,
    /// Where to write the signed verification shares.
    #[arg(long, value_name = "PATH", requires = "epoch_shares")]
    pub epoch_shares_out: Option<PathBuf>,
}

fn read_signer(path: &std::path::Path) -> Result<KeySetSigner, Error> {
    crate::keygen::check_private(path)?;
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    Ok(KeySetSigner::from_bytes(&bytes)?)
}

/// The key-set signer: a key file on the signer's machine, or a key on a PKCS#11 token.
enum Signer {
    File(KeySetSigner),
    Token(crate::pkcs11::Token),
}

impl Signer {
    fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, Error> {
        match self {
            Signer::File(signer) => Ok(signer.verifying_key()),
            Signer::Token(token) => token.verifying_key(),
        }
    }

    /// Signs `set`; a token's signature is checked under `anchor` before it is used.
    fn sign(
        &self,
        set: KeySet,
        anchor: &ed25519_dalek::VerifyingKey,
    ) -> Result<SignedKeySet, Error> {
        match self {
            Signer::File(signer) => Ok(signer.sign(set)),
            Signer::Token(token) => {
                let signature = token.sign(&set.signed_message())?;
                Ok(SignedKeySet::from_signature(set, &signature, anchor)?)
            }
        }
    }

    /// Signs `shares` beside `key_set`; a token's signature is checked under `anchor`.
    fn sign_epoch_shares(
        &self,
        key_set: &SignedKeySet,
        shares: &EpochShares,
        anchor: &ed25519_dalek::VerifyingKey,
    ) -> Result<SignedEpochShares, Error> {
        match self {
            Signer::File(signer) => Ok(SignedEpochShares::sign(signer, key_set, shares)?),
            Signer::Token(token) => {
                let signature = token.sign(&SignedEpochShares::signed_message(key_set, shares)?)?;
                Ok(SignedEpochShares::from_signature(
                    key_set, shares, &signature, anchor,
                )?)
            }
        }
    }
}

/// Adds `entry` to `epochs` (kept in epoch order). An epoch already listed keeps its entry
/// when the keys are the same (its start never moves) and is refused when they differ: a
/// signer never re-keys a published epoch (`KeySetEquivocation` at every verifier).
fn merge(epochs: &mut Vec<EpochPublicKeys>, entry: EpochPublicKeys) -> Result<(), Error> {
    match epochs.iter().find(|known| known.epoch == entry.epoch) {
        Some(known)
            if EpochPublicKeys {
                not_before: known.not_before,
                ..entry
            } == *known =>
        {
            Ok(())
        }
        Some(_) => Err(format!(
            "epoch {} is already published with other keys: refusing to re-key it",
            entry.epoch
        )
        .into()),
        None => {
            epochs.push(entry);
            epochs.sort_by_key(|e| e.epoch);
            Ok(())
        }
    }
}

/// Signs the next key set and prints its sequence number and digest.
///
/// # Errors
/// Unreadable files, a window over 92 days, an epoch re-keyed, or a set the library refuses.
pub fn run(args: &SignKeySetArgs) -> Result<(), Error> {
    let signer = match &args.signer_key {
        Some(path) => Signer::File(read_signer(path)?),
        None => Signer::Token(crate::pkcs11::Token::open(&args.token)?),
    };
    let anchor = signer.verifying_key()?;
    let window = args.days.saturating_mul(86_400);
    if window == 0 || window > MAX_WINDOW_S {
        return Err("--days is 1 to 92".into());
    }
    let (mut epochs, sequence) = match &args.previous {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let previous = SignedKeySet::from_bytes(&bytes)?;
            // Only a set this signer made for this realm is followed.
            KeySetVerifier::with_last_accepted_set(anchor, args.realm.as_bytes(), &previous)?;
            let set = previous.unverified();
            (set.epochs().to_vec(), set.sequence() + 1)
        }
        None => (Vec::new(), 1),
    };
    for path in &args.epoch_keys {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        merge(&mut epochs, EpochPublicKeys::from_bytes(&bytes)?)?;
    }
    for epoch in &args.retire {
        if epochs.first().map(|e| e.epoch) != Some(*epoch) {
            return Err(
                format!("--retire {epoch}: only the oldest listed epoch can be retired").into(),
            );
        }
        epochs.remove(0);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let start = now.saturating_sub(60);
    let set = KeySet::new(
        args.realm.as_bytes(),
        sequence,
        start,
        start + window,
        epochs,
    )?;
    // The verification shares are decoded (every share checked on its polynomial) and their
    // group keys compared with the set's before anything is signed.
    let shares = match &args.epoch_shares {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let shares = EpochShares::from_bytes(&bytes)?;
            let listed = set
                .epochs()
                .iter()
                .find(|e| e.epoch == shares.epoch)
                .ok_or_else(|| {
                    format!(
                        "{}: epoch {} is not in the new set (add --epoch-keys)",
                        path.display(),
                        shares.epoch
                    )
                })?;
            shares.check_against(listed)?;
            Some(shares)
        }
        None => None,
    };
    let signed = signer.sign(set, &anchor)?;
    std::fs::write(&args.out, signed.to_bytes())
        .map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "key set {sequence} for {:?}, valid {} days: {} (digest {})",
        args.realm,
        args.days,
        args.out.display(),
        hex::encode(signed.digest())
    );
    if let (Some(shares), Some(out)) = (&shares, &args.epoch_shares_out) {
        let signed_shares = signer.sign_epoch_shares(&signed, shares, &anchor)?;
        std::fs::write(out, signed_shares.to_bytes())
            .map_err(|e| format!("{}: {e}", out.display()))?;
        println!(
            "epoch {} verification shares ({} of {}) signed beside it: {}",
            shares.epoch,
            shares.params().t(),
            shares.params().n(),
            out.display()
        );
    }
    Ok(())
}
