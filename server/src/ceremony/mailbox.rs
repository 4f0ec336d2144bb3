//! What the other participants sent this one, by round and sender (`spec/12-threshold.md`
//! §12.13.3). A sender is known by its peer certificate; each round takes one message from
//! each expected sender, and a repeat of the same bytes is answered as the first (a retry
//! after a lost answer), while other bytes are refused: no participant can change what it
//! said once it was heard.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Result, ServerError};

/// A round's messages, by sender.
pub(crate) type Received = BTreeMap<u16, Zeroizing<Vec<u8>>>;

/// One participant's mailbox for one ceremony.
#[derive(Debug)]
pub struct Mailbox {
    digest: [u8; 32],
    /// The senders each round expects.
    expected: HashMap<u8, BTreeSet<u16>>,
    inbox: Mutex<HashMap<u8, Received>>,
}

fn poisoned() -> ServerError {
    ServerError::Config("ceremony mailbox lock poisoned".into())
}

impl Mailbox {
    /// A mailbox for the ceremony named `digest`, taking in round `r` one message from each
    /// of `expected[r]`.
    pub(crate) fn new(digest: [u8; 32], expected: HashMap<u8, BTreeSet<u16>>) -> Self {
        Self {
            digest,
            expected,
            inbox: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `from`'s message of `round` in the ceremony `digest`.
    ///
    /// # Errors
    /// [`ServerError::NotServed`] for another ceremony or round; [`ServerError::Unauthorized`]
    /// for a sender this round does not expect; [`ServerError::Protocol`] (`Malformed`) for
    /// other bytes than the sender already sent.
    pub fn put(&self, digest: &[u8; 32], round: u8, from: u16, bytes: &[u8]) -> Result<()> {
        if *digest != self.digest {
            return Err(ServerError::NotServed("another ceremony"));
        }
        let senders = self
            .expected
            .get(&round)
            .ok_or(ServerError::NotServed("no such round"))?;
        if !senders.contains(&from) {
            return Err(ServerError::Unauthorized);
        }
        let mut inbox = self.inbox.lock().map_err(|_| poisoned())?;
        let round = inbox.entry(round).or_default();
        match round.get(&from) {
            // Public or secret, a comparison of what the sender itself sent twice.
            Some(kept) if kept.as_slice() == bytes => Ok(()),
            Some(_) => Err(ServerError::Protocol(blindnym::Error::Malformed)),
            None => {
                round.insert(from, Zeroizing::new(bytes.to_vec()));
                Ok(())
            }
        }
    }

    /// Waits until every expected sender's message of `round` is in, for at most `timeout`.
    ///
    /// # Errors
    /// [`ServerError::Peers`] naming the senders still missing at the deadline.
    pub async fn collect(&self, round: u8, timeout: Duration) -> Result<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        let empty = BTreeSet::new();
        let expected = self.expected.get(&round).unwrap_or(&empty);
        loop {
            let missing: Vec<u16> = {
                let inbox = self.inbox.lock().map_err(|_| poisoned())?;
                let have = inbox.get(&round);
                expected
                    .iter()
                    .copied()
                    .filter(|from| !have.is_some_and(|h| h.contains_key(from)))
                    .collect()
            };
            if missing.is_empty() {
                let inbox = self.inbox.lock().map_err(|_| poisoned())?;
                return Ok(inbox.get(&round).cloned().unwrap_or_default());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ServerError::Peers(format!(
                    "ceremony round {round}: nothing from evaluator(s) {missing:?} in time"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
