//! The log of key sets (`spec/13-transparency.md` §13.4), sans-IO: an append-only RFC 6962
//! Merkle tree over the key sets' digests (§4.5), kept as tlog-tiles stored hashes, with its
//! checkpoints, inclusion and consistency proofs. The log process stores the leaves and
//! serves the bytes; this type does the arithmetic (tlog_tiles).

use tlog_tiles::{Hash, HashReader};

use super::bundle::KeySetProof;
use super::checkpoint::{TreeHead, add_signature_lines};
use super::keys::{KeyRole, NoteSigner};
use super::tiles::{TILE_WIDTH, TilePath};
use crate::error::{Error, Result};

/// The stored hashes, in tlog order.
#[derive(Clone, Debug, Default)]
struct StoredHashes(Vec<Hash>);

impl HashReader for StoredHashes {
    fn read_hashes(&self, indexes: &[u64]) -> core::result::Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn internal(_: tlog_tiles::Error) -> Error {
    Error::Malformed
}

/// The RFC 6962 leaf hash of a key set's digest: `SHA-256(0x00 || digest)`.
pub fn leaf_hash(digest: &[u8; 32]) -> [u8; 32] {
    tlog_tiles::record_hash(digest).0
}

/// A log of key-set digests under one signing key, its name the origin.
#[derive(Debug)]
pub struct Log {
    signer: NoteSigner,
    leaves: Vec<[u8; 32]>,
    hashes: StoredHashes,
}

impl Log {
    /// An empty log signing with `signer` (a [`KeyRole::Log`] key).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a witness's key.
    pub fn new(signer: NoteSigner) -> Result<Self> {
        if signer.public().role() != KeyRole::Log {
            return Err(Error::Malformed);
        }
        Ok(Self {
            signer,
            leaves: Vec::new(),
            hashes: StoredHashes::default(),
        })
    }

    /// A log holding `leaves` already (as its store kept them).
    ///
    /// # Errors
    /// As [`Log::new`].
    pub fn with_leaves(signer: NoteSigner, leaves: &[[u8; 32]]) -> Result<Self> {
        let mut log = Self::new(signer)?;
        for leaf in leaves {
            log.append(leaf)?;
        }
        Ok(log)
    }

    /// Appends a key set's digest: its leaf index. A digest already logged is not appended
    /// again; its index is returned.
    ///
    /// # Errors
    /// [`Error::Malformed`] should the tree arithmetic fail (it does not for a well-formed log).
    pub fn append(&mut self, digest: &[u8; 32]) -> Result<u64> {
        if let Some(index) = self.leaves.iter().position(|l| l == digest) {
            return u64::try_from(index).map_err(|_| Error::Malformed);
        }
        let n = self.size();
        let new = tlog_tiles::stored_hashes(n, digest, &self.hashes).map_err(internal)?;
        self.hashes.0.extend(new);
        self.leaves.push(*digest);
        Ok(n)
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// The leaves, in order.
    pub fn leaves(&self) -> &[[u8; 32]] {
        &self.leaves
    }

    /// The index of a logged digest.
    pub fn index_of(&self, digest: &[u8; 32]) -> Option<u64> {
        self.leaves
            .iter()
            .position(|l| l == digest)
            .and_then(|i| u64::try_from(i).ok())
    }

    /// The tree head at `size` (at most the log's).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a size past the log's.
    pub fn head(&self, size: u64) -> Result<TreeHead> {
        if size > self.size() {
            return Err(Error::Malformed);
        }
        let root = tlog_tiles::tree_hash(size, &self.hashes).map_err(internal)?;
        Ok(TreeHead { size, root: root.0 })
    }

    /// The current checkpoint note, signed by the log (no cosignature yet).
    ///
    /// # Errors
    /// As [`Log::head`].
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        let head = self.head(self.size())?;
        let text = tlog_tiles::Checkpoint::new(
            self.signer.public().name(),
            head.size,
            Hash(head.root),
            "",
        )
        .map_err(|_| Error::Malformed)?
        .to_bytes();
        let mut note = text.clone();
        note.push(b'\n');
        note.extend_from_slice(&self.signer.signature_line(&text, 0));
        // Parsed once: the note is well formed.
        add_signature_lines(&note, &[])
    }

