//! `dir`: a folder of videos someone already generated.
//!
//! A video is found for a unit by, in order: a mapping file (`mapping:` in the spec, or
//! `mapping.csv` / `mapping.json` in the folder) with rows `file,case_id[,seed_idx][,suite]`
//! (`file` relative to the folder); or VBench's naming, `{prompt}-{seed_idx}.{ext}`, in the folder
//! or a subfolder (VBench's per-dimension layout, `videos/subject_consistency/…`): one file of
//! that name anywhere is that one; several are told apart by a folder on their path named after
//! the suite's dimension (`vbench_subject_consistency` → `subject_consistency/`) or the suite,
//! or else after the prompt suite VBench reads the dimension's videos from
//! (`vbench_aesthetic_quality` → `overall_consistency/`, `…/1024x576/` below it or not), and are
//! an error otherwise. A VBench dimension's suite never takes a file under the folder of another
//! dimension (VBench reads each dimension's own folder only). A unit with no video is an error for that unit, never a silent skip.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{AdapterInfo, GenError, Generator, Job, ModelSpec, Output};
use crate::error::{Error, Result};
use crate::hash::key_of;
use crate::plan::ModelIdentity;

pub const INFO: AdapterInfo = AdapterInfo {
    name: "dir",
    summary: "a folder of existing videos, matched by a mapping file or VBench's {prompt}-{index}.mp4 names",
    build,
};

pub use crate::video::{IMAGE_EXTS, VIDEO_EXTS, is_image_file, is_video_file};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    file: String,
    case_id: String,
    #[serde(default)]
    seed_idx: u32,
    #[serde(default)]
    suite: Option<String>,
    /// Where the row is, for errors: `line N` (CSV) or `entry N` (JSON).
    #[serde(skip)]
    at: String,
    /// The file, resolved under the folder.
    #[serde(skip)]
    path: PathBuf,
    /// The CSV cell as written, where trimming changed it: the name when that file exists.
    #[serde(skip)]
    raw_file: Option<String>,
}

/// The CSV form's columns.
const MAPPING_COLUMNS: &str = "file,case_id[,seed_idx][,suite]";

pub struct Dir {
    identity: ModelIdentity,
    root: PathBuf,
    /// Every video under the folder, by its path relative to it (`/`-separated).
    files: BTreeMap<String, PathBuf>,
    /// File name → the relative paths of the videos of that name.
    by_name: BTreeMap<String, Vec<String>>,
    rows: Vec<Row>,
    /// The mapping file the rows are from.
    mapping: Option<PathBuf>,
    /// What the search of the folder passed over, as a clause for a missing video's error.
    skipped: String,
    /// File stems in NFC and lower case → a file, made when a video is missing (for the hint).
    loose: std::sync::OnceLock<BTreeMap<String, String>>,
    /// Mapping rows by (case, seed index), made on first use.
    rows_by_unit: std::sync::OnceLock<HashMap<(String, u32), Vec<usize>>>,
}

/// The largest mapping file read (a row per video: VBench's 4,730 videos take 0.5 MB).
const MAX_MAPPING_BYTES: u64 = 256 << 20;

/// How deep subfolders are searched (VBench's layout needs 1 or 2).
pub const MAX_DEPTH: usize = 3;

/// The video files under a folder, and what the search passed over that could hold some.
#[derive(Debug, Default)]
pub struct Listing {
    /// Relative path (`/`-separated), path, size; sorted by relative path.
    pub videos: Vec<(String, PathBuf, u64)>,
    /// Pictures, as videos are (the `dir` adapter's image units read them; FVD's folders do not).
    pub images: Vec<(String, PathBuf, u64)>,
    /// What was not searched or not read, each with why (`a/b/c/d/ (deeper than 3 folders)`,
    /// `private (Permission denied)`), sorted.
    pub skipped: Vec<String>,
}

impl Listing {
    /// Says on standard error what the search of `root` passed over, if anything.
    pub fn warn_skipped(&self, root: &Path) {
        if !self.skipped.is_empty() {
            eprintln!(
                "warning: {}: {} folder(s) or file(s) not searched for videos{}",
                root.display(),
                self.skipped.len(),
                self.skipped_note()
            );
        }
    }

