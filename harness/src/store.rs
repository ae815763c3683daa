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
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::hash::{digits, sha256_file};

/// A name part no other writer uses at the same time: host, process id and a per-process
/// counter (threads of one process may write the same content-addressed key concurrently; shards
/// on several hosts may share one store). The host and process let a later run tell a killed
/// writer's leftovers from a live writer's file ([`Store::sweep_tmp`]).
pub(crate) fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}.{}.{}", host(), std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// This host's name, and its process-id namespace (containers on one host may share its name,
/// each with its own process ids), as one dot-free name part.
fn host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(host_part).clone()
}

fn host_part() -> String {
    let ns: String = std::fs::read_link("/proc/self/ns/pid")
        .map(|l| l.to_string_lossy().chars().filter(char::is_ascii_digit).collect())
        .unwrap_or_default();
    let name = format!("{}-{ns}", rustix::system::uname().nodename().to_string_lossy());
    let part: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    if part.is_empty() { "host".into() } else { part }
}

/// A file under `tmp/` this old is a leftover whoever wrote it: writers touch theirs as they go.
const TMP_ABANDONED: Duration = Duration::from_secs(7 * 24 * 3600);
/// A file under `tmp/` whose writer, on this host, is no longer running is a leftover once it is
/// this old (the margin covers a process in another PID namespace under the same host name).
const TMP_ORPHANED: Duration = Duration::from_secs(600);

/// The start of a file name, short enough that a temporary name made from it stays under the
/// 255-byte limit whatever the name's length.
pub fn name_prefix(name: &str) -> &str {
    let mut end = name.len().min(100);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Where a write to `path` lands: the path itself, or the file a link names (the link was
/// replaced by a file of its own, and the file it named kept its old contents). What is not a
/// regular file — a FIFO, a device, a socket, a link to one or to nothing — is refused: renaming
/// over it replaced it (`--export /dev/full` as root replaced the device node).
fn write_target(path: &Path) -> Result<std::path::PathBuf> {
    let Ok(meta) = fs::symlink_metadata(path) else { return Ok(path.to_path_buf()) };
    let refuse =
        |what: &str| Err(Error::Config(format!("{}: {what}; videval writes whole regular files only", path.display())));
    if meta.file_type().is_symlink() {
        return match fs::metadata(path) {
            Ok(m) if m.is_file() => fs::canonicalize(path).map_err(Error::io(path)),
            Ok(m) if m.is_dir() => Ok(path.to_path_buf()),
            Ok(_) => refuse("a link to something that is not a regular file (a FIFO, a device, a socket)"),
            Err(_) => refuse("a link to nothing"),
        };
    }
    if meta.is_file() || meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    refuse("not a regular file (a FIFO, a device or a socket)")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename,
/// then fsync of the directory. A reader sees the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_via(path, bytes, None)
}

/// [`write_atomic`] with the temporary file in `scratch` (on the same filesystem) when given:
/// the store's entries are written through its `tmp/`, which every run sweeps, so a writer
/// killed mid-write leaves nothing among them (its file stayed there for good).
fn write_atomic_via(path: &Path, bytes: &[u8], scratch: Option<&Path>) -> Result<()> {
    let target = write_target(path)?;
    let path = target.as_path();
    let dir = path.parent().unwrap_or(Path::new("."));
    if let Err(e) = fs::create_dir_all(dir) {
        // A file where the folder should be is the user's path, not an I/O failure.
        if dir.ancestors().any(|a| a.is_file()) {
            return Err(Error::Config(format!(
                "{}: a file is in the way of the folder {}",
                path.display(),
                dir.display()
            )));
        }
        return Err(Error::io(dir)(e));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = scratch.unwrap_or(dir).join(format!(".{}.{}.tmp", name_prefix(name), unique()));
    // Errors name the file asked for, not the temporary one.
    let mut f = File::create(&tmp).map_err(Error::io(path))?;
    // A failed write or rename (a disk full, `-o` naming a folder) leaves no temporary file.
    let written = f.write_all(bytes).and_then(|()| f.sync_all()).map_err(Error::io(path));
    drop(f);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path).map_err(Error::io(path))) {
        let _ = fs::remove_file(&tmp);
        if path.is_dir() {
            return Err(Error::Config(format!("{}: a folder, where a file is to be written", path.display())));
        }
        return Err(e);
    }
    if let Ok(d) = File::open(dir) {
        // Directory fsync makes the rename durable; some filesystems refuse it, harmlessly.
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, &json_bytes(path, value)?)
}

/// `value` as pretty JSON with a final newline, as every JSON file videval writes.
fn json_bytes<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Internal(format!("serialising {}: {e}", path.display())))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Whether two paths name one file (as written, or once links and `..` are resolved).
pub fn same_file(a: &Path, b: &Path) -> bool {
    a == b || fs::canonicalize(a).ok().is_some_and(|a| fs::canonicalize(b).ok() == Some(a))
}

