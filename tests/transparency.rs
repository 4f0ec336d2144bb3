//! Key transparency (`spec/13-transparency.md`): a key set is accepted offline from its proof
//! bundle only when it is logged under a checkpoint signed by the pinned log and cosigned by
//! a quorum of pinned witnesses, and only when that checkpoint extends the one kept. Each
//! refusal has its name; the decoders take one form only.
#![cfg(feature = "transparency")]

mod common;

use blindnym::Error;
use blindnym::pseudonym::KeySetVerifier;
use blindnym::transparency::checkpoint::add_signature_lines;
use blindnym::transparency::witness::{state_bytes, state_from_bytes};
use blindnym::transparency::{
    KeyRole, KeySetProof, Log, LoggedKeySetVerifier, NoteKey, NoteSigner, Policy, Witness,
    verify_checkpoint,
};
use common::transparency::*;
use common::*;

#[test]
fn a_logged_and_cosigned_set_is_accepted_offline_and_the_next_one_after_a_consistency_proof() {
    let mut log = Log::new(log_signer()).unwrap();
    let (mut w1, mut w2, mut w3) = (witness(1), witness(2), witness(3));
    let first = set(1, 1);
    let proof = logged(&mut log, &first, &mut [&mut w1, &mut w2, &mut w3]);
    // The bundle crosses the wire as text.
    let proof = KeySetProof::from_bytes(&proof.to_bytes()).unwrap();
    let mut verifier = logged_verifier();
    verifier.accept(&first, &proof, &[], NOW).unwrap();
    assert_eq!(verifier.last_head().unwrap().size, 1);

    // A rotation: the next set is appended (beside an unrelated leaf) and cosigned.
    log.append(&[0xee; 32]).unwrap();
    let second = set(2, 1);
    let proof = logged(&mut log, &second, &mut [&mut w1, &mut w2, &mut w3]);
    assert_eq!(proof.index, 2);
    let consistency = log.consistency(1, 3).unwrap();
    // Without the consistency proof from the kept size, the new checkpoint is not taken.
    assert_eq!(
        verifier
            .clone()
            .accept(&second, &proof, &[], NOW)
            .unwrap_err(),
        Error::LogFork
    );
    verifier.accept(&second, &proof, &consistency, NOW).unwrap();

    // The kept checkpoint survives a restart with the kept set.
    let kept = verifier.last_checkpoint().unwrap().to_vec();
    let keys = KeySetVerifier::with_last_accepted_set(
        signer().verifying_key(),
        REALM,
        verifier.keys().last_accepted_set().unwrap(),
    )
    .unwrap();
    let restored = LoggedKeySetVerifier::with_last_checkpoint(keys, policy(), &kept).unwrap();
    assert_eq!(restored.last_head(), verifier.last_head());
}