    /// The skipped entries as a clause for an error or warning (`""` when none): the first few.
    pub fn skipped_note(&self) -> String {
        if self.skipped.is_empty() {
            return String::new();
        }
        let shown: Vec<&str> = self.skipped.iter().take(3).map(String::as_str).collect();
        let more = self.skipped.len().saturating_sub(shown.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        format!("; not searched: {}{more}", shown.join(", "))
    }
}

/// Every video file under `root`: subfolders to [`MAX_DEPTH`], links to folders followed within
/// that depth (a VBench layout assembled from linked dimension folders), a folder reached twice
/// (by links, or a link loop) walked once: folders are walked breadth first in name order, so the
/// shallowest, then first-named path is the one kept. Links to files are listed under their own
/// names (linking a video to VBench's name for it is how labs rename without copying). Hidden
/// folders and macOS's `._clip.mp4` metadata beside every copied video (not a video) are left
/// out. Folders below the depth, names that are not UTF-8 and subfolders that cannot be read are
/// passed over and listed in [`Listing::skipped`]; an unreadable `root` is an error. Sizes, not
/// modification times: a copy made with `cp -r`, or staged on each node of a cluster, is the same
/// model (a file replaced by one of the same size is caught per unit, by its stamp and then its
/// hash).
pub fn videos_under(root: &Path) -> Result<Listing> {
    use std::os::unix::fs::MetadataExt;
    let mut listing = Listing::default();
    let mut walked = std::collections::HashSet::new();
    if let Ok(m) = std::fs::metadata(root) {
        walked.insert((m.dev(), m.ino()));
    }
    let mut level = vec![(root.to_path_buf(), String::new())];
    for depth in 0..=MAX_DEPTH {
        let mut next = Vec::new();
        for (dir, prefix) in level {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if depth == 0 => return Err(Error::input(&dir)(e)),
                Err(e) => {
                    listing.skipped.push(format!("{prefix} ({e})"));
                    continue;
                }
            };
            let mut names = Vec::new();
            for entry in entries {
                match entry {
                    Ok(entry) => match entry.file_name().to_str() {
                        Some(name) => names.push(name.to_string()),
                        None => listing
                            .skipped
                            .push(format!("{prefix}{} (its name is not UTF-8)", entry.file_name().to_string_lossy())),
                    },
                    Err(e) => listing.skipped.push(format!("an entry of {}/ ({e})", prefix.trim_end_matches('/'))),
                }
            }
            names.sort();
            for name in names {
                let path = dir.join(&name);
                // Through a link, what it points at; a dangling link as itself (a unit named
                // after it says it cannot be read, rather than that nothing was found).
                let Ok(meta) = std::fs::metadata(&path).or_else(|_| std::fs::symlink_metadata(&path)) else { continue };
                if meta.is_dir() {
                    if name.starts_with('.') || !walked.insert((meta.dev(), meta.ino())) {
                        continue;
                    }
                    if depth < MAX_DEPTH {
                        next.push((path, format!("{prefix}{name}/")));
                    } else {
                        listing.skipped.push(format!("{prefix}{name}/ (deeper than {MAX_DEPTH} folders)"));
                    }
                } else if !name.starts_with("._") && is_video_file(&path) {
                    listing.videos.push((format!("{prefix}{name}"), path, meta.len()));
                } else if !name.starts_with("._") && is_image_file(&path) {
                    listing.images.push((format!("{prefix}{name}"), path, meta.len()));
                }
            }
        }
        level = next;
    }
    listing.videos.sort();
    listing.images.sort();
    listing.skipped.sort();
    Ok(listing)
}

/// Characters a Windows file name cannot hold.
const WINDOWS_FORBIDDEN: &str = ":?\"*|<>\\";

/// A file name as VBench's names are looked up: the extension in lower case (`a-0.MP4` is found
/// as `a-0.mp4`, as VBench, which takes the names it finds, would).
fn lookup_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{}", ext.to_ascii_lowercase()),
        None => name.to_string(),
    }
}

