//! The key-set signer in an HSM through PKCS#11 (`cryptoki`): an Ed25519 key pair made on the
//! token (never extractable), and pure Ed25519 signatures by `CKM_EDDSA`, which are RFC 8032
//! signatures byte for byte, as `KeySetSigner` makes them (`spec/04-keys.md` §4.5).

use std::path::PathBuf;

use blindnym::pseudonym::key_set::decode_verifying_key;
use clap::Args as ClapArgs;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use ed25519_dalek::VerifyingKey;

use crate::Error;

/// `CKA_EC_PARAMS` for Ed25519: the printable string "edwards25519" (PKCS#11 3.0 §2.3.10).
const EDWARDS25519: [u8; 14] = *b"\x13\x0cedwards25519";

/// Where the signing key lives on a PKCS#11 token.
#[derive(ClapArgs, Debug, Clone)]
pub struct TokenArgs {
    /// The PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub pkcs11_token: Option<String>,
    /// The key pair's label on the token.
    #[arg(long, value_name = "LABEL", default_value = "blindnym key-set signer")]
    pub pkcs11_key: String,
    /// A file holding the token's user PIN (mode 0600).
    #[arg(long, value_name = "PATH", requires = "pkcs11_module")]
    pub pkcs11_pin_file: Option<PathBuf>,
}

/// An open, logged-in session on the token.
pub struct Token {
    session: Session,
    label: String,
}

fn hsm(e: cryptoki::error::Error) -> Error {
    format!("PKCS#11: {e}").into()
}

impl Token {
    /// Opens the token `args` names and logs in with its PIN.
    ///
    /// # Errors
    /// A missing module, token or PIN file, or a refusal of the token.
    pub fn open(args: &TokenArgs) -> Result<Self, Error> {
        let (Some(module), Some(label), Some(pin_file)) = (
            &args.pkcs11_module,
            &args.pkcs11_token,
            &args.pkcs11_pin_file,
        ) else {
            return Err("--pkcs11-module, --pkcs11-token and --pkcs11-pin-file go together".into());
        };
        crate::keygen::check_private(pin_file)?;
        let pin = zeroize::Zeroizing::new(
            std::fs::read_to_string(pin_file)
                .map_err(|e| format!("{}: {e}", pin_file.display()))?,
        );
        let pkcs11 = Pkcs11::new(module).map_err(hsm)?;
        pkcs11
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(hsm)?;
        let slot = pkcs11
            .get_slots_with_token()
            .map_err(hsm)?
            .into_iter()
            .find(|slot| {
                pkcs11
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label().trim_end() == label)
            })
            .ok_or_else(|| format!("no token labelled {label:?} in {}", module.display()))?;
        let session = pkcs11.open_rw_session(slot).map_err(hsm)?;
        session
            .login(UserType::User, Some(&AuthPin::new(pin.trim().into())))
            .map_err(hsm)?;
        Ok(Self {
            session,
            label: args.pkcs11_key.clone(),
        })
    }

    fn find(&self, class: ObjectClass) -> Result<Option<ObjectHandle>, Error> {
        let found = self
            .session
            .find_objects(&[
                Attribute::Class(class),
                Attribute::KeyType(KeyType::EC_EDWARDS),
                Attribute::Label(self.label.as_bytes().to_vec()),
            ])
            .map_err(hsm)?;
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(format!("several keys labelled {:?} on the token", self.label).into()),
        }
    }

    /// Makes the signing key pair on the token (private, sensitive, never extractable) and
    /// returns its verifying key, the trust anchor.
    ///
    /// # Errors
    /// A key with this label already there, or a refusal of the token.
    pub fn generate(&self) -> Result<VerifyingKey, Error> {
        if self.find(ObjectClass::PRIVATE_KEY)?.is_some() {
            return Err(format!("the token already holds a key labelled {:?}", self.label).into());
        }
        let label = Attribute::Label(self.label.as_bytes().to_vec());
        self.session
            .generate_key_pair(
                &Mechanism::EccEdwardsKeyPairGen,
                &[
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Verify(true),
                    Attribute::EcParams(EDWARDS25519.to_vec()),
                    label.clone(),
                ],
                &[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(true),
                    label,
                ],
            )
            .map_err(hsm)?;
        self.verifying_key()
    }

    /// The verifying key of the token's signing key.
    ///
    /// # Errors
    /// No such key, or a point that is not a canonical Ed25519 key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, Error> {
        let public = self
            .find(ObjectClass::PUBLIC_KEY)?
            .ok_or_else(|| format!("no key labelled {:?} on the token", self.label))?;
        let attributes = self
            .session
            .get_attributes(public, &[AttributeType::EcPoint])
            .map_err(hsm)?;
        let point = attributes
            .iter()
            .find_map(|attribute| match attribute {
                Attribute::EcPoint(point) => Some(point.as_slice()),
                _ => None,
            })
            .ok_or("the token gave no public point")?;
        // Raw 32 bytes, or (as most tokens give it) a DER OCTET STRING around them.
        let raw = match point {
            [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
            raw => raw,
        };
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| format!("a public point of {} bytes", point.len()))?;
        Ok(decode_verifying_key(&bytes)?)
    }

    /// A pure Ed25519 signature (`CKM_EDDSA`) over `message`.
    ///
    /// # Errors
    /// No such key, or a refusal of the token.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let private = self
            .find(ObjectClass::PRIVATE_KEY)?
            .ok_or_else(|| format!("no key labelled {:?} on the token", self.label))?;
        self.session
            .sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                private,
                message,
            )
            .map_err(hsm)
    }
}

/// `blindnym hsm-key`: makes the key-set signer's key pair on a PKCS#11 token.
#[derive(ClapArgs, Debug)]
pub struct HsmKeyArgs {
    #[command(flatten)]
    pub token: TokenArgs,
}

/// Makes the key pair and prints the anchor (hex) that evaluators, holders and relying
/// parties pin.
///
/// # Errors
/// As [`Token::open`] and [`Token::generate`].
pub fn run(args: &HsmKeyArgs) -> Result<(), Error> {
    let key = Token::open(&args.token)?.generate()?;
    println!("{}", hex::encode(key.as_bytes()));
    Ok(())
}
