//! Context strings, one per purpose (`spec/08-encodings.md` §8.2). Each is used with exactly
//! one construction and never reused for another. Version 2: every v1 construction changed
//! (sessions bound to channels, key-bound flow H pseudonyms, signed key sets).

/// Tag framed first into the flow H private input.
pub const FLOW_H_INPUT: &str = "blindnym v2 flow-H input";
/// `blake3::derive_key` context turning a flow H OPRF output into the Ed25519 seed of the
/// holder's per-service key.
pub const FLOW_H_SIGNING_KEY: &str = "blindnym v2 flow-H service signing key";
/// `blake3::derive_key` context mapping `(service id, verifying key)` to a flow H
/// pseudonym.
pub const FLOW_H_PSEUDONYM: &str = "blindnym v2 pseudonym flow-H";
/// Prefix of the message a flow H holder signs to log in.
pub const FLOW_H_LOGIN: &str = "blindnym v2 flow-H login signature";
/// Tag framed first into the flow A private input (the service id).
pub const FLOW_A_SERVICE: &str = "blindnym v2 flow-A service";
/// Tag framed first into the flow A public info (the subject).
pub const FLOW_A_SUBJECT: &str = "blindnym v2 flow-A subject";
/// `blake3::derive_key` context of the session hash `H(nonce, channel binding)`.
pub const SESSION: &str = "blindnym v2 session";
/// Prefix of the message the evaluator signs in flow A.
pub const FLOW_A_SIGNATURE: &str = "blindnym v2 flow-A evaluation signature";
/// Prefix of the message the evaluator signs for a flow A migration (two epochs).
pub const FLOW_A_MIGRATION_SIGNATURE: &str = "blindnym v2 flow-A migration signature";
/// `blake3::derive_key` context mapping `(service id, N)` to a flow A pseudonym.
pub const FLOW_A_PSEUDONYM: &str = "blindnym v2 pseudonym flow-A";
/// Tag framed first into each flow B private input (an identity).
pub const FLOW_B_IDENTITY: &str = "blindnym v2 flow-B identity";
/// Tag framed first into the flow B public info (the domain).
pub const FLOW_B_DOMAIN: &str = "blindnym v2 flow-B domain";
/// `blake3::derive_key` context mapping a flow B OPRF output to a pseudonym.
pub const FLOW_B_PSEUDONYM: &str = "blindnym v2 pseudonym flow-B";
/// `blake3::derive_key` context of the pseudonym text checksum. Still v1: the text form
/// (`bn1-`) did not change.
pub const TEXT_CHECKSUM: &str = "blindnym v1 pseudonym text checksum";
/// HKDF-SHA512 salt of the first link of the key ratchet.
pub const KEY_SCHEDULE_SALT: &str = "blindnym v2 key schedule";
/// HKDF-SHA512 salt of a ratchet step (chain key of epoch e + 1 from that of epoch e).
pub const KEY_RATCHET: &str = "blindnym v2 key ratchet";
/// Prefix of the message the long-term key-set key signs.
pub const KEY_SET_SIGNATURE: &str = "blindnym v2 key set signature";
/// `blake3::derive_key` context of a signed key set's digest (its transparency-log leaf).
pub const KEY_SET_DIGEST: &str = "blindnym v2 key set digest";
/// `derive_key` context of a key generation's transcript digest (`spec/12-threshold.md`
/// §12.4.1): what each participant confirms it saw in round one.
pub const DKG_TRANSCRIPT: &str = "blindnym v2 dkg transcript";
/// `derive_key` context of a resharing's transcript digest (`spec/12-threshold.md` §12.13):
/// what each member of the new committee confirms it was dealt against.
pub const RESHARE_TRANSCRIPT: &str = "blindnym v2 reshare transcript";