/// Whether `file` (there or not yet) lies directly in `folder`, however either is spelt: an
/// output written among the files a folder input is read from replaced one of them.
pub fn directly_in(file: &Path, folder: &Path) -> bool {
    let parent = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    folder.is_dir() && fs::canonicalize(parent).ok().is_some_and(|p| fs::canonicalize(folder).ok() == Some(p))
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
    // The files read here are a run's, a sweep's or a config the user names: one missing or
    // unreadable is bad input.
    let bytes = fs::read(path).map_err(Error::input(path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        message: format!("not a valid file of this kind: {e}{}", json_hint(&bytes, &e)),
    })
}

/// What a JSON syntax error most likely is, where the text says so: a byte-order mark, or a
/// NaN or an infinity (which JSON cannot hold: "expected value at line 7 column 12" said neither).
fn json_hint(bytes: &[u8], e: &serde_json::Error) -> &'static str {
    if bytes.starts_with("\u{feff}".as_bytes()) {
        return " (the file starts with a byte-order mark, which JSON does not allow)";
    }
    if !e.is_syntax() {
        return "";
    }
    let line = bytes.split(|&b| b == b'\n').nth(e.line().saturating_sub(1)).unwrap_or_default();
    let at = &line[e.column().saturating_sub(1).min(line.len())..];
    if [&b"NaN"[..], b"Infinity", b"-Infinity", b"inf", b"-inf", b"nan"].iter().any(|w| at.starts_with(w)) {
        " (a NaN or an infinity, which JSON cannot hold: every value must be a finite number)"
    } else {
        ""
    }
}

