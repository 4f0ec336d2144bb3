//! The progress file of `blindnym pseudonymise` (`OUTPUT.progress`): how far the output is
//! known to be complete, so a killed run resumes without losing or repeating a row.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// Progress saved after every batch: `batch=B rows=R bytes=L`, meaning the first `R` input
/// rows are in the first `L` bytes of the output, in batches of `B`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub batch: u32,
    pub rows: u64,
    pub bytes: u64,
}

impl Progress {
    pub fn path(output: &Path) -> PathBuf {
        let mut name = output.as_os_str().to_owned();
        name.push(".progress");
        PathBuf::from(name)
    }

    pub fn load(output: &Path) -> Result<Option<Self>, Error> {
        let path = Self::path(output);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)?;
        let mut progress = Progress::default();
        for field in text.split_whitespace() {
            let (key, value) = field.split_once('=').ok_or("malformed progress file")?;
            match key {
                "batch" => progress.batch = value.parse()?,
                "rows" => progress.rows = value.parse()?,
                "bytes" => progress.bytes = value.parse()?,
                _ => return Err(format!("{}: unknown field {key}", path.display()).into()),
            }
        }
        Ok(Some(progress))
    }

    /// Written beside the file, synced, then renamed over it: a crash leaves the old or the
    /// new progress, never half of one.
    pub fn save(&self, output: &Path) -> Result<(), Error> {
        let path = Self::path(output);
        let temporary = path.with_extension("progress.tmp");
        let mut file = File::create(&temporary)?;
        write!(
            file,
            "batch={} rows={} bytes={}",
            self.batch, self.rows, self.bytes
        )?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        Ok(())
    }
}
