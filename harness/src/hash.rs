//! Content hashing: every key in videval is `sha256:<hex>` over canonical bytes.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// A resampling seed from names (a suite and a metric, say): the same names, the same draws,
/// whatever else the run holds. 53 bits, as a unit's seed: the JSON that records it (`seed` of
/// compare's rows, `rng_seed` of results) is read exactly by every JSON reader (60 bits were
/// rounded by JavaScript's, and a row's draws could not be made again from its seed).
pub fn seed_of(parts: &[&str]) -> u64 {
    u64::from_str_radix(&sha256_hex(parts.join("\0").as_bytes())[..15], 16).map_or(1, |s| s & ((1 << 53) - 1))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn sha256_tagged(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Hash of a serialisable value's canonical JSON (struct field order, BTreeMap key order).
pub fn key_of<T: serde::Serialize>(value: &T) -> String {
    sha256_tagged(&serde_json::to_vec(value).unwrap_or_default())
}

/// Streams a file through SHA-256, once per version of the file in a process: a run read each
/// found video whole three times (its record, the check before scoring, the report's). A
/// version is the open file's device, inode, size and modification and change times; a write
/// moves the change time, which no one can set, but only by the filesystem's tick (a second on
/// ext2/3 with small inodes, FAT, some NFS): as git does with its index, a file changed within
/// [`SETTLED_S`] of being hashed is not remembered (a same-size rewrite within the tick kept its
/// old hash, 500 times in 500 on ext2).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::os::unix::fs::MetadataExt;
    type Version = (u64, u64, u64, i64, i64, i64, i64);
    static SEEN: std::sync::Mutex<Option<std::collections::HashMap<Version, String>>> = std::sync::Mutex::new(None);
    let file = std::fs::File::open(path)?;
    let m = file.metadata()?;
    let version = (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec());
    let known = SEEN.lock().ok().and_then(|g| g.as_ref().and_then(|map| map.get(&version).cloned()));
    if let Some(sha) = known {
        return Ok(sha);
    }
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let sha = sha256_open(file)?;
    // Only regular files (a FIFO or a device has no version to key by), settled ones, and a
    // bounded number of them (about 200 bytes each).
    let settled = m.mtime().max(m.ctime()) < started.saturating_sub(SETTLED_S);
    if m.is_file()
        && settled
        && let Ok(mut guard) = SEEN.lock()
    {
        let map = guard.get_or_insert_with(Default::default);
        if map.len() >= 100_000 {
            map.clear();
        }
        map.insert(version, sha.clone());
    }
    Ok(sha)
}

/// Seconds since its last change before a file's hash is remembered ([`sha256_file`]).
const SETTLED_S: i64 = 2;

fn sha256_open(mut file: std::fs::File) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex digits of a tagged hash (`sha256:abcd…` → `abcd…`).
pub fn digits(tagged: &str) -> &str {
    tagged.split_once(':').map_or(tagged, |(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(digits("sha256:ab12"), "ab12");
    }

    /// A file hashed once per version: the same bytes again from memory, and a rewrite of the
    /// same size (even with its modification time put back) hashed anew.
    #[test]
    fn a_file_is_hashed_again_once_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        std::fs::write(&path, b"abc").unwrap();
        let first = sha256_file(&path).unwrap();
        assert_eq!(first, sha256_tagged(b"abc"));
        assert_eq!(sha256_file(&path).unwrap(), first);
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, b"abd").unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_tagged(b"abd"));
    }
}
