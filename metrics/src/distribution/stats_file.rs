//! The reference-statistics file (`.vvstats`): μ, Σ and N of a feature set, with the contract
//! they were computed under, so a real set's statistics are computed once and reused.
//!
//! Layout (all integers and floats little-endian):
//!
//! | bytes            | content                                                            |
//! |------------------|--------------------------------------------------------------------|
//! | 8                | magic `VVSTATS1`                                                   |
//! | 8                | `u64` length `h` of the JSON header                                |
//! | `h`              | UTF-8 JSON: `{"schema": "videval/feature-stats/v1", "extractor", "preprocess", "n", "dim"}` |
//! | `8·dim`          | `f64` mean                                                         |
//! | `8·dim(dim+1)/2` | `f64` covariance, upper triangle row by row (`Σ[i][j]`, `j ≥ i`)   |
//!
//! Nothing follows; a file of any other length is refused. Readers check the schema string, the
//! header's `checksum` of the header's fields and the numbers (files written before it have a
//! `sha256` of the numbers only, or none), that N ≥ 2,
//! and that Σ could be a covariance (finite, a non-negative diagonal, |Σij| ≤ √(Σii·Σjj)): a
//! damaged file gives an error, never an FVD of 0 or 1e300.

use serde::{Deserialize, Serialize};

use super::{Contract, DistributionError, FeatureStats};

/// The widest features a statistics file may hold: wider than any video network's (I3D's 400,
/// CLIP L/14's 768, DINO ViT-g's 1536); comparing two 8192-d files takes about 4 GB and two
/// minutes (the work grows as d³), a 16,000-d pair under the size limit 15 GB and 18 minutes.
pub const MAX_DIM: usize = 8192;

pub const MAGIC: &[u8; 8] = b"VVSTATS1";
pub const SCHEMA: &str = "videval/feature-stats/v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    schema: String,
    extractor: String,
    preprocess: String,
    n: usize,
    dim: usize,
    /// Hex SHA-256 of the bytes after the header (files written before `checksum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// Hex SHA-256 of what the header says of the numbers (schema, extractor, preprocessing, N,
    /// dimension) and of the numbers: a damaged N (which the sample-size warnings and "compare
    /// at equal N" rest on) is caught as well as a damaged mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
}

fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `checksum` of a header and the numbers after it.
fn checksum(header: &Header, data: &[u8]) -> String {
    // Plain strings and integers: serialising cannot fail.
    let mut bytes = serde_json::to_vec(&(&header.schema, &header.extractor, &header.preprocess, header.n, header.dim))
        .unwrap_or_default();
    bytes.extend_from_slice(data);
    digest(&bytes)
}