    /// The inclusion proof of leaf `index` in the tree of `size`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for an index or size out of range.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>> {
        if index >= size || size > self.size() {
            return Err(Error::Malformed);
        }
        let proof = tlog_tiles::prove_record(size, index, &self.hashes).map_err(internal)?;
        Ok(proof.into_iter().map(|h| h.0).collect())
    }

    /// The consistency proof from the tree of `old` leaves to that of `new`.
    ///
    /// # Errors
    /// [`Error::Malformed`] unless `1 ≤ old ≤ new ≤ size`.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>> {
        if old == 0 || old > new || new > self.size() {
            return Err(Error::Malformed);
        }
        let proof = tlog_tiles::prove_tree(new, old, &self.hashes).map_err(internal)?;
        Ok(proof.into_iter().map(|h| h.0).collect())
    }

    /// The proof bundle of `digest` under `checkpoint` (a note of this log's current size,
    /// as cosigned).
    ///
    /// # Errors
    /// [`Error::NotLogged`] for a digest not in the log.
    pub fn bundle(&self, digest: &[u8; 32], checkpoint: &[u8]) -> Result<KeySetProof> {
        let index = self.index_of(digest).ok_or(Error::NotLogged)?;
        Ok(KeySetProof {
            index,
            inclusion: self.inclusion(index, self.size())?,
            checkpoint: checkpoint.to_vec(),
        })
    }

    /// The bytes of a tile (c2sp.org/tlog-tiles): `width` 32-byte hashes of level
    /// `8 × level`, or an entry bundle (each digest behind its two-byte length).
    ///
    /// # Errors
    /// [`Error::NotLogged`] for a tile the tree does not cover yet.
    pub fn tile(&self, tile: &TilePath) -> Result<Vec<u8>> {
        match *tile {
            TilePath::Hashes {
                level,
                index,
                width,
            } => {
                // Checked before `Tile::new`, which asserts them (the fields are public).
                if level >= 64 || width == 0 || width > TILE_WIDTH {
                    return Err(Error::NotLogged);
                }
                let width = u32::from(width);
                let tile = tlog_tiles::Tile::new(8, level, index, width, false);
                // The last hash of the tile must be complete at this size.
                let last = index
                    .checked_mul(u64::from(TILE_WIDTH))
                    .and_then(|i| i.checked_add(u64::from(width)))
                    .ok_or(Error::NotLogged)?;
                let covered = u32::from(level)
                    .checked_mul(8)
                    .and_then(|shift| last.checked_shl(shift))
                    .filter(|&leaves| last == leaves >> (u32::from(level) * 8))
                    .ok_or(Error::NotLogged)?;
                if covered > self.size() {
                    return Err(Error::NotLogged);
                }
                tile.read_data(&self.hashes).map_err(|_| Error::NotLogged)
            }
            TilePath::Entries { index, width } => {
                if width == 0 || width > TILE_WIDTH {
                    return Err(Error::NotLogged);
                }
                let first = index
                    .checked_mul(u64::from(TILE_WIDTH))
                    .ok_or(Error::NotLogged)?;
                let end = first
                    .checked_add(u64::from(width))
                    .filter(|&end| end <= self.size())
                    .ok_or(Error::NotLogged)?;
                let (Ok(first), Ok(end)) = (usize::try_from(first), usize::try_from(end)) else {
                    return Err(Error::NotLogged);
                };
                let mut bytes = Vec::with_capacity((end - first) * 34);
                for digest in &self.leaves[first..end] {
                    bytes.extend_from_slice(&32u16.to_be_bytes());
                    bytes.extend_from_slice(digest);
                }
                Ok(bytes)
            }
        }
    }
}
