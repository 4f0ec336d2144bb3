//! Tile paths of c2sp.org/tlog-tiles (`spec/13-transparency.md` §13.4): the names under which
//! the log serves its tree as static files, parsed strictly.
//!
//! Written here rather than taken from `tlog_tiles::Tile::from_path`: that parser is the Go
//! sumdb one (`tile/H/L/N`, a height in the path), and version 0.2 panics on a level of 64 or
//! more and on a partial width of 0 (`Tile::new` asserts), both reachable from a request
//! path. Here every path is checked before any tile is built, and only the canonical
//! encoding of a tile is accepted (the path re-encodes to the same bytes).

use crate::error::{Error, Result};

/// Hashes per full tile: tiles are of height 8 (c2sp.org/tlog-tiles).
pub const TILE_WIDTH: u16 = 256;

/// The longest path a tile can have (`tile/63/` or `tile/entries/`, seven `xNNN/` groups
/// and `NNN.p/255`); anything longer is refused before it is split.
const MAX_PATH_LEN: usize = 13 + 7 * 5 + 9;

/// A tile of the log: a run of hashes at one level, or a bundle of entries (the leaves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// `tile/<level>/<index>[.p/<width>]`: `width` hashes of tree level `8 × level`.
    Hashes {
        /// The tile level, `0..=63`.
        level: u8,
        /// The tile's index within its level.
        index: u64,
        /// `1..=256`; `256` is a full tile, written without `.p/`.
        width: u16,
    },
    /// `tile/entries/<index>[.p/<width>]`: `width` logged entries (key-set digests).
    Entries {
        /// The bundle's index.
        index: u64,
        /// `1..=256`; `256` is a full bundle.
        width: u16,
    },
}

impl TilePath {
    /// Parses a path relative to the log's prefix, e.g. `tile/0/x001/234.p/7`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for any path that is not a tile's canonical name: a level past
    /// 63, a width of 0 or past 255 after `.p/`, an index group that is not three digits,
    /// leading zero groups, an index past `u64`, or more than 57 bytes.
    pub fn parse(path: &str) -> Result<Self> {
        if path.len() > MAX_PATH_LEN {
            return Err(Error::Malformed);
        }
        let rest = path.strip_prefix("tile/").ok_or(Error::Malformed)?;
        let (kind, rest) = rest.split_once('/').ok_or(Error::Malformed)?;
        let (digits, width) = match rest.split_once(".p/") {
            Some((digits, width)) => {
                let width = decimal(width)
                    .and_then(|w| u16::try_from(w).ok())
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or(Error::Malformed)?;
                (digits, width)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = tile_index(digits).ok_or(Error::Malformed)?;
        let tile = if kind == "entries" {
            Self::Entries { index, width }
        } else {
            let level = decimal(kind)
                .and_then(|l| u8::try_from(l).ok())
                .filter(|&l| l < 64)
                .ok_or(Error::Malformed)?;
            Self::Hashes {
                level,
                index,
                width,
            }
        };
        if tile.to_path() != path {
            return Err(Error::Malformed);
        }
        Ok(tile)
    }

    /// The tile's canonical path.
    pub fn to_path(&self) -> String {
        let (kind, index, width) = match *self {
            Self::Hashes {
                level,
                index,
                width,
            } => (level.to_string(), index, width),
            Self::Entries { index, width } => ("entries".to_owned(), index, width),
        };
        let mut path = format!("tile/{kind}/{}", encode_index(index));
        if width != TILE_WIDTH {
            path.push_str(&format!(".p/{width}"));
        }
        path
    }
}

/// A decimal number without sign or leading zero (`0` itself allowed), at most 20 digits.
fn decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// `x001/x234/067` → 1234067: groups of exactly three digits, all but the last prefixed `x`.
fn tile_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, prefix) = groups.split_last()?;
    let mut index = 0u64;
    for group in prefix
        .iter()
        .map(|g| g.strip_prefix('x'))
        .chain([Some(*last)])
    {
        let group = group?;
        if group.len() != 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u64 = group.parse().ok()?;
        index = index.checked_mul(1000)?.checked_add(value)?;
    }
    Some(index)
}

/// The canonical `x001/x234/067` form of a tile index.
fn encode_index(mut index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        groups.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_round_trip() {
        for (path, tile) in [
            (
                "tile/0/000",
                TilePath::Hashes {
                    level: 0,
                    index: 0,
                    width: 256,
                },
            ),
            (
                "tile/1/x001/x234/067.p/8",
                TilePath::Hashes {
                    level: 1,
                    index: 1_234_067,
                    width: 8,
                },
            ),
            (
                "tile/entries/x018/x446/x744/x073/x709/x551/615",
                TilePath::Entries {
                    index: u64::MAX,
                    width: 256,
                },
            ),
        ] {
            assert_eq!(TilePath::parse(path), Ok(tile), "{path}");
            assert_eq!(tile.to_path(), path);
        }
    }

    #[test]
    fn non_canonical_and_out_of_range_paths_are_refused() {
        for path in [
            "tile/64/000",
            "tile/77/000.p/3",
            "tile/8/077/000.p/3",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/00/000",
            "tile/0/x000/001",
            "tile/0/01",
            "tile/0/x1/001",
            "tile/0/001/002",
            "tile/entries/x018/x446/x744/x073/x709/x551/616",
            "tile/data/000",
            "tile/0/000/",
            "tile//000",
            "tiles/0/000",
            "",
        ] {
            assert_eq!(TilePath::parse(path), Err(Error::Malformed), "{path}");
        }
    }
}