/// Why no file can have VBench's name for this prompt, if none can.
fn impossible_name(stem: &str) -> Option<String> {
    if stem.contains('/') {
        Some("the prompt holds a '/', which no file name can".into())
    } else if stem.contains('\0') {
        Some("the prompt holds a NUL character, which no file name can".into())
    } else if stem.len() + ".mp4".len() > 255 {
        Some(format!("\"{stem}.mp4\" is {} bytes, over the 255 a file name may have", stem.len() + 4))
    } else {
        None
    }
}

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    let root = PathBuf::from(
        spec.path.as_deref().ok_or_else(|| Error::Config("adapter dir needs path: the folder of videos".into()))?,
    );
    if !root.is_dir() {
        return Err(Error::Config(format!("{}: not a folder of videos", root.display())));
    }
    // Found videos are recorded by their absolute paths, as text: reached through a Latin-1
    // folder name, every one was recorded lossily and "missing".
    if !std::path::absolute(&root).is_ok_and(|a| a.to_str().is_some()) {
        return Err(Error::Config(format!(
            "{}: the folder's absolute path is not valid UTF-8 (videval records paths as text); use a path that is",
            root.display()
        )));
    }
    let mut files = BTreeMap::new();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut listing = Vec::new();
    let found = videos_under(&root)?;
    for (rel, path, size) in &found.videos {
        by_name.entry(lookup_name(rel.rsplit('/').next().unwrap_or(rel))).or_default().push(rel.clone());
        listing.push((rel.clone(), *size));
        files.insert(rel.clone(), path.clone());
    }
    // Pictures are found for image units by name, and are part of the model's identity as videos
    // are (two folders of pictures alone were one model).
    for (rel, path, size) in &found.images {
        by_name.entry(lookup_name(rel.rsplit('/').next().unwrap_or(rel))).or_default().push(rel.clone());
        listing.push((rel.clone(), *size));
        files.insert(rel.clone(), path.clone());
    }
    found.warn_skipped(&root);
    let mapping = spec
        .mapping
        .clone()
        .map(PathBuf::from)
        .or_else(|| ["mapping.csv", "mapping.json"].iter().map(|n| root.join(n)).find(|p| p.is_file()));
    let rows = match &mapping {
        Some(p) => resolve_rows(p, &root, read_mapping(p)?)?,
        None => Vec::new(),
    };
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| root.file_name().map_or("videos".into(), |n| n.to_string_lossy().into_owned()));
    // Sizes, as the listing has them: a file's time is not what it holds (a `touch`, or a copy
    // that did not keep times, changed the plan, and a killed run could not resume nor shards
    // on nodes with their own copies merge). A file replaced since is caught by its stamp and
    // hash where the run reuses it.
    let mapped: Vec<_> = rows
        .iter()
        .map(|r| (&r.file, &r.case_id, r.seed_idx, &r.suite, crate::store::file_stamp(&r.path).map(|s| s.0)))
        .collect();
    let digest = key_of(&(&listing, &mapped));
    let identity = ModelIdentity { adapter: "dir".into(), name, digest, params: BTreeMap::new() };
    Ok(Box::new(Dir {
        identity,
        root,
        files,
        by_name,
        rows,
        mapping,
        skipped: found.skipped_note(),
        loose: Default::default(),
        rows_by_unit: Default::default(),
    }))
}

