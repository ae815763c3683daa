//! The weights manifest: every file an extractor or a named generator checkpoint loads is listed
//! with its sha256, size, source, licence and how to obtain it, and checked before loading.
//! A wrong or missing file is an error that names the file, the expected checksum and where to get
//! it. Nothing is ever downloaded.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const SCHEMA: &str = "videval/weights-manifest/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The name users pass (`world-encoder`, `tiny-l`).
    pub name: String,
    /// Folder of the files, relative to the manifest.
    pub dir: String,
    pub files: Vec<FileSum>,
    pub source: String,
    pub licence: String,
    /// How to get or rebuild the files.
    pub obtain: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSum {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read the weights manifest: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("the weights manifest has no entry {name:?} (entries: {known})")]
    Unknown { name: String, known: String },
    #[error("{path}: missing (weights {name:?}, expected sha256 {sha256}); {obtain}")]
    Missing { path: PathBuf, name: String, sha256: String, obtain: String },
    #[error("{path}: cannot read ({reason}; weights {name:?})")]
    Unreadable { path: PathBuf, name: String, reason: String },
    #[error("{path}: sha256 {got}, expected {sha256} (weights {name:?}: wrong or damaged file); {obtain}")]
    Checksum { path: PathBuf, name: String, sha256: String, got: String, obtain: String },
}

/// The sha256 and length of a regular file, read in pieces (weights can be gigabytes).
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    regular(path)?;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = file.read(&mut buf)?;
        if k == 0 {
            break;
        }
        hasher.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hasher.finalize().iter().map(|b| format!("{b:02x}")).collect(), n))
}

/// Files [`Manifest::verify`] checked in this process, by path, with their sha256: the loader
/// reads each once and confirms the bytes it builds the network from are the bytes checked
/// ([`confirm`]); a file replaced between the check and the load (a converter's rename landing
/// then) was loaded unchecked, and its scores cached under the checked identity.
static CHECKED: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

/// `path` spelled without `.` components (`dir/./model.safetensors` is `dir/model.safetensors`).
fn spelled(path: &Path) -> PathBuf {
    path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
}

fn remember(path: &Path, sha256: String) {
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    let path = spelled(path);
    checked.retain(|(p, _)| *p != path);
    checked.push((path, sha256));
}

/// The sha256 of a file no manifest lists (a user's own world encoder), remembered as checked:
/// a loader reading it afterwards confirms it read these bytes ([`confirm`]).
pub fn sha256_checked(path: &Path) -> std::io::Result<String> {
    let (sum, _) = sha256_file(path)?;
    remember(path, sum.clone());
    Ok(sum)
}

/// Confirms that `bytes`, read from `path`, are what [`Manifest::verify`] checked there, when it
/// checked that path in this process (nothing to confirm otherwise).
pub fn confirm(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let path = spelled(path);
    let expected = CHECKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .rev()
        .find(|(p, _)| *p == path)
        .map(|(_, s)| s.clone());
    let Some(expected) = expected else { return Ok(()) };
    let got: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "{}: changed while it was being loaded (sha256 {got}, checked as {expected}): load it again once nothing is writing it",
            path.display()
        ))
    }
}

/// A regular file (a link to one is fine): a FIFO would block a read for ever, a device
/// (/dev/zero) never end.
fn regular(path: &Path) -> std::io::Result<()> {
    if std::fs::metadata(path)?.is_file() {
        Ok(())
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"))
    }
}

