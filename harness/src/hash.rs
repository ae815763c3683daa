//! Content hashing: every key in videval is `sha256:<hex>` over canonical bytes.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// A resampling seed from names (a suite and a metric, say): the same names, the same draws,
/// whatever else the run holds.
pub fn seed_of(parts: &[&str]) -> u64 {
    u64::from_str_radix(&sha256_hex(parts.join("\0").as_bytes())[..15], 16).unwrap_or(1)
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

/// Streams a file through SHA-256.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
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
}