/// Checks a mapping's rows against the folder: each file a relative path inside it (`./` and
/// `a/../b` are fine, leaving the folder is not) naming a file that exists, hidden or deep ones
/// included (a row names its file on purpose); and no unit mapped twice.
fn resolve_rows(mapping: &Path, root: &Path, mut rows: Vec<Row>) -> Result<Vec<Row>> {
    let bad = |row: &Row, msg: String| Error::BadFile {
        path: mapping.to_path_buf(),
        message: format!("{}: file {:?}: {msg}", row.at, row.file),
    };
    for row in &mut rows {
        if let Some(raw) = row.raw_file.take() {
            if root.join(&raw).is_file() {
                row.file = raw;
            }
        }
        let mut inside = PathBuf::new();
        for part in Path::new(&row.file.replace('\\', "/")).components() {
            match part {
                std::path::Component::Normal(p) => inside.push(p),
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir if inside.pop() => {}
                _ => return Err(bad(row, format!("leaves the folder {}; give a path inside it", root.display()))),
            }
        }
        row.path = root.join(&inside);
        // What is there when it is not a file (a folder, a FIFO, a link to nothing or a loop)
        // is said: "no such file" about a file the user can see misled.
        match (std::fs::symlink_metadata(&row.path), std::fs::metadata(&row.path)) {
            (_, Ok(m)) if m.is_file() => {}
            (Err(_), _) => return Err(bad(row, format!("no such file in {}", root.display()))),
            (Ok(_), Err(e)) => {
                return Err(bad(row, format!("a link that leads nowhere readable ({e}); give the video itself")));
            }
            (Ok(_), Ok(m)) => {
                let what = if m.is_dir() { "a folder" } else { "not a regular file (a FIFO, a device or a socket)" };
                return Err(bad(row, format!("{what}; expected a video file")));
            }
        }
        if !is_video_file(&row.path) && !is_image_file(&row.path) {
            return Err(bad(
                row,
                format!(
                    "does not end in a video extension ({}) or, for an image unit, a picture's ({})",
                    VIDEO_EXTS.join(", "),
                    IMAGE_EXTS.join(", ")
                ),
            ));
        }
    }
    // By (case, seed): a row without a suite clashes with any row of that unit.
    let mut seen: std::collections::HashMap<(&str, u32), Vec<&Row>> = std::collections::HashMap::new();
    for a in &rows {
        let same_suite = |b: &Row| a.suite.is_none() || b.suite.is_none() || a.suite == b.suite;
        let earlier = seen.entry((a.case_id.as_str(), a.seed_idx)).or_default();
        let clash = earlier.iter().find(|b| same_suite(b)).copied();
        earlier.push(a);
        if let Some(b) = clash {
            return Err(Error::BadFile {
                path: mapping.to_path_buf(),
                message: format!(
                    "{} and {} both map case {:?} seed {} ({} and {}); keep one",
                    b.at, a.at, a.case_id, a.seed_idx, b.file, a.file
                ),
            });
        }
    }
    Ok(rows)
}

