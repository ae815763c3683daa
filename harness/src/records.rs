//! Per-shard append-only JSONL records: one line per generation and one per score.
//!
//! Lines are appended whole and synced; a process killed mid-line leaves at most one torn final
//! line, which readers ignore and writers cut off before appending again. So a restart never
//! loses a finished unit and never duplicates one.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::UnitId;
use crate::video::EncodeParams;

pub const GEN_SCHEMA: &str = "videval/generation/v1";
pub const SCORE_SCHEMA: &str = "videval/score/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Error,
    /// The metric does not apply to this video (e.g. a temporal metric on a single image).
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenRecord {
    pub schema: String,
    #[serde(flatten)]
    pub unit: UnitId,
    pub seed: u64,
    pub gen_key: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encode: Option<EncodeParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Reused from the store instead of generated in this run.
    pub cached: bool,
    pub wall_s: f64,
    /// The model's own cost, when an in-process adapter measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perf: Option<crate::generator::Perf>,
    /// How the video differs from what the unit asked for (frames, display size, frame rate),
    /// from its header: "12 frames (24 asked)". A model that died half way, or ignores a
    /// setting, delivers a readable video that is not the one asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_request: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    pub schema: String,
    #[serde(flatten)]
    pub unit: UnitId,
    pub gen_key: String,
    pub video_sha256: String,
    pub metric: String,
    pub metric_version: u32,
    pub score_key: String,
    /// The network (and its weights' digest) the value came through, for metrics that use one:
    /// `merge` refuses shards scored through different ones. Absent for other metrics and in
    /// older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For probes: every expectation's verdict and reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub cached: bool,
    pub wall_s: f64,
}

/// An append-only JSONL file shared by worker threads.
#[derive(Debug)]
pub struct Appender {
    path: PathBuf,
    /// The file, and the first failed write's error once one failed.
    file: Mutex<(File, Option<String>)>,
}

impl Appender {
    /// Opens `path` for appending, first cutting off a torn final line left by a killed writer.
    pub fn open(path: &Path) -> Result<Appender> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(Error::io(path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(Error::io(path))?;
        if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
            let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(Error::io(path))?;
            file.seek(SeekFrom::End(0)).map_err(Error::io(path))?;
        }
        Ok(Appender { path: path.to_path_buf(), file: Mutex::new((file, None)) })
    }

    /// Appends one record as one line. A write that fails part-way (a full disk) is cut back to
    /// the last whole line, and every later append fails: other workers' lines written after a
    /// torn one glued two records into one line in the middle of the file, which no later run
    /// could read.
    pub fn append<T: Serialize>(&self, record: &T) -> Result<()> {
        let mut line = serde_json::to_vec(record).map_err(|e| Error::Internal(format!("serialising a record: {e}")))?;
        line.push(b'\n');
        let mut guard = self.file.lock().map_err(|_| Error::Internal("a record writer panicked".into()))?;
        let (f, failed) = &mut *guard;
        if let Some(first) = failed {
            return Err(Error::Internal(format!(
                "{}: not written after an earlier failure ({first})",
                self.path.display()
            )));
        }
        let before = f.metadata().map_err(Error::io(&self.path))?.len();
        if let Err(e) = f.write_all(&line).and_then(|()| f.sync_data()) {
            *failed = Some(e.to_string());
            // Shrinking needs no space; if even that fails, the next open cuts the torn end.
            let _ = f.set_len(before);
            return Err(Error::Io { path: self.path.clone(), source: e });
        }
        Ok(())
    }
}

/// Reads every complete line of a JSONL file; a missing file is empty. A torn final line (no
/// newline) is ignored; a complete line that does not parse is an error naming file and line.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    crate::store::regular_or_absent(path)?;
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io { path: path.to_path_buf(), source: e });
        }
    };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes[..complete]
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            serde_json::from_slice(l)
                .map_err(|e| Error::BadFile { path: path.to_path_buf(), message: format!("line {}: {e}", i + 1) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_ignored_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        fs::write(&p, b"1\n2\n3").unwrap();
        assert_eq!(read::<u32>(&p).unwrap(), vec![1, 2]);
        let a = Appender::open(&p).unwrap();
        a.append(&4u32).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"1\n2\n4\n");
        assert_eq!(read::<u32>(&dir.path().join("missing.jsonl")).unwrap(), Vec::<u32>::new());
        fs::write(&p, b"1\nnope\n").unwrap();
        assert!(read::<u32>(&p).unwrap_err().to_string().contains("line 2"));
    }

    /// A disk that fills part-way through a line: the line is cut back and nothing is appended
    /// after it, so the file stays whole lines. The file-size limit (`ulimit -f 2`: 1 KiB in
    /// dash, 2 KiB in bash; the 20 lines take 2,180 bytes) stands in for the full disk, with SIGXFSZ ignored so that the write fails with
    /// EFBIG instead of killing the process; the appends run in a child of this test binary.
    #[test]
    fn a_write_that_fails_part_way_leaves_whole_lines() {
        if let Ok(p) = std::env::var("VIDEVAL_APPENDER_CHILD") {
            let a = Appender::open(Path::new(&p)).unwrap();
            let long = "x".repeat(100);
            let mut errors = Vec::new();
            for i in 0..20u32 {
                if let Err(e) = a.append(&(i, &long)) {
                    errors.push(e.to_string());
                }
            }
            // The first failure is the disk's; every later append is refused without writing.
            assert!(errors.len() >= 2, "{errors:?}");
            assert!(errors[1..].iter().all(|e| e.contains("not written after an earlier failure")), "{errors:?}");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", "trap '' XFSZ; ulimit -f 2; exec \"$0\" --exact records::tests::a_write_that_fails_part_way_leaves_whole_lines --test-threads 1"])
            .arg(&exe)
            .env("VIDEVAL_APPENDER_CHILD", &p)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let bytes = fs::read(&p).unwrap();
        // The line the limit tore was cut back.
        assert!(!bytes.is_empty() && bytes.len() < 2048 && bytes.ends_with(b"\n"), "{} bytes", bytes.len());
        let lines = read::<(u32, String)>(&p).unwrap();
        assert_eq!(lines.iter().map(|l| l.0).collect::<Vec<_>>(), (0..lines.len() as u32).collect::<Vec<_>>());
    }
}
