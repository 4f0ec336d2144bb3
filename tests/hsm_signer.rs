//! The key-set signer's key in an HSM: SoftHSM2 through PKCS#11 (`blindnym hsm-key`, then
//! `blindnym sign-key-set --pkcs11-*`). The key pair is made on the token, each set is signed
//! there by `CKM_EDDSA`, and a verifier pinned to the token's key accepts the sets in order.
//! `.ci/run` installs SoftHSM2; elsewhere the test says it was skipped unless `CI` is set.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use blindnym::pseudonym::{KeyRatchet, KeySetVerifier, RootSeed, SignedKeySet};

/// SoftHSM2's module, from `BLINDNYM_PKCS11_MODULE` or where the distributions put it.
fn softhsm_module() -> Option<PathBuf> {
    std::env::var_os("BLINDNYM_PKCS11_MODULE")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/lib/softhsm/libsofthsm2.so",
                "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                "/usr/local/lib/softhsm/libsofthsm2.so",
            ]
            .map(PathBuf::from),
        )
        .find(|path| path.exists())
}

fn private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_key_set_is_signed_and_verified_through_softhsm() {
    let Some(module) = softhsm_module() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs SoftHSM2: its PKCS#11 module is missing"
        );
        eprintln!("skipped: no SoftHSM2 module (apt-get install softhsm2)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::create_dir(path("tokens")).unwrap();
    let conf = path("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            path("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", "blindnym signer"])
        .args(["--so-pin", "87654321", "--pin", "12345678"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    private(&path("pin"), "12345678\n");
    let token_args = |command: &mut Command| {
        command
            .env("SOFTHSM2_CONF", &conf)
            .arg("--pkcs11-module")
            .arg(&module)
            .args(["--pkcs11-token", "blindnym signer", "--pkcs11-pin-file"])
            .arg(path("pin"));
    };

    // The key pair is made on the token; its verifying key is the anchor.
    let mut keygen = Command::new(env!("CARGO_BIN_EXE_blindnym"));
    keygen.arg("hsm-key");
    token_args(&mut keygen);
    let made = keygen.output().unwrap();
    assert!(made.status.success(), "{made:?}");
    let anchor: [u8; 32] = hex::decode(String::from_utf8(made.stdout).unwrap().trim())
        .unwrap()
        .try_into()
        .unwrap();
    let anchor = blindnym::pseudonym::key_set::decode_verifying_key(&anchor).unwrap();
    // A second key under the same label is refused: the anchor never changes by accident.
    assert!(!keygen.output().unwrap().status.success());

    // Two epochs, signed one after the other on the token.
    let ratchet =
        KeyRatchet::new(&RootSeed::from_bytes(&[9; 32]).unwrap(), b"hsm realm", 1).unwrap();
    std::fs::write(
        path("epoch-1.pub"),
        ratchet.keys().unwrap().public(now() - 60).to_bytes(),
    )
    .unwrap();
    std::fs::write(
        path("epoch-2.pub"),
        ratchet.keys_for(2).unwrap().public(now()).to_bytes(),
    )
    .unwrap();
    let sign = |epoch: &str, previous: Option<&str>, out: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_blindnym"));
        command
            .args(["sign-key-set", "--realm", "hsm realm", "--epoch-keys"])
            .arg(path(epoch))
            .arg("--out")
            .arg(path(out));
        if let Some(previous) = previous {
            command.arg("--previous").arg(path(previous));
        }
        token_args(&mut command);
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        SignedKeySet::from_bytes(&std::fs::read(path(out)).unwrap()).unwrap()
    };
    let first = sign("epoch-1.pub", None, "set-1.bin");
    let second = sign("epoch-2.pub", Some("set-1.bin"), "set-2.bin");
    let mut verifier = KeySetVerifier::new(anchor, b"hsm realm");
    assert_eq!(verifier.accept(&first, now()).unwrap().set().sequence(), 1);
    let accepted = verifier.accept(&second, now()).unwrap();
    assert_eq!(accepted.set().sequence(), 2);
    assert_eq!(accepted.current(now()).unwrap().epoch, 2);
    // A wrong PIN signs nothing.
    private(&path("pin"), "00000000\n");
    let mut command = Command::new(env!("CARGO_BIN_EXE_blindnym"));
    command
        .args(["sign-key-set", "--realm", "hsm realm", "--epoch-keys"])
        .arg(path("epoch-2.pub"))
        .arg("--out")
        .arg(path("set-3.bin"));
    token_args(&mut command);
    assert!(!command.output().unwrap().status.success());
    assert!(!path("set-3.bin").exists());
    private(&path("pin"), "12345678\n");

    // Threshold mode: an epoch's verification shares (as a ceremony leaves them) signed on
    // the token beside the next set, and accepted beside it.
    let (_, public) = blindnym::threshold::deal_epoch(
        &ratchet.keys_for(2).unwrap(),
        blindnym::threshold::Threshold::new(2, 3).unwrap(),
        &mut rand::rng(),
    )
    .unwrap();
    std::fs::write(path("epoch-shares.unsigned"), public.to_bytes().unwrap()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_blindnym"));
    command
        .args(["sign-key-set", "--realm", "hsm realm", "--previous"])
        .arg(path("set-2.bin"))
        .arg("--epoch-shares")
        .arg(path("epoch-shares.unsigned"))
        .arg("--epoch-shares-out")
        .arg(path("epoch-shares.bin"))
        .arg("--out")
        .arg(path("set-4.bin"));
    token_args(&mut command);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let set = SignedKeySet::from_bytes(&std::fs::read(path("set-4.bin")).unwrap()).unwrap();
    let accepted = verifier.accept(&set, now()).unwrap();
    let shares = blindnym::threshold::SignedEpochShares::from_bytes(
        &std::fs::read(path("epoch-shares.bin")).unwrap(),
    )
    .unwrap()
    .verify(&verifier, &accepted, now())
    .unwrap();
    assert_eq!(shares, public);
}