fn read_mapping(path: &Path) -> Result<Vec<Row>> {
    let text = videval_models::files::read_text(path, MAX_MAPPING_BYTES).map_err(Error::input(path))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let bad =
        |line: usize, msg: String| Error::BadFile { path: path.to_path_buf(), message: format!("line {line}: {msg}") };
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let mut rows: Vec<Row> = serde_json::from_str(text).map_err(|e| bad(e.line(), e.to_string()))?;
        if rows.is_empty() {
            return Err(bad(1, "an empty list; expected an entry per video".into()));
        }
        for (i, r) in rows.iter_mut().enumerate() {
            r.at = format!("entry {}", i + 1);
        }
        return Ok(rows);
    }
    // Unquoted cells are trimmed; a quoted one is taken as written (a name may end in a space).
    let cell = |c: crate::agreement::CsvCell| if c.quoted { c.text } else { c.text.trim().to_string() };
    let mut lines = crate::agreement::csv_records(text);
    // An empty mapping was no mapping: every video was looked for by its VBench name instead.
    let (n, header) = match lines.next() {
        None => return Err(bad(1, format!("empty; expected a header ({MAPPING_COLUMNS}) and a row per video"))),
        Some(r) => r.map_err(|(n, e)| bad(n, e))?,
    };
    let cols: Vec<String> = header.into_iter().map(cell).collect();
    let known = ["file", "case_id", "seed_idx", "suite"];
    for (k, c) in cols.iter().enumerate() {
        // Other columns (a prompt, a note) are carried along unread; one that reads like a
        // misspelt key column is refused (a `seed` column would map every row to seed 0).
        let lower = c.to_ascii_lowercase();
        let misspelt =
            !known.contains(&c.as_str()) && ["seed", "case", "file", "suite", "path"].iter().any(|k| lower.contains(k));
        if misspelt || (known.contains(&c.as_str()) && cols[..k].contains(c)) {
            let what = if misspelt { "is not a column this file has" } else { "is given twice" };
            return Err(bad(n, format!("header: {c:?} {what}; expected {MAPPING_COLUMNS} (and columns of your own)")));
        }
    }
    for required in ["file", "case_id"] {
        if !cols.iter().any(|c| c == required) {
            return Err(bad(
                n,
                format!("header: no {required:?} column; expected {MAPPING_COLUMNS}, got {:?}", cols.join(",")),
            ));
        }
    }
    let mut rows = Vec::new();
    let file_col = cols.iter().position(|h| h == "file");
    for record in lines {
        let (n, record) = record.map_err(|(n, e)| bad(n, e))?;
        // The file as written too: Python's csv module leaves " clip .mp4" unquoted.
        let raw_file = file_col.and_then(|k| record.get(k)).map(|c| c.text.clone());
        let cells: Vec<String> = record.into_iter().map(cell).collect();
        if cells.len() != cols.len() {
            return Err(bad(n, format!("expected {} cells ({}), found {}", cols.len(), cols.join(","), cells.len())));
        }
        let get = |c: &str| cols.iter().position(|h| h == c).map(|k| cells[k].clone());
        let seed_idx = match get("seed_idx") {
            Some(s) => s.parse().map_err(|_| bad(n, format!("seed_idx {s:?} is not a non-negative integer")))?,
            None => 0,
        };
        let (file, case_id) = (get("file").unwrap_or_default(), get("case_id").unwrap_or_default());
        let raw_file = raw_file.filter(|r| *r != file);
        if file.is_empty() || case_id.is_empty() {
            return Err(bad(n, "file and case_id must not be empty".into()));
        }
        rows.push(Row {
            file,
            case_id,
            seed_idx,
            suite: get("suite").filter(|s| !s.is_empty()),
            at: format!("line {n}"),
            path: PathBuf::new(),
            raw_file,
        });
    }
    if rows.is_empty() {
        return Err(bad(n, "a header and no rows; expected a row per video".into()));
    }
    Ok(rows)
}

/// The found file, if it is a video: a damaged, empty or mislabelled one is the unit's failed
/// generation, as a command's unreadable output is (it was an "ok" generation whose every
/// metric then failed, counted differently from the same file made by a command).
fn readable(path: &Path) -> Result<Output, GenError> {
    match path.metadata() {
        // A FIFO (which opening would block on), a dangling link: the runner says what it is.
        Ok(m) if !m.is_file() => return Ok(Output::Existing(path.to_path_buf())),
        Err(_) => return Ok(Output::Existing(path.to_path_buf())),
        Ok(m) if m.len() == 0 => {
            return Err(GenError::new(format!("{}: an empty file (0 bytes), not a video", path.display())));
        }
        Ok(_) => {}
    }
    match crate::video::probe(path) {
        Ok(_) => Ok(Output::Existing(path.to_path_buf())),
        Err(e) => Err(GenError::new(e.to_string())),
    }
}