/// The largest manifest read.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let read = |reason: String| ManifestError::Read { path: path.to_path_buf(), reason };
        regular(path).map_err(|e| read(e.to_string()))?;
        if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_MANIFEST_BYTES) {
            return Err(read(format!("over {MAX_MANIFEST_BYTES} bytes: not a weights manifest")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| read(e.to_string()))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| read(e.to_string()))?;
        if m.schema != SCHEMA {
            return Err(read(format!("schema {:?}, expected {SCHEMA:?}", m.schema)));
        }
        // Files are named inside the manifest's folder: no absolute paths, no `..`.
        let outside = |p: &str| {
            let p = Path::new(p);
            p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir))
        };
        for e in &m.entries {
            if let Some(bad) = std::iter::once(&e.dir).chain(e.files.iter().map(|f| &f.path)).find(|p| outside(p)) {
                return Err(read(format!("entry {:?}: {bad:?} leaves the manifest's folder", e.name)));
            }
        }
        Ok(m)
    }

    pub fn entry(&self, name: &str) -> Result<&Entry, ManifestError> {
        self.entries.iter().find(|e| e.name == name).ok_or_else(|| ManifestError::Unknown {
            name: name.to_string(),
            known: self.entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Checks every file of entry `name` under `root` (the manifest's folder) and returns the
    /// entry's folder.
    pub fn verify(&self, root: &Path, name: &str) -> Result<PathBuf, ManifestError> {
        let e = self.entry(name)?;
        let dir = root.join(&e.dir);
        for f in &e.files {
            let path = spelled(&dir.join(&f.path));
            // A file of another length is wrong without reading it (it may be endless).
            if let Ok(m) = std::fs::metadata(&path)
                && m.is_file()
                && m.len() != f.bytes
            {
                return Err(ManifestError::Checksum {
                    path,
                    name: e.name.clone(),
                    sha256: f.sha256.clone(),
                    got: format!("(not read: {} bytes, the manifest says {})", m.len(), f.bytes),
                    obtain: e.obtain.clone(),
                });
            }
            let (got, _) = sha256_file(&path).map_err(|err| match err.kind() {
                std::io::ErrorKind::NotFound => ManifestError::Missing {
                    path: path.clone(),
                    name: e.name.clone(),
                    sha256: f.sha256.clone(),
                    obtain: e.obtain.clone(),
                },
                _ => ManifestError::Unreadable { path: path.clone(), name: e.name.clone(), reason: err.to_string() },
            })?;
            if !got.eq_ignore_ascii_case(&f.sha256) {
                return Err(ManifestError::Checksum {
                    path,
                    name: e.name.clone(),
                    sha256: f.sha256.clone(),
                    got,
                    obtain: e.obtain.clone(),
                });
            }
            remember(&path, got);
        }
        Ok(dir)
    }
}

/// Weights the user provides (I3D, CLIP): `dir/manifest.json` lists the files of entry `name`
/// with their sums (written by `models/weights/encoder/convert_i3d.py` or
/// `register_weights.py`); every file is checked before loading, the entry must list every file
/// in `required` and every file of `read` (what the loader reads when it is there) in the folder,
/// and its `dir` must be the folder
/// itself. Returns the network's identity: its one file's sha256, or one over all its files'.
pub fn verify_user(
    dir: &Path,
    name: &str,
    required: &[&str],
    read: &[&str],
    how: &str,
) -> Result<String, ManifestError> {
    let path = dir.join("manifest.json");
    let m = Manifest::load(&path).map_err(|e| match e {
        ManifestError::Read { path, reason } => ManifestError::Read { path, reason: format!("{reason}; {how}") },
        other => other,
    })?;
    let e = m.entry(name)?;
    let bad =
        |reason: String| ManifestError::Read { path: path.clone(), reason: format!("entry {name:?}: {reason}; {how}") };
    // The loaders read the folder itself: what the manifest checks must be what they read.
    if !matches!(e.dir.as_str(), "." | "" | "./") {
        return Err(bad(format!(
            "dir {:?}: a network's files are read from its own folder; the dir must be \".\"",
            e.dir
        )));
    }
    m.verify(dir, name)?;
    let listed: Vec<&str> = e.files.iter().map(|f| f.path.trim_start_matches("./")).collect();
    if let Some(missing) = required.iter().find(|r| !listed.contains(r)) {
        return Err(bad(format!("does not list {missing}, which the network needs")));
    }
    // (A required file not listed was refused just above; what is left is an optional one.)
    if let Some(stray) = read.iter().find(|f| !listed.contains(f) && dir.join(f).exists()) {
        return Err(bad(format!("{stray} is in the folder, and read, but not in the manifest: register it")));
    }
    // One file: its sum; several: a sum over every one (a changed config changes the network).
    if let [only] = e.files.as_slice() {
        return Ok(only.sha256.clone());
    }
    let mut sums: Vec<String> =
        e.files.iter().map(|f| format!("{}\0{}\n", f.path.trim_start_matches("./"), f.sha256)).collect();
    sums.sort();
    Ok(Sha256::digest(sums.concat().as_bytes()).iter().map(|b| format!("{b:02x}")).collect())
}

/// The files compiled into the binary, by path under the weights folder: the manifest, the world
/// encoder and the default generator checkpoint — what a run on the defaults needs, so a copied
/// or `cargo install`ed binary works with no checkout beside it.
pub static EMBEDDED: &[(&str, &[u8])] = &[
    ("manifest.json", include_bytes!("../../weights/manifest.json")),
    ("encoder/world/config.json", include_bytes!("../../weights/encoder/world/config.json")),
    ("encoder/world/model.safetensors", include_bytes!("../../weights/encoder/world/model.safetensors")),
    ("generator/tiny-l-v2/config.json", include_bytes!("../../weights/generator/tiny-l-v2/config.json")),
    ("generator/tiny-l-v2/model.safetensors", include_bytes!("../../weights/generator/tiny-l-v2/model.safetensors")),
];

/// The weights folder (`manifest.json`, `encoder/`, `generator/`), first found of:
/// `$VIDEVAL_WEIGHTS` (unless it holds only public networks' folders, `DIR/<id>/manifest.json`
/// with no `manifest.json` of its own: then it is the networks folder alone); `$VIDEVAL_HOME/weights`; `weights/` or `../share/videval/weights/` beside
/// the binary; the source checkout the binary was built from, if it is still there; else the
/// embedded files, written once to `$XDG_CACHE_HOME/videval` (or `~/.cache/videval`, or the
/// temporary folder). Every file is checked against the manifest before it is loaded, wherever
/// it came from.
pub fn weights_root() -> PathBuf {
    let has = |d: &Path| d.join("manifest.json").is_file();
    if let Some(d) = std::env::var_os("VIDEVAL_WEIGHTS").filter(|d| !d.is_empty()).map(PathBuf::from) {
        if !holds_only_networks(&d) {
            return d;
        }
    }
    if let Some(home) = std::env::var_os("VIDEVAL_HOME") {
        let d = PathBuf::from(home).join("weights");
        if has(&d) {
            return d;
        }
    }
    if let Some(bin) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        for d in [bin.join("weights"), bin.join("../share/videval/weights")] {
            if has(&d) {
                return d;
            }
        }
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights");
    if has(&source) {
        return source;
    }
    embedded_root()
}

/// A folder of public networks only: no `manifest.json` of its own, and a subfolder that has one.
fn holds_only_networks(d: &Path) -> bool {
    !d.join("manifest.json").exists()
        && std::fs::read_dir(d).is_ok_and(|entries| entries.flatten().any(|e| e.path().join("manifest.json").is_file()))
}

/// The embedded files on disk (written once per process, atomically, to a folder named by
/// their digest so two versions never mix).
fn embedded_root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let mut h = Sha256::new();
        for (name, bytes) in EMBEDDED {
            h.update(name.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        let digest: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        let candidates = [cache.join("videval"), std::env::temp_dir().join("videval")];
        for base in candidates {
            let dir = base.join(format!("weights-{digest}"));
            if EMBEDDED.iter().all(|(name, bytes)| write_once(&dir.join(name), bytes).is_ok()) {
                return dir;
            }
        }
        // Unwritable everywhere: the manifest check names the missing files and how to fix it.
        std::env::temp_dir().join(format!("videval/weights-{digest}"))
    })
    .clone()
}

/// Writes `bytes` to `path` unless a file of that size is there (a damaged one fails the
/// manifest check with its own message); temp file and rename, so a reader never sees half.
fn write_once(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("f"), std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

pub fn committed() -> Result<Manifest, ManifestError> {
    Manifest::load(&weights_root().join("manifest.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forgetting ci/update-manifest.py after retraining a committed checkpoint fails here.
    #[test]
    fn committed_manifest_matches_the_files() {
        let m = committed().unwrap();
        for e in &m.entries {
            m.verify(&weights_root(), &e.name).unwrap_or_else(|err| panic!("{err}"));
        }
    }

    #[test]
    fn files_outside_the_manifests_folder_are_refused() {
        let dir = std::env::temp_dir().join(format!("videval-manifest-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (d, f) in [("w", "../../etc/passwd"), ("../w", "a.bin"), ("w", "/etc/passwd")] {
            let text = format!(
                r#"{{"schema":"{SCHEMA}","entries":[{{"name":"x","dir":"{d}","files":[{{"path":"{f}","sha256":"0","bytes":1}}],"source":"s","licence":"l","obtain":"o"}}]}}"#
            );
            std::fs::write(dir.join("manifest.json"), text).unwrap();
            let e = Manifest::load(&dir.join("manifest.json")).unwrap_err().to_string();
            assert!(e.contains("leaves the manifest's folder"), "{d} {f}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file replaced between the check and the load (a converter's rename landing then) is
    /// refused when the loader reads it; the bytes checked load.
    #[test]
    fn a_file_replaced_after_its_check_is_refused_when_loaded() {
        let dir = std::env::temp_dir().join(format!("videval-manifest-swap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("model.safetensors");
        let t = candle_core::Tensor::new(&[1.0f32, 2.0], &candle_core::Device::Cpu).unwrap();
        candle_core::safetensors::save(&std::collections::HashMap::from([("w".to_string(), t)]), &file).unwrap();
        let (sha, bytes) = sha256_file(&file).unwrap();
        let m = Manifest {
            schema: SCHEMA.into(),
            entries: vec![Entry {
                name: "x".into(),
                dir: ".".into(),
                files: vec![FileSum { path: "./model.safetensors".into(), sha256: sha.to_uppercase(), bytes }],
                source: "test".into(),
                licence: "test".into(),
                obtain: "o".into(),
            }],
        };
        // (An upper-case sum in a manifest is the same sum.)
        m.verify(&dir, "x").unwrap();
        assert!(crate::encoders::float_tensors(&file, &candle_core::Device::Cpu).is_ok());
        let t = candle_core::Tensor::new(&[3.0f32, 4.0], &candle_core::Device::Cpu).unwrap();
        candle_core::safetensors::save(&std::collections::HashMap::from([("w".to_string(), t)]), &file).unwrap();
        let e = crate::encoders::float_tensors(&file, &candle_core::Device::Cpu).unwrap_err();
        assert!(e.contains("changed while it was being loaded"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_file_is_named_with_its_expected_checksum_and_the_fix() {
        let dir = std::env::temp_dir().join(format!("videval-manifest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("w")).unwrap();
        std::fs::write(dir.join("w/a.bin"), b"right").unwrap();
        let (sha, bytes) = sha256_file(&dir.join("w/a.bin")).unwrap();
        let m = Manifest {
            schema: SCHEMA.into(),
            entries: vec![Entry {
                name: "x".into(),
                dir: "w".into(),
                files: vec![FileSum { path: "a.bin".into(), sha256: sha.clone(), bytes }],
                source: "test".into(),
                licence: "test".into(),
                obtain: "rebuild with the test".into(),
            }],
        };
        assert!(m.verify(&dir, "x").is_ok());
        std::fs::write(dir.join("w/a.bin"), b"wrong").unwrap();
        let e = m.verify(&dir, "x").unwrap_err().to_string();
        assert!(e.contains("a.bin") && e.contains(&sha) && e.contains("rebuild with the test"), "{e}");
        std::fs::remove_file(dir.join("w/a.bin")).unwrap();
        let e = m.verify(&dir, "x").unwrap_err().to_string();
        assert!(e.contains("missing") && e.contains(&sha), "{e}");
        let e = m.verify(&dir, "nope").unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains('x'), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