#[test]
fn each_refusal_has_its_name() {
    let mut log = Log::new(log_signer()).unwrap();
    let (mut w1, mut w2, mut w3) = (witness(1), witness(2), witness(3));
    let first = set(1, 1);
    let early = logged(&mut log, &first, &mut [&mut w1, &mut w2, &mut w3]);
    let second = set(2, 1);
    let proof = logged(&mut log, &second, &mut [&mut w1, &mut w2, &mut w3]);

    // Below the quorum: one witness of the two the policy needs.
    let lone = {
        let mut w = witness(1);
        let note = cosigned(&log, &mut [&mut w]);
        log.bundle(&second.digest(), &note).unwrap()
    };
    assert_eq!(
        logged_verifier()
            .accept(&second, &lone, &[], NOW)
            .unwrap_err(),
        Error::WitnessQuorum { have: 1, need: 2 }
    );

    // A rolled-back tree: a party that kept the size-2 checkpoint is shown the size-1 one.
    let mut verifier = logged_verifier();
    verifier.accept(&second, &proof, &[], NOW).unwrap();
    assert_eq!(
        verifier.accept(&first, &early, &[], NOW).unwrap_err(),
        Error::LogRollback
    );

    // A wrong leaf: another set under the first set's proof.
    assert_eq!(
        logged_verifier()
            .accept(&second, &early, &[], NOW)
            .unwrap_err(),
        Error::NotLogged
    );
    let mut shifted = proof.clone();
    shifted.index = 0;
    assert_eq!(
        logged_verifier()
            .accept(&second, &shifted, &[], NOW)
            .unwrap_err(),
        Error::NotLogged
    );

    // An unknown log key: the same tree signed by another log, cosigned by the same witnesses.
    let stranger = NoteSigner::from_bytes(LOG_ORIGIN, KeyRole::Log, &[0x77; 32]).unwrap();
    let mut other = Log::with_leaves(stranger, log.leaves()).unwrap();
    let their = other.append(&second.digest()).unwrap();
    assert_eq!(their, 1);
    let note = other.checkpoint().unwrap();
    let bundle = other.bundle(&second.digest(), &note).unwrap();
    assert_eq!(
        logged_verifier()
            .accept(&second, &bundle, &[], NOW)
            .unwrap_err(),
        Error::LogSignature
    );

    // A cosignature line under a pinned witness's name and key ID that does not verify.
    let note = log.checkpoint().unwrap();
    let forger =
        NoteSigner::from_bytes("witness-1.example", KeyRole::Witness, &[0x99; 32]).unwrap();
    let forged_line = {
        // The pinned witness's key ID on the forger's signature.
        let genuine = witness_signer(1);
        let mut w = Witness::new(forger, log_signer().public().clone(), None).unwrap();
        let (line, _) = w.cosign(&note, 0, &[], NOW).unwrap();
        let text = String::from_utf8(line).unwrap();
        let (name, material) = text.trim_end().rsplit_once(' ').unwrap();
        use base64::Engine as _;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(material)
            .unwrap();
        bytes[..4].copy_from_slice(&genuine.public().id().to_be_bytes());
        format!(
            "{name} {}\n",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    };
    let forged = add_signature_lines(&note, forged_line.as_bytes()).unwrap();
    assert_eq!(
        verify_checkpoint(&forged, &policy()).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn a_witness_cosigns_only_extensions_and_keeps_its_state() {
    let mut log = Log::new(log_signer()).unwrap();
    let mut w = witness(1);
    log.append(&[1; 32]).unwrap();
    let (_, state) = w.cosign(&log.checkpoint().unwrap(), 0, &[], NOW).unwrap();
    assert_eq!(state_from_bytes(&state).unwrap(), w.last().unwrap());
    log.append(&[2; 32]).unwrap();
    // A proof from another size than its own, or none: refused.
    let note = log.checkpoint().unwrap();
    assert_eq!(w.cosign(&note, 0, &[], NOW).unwrap_err(), Error::LogFork);
    assert_eq!(w.cosign(&note, 1, &[], NOW).unwrap_err(), Error::LogFork);
    let proof = log.consistency(1, 2).unwrap();
    let (_, state) = w.cosign(&note, 1, &proof, NOW).unwrap();
    // Restarted from its state, it refuses the smaller tree it cosigned before.
    let mut restarted = Witness::new(
        witness_signer(1),
        log_signer().public().clone(),
        Some(state_from_bytes(&state).unwrap()),
    )
    .unwrap();
    let small = Log::with_leaves(log_signer(), &[[1; 32]]).unwrap();
    assert_eq!(
        restarted
            .cosign(&small.checkpoint().unwrap(), 2, &[], NOW)
            .unwrap_err(),
        Error::LogRollback
    );
    // The same checkpoint again is cosigned again (a retry).
    restarted.cosign(&note, 2, &[], NOW).unwrap();
    assert_eq!(state_bytes(restarted.last().unwrap()), state);
    // A note the log did not sign.
    let stranger = NoteSigner::from_bytes(LOG_ORIGIN, KeyRole::Log, &[0x77; 32]).unwrap();
    let other = Log::with_leaves(stranger, log.leaves()).unwrap();
    assert_eq!(
        restarted
            .cosign(&other.checkpoint().unwrap(), 2, &[], NOW)
            .unwrap_err(),
        Error::LogSignature
    );
    assert!(state_from_bytes(&state[..39]).is_err());
}

#[test]
fn keys_policies_and_bundles_decode_one_form_only() {
    let log = log_signer().public().clone();
    let vkey = log.to_vkey();
    assert_eq!(NoteKey::from_vkey(&vkey).unwrap(), log);
    // Another key ID, another name for the same ID, a witness algorithm under a log's use.
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, key) = rest.split_once('+').unwrap();
    for bad in [
        format!("{name}+00000000+{key}"),
        format!("other+{id}+{key}"),
        format!("{name}+{}+{key}", id.to_uppercase()),
        format!("{name}+{id}+{key}="),
        format!("{name} x+{id}+{key}"),
        String::new(),
    ] {
        assert!(NoteKey::from_vkey(&bad).is_err(), "{bad}");
    }
    let policy = policy();
    let text = policy.to_text();
    assert_eq!(Policy::from_text(&text).unwrap(), policy);
    for bad in [
        text.replace("quorum 2", "quorum 4"),
        text.replace("quorum 2", "quorum 0"),
        text.replace("quorum 2", "quorum 02"),
        text.trim_end().to_owned(),
        format!("{text}\n"),
        text.replacen("witness", "log", 1),
    ] {
        assert!(Policy::from_text(&bad).is_err(), "{bad}");
    }
    // A witness named twice.
    let w = witness_signer(1).public().clone();
    assert!(Policy::new(log.clone(), vec![w.clone(), w], 1).is_err());

    let mut tree = Log::new(log_signer()).unwrap();
    for i in 0..5u8 {
        tree.append(&[i; 32]).unwrap();
    }
    let bundle = tree.bundle(&[3; 32], &tree.checkpoint().unwrap()).unwrap();
    let bytes = bundle.to_bytes();
    assert_eq!(KeySetProof::from_bytes(&bytes).unwrap(), bundle);
    let text = String::from_utf8(bytes.clone()).unwrap();
    for bad in [
        text.replace("index 3", "index 03"),
        text.replace("index 3", "index +3"),
        text.replacen("tlog-proof@v1", "tlog-proof@v2", 1),
        format!("{text}x"),
        text.replacen("\n\n", "\n", 1),
    ] {
        assert!(KeySetProof::from_bytes(bad.as_bytes()).is_err(), "{bad}");
    }
    let mut bytes = bytes;
    bytes.push(0);
    assert!(KeySetProof::from_bytes(&bytes).is_err());
}

/// Differential: the log's checkpoints verify under `signed_note`'s own Ed25519 verifier built
/// from our verifier key (the same key ID, note and signature-line format).
#[test]
fn checkpoints_verify_under_signed_notes_own_verifier() {
    let mut log = Log::new(log_signer()).unwrap();
    log.append(&[1; 32]).unwrap();
    let note = signed_note::Note::from_bytes(&log.checkpoint().unwrap()).unwrap();
    let theirs = signed_note::StandardVerifier::new(&log_signer().public().to_vkey()).unwrap();
    let (verified, unknown) = note
        .verify(&signed_note::VerifierList::new(vec![Box::new(theirs)]))
        .unwrap();
    assert_eq!((verified.len(), unknown.len()), (1, 0));
}

/// The log's tiles (c2sp.org/tlog-tiles) hold its leaf hashes, its interior hashes and its
/// entries; a tile the tree does not cover yet is refused, and so are paths upstream's
/// `Tile::from_path` would have panicked on.
#[test]
fn the_log_serves_its_tree_as_tiles() {
    use blindnym::transparency::TilePath;
    use blindnym::transparency::log::leaf_hash;
    let mut log = Log::new(log_signer()).unwrap();
    let digests: Vec<[u8; 32]> = (0..300u32)
        .map(|i| {
            let mut d = [0u8; 32];
            d[..4].copy_from_slice(&i.to_be_bytes());
            d
        })
        .collect();
    for d in &digests {
        log.append(d).unwrap();
    }
    let tile = |path: &str| log.tile(&TilePath::parse(path).unwrap());
    let leaves: Vec<u8> = digests.iter().flat_map(leaf_hash).collect();
    assert_eq!(tile("tile/0/000").unwrap(), leaves[..256 * 32]);
    assert_eq!(tile("tile/0/001.p/44").unwrap(), leaves[256 * 32..]);
    assert_eq!(tile("tile/0/001.p/3").unwrap(), leaves[256 * 32..259 * 32]);
    // Level 1's first hash is the root of the first 256 leaves.
    assert_eq!(tile("tile/1/000.p/1").unwrap(), log.head(256).unwrap().root);
    let entries = tile("tile/entries/001.p/44").unwrap();
    assert_eq!(entries.len(), 44 * 34);
    assert_eq!(&entries[..2], &[0, 32]);
    assert_eq!(&entries[2..34], &digests[256]);
    for uncovered in [
        "tile/0/001",
        "tile/0/001.p/45",
        "tile/1/000.p/2",
        "tile/2/000.p/1",
        "tile/entries/001",
        "tile/0/x018/x446/x744/x073/x709/x551/615",
    ] {
        assert_eq!(
            tile(uncovered).unwrap_err(),
            Error::NotLogged,
            "{uncovered}"
        );
    }
    assert_eq!(
        log.tile(&TilePath::Hashes {
            level: 200,
            index: 0,
            width: 1
        })
        .unwrap_err(),
        Error::NotLogged
    );
    for panicked_upstream in ["tile/8/077/000.p/3", "tile/0/000.p/0", "tile/77/000"] {
        assert_eq!(TilePath::parse(panicked_upstream), Err(Error::Malformed));
    }
}
