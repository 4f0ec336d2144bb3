//! The evaluators of one threshold set talking to each other: the mutually authenticated
//! listener's TLS (`tls`) and this evaluator's client of its peers (`client`). The routes
//! are in `api::peer`.

mod client;
mod pinned;
mod tls;

pub(crate) use client::MAX_PEER_BODY;
pub use client::PeerClient;
pub use tls::{PeerIdentity, server_config};