pub fn to_bytes(s: &FeatureStats) -> Vec<u8> {
    let d = s.dim();
    let mut data = Vec::with_capacity(8 * (d + d * (d + 1) / 2));
    for v in &s.mean {
        data.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..d {
        for j in i..d {
            data.extend_from_slice(&s.cov[i * d + j].to_le_bytes());
        }
    }
    let mut header = Header {
        schema: SCHEMA.into(),
        extractor: s.contract.extractor.clone(),
        preprocess: s.contract.preprocess.clone(),
        n: s.n,
        dim: d,
        // The numbers' own digest too: a videval from before `checksum` still checks them.
        sha256: Some(digest(&data)),
        checksum: None,
    };
    header.checksum = Some(checksum(&header, &data));
    // A derived Serialize of plain strings and integers cannot fail.
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(16 + json.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&data);
    out
}

/// Parses a statistics file; `what` names it in errors.
pub fn from_bytes(bytes: &[u8], what: &str) -> Result<FeatureStats, DistributionError> {
    let bad = |m: String| DistributionError::File(format!("{what}: {m}"));
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad(format!("not a videval statistics file (expected the magic bytes {:?})", "VVSTATS1")));
    }
    let h = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8])) as usize;
    let json =
        bytes.get(16..16usize.saturating_add(h)).ok_or_else(|| bad(format!("header of {h} bytes is cut off")))?;
    let header: Header = serde_json::from_slice(json).map_err(|e| bad(format!("header: {e}")))?;
    if header.schema != SCHEMA {
        return Err(bad(format!("schema {:?}, expected {SCHEMA:?}", header.schema)));
    }
    let d = header.dim;
    if d == 0 {
        return Err(bad("statistics of 0-d features: expected at least one feature".into()));
    }
    if d > MAX_DIM {
        return Err(bad(format!("statistics of {d}-d features: at most {MAX_DIM}-d are compared")));
    }
    // Checked: a damaged header can name any dimension, and the size must not overflow.
    let want = d
        .checked_add(1)
        .and_then(|d1| d.checked_mul(d1))
        .and_then(|t| (t / 2).checked_add(d))
        .and_then(|v| v.checked_mul(8))
        .and_then(|v| v.checked_add(16 + h));
    if want != Some(bytes.len()) {
        let want = want.map_or("more than can be addressed".to_string(), |w| w.to_string());
        return Err(bad(format!("{} bytes, expected {want} for {d}-d statistics", bytes.len())));
    }
    let data = &bytes[16 + h..];
    let damaged = match (&header.checksum, &header.sha256) {
        (Some(want), _) => checksum(&header, data) != *want,
        (None, Some(want)) => digest(data) != *want,
        (None, None) => false,
    };
    if damaged {
        return Err(bad("the header and numbers do not match the header's checksum: the file is damaged".into()));
    }
    if header.n < 2 {
        return Err(bad(format!("statistics of {} video(s); a covariance needs at least 2", header.n)));
    }
    let mut vals = bytes[16 + h..].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    let mean: Vec<f64> = vals.by_ref().take(d).collect();
    let mut cov = vec![0.0; d * d];
    for i in 0..d {
        for j in i..d {
            let v = vals.next().unwrap_or(f64::NAN);
            cov[i * d + j] = v;
            cov[j * d + i] = v;
        }
    }
    if let Some(v) = mean.iter().chain(&cov).find(|v| !v.is_finite()) {
        return Err(bad(format!("non-finite value {v} in the statistics")));
    }
    for i in 0..d {
        let sii = cov[i * d + i];
        if sii < 0.0 {
            return Err(bad(format!("variance {sii} of feature {i} is negative: not a covariance")));
        }
        for j in i + 1..d {
            let bound = (sii * cov[j * d + j]).sqrt();
            if cov[i * d + j].abs() > bound * (1.0 + 1e-9) + 1e-300 {
                return Err(bad(format!(
                    "covariance {} of features {i} and {j} exceeds √(Σii·Σjj) = {bound}: not a covariance",
                    cov[i * d + j]
                )));
            }
        }
    }
    Ok(FeatureStats {
        contract: Contract { extractor: header.extractor, preprocess: header.preprocess },
        n: header.n,
        mean,
        cov,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Features;
    use super::*;

    #[test]
    fn round_trips_bit_exactly_and_refuses_damage() {
        let rows: Vec<Vec<f64>> = (0..7).map(|i| (0..5).map(|j| ((i * 5 + j) as f64).sin() * 1e3).collect()).collect();
        let c = Contract { extractor: "world-encoder@abc".into(), preprocess: "17 frames, 32×32".into() };
        let s = FeatureStats::from_features(&Features::from_rows(&rows).unwrap(), c).unwrap();
        let bytes = to_bytes(&s);
        assert_eq!(from_bytes(&bytes, "x").unwrap(), s);
        let e = from_bytes(&bytes[..bytes.len() - 8], "ref.vvstats").unwrap_err().to_string();
        assert!(e.contains("ref.vvstats") && e.contains("expected"), "{e}");
        // A header naming a dimension whose matrix cannot be addressed, or wider than any network's
        // (comparing two 16,000-d files took 15 GB), is an error, not an overflow.
        let mut huge = bytes.clone();
        let text = String::from_utf8_lossy(&huge[16..]).into_owned();
        let at = 16 + text.find("\"dim\":5").expect("the header names its dimension") + 6;
        huge.splice(at..at + 1, b"9999999999".iter().copied());
        let h = u64::from_le_bytes(huge[8..16].try_into().unwrap()) + 9;
        huge[8..16].copy_from_slice(&h.to_le_bytes());
        let e = from_bytes(&huge, "big.vvstats").unwrap_err().to_string();
        assert!(e.contains("big.vvstats") && e.contains("at most 8192-d"), "{e}");
        let e = from_bytes(b"not a stats file at all", "y").unwrap_err().to_string();
        assert!(e.contains("magic"), "{e}");
        // Any flipped bit in the numbers is found (one flip gave FVD 0, another 3e300).
        for at in [16 + 8 + 3, bytes.len() - 5] {
            let mut flipped = bytes.clone();
            let h = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
            flipped[at.max(16 + h)] ^= 0x40;
            let e = from_bytes(&flipped, "f.vvstats").unwrap_err().to_string();
            assert!(e.contains("checksum"), "{e}");
        }
    }

    /// A statistics file with its header's fields edited (the numbers as they were).
    fn with_header(bytes: &[u8], edit: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
        let h = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
        let mut header: serde_json::Value = serde_json::from_slice(&bytes[16..16 + h]).unwrap();
        edit(header.as_object_mut().unwrap());
        let json = serde_json::to_vec(&header).unwrap();
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&bytes[16 + h..]);
        out
    }

    /// The checksum covers the header's N and contract too (a file whose "n":12 was made 99 was
    /// read as 99 videos); files of the earlier format, whose `sha256` covers the numbers only,
    /// are still read and checked.
    #[test]
    fn a_damaged_header_is_refused_and_earlier_checksums_are_read() {
        let rows: Vec<Vec<f64>> = (0..12).map(|i| (0..3).map(|j| ((i * 3 + j) as f64).sin()).collect()).collect();
        let c = Contract { extractor: "e".into(), preprocess: "p".into() };
        let s = FeatureStats::from_features(&Features::from_rows(&rows).unwrap(), c).unwrap();
        let bytes = to_bytes(&s);
        let h = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
        let rewrite = |edit: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| with_header(&bytes, edit);
        for (key, value) in [("n", serde_json::json!(99)), ("extractor", serde_json::json!("i3d"))] {
            let e = from_bytes(&rewrite(&|m| drop(m.insert(key.into(), value.clone()))), "h.vvstats").unwrap_err();
            assert!(e.to_string().contains("checksum"), "{key}: {e}");
        }
        let earlier = |m: &mut serde_json::Map<String, serde_json::Value>| {
            m.remove("checksum");
            m.insert("sha256".into(), serde_json::json!(digest(&bytes[16 + h..])));
        };
        assert_eq!(from_bytes(&rewrite(&earlier), "old.vvstats").unwrap(), s);
        let mut damaged = rewrite(&earlier);
        let last = damaged.len() - 3;
        damaged[last] ^= 1;
        assert!(from_bytes(&damaged, "old.vvstats").unwrap_err().to_string().contains("checksum"));
    }

    /// Files without a checksum (written before it) are still checked: N ≥ 2 and a matrix that
    /// could be a covariance.
    #[test]
    fn unchecksummed_files_must_hold_a_covariance_of_two_or_more() {
        let rows: Vec<Vec<f64>> = (0..7).map(|i| (0..3).map(|j| ((i * 3 + j) as f64).cos()).collect()).collect();
        let c = Contract { extractor: "e".into(), preprocess: "p".into() };
        let s = FeatureStats::from_features(&Features::from_rows(&rows).unwrap(), c).unwrap();
        let bare = |s: &FeatureStats| {
            with_header(&to_bytes(s), &|m| {
                m.remove("checksum");
                m.remove("sha256");
            })
        };
        assert_eq!(from_bytes(&bare(&s), "old.vvstats").unwrap(), s);
        let mut one = s.clone();
        one.n = 1;
        assert!(from_bytes(&bare(&one), "x").unwrap_err().to_string().contains("at least 2"));
        let mut skew = s.clone();
        skew.cov[1] = 10.0 * (skew.cov[0] * skew.cov[4]).sqrt() + 1.0;
        skew.cov[3] = skew.cov[1];
        assert!(from_bytes(&bare(&skew), "x").unwrap_err().to_string().contains("not a covariance"));
    }
}
