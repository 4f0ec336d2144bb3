//! Rate limits as token buckets refilled each second: one that needs no identity, for the
//! anonymous flow H evaluations of all callers together (`spec/05-flow-h.md` §5.8), and one
//! per peer for the inversion runs each coordinator may start at this participant
//! (`spec/12-threshold.md` §12.12.2, review M2).

use std::sync::Mutex;
use std::time::Instant;

use crate::error::{Result, ServerError};

/// At most `per_second` events a second, with a burst of as many.
#[derive(Debug)]
pub(crate) struct Rate {
    per_second: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl Rate {
    pub(crate) fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second);
        Self {
            per_second,
            bucket: Mutex::new((per_second, Instant::now())),
        }
    }

    /// Takes one event from the bucket.
    ///
    /// # Errors
    /// [`ServerError::RateLimited`] when none is left this second.
    pub(crate) fn take(&self) -> Result<()> {
        let mut bucket = self
            .bucket
            .lock()
            .map_err(|_| ServerError::Store("rate limit lock poisoned".into()))?;
        let now = Instant::now();
        let refill = now.duration_since(bucket.1).as_secs_f64() * self.per_second;
        bucket.0 = (bucket.0 + refill).min(self.per_second);
        bucket.1 = now;
        if bucket.0 >= 1.0 {
            bucket.0 -= 1.0;
            Ok(())
        } else {
            Err(ServerError::RateLimited)
        }
    }
}
