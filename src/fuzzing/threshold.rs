//! Fuzzing entry points for threshold mode's decoders (`spec/12-threshold.md`).

use super::FuzzRng;

/// Every threshold-mode decoder on the same bytes (`spec/12-threshold.md`): each must refuse
/// without panicking or decode to a value that re-encodes to exactly these bytes; a decoded
/// tweak record is also checked against a fixed key (it must fail or pass, never panic).
pub fn threshold_decoders(data: &[u8]) {
    use crate::threshold::dkg::{DkgBroadcast, DkgPrivate, Ed25519, Ristretto255};
    use crate::threshold::inversion::{Dealing, MaskedProduct, PrivateShare, TweakRecord};
    use crate::threshold::signing::{SignatureShare, SignerCommitment};
    use crate::threshold::{KeyShare, ShareAnswer, ShareResponse};

    fn same<T>(data: &[u8], decoded: crate::Result<T>, encode: impl Fn(&T) -> Vec<u8>) {
        if let Ok(value) = decoded {
            assert_eq!(
                encode(&value),
                data,
                "threshold message re-encodes differently"
            );
        }
    }
    same(data, ShareAnswer::from_bytes(data), |v| {
        v.to_bytes().unwrap_or_default()
    });
    same(data, ShareResponse::from_bytes(data), |v| {
        v.to_bytes().unwrap_or_default()
    });
    same(data, KeyShare::from_bytes(data), |v| v.to_bytes().to_vec());
    same(data, Dealing::from_bytes(data), Dealing::to_bytes);
    same(data, PrivateShare::from_bytes(data), |v| {
        v.to_bytes().to_vec()
    });
    same(data, MaskedProduct::from_bytes(data), |v| {
        v.to_bytes().to_vec()
    });
    same(data, SignerCommitment::from_bytes(data), |v| {
        v.to_bytes().unwrap_or_default()
    });
    same(
        data,
        SignatureShare::from_bytes(data),
        SignatureShare::to_bytes,
    );
    same(data, DkgBroadcast::<Ristretto255>::from_bytes(data), |v| {
        v.to_bytes().unwrap_or_default()
    });
    same(data, DkgBroadcast::<Ed25519>::from_bytes(data), |v| {
        v.to_bytes().unwrap_or_default()
    });
    same(data, DkgPrivate::<Ristretto255>::from_bytes(data), |v| {
        v.to_bytes().map(|b| b.to_vec()).unwrap_or_default()
    });
    same(
        data,
        crate::threshold::flow_a::ShareEvaluation::from_bytes(data),
        |v| v.to_bytes().unwrap_or_default(),
    );
    same(
        data,
        crate::threshold::flow_a::SigningRequest::from_bytes(data),
        |v| v.to_bytes().unwrap_or_default(),
    );
    same(
        data,
        crate::threshold::flow_a::MigrationSigningRequest::from_bytes(data),
        |v| v.to_bytes().unwrap_or_default(),
    );
    same(data, crate::threshold::EpochShares::from_bytes(data), |v| {
        v.to_bytes().unwrap_or_default()
    });
    same(
        data,
        crate::threshold::SignedEpochShares::from_bytes(data),
        crate::threshold::SignedEpochShares::to_bytes,
    );
    if let Ok(record) = TweakRecord::from_bytes(data) {
        assert_eq!(
            record.to_bytes(),
            data,
            "tweak record re-encodes differently"
        );
        static WORLD: std::sync::OnceLock<Option<crate::threshold::VerificationShares>> =
            std::sync::OnceLock::new();
        if let Some(public) = WORLD.get_or_init(threshold_world) {
            let _ = record.check(public, b"fuzz info");
        }
    }
}

/// A fixed (2, 3) sharing for checking fuzzed records: shares of the scalar 7.
fn threshold_world() -> Option<crate::threshold::VerificationShares> {
    use curve25519_dalek::scalar::Scalar;
    let params = crate::threshold::Threshold::new(2, 3).ok()?;
    let mut rng = FuzzRng::new(&[7; 32]);
    crate::threshold::deal(&Scalar::from(7u8), params, &mut rng)
        .ok()
        .map(|(_, public)| public)
}
