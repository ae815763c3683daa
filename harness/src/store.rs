//! The content-addressed store shared by runs, and atomic file writes.
//!
//! Layout under the store root:
//! - `videos/ab/<sha256>.<ext>` — every generated video, by the hash of its bytes;
//! - `gens/ab/<gen_key>.json` — what a generation key produced (so a new run reuses it);
//! - `scores/ab/<score_key>.json` — a metric value for a video's bytes and a metric version;
//! - `tmp/` — files being written; never read.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::hash::{digits, sha256_file};

/// A name part no other writer uses at the same time: process id plus a per-process counter
/// (threads of one process may write the same content-addressed key concurrently).
fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}.{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename,
/// then fsync of the directory. A reader sees the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", unique()));
    let mut f = File::create(&tmp).map_err(Error::io(&tmp))?;
    f.write_all(bytes).map_err(Error::io(&tmp))?;
    f.sync_all().map_err(Error::io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(Error::io(path))?;
    if let Ok(d) = File::open(dir) {
        // Directory fsync makes the rename durable; some filesystems refuse it, harmlessly.
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Internal(format!("serialising {}: {e}", path.display())))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Whether two paths name one file (as written, or once links and `..` are resolved).
pub fn same_file(a: &Path, b: &Path) -> bool {
    a == b || fs::canonicalize(a).ok().is_some_and(|a| fs::canonicalize(b).ok() == Some(a))
}

/// A run's or store's file is a regular file or nothing: a FIFO or a device there would block
/// the read for ever, a folder fails obscurely.
pub fn regular_or_absent(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(Error::BadFile {
            path: path.to_path_buf(),
            message: "not a regular file (a folder, a FIFO or a device where a file belongs)".into(),
        }),
        _ => Ok(()),
    }
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    regular_or_absent(path)?;
    let bytes = fs::read(path).map_err(Error::io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        message: format!("not a valid file of this kind: {e}"),
    })
}

/// A run's `results.json`, with metric ids renamed since it was written read under their new
/// names ([`videval_metrics::registry::RENAMED`]): what every comparison across runs reads.
pub fn read_results(run_dir: &Path) -> Result<videval_reports::Results> {
    let path = run_dir.join("results.json");
    if !path.is_file() {
        let why = if run_dir.is_dir() {
            "no results.json: not a run folder, or its run has not finished (`videval merge` writes it)"
        } else {
            "no such run folder"
        };
        return Err(Error::BadFile { path: run_dir.to_path_buf(), message: why.into() });
    }
    let mut r: videval_reports::Results = read_json(&path)?;
    // v1 and v2 read the same way; a later version is from a newer videval.
    if !matches!(r.schema.as_str(), "videval/results/v1" | "videval/results/v2") {
        return Err(Error::BadFile {
            path,
            message: format!(
                "schema {:?}: this videval reads {:?} (and v1); a newer videval wrote it?",
                r.schema,
                videval_reports::results::RESULTS_SCHEMA
            ),
        });
    }
    for (old, new) in videval_metrics::registry::RENAMED {
        for s in r.suites.values_mut() {
            if let Some(m) = s.metrics.remove(*old) {
                s.metrics.entry((*new).to_string()).or_insert(m);
            }
        }
        for s in &mut r.samples {
            if let Some(v) = s.metrics.remove(*old) {
                s.metrics.entry((*new).to_string()).or_insert(v);
            }
        }
    }
    Ok(r)
}

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    writable: bool,
}

impl Store {
    pub fn open(root: &Path) -> Result<Store> {
        if root.exists() && !root.is_dir() {
            return Err(Error::Config(format!(
                "--store {}: a file, where the store's folder is expected",
                root.display()
            )));
        }
        for sub in ["videos", "gens", "scores", "tmp"] {
            let d = root.join(sub);
            // A read-only store copied without some of them is still read.
            if fs::create_dir_all(&d).is_err() && !root.is_dir() {
                return Err(Error::Config(format!("--store {}: cannot create it", root.display())));
            }
        }
        // Whether anything can be added: a read-only store still serves what it holds.
        let probe = root.join("tmp").join(format!(".writable.{}", unique()));
        let writable = File::create(&probe).is_ok();
        let _ = fs::remove_file(&probe);
        Ok(Store { root: root.to_path_buf(), writable })
    }

    /// Whether new videos and results can be stored.
    pub fn writable(&self) -> bool {
        self.writable
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh path under `tmp/` for a file about to be produced.
    pub fn tmp_path(&self, stem: &str, ext: &str) -> PathBuf {
        let stem: String = digits(stem).chars().take(24).collect();
        self.root.join("tmp").join(format!("{stem}.{}.{ext}", unique()))
    }

    fn sharded(&self, kind: &str, key: &str, ext: &str) -> PathBuf {
        let d = digits(key);
        self.root.join(kind).join(&d[..2.min(d.len())]).join(format!("{d}.{ext}"))
    }

    pub fn video_path(&self, sha: &str, ext: &str) -> PathBuf {
        self.sharded("videos", sha, ext)
    }

    /// Moves a finished file from `tmp/` into `videos/` under its content hash. Returns the hash
    /// and the stored path. An identical video already stored is kept and the new copy dropped.
    pub fn put_video(&self, tmp: &Path) -> Result<(String, PathBuf)> {
        let sha = sha256_file(tmp).map_err(Error::io(tmp))?;
        let ext = tmp.extension().and_then(|e| e.to_str()).unwrap_or("mp4");
        let dest = self.video_path(&sha, ext);
        // A stored copy is kept only when it still is what its name says: a damaged or altered
        // one is replaced by this good copy.
        if dest.is_file() && sha256_file(&dest).is_ok_and(|have| have == sha) {
            fs::remove_file(tmp).map_err(Error::io(tmp))?;
        } else {
            let dir = dest.parent().unwrap_or(&self.root);
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
            File::open(tmp).and_then(|f| f.sync_all()).map_err(Error::io(tmp))?;
            fs::rename(tmp, &dest).map_err(Error::io(&dest))?;
        }
        Ok((sha, dest))
    }

    pub fn get<T: DeserializeOwned>(&self, kind: &str, key: &str) -> Option<T> {
        let bytes = fs::read(self.sharded(kind, key, "json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn put<T: Serialize>(&self, kind: &str, key: &str, value: &T) -> Result<()> {
        write_json_atomic(&self.sharded(kind, key, "json"), value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn videos_are_stored_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t1 = store.tmp_path("sha256:aa", "mp4");
        fs::write(&t1, b"video bytes").unwrap();
        let (sha, path) = store.put_video(&t1).unwrap();
        assert!(path.exists() && !t1.exists());
        let t2 = store.tmp_path("sha256:bb", "mp4");
        fs::write(&t2, b"video bytes").unwrap();
        assert_eq!(store.put_video(&t2).unwrap(), (sha.clone(), path));
        store.put("scores", &sha, &1.5f64).unwrap();
        assert_eq!(store.get::<f64>("scores", &sha), Some(1.5));
        assert_eq!(store.get::<f64>("scores", "sha256:ffff"), None);
    }
}
