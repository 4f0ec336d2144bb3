//! `blindnym keygen`: a caller's request key (`blindnym::caller_auth`), written with mode 0600;
//! its public key, for the evaluators' `[[callers]]`, on standard output.

use std::path::{Path, PathBuf};

use blindnym::caller_auth::RequestSigner;
use clap::Args as ClapArgs;

use crate::Error;

/// `blindnym keygen`.
#[derive(ClapArgs, Debug)]
pub struct KeygenArgs {
    /// Where to write the new key (must not exist).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

/// Writes a fresh key to `args.out` and prints its public key.
///
/// # Errors
/// When the file exists or cannot be written.
pub fn run(args: &KeygenArgs) -> Result<(), Error> {
    let key = RequestSigner::generate(&mut rand::rng());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&args.out)
        .map_err(|e| format!("{}: {e}", args.out.display()))?;
    std::io::Write::write_all(&mut file, key.to_hex().as_bytes())?;
    println!("{}", key.public_key_hex());
    Ok(())
}

/// Refuses a secret file that group or others may read.
///
/// # Errors
/// A missing or loose file.
pub fn check_private(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{}: key file readable by group or others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            )
            .into());
        }
    }
    Ok(())
}

/// Reads a request key file, refusing one that group or others may read.
///
/// # Errors
/// A missing, loose or malformed file.
pub fn read_key(path: &Path) -> Result<RequestSigner, Error> {
    check_private(path)?;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    RequestSigner::from_hex(&text).map_err(|_| {
        format!(
            "{}: not a request key (64 hex digits; `blindnym keygen` makes one)",
            path.display()
        )
        .into()
    })
}