/// A run's `results.json`, with metric ids renamed since it was written read under their new
/// names ([`videval_metrics::registry::RENAMED`]): what every comparison across runs reads.
pub fn read_results(run_dir: &Path) -> Result<videval_reports::Results> {
    let path = run_dir.join("results.json");
    if !path.is_file() {
        let why = if run_dir.is_dir() {
            "no results.json: not a run folder, or its run has not finished (`videval merge` writes it)"
        } else if run_dir.exists() {
            "a file, where a run folder is expected"
        } else {
            "no such run folder"
        };
        return Err(Error::BadFile { path: run_dir.to_path_buf(), message: why.into() });
    }
    let mut r: videval_reports::Results = read_json(&path)?;
    // v1 reads as the current schema does; a later version is from a newer videval.
    if r.schema != videval_reports::results::RESULTS_SCHEMA && r.schema != "videval/results/v1" {
        return Err(Error::BadFile {
            path,
            message: format!(
                "schema {:?}: this videval reads {:?} (and v1); a newer videval wrote it?",
                r.schema,
                videval_reports::results::RESULTS_SCHEMA
            ),
        });
    }
    // v1 gave intervals the current rules do not (from fewer than 5 cases, or of no width):
    // re-rendered, a page showed [0.8571, 0.8571] from 3 cases under text saying such rows read n/a.
    if r.schema == "videval/results/v1" {
        for m in r.suites.values_mut().flat_map(|s| s.metrics.values_mut().chain(s.capabilities.values_mut())) {
            let flat = m.confidence_interval.as_ref().is_some_and(|i| i.lower_bound >= i.upper_bound);
            let few = m.method == "cluster_bootstrap_percentile"
                && m.n_clusters < videval_metrics::stats::bootstrap::MIN_CLUSTERS;
            if m.confidence_interval.is_some() && (flat || few) {
                m.confidence_interval = None;
                m.interval_note = Some(format!(
                    "n/a ({} case{}; a v1 interval this version does not give)",
                    m.n_clusters,
                    if m.n_clusters == 1 { "" } else { "s" }
                ));
            }
        }
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
    /// The root with links and `..` resolved, for [`Store::holds`].
    real_root: Option<PathBuf>,
    writable: bool,
}

/// Where the store at `root` keeps an entry of `kind` under `key` (its first two digits a folder).
fn sharded(root: &Path, kind: &str, key: &str, ext: &str) -> PathBuf {
    let d = digits(key);
    root.join(kind).join(&d[..2.min(d.len())]).join(format!("{d}.{ext}"))
}

/// Where a video of hash `sha` recorded at `path` is now, when `path` is gone: the copy the store
/// at `root` keeps under its hash (a store moved or mounted elsewhere since). None when `path`
/// is still a file or the store has no copy. (Not [`Store::open`]: that would make its folders.)
pub fn moved_video(root: &Path, path: &Path, sha: &str) -> Option<PathBuf> {
    if path.is_file() {
        return None;
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("mp4");
    Some(sharded(root, "videos", sha, ext)).filter(|here| here.is_file())
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
        let store = Store { root: root.to_path_buf(), real_root: root.canonicalize().ok(), writable };
        if writable {
            store.sweep_tmp();
        }
        Ok(store)
    }

    /// Removes what killed writers left under `tmp/` (a run killed while a video was being
    /// written leaves it there; over many nightly runs they add up): files written on this host
    /// by a process no longer running, untouched for [`TMP_ORPHANED`], and any file untouched for
    /// [`TMP_ABANDONED`]. A live writer's file is never removed. Returns how many were removed.
    pub fn sweep_tmp(&self) -> usize {
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else { return 0 };
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let age = meta.modified().ok().and_then(|t| now.duration_since(t).ok()).unwrap_or_default();
            let name = entry.file_name().to_string_lossy().into_owned();
            let orphaned = age >= TMP_ORPHANED && left_by_gone_writer(&name);
            if (orphaned || age >= TMP_ABANDONED) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Whether new videos and results can be stored.
    pub fn writable(&self) -> bool {
        self.writable
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` is in this store, however either is spelt (`store` and `../store`, a link,
    /// another mount point): compared by text, a stored video reached by another spelling was
    /// taken for a folder's video and its cache entry stamped, and every later run generated it
    /// again.
    pub fn holds(&self, path: &Path) -> bool {
        self.inside(path).is_some()
    }

    /// `path` relative to this store's folder, however either is spelt; None outside it.
    fn inside(&self, path: &Path) -> Option<PathBuf> {
        path.strip_prefix(&self.root).ok().map(Path::to_path_buf).or_else(|| {
            let r = self.real_root.as_ref()?;
            path.canonicalize().ok()?.strip_prefix(r).ok().map(Path::to_path_buf)
        })
    }

    /// `path` as a message shows it: `<store>/videos/…` for a file in this store, so a unit's
    /// error reads the same from every store folder (two stores gave two results.json for one
    /// failed unit); any other path as it is.
    pub fn shown(&self, path: &Path) -> String {
        match self.inside(path) {
            Some(rel) => format!("<store>/{}", rel.display()),
            None => path.display().to_string(),
        }
    }

    /// A fresh path under `tmp/` for a file about to be produced.
    pub fn tmp_path(&self, stem: &str, ext: &str) -> PathBuf {
        let stem: String = digits(stem).chars().take(24).collect();
        self.root.join("tmp").join(format!("{stem}.{}.{ext}", unique()))
    }

    fn sharded(&self, kind: &str, key: &str, ext: &str) -> PathBuf {
        sharded(&self.root, kind, key, ext)
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

    /// Drops the entry under `key` (one that points at a damaged video), so that the next run
    /// makes it again. Nothing to drop, or a read-only store, is not an error.
    pub fn forget(&self, kind: &str, key: &str) {
        if self.writable {
            let _ = fs::remove_file(self.sharded(kind, key, "json"));
        }
    }

    /// Caches `value` under `key`. A read-only store caches nothing (it only serves what it
    /// holds): every caller goes on as if the entry had been written.
    pub fn put<T: Serialize>(&self, kind: &str, key: &str, value: &T) -> Result<()> {
        if !self.writable {
            return Ok(());
        }
        let path = self.sharded(kind, key, "json");
        write_atomic_via(&path, &json_bytes(&path, value)?, Some(&self.root.join("tmp")))
    }
}

/// The process on `host` that wrote a file named by [`unique`] (the host's name part followed
/// by a process id), if the name says.
fn writer_pid(name: &str, host: &str) -> Option<u32> {
    let parts: Vec<&str> = name.split('.').collect();
    parts.windows(2).find(|w| w[0] == host).and_then(|w| w[1].parse().ok())
}

/// Whether a file or folder named with [`unique`] was made by a process of this host (and PID
/// namespace) that is no longer running: a killed writer's leftover.
pub(crate) fn left_by_gone_writer(name: &str) -> bool {
    writer_pid(name, &host()).is_some_and(|pid| !running(pid))
}

/// Removes what [`write_atomic`] left beside its targets in `dir` when its writer was killed
/// (`.<name>.<host>.<pid>.<n>.tmp` of a process of this host that is gone): a killed merge left
/// a megabyte `.report.html….tmp` in the run folder for good. Returns how many.
pub fn sweep_leftovers(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with('.') && name.ends_with(".tmp") && e.file_type().is_ok_and(|t| t.is_file());
        if ours && left_by_gone_writer(&name) && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether process `pid` exists on this host (one we may not signal exists too).
fn running(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    !matches!(rustix::process::test_kill_process(pid), Err(rustix::io::Errno::SRCH))
}

/// Size and modification time (ns since the epoch) of a regular file; None for anything else
/// (a folder, a FIFO, a broken link), which is never read as a video.
pub fn file_stamp(path: &Path) -> Option<(u64, i128)> {
    let m = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
    let t = m.modified().ok()?;
    let ns = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    Some((m.len(), ns))
}

#[cfg(test)]
mod tests {
    /// A NaN where a number is expected, or a byte-order mark, is said as what it is.
    #[test]
    fn json_errors_say_nan_and_byte_order_marks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        for (text, want) in [("{\"a\": NaN}", "a NaN or an infinity"), ("\u{feff}{\"a\": 1}", "byte-order mark")] {
            std::fs::write(&p, text).unwrap();
            let e = super::read_json::<serde_json::Value>(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    /// A v1 results file reads without the intervals this version would not give (from fewer
    /// than 5 cases, or of no width); the others stay.
    #[test]
    fn v1_results_lose_the_intervals_the_current_rules_do_not_give() {
        let dir = tempfile::tempdir().unwrap();
        let metric = |n: usize, lo: f64, hi: f64| {
            serde_json::json!({"point_estimate": 0.5, "standard_error": null,
                "confidence_interval": {"confidence_level": 0.95, "lower_bound": lo, "upper_bound": hi},
                "method": "cluster_bootstrap_percentile", "unit": "case", "n_clusters": n, "n_samples": n,
                "n_boot": 1000, "rng_seed": 0, "metric_version": 1, "direction": "higher_is_better", "description": ""})
        };
        let r = serde_json::json!({"schema": "videval/results/v1", "plan_hash": "p", "model": {}, "complete": true,
            "missing_units": [], "samples": [], "suites": {"s": {"version": 1, "content_hash": "h",
                "n": {"cases": 8, "samples": 8, "failed_generations": 0, "failed_scores": 0, "not_applicable": 0},
                "metrics": {"few": metric(3, 0.4, 0.6), "flat": metric(8, 0.5, 0.5), "fine": metric(8, 0.4, 0.6)}}}});
        std::fs::write(dir.path().join("results.json"), r.to_string()).unwrap();
        let read = super::read_results(dir.path()).unwrap();
        let m = &read.suites["s"].metrics;
        assert!(
            m["few"].confidence_interval.is_none() && m["few"].interval_note.as_deref().unwrap().contains("3 cases")
        );
        assert!(m["flat"].confidence_interval.is_none());
        assert!(m["fine"].confidence_interval.is_some());
    }

    use super::*;

    #[test]
    fn a_killed_writers_leftovers_beside_its_targets_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        // A process of this host that is gone (PIDs are below 2^22 on Linux) and a live one (us).
        let gone = dir.path().join(format!(".results.json.{}.4194303.0.tmp", host()));
        let live = dir.path().join(format!(".results.json.{}.{}.1.tmp", host(), std::process::id()));
        let mine = dir.path().join(".notes.tmp");
        for f in [&gone, &live, &mine] {
            fs::write(f, "x").unwrap();
        }
        assert_eq!(sweep_leftovers(dir.path()), 1);
        assert!(!gone.exists() && live.exists() && mine.exists());
    }

    /// A write through a link lands in the file it names (the link was replaced by a file of its
    /// own); a FIFO, or a link to nothing, is refused, never replaced.
    #[test]
    fn writes_go_through_links_and_never_replace_what_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.csv");
        fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = write_atomic(&fifo, b"x").unwrap_err();
        assert!(
            e.to_string().contains("not a regular file") && e.exit_code() == crate::error::ExitCode::BadInput,
            "{e}"
        );
        assert!(!fs::metadata(&fifo).unwrap().is_file(), "the FIFO was replaced");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere/x"), &dangling).unwrap();
        assert!(write_atomic(&dangling, b"x").unwrap_err().to_string().contains("a link to nothing"));
    }

    /// A score read back from the store is the number written, to the bit: serde_json's default
    /// parser was 1 ulp off on some (0.011491428428101089 came back …087), so a resumed run's
    /// records and results differed from a fresh run's.
    #[test]
    fn numbers_read_back_from_json_are_the_numbers_written() {
        use rand::{Rng, SeedableRng};
        assert_eq!(serde_json::from_str::<f64>("0.011491428428101089").unwrap(), 0.011491428428101089);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..200_000 {
            let x: f64 = rng.random::<f64>() * 10f64.powi(rng.random_range(-12..12));
            let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?}");
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        // A name at the length limit still has room for its temporary file.
        let long = dir.path().join(format!("{}.html", "L".repeat(250)));
        write_atomic(&long, b"page").unwrap();
        assert_eq!(fs::read(&long).unwrap(), b"page");
        fs::remove_file(&long).unwrap();
        // Onto a folder: refused, and nothing is left behind.
        fs::create_dir(dir.path().join("a/folder")).unwrap();
        assert!(write_atomic(&dir.path().join("a/folder"), b"three").is_err());
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 2);
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

    #[test]
    fn opening_sweeps_what_killed_writers_left_in_tmp_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let (me, here) = (std::process::id(), host());
        let put = |name: &str, age_s: u64| {
            let f = File::create(tmp.join(name)).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(age_s)).unwrap();
        };
        let hour = 3600;
        put(&format!("abc.{here}.{dead}.0.mkv"), hour); // killed writer, here: removed
        put(&format!(".abc.{here}.{dead}.1.mp4.{dead}.partial"), hour); // its encoder's scratch: removed
        put(&format!("abc.{here}.{dead}.2.mkv"), 60); // too fresh to judge: kept
        put(&format!("abc.{here}.{me}.3.mkv"), hour); // a live writer: kept
        put(&format!("abc.elsewhere-{here}.{dead}.4.mkv"), hour); // another host's: kept
        put(&format!("abc.elsewhere-{here}.{dead}.5.mkv"), 8 * 24 * hour); // abandoned: removed
        put("notes.txt", 8 * 24 * hour); // anything abandoned: removed
        let store = Store::open(dir.path()).unwrap();
        let mut left: Vec<String> =
            fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let mut want = vec![
            format!("abc.{here}.{dead}.2.mkv"),
            format!("abc.{here}.{me}.3.mkv"),
            format!("abc.elsewhere-{here}.{dead}.4.mkv"),
        ];
        want.sort();
        assert_eq!(left, want);
        assert_eq!(store.sweep_tmp(), 0);
        // The names this process gives its files say who wrote them.
        let mine = store.tmp_path("sha256:ab", "mkv");
        assert_eq!(writer_pid(&mine.file_name().unwrap().to_string_lossy(), &here), Some(me));
    }
}