impl Dir {
    /// The mapping rows that name no unit of the plan, with why, as a warning (None when every
    /// row is used). A misspelt case id, a seed counted from 1 or a suite named otherwise
    /// leaves its unit to VBench's name (another video) or to an error that never mentions the
    /// row; rows of cases a run leaves out (`--limit`, `--cases`) are expected, so it warns.
    fn unused_rows(&self, planned: &[crate::plan::Unit]) -> Option<String> {
        use std::collections::{BTreeSet, HashSet};
        let units: HashSet<(&str, &str, u32)> =
            planned.iter().map(|u| (u.id.suite.as_str(), u.id.case_id.as_str(), u.id.seed_idx)).collect();
        let any_suite: HashSet<(&str, u32)> = units.iter().map(|&(_, c, s)| (c, s)).collect();
        let suites: BTreeSet<&str> = units.iter().map(|&(s, _, _)| s).collect();
        let mut seeds: HashMap<&str, u32> = HashMap::new();
        for &(_, c, s) in &units {
            let top = seeds.entry(c).or_insert(0);
            *top = (*top).max(s);
        }
        let unused: Vec<String> = self
            .rows
            .iter()
            .filter(|r| match &r.suite {
                Some(s) => !units.contains(&(s.as_str(), r.case_id.as_str(), r.seed_idx)),
                None => !any_suite.contains(&(r.case_id.as_str(), r.seed_idx)),
            })
            .map(|r| {
                let why = if let Some(s) = r.suite.as_deref().filter(|s| !suites.contains(s)) {
                    let all: Vec<&str> = suites.iter().copied().collect();
                    format!("suite {s:?} is not one of this run's ({})", all.join(", "))
                } else if let Some(top) = seeds.get(r.case_id.as_str()) {
                    format!("the case's seeds here are 0 to {top} (seed_idx counts from 0)")
                } else if let Some(other) = seeds.keys().find(|c| c.to_lowercase() == r.case_id.to_lowercase()) {
                    format!("no case {:?} here, but {other:?} differs from it only in letter case", r.case_id)
                } else {
                    format!("no case {:?} in this run's plan", r.case_id)
                };
                format!("{} (case {:?} seed {}): {why}", r.at, r.case_id, r.seed_idx)
            })
            .collect();
        if unused.is_empty() {
            return None;
        }
        let mapping = self.mapping.as_deref().map_or("the mapping".into(), |m| m.display().to_string());
        let more = if unused.len() > 3 { format!("; and {} more", unused.len() - 3) } else { String::new() };
        Some(format!(
            "{mapping}: {} of {} row(s) match no unit of this run and are not used: {}{more}. Rows of cases or seeds the run leaves out (--limit, --cases) are expected; any other row is a mistake, and its unit falls back to VBench's file name",
            unused.len(),
            self.rows.len(),
            unused.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ))
    }

    /// A file whose name differs from VBench's name for `stem` only in Unicode normalisation
    /// (an "é" composed or decomposed: they print alike), letter case, spaces or characters
    /// Windows cannot hold, said as a hint.
    fn near_miss(&self, stem: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        // What Windows and tools made for it replace by '_' (a `:` in "time: noon").
        let windows =
            |s: String| -> String { s.chars().map(|c| if WINDOWS_FORBIDDEN.contains(c) { '_' } else { c }).collect() };
        // Spaces as tools leave them: runs as one, none at either end of the prompt (before the
        // `-{i}`): "a dog running -0" saved as "a dog running-0".
        let spaces = |s: String| -> String {
            let (prompt, index) = s.rsplit_once('-').map_or((s.as_str(), ""), |(p, i)| (p, i.trim()));
            let prompt = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
            if index.is_empty() { prompt } else { format!("{prompt}-{index}") }
        };
        let loose = |s: &str| spaces(windows(s.nfc().collect::<String>().to_lowercase()));
        let index = self.loose.get_or_init(|| {
            let mut index = BTreeMap::new();
            for (name, rels) in &self.by_name {
                if let Some((stem, _)) = name.rsplit_once('.') {
                    index.entry(loose(stem)).or_insert_with(|| rels[0].clone());
                }
            }
            index
        });
        let Some(rel) = index.get(&loose(stem)) else { return String::new() };
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let file_stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let how = if file_stem.nfc().eq(stem.nfc()) {
            "only in Unicode normalisation (composed vs decomposed characters, such as accents or Hangul, which print alike): rename it"
        } else if file_stem.nfc().collect::<String>().to_lowercase() == stem.nfc().collect::<String>().to_lowercase() {
            "only in letter case: VBench's names keep the prompt's case; rename it"
        } else if spaces(file_stem.nfc().collect()) == spaces(stem.nfc().collect()) {
            "in its spaces: VBench's names keep the prompt's spaces as they are (leading, trailing, doubled, tabs, non-breaking); rename it or map it with a row of mapping.csv"
        } else if spaces(file_stem.nfc().collect::<String>().to_lowercase())
            == spaces(stem.nfc().collect::<String>().to_lowercase())
        {
            "in its spaces and letter case: VBench's names keep the prompt's as they are; rename it or map it with a row of mapping.csv"
        } else {
            "where the prompt has characters Windows file names cannot hold (: ? \" * | < > \\), written '_': rename it or map it with a row of mapping.csv"
        };
        format!("; {rel:?} differs from it {how}")
    }
}

impl Generator for Dir {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// Two planned cases of a suite with one prompt and seed, neither mapped by a row, would be
    /// given one video by VBench's names (counted twice): refused with the plan, before any work
    /// (exit 3).
    fn refuses_plan(&self, planned: &[crate::plan::Unit]) -> Vec<(String, String)> {
        let mapped: std::collections::HashSet<(Option<&str>, &str, u32)> =
            self.rows.iter().map(|r| (r.suite.as_deref(), r.case_id.as_str(), r.seed_idx)).collect();
        let has_row = |u: &crate::plan::Unit| {
            let (suite, case, seed) = (u.id.suite.as_str(), u.id.case_id.as_str(), u.id.seed_idx);
            mapped.contains(&(Some(suite), case, seed)) || mapped.contains(&(None, case, seed))
        };
        let mut by: BTreeMap<(&str, u32, &str), std::collections::BTreeSet<&str>> = BTreeMap::new();
        for u in planned.iter().filter(|u| !has_row(u)) {
            by.entry((u.id.suite.as_str(), u.id.seed_idx, u.prompt.as_str()))
                .or_default()
                .insert(u.id.case_id.as_str());
        }
        // By suite and prompt: the cases, and the seed indices at which two of them meet.
        let mut twins: BTreeMap<(&str, &str), (std::collections::BTreeSet<&str>, Vec<u32>)> = BTreeMap::new();
        for ((suite, seed, prompt), cases) in by.into_iter().filter(|(_, cases)| cases.len() > 1) {
            let t = twins.entry((suite, prompt)).or_default();
            t.0.extend(cases);
            t.1.push(seed);
        }
        let mut refused = Vec::new();
        for ((suite, prompt), (cases, seeds)) in twins {
            let shown: String = prompt.chars().take(60).collect();
            let more = if shown.len() < prompt.len() { "…" } else { "" };
            let seeds: Vec<String> = seeds.iter().map(u32::to_string).collect();
            let why = format!(
                "these cases of suite {suite} have one prompt (\"{shown}{more}\"), so VBench's names give them the same videos (counted twice) at seed_idx {}; give them distinct prompts or map them with rows of mapping.csv (file,case_id,seed_idx)",
                seeds.join(", ")
            );
            refused.extend(cases.into_iter().map(|c| (format!("{suite}/{c}"), why.clone())));
        }
        refused
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        let id = &job.unit.id;
        // Rows and planned units are looked up by key (each unit scanned them all: quadratic in
        // a VBench-size plan).
        let rows = self.rows_by_unit.get_or_init(|| {
            if let Some(warning) = self.unused_rows(job.planned) {
                eprintln!("warning: {warning}");
            }
            let mut by: HashMap<(&str, u32), Vec<usize>> = HashMap::new();
            for (i, r) in self.rows.iter().enumerate() {
                by.entry((r.case_id.as_str(), r.seed_idx)).or_default().push(i);
            }
            by.into_iter().map(|((c, s), v)| ((c.to_string(), s), v)).collect()
        });
        let row_for = |suite: &str, case_id: &str, seed_idx: u32| {
            rows.get(&(case_id.to_string(), seed_idx))
                .into_iter()
                .flatten()
                .map(|&i| &self.rows[i])
                .find(|r| r.suite.as_deref().is_none_or(|s| s == suite))
        };
        if let Some(row) = row_for(&id.suite, &id.case_id, id.seed_idx) {
            return readable(&row.path);
        }
        // (Two planned units of a suite with one prompt and seed, which VBench's names would give
        // one video, were refused with the plan: `refuses_plan`.)
        let stem = format!("{}-{}", job.case.prompt, id.seed_idx);
        // An image unit's output is a picture (`{prompt}-{i}.png`) or a one-frame video.
        let exts: Vec<&str> = match job.case.mode {
            crate::suite::Mode::Image => VIDEO_EXTS.iter().chain(IMAGE_EXTS).copied().collect(),
            _ => VIDEO_EXTS.to_vec(),
        };
        let found: Vec<&String> =
            exts.iter().filter_map(|ext| self.by_name.get(&format!("{stem}.{ext}"))).flatten().collect();
        // In VBench's layout a dimension's videos are read from its own folder only: the same
        // prompt's video under another dimension's folder is another sample, not this one.
        let dimension = id.suite.strip_prefix("vbench_").unwrap_or(&id.suite);
        // A folder reached by several names (linked dimension folders) is walked once, under
        // the first: a file there is the dimension's own when its folder is one of the
        // dimension's own folders by any name.
        let own_folders: Vec<PathBuf> = [dimension, crate::vbench::video_folder(dimension), &id.suite]
            .iter()
            .filter_map(|f| std::fs::canonicalize(self.root.join(f)).ok())
            .collect();
        let own_by_link = |rel: &str| {
            std::fs::canonicalize(&self.files[rel])
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .is_some_and(|parent| own_folders.iter().any(|own| parent.starts_with(own)))
        };
        let (found, foreign): (Vec<&String>, Vec<&String>) = match crate::vbench::dimension(dimension) {
            Some(_) => found
                .into_iter()
                .partition(|rel| !crate::vbench::other_dimensions_folder(dimension, rel) || own_by_link(rel)),
            None => (found, Vec::new()),
        };
        if found.is_empty() && !foreign.is_empty() {
            return Err(GenError::new(format!(
                "no video for case \"{}\" seed {} of suite {}: \"{stem}\" is only under the folder of another VBench dimension ({}), and VBench reads this dimension's videos from {}/ (or a flat folder); copy it there or give a mapping row",
                id.case_id,
                id.seed_idx,
                id.suite,
                foreign.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                crate::vbench::video_folder(dimension)
            )));
        }
        let chosen: Vec<&String> = match found.len() {
            0 | 1 => found.clone(),
            // Several: the one under a folder named after the suite's dimension or the suite, or
            // else under the folder VBench reads that dimension's videos from (its layout keeps
            // them by prompt suite, `overall_consistency/` for aesthetic quality, sometimes with a
            // resolution folder below: `overall_consistency/1024x576/`).
            _ => {
                let under = |names: &[&str]| -> Vec<&String> {
                    found
                        .iter()
                        .copied()
                        .filter(|rel| {
                            let folders: Vec<&str> = rel.split('/').collect();
                            folders[..folders.len() - 1].iter().any(|f| names.contains(f))
                        })
                        .collect()
                };
                let named = under(&[dimension, id.suite.as_str()]);
                if named.is_empty() { under(&[crate::vbench::video_folder(dimension)]) } else { named }
            }
        };
        match chosen.as_slice() {
            [one] => readable(&self.files[*one]),
            [] if found.is_empty() => Err(GenError::new(match impossible_name(&stem) {
                Some(why) => format!(
                    "no video for case \"{}\" seed {} in {}: VBench's name for it cannot exist ({why}); map it with a row of mapping.csv (file,case_id,seed_idx)",
                    id.case_id,
                    id.seed_idx,
                    self.root.display()
                ),
                None => format!(
                    "no video for case \"{}\" seed {} in {}: expected {:?} (in it or a subfolder) or a mapping row{}{}",
                    id.case_id,
                    id.seed_idx,
                    self.root.display(),
                    if job.case.mode == crate::suite::Mode::Image {
                        format!("{stem}.png")
                    } else {
                        format!("{stem}.mp4")
                    },
                    self.near_miss(&stem),
                    self.skipped
                ),
            })),
            _ => Err(GenError::new(format!(
                "case \"{}\" seed {} of suite {}: {} videos named \"{stem}\" in {} ({}) and none (or several) under a folder named after the suite, its dimension or the folder VBench reads its videos from ({}/); keep one or give a mapping row",
                id.case_id,
                id.seed_idx,
                id.suite,
                found.len(),
                self.root.display(),
                found.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                crate::vbench::video_folder(id.suite.strip_prefix("vbench_").unwrap_or(&id.suite))
            ))),
        }
    }
}
