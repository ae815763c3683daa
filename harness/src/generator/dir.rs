//! `dir`: a folder of videos someone already generated.
//!
//! A video is found for a unit by, in order: a mapping file (`mapping:` in the spec, or
//! `mapping.csv` / `mapping.json` in the folder) with rows `file,case_id[,seed_idx][,suite]`; or
//! VBench's naming, `{prompt}-{seed_idx}.{ext}`. A unit with no video is an error for that unit,
//! never a silent skip.

use std::collections::BTreeMap;
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

pub const VIDEO_EXTS: &[&str] = &["mp4", "webm", "mkv", "mov", "avi", "gif", "m4v"];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    file: String,
    case_id: String,
    #[serde(default)]
    seed_idx: u32,
    #[serde(default)]
    suite: Option<String>,
}

pub struct Dir {
    identity: ModelIdentity,
    root: PathBuf,
    files: BTreeMap<String, PathBuf>,
    rows: Vec<Row>,
}

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    let root = PathBuf::from(
        spec.path.as_deref().ok_or_else(|| Error::Config("adapter dir needs path: the folder of videos".into()))?,
    );
    if !root.is_dir() {
        return Err(Error::Config(format!("{}: not a folder of videos", root.display())));
    }
    let mut files = BTreeMap::new();
    let mut listing = Vec::new();
    for entry in std::fs::read_dir(&root).map_err(Error::io(&root))? {
        let path = entry.map_err(Error::io(&root))?.path();
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if let (Some(name), Some(true)) =
            (path.file_name().and_then(|n| n.to_str()), ext.map(|e| VIDEO_EXTS.contains(&e.as_str())))
        {
            let size = path.metadata().map(|m| m.len()).unwrap_or(0);
            listing.push((name.to_string(), size));
            files.insert(name.to_string(), path);
        }
    }
    listing.sort();
    let mapping = spec
        .mapping
        .clone()
        .map(PathBuf::from)
        .or_else(|| ["mapping.csv", "mapping.json"].iter().map(|n| root.join(n)).find(|p| p.is_file()));
    let rows = match &mapping {
        Some(p) => read_mapping(p)?,
        None => Vec::new(),
    };
    for (i, row) in rows.iter().enumerate() {
        if !files.contains_key(&row.file) {
            return Err(Error::Config(format!(
                "{}: row {}: file \"{}\" is not a video in {}",
                mapping.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                i + 1,
                row.file,
                root.display()
            )));
        }
    }
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| root.file_name().map_or("videos".into(), |n| n.to_string_lossy().into_owned()));
    let digest =
        key_of(&(&listing, &rows.iter().map(|r| (&r.file, &r.case_id, r.seed_idx, &r.suite)).collect::<Vec<_>>()));
    let identity = ModelIdentity { adapter: "dir".into(), name, digest, params: BTreeMap::new() };
    Ok(Box::new(Dir { identity, root, files, rows }))
}

fn read_mapping(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let bad =
        |line: usize, msg: String| Error::BadFile { path: path.to_path_buf(), message: format!("line {line}: {msg}") };
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        return serde_json::from_str(&text).map_err(|e| bad(e.line(), e.to_string()));
    }
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    for required in ["file", "case_id"] {
        if !cols.contains(&required) {
            return Err(bad(1, format!("header must name columns file,case_id[,seed_idx][,suite]; got \"{header}\"")));
        }
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != cols.len() {
            return Err(bad(i + 1, format!("expected {} cells, found {}", cols.len(), cells.len())));
        }
        let get = |c: &str| cols.iter().position(|h| *h == c).map(|k| cells[k].to_string());
        let seed_idx = match get("seed_idx") {
            Some(s) => s.parse().map_err(|_| bad(i + 1, format!("seed_idx \"{s}\" is not a non-negative integer")))?,
            None => 0,
        };
        rows.push(Row {
            file: get("file").unwrap_or_default(),
            case_id: get("case_id").unwrap_or_default(),
            seed_idx,
            suite: get("suite").filter(|s| !s.is_empty()),
        });
    }
    Ok(rows)
}

impl Generator for Dir {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        let id = &job.unit.id;
        let mapped = self.rows.iter().find(|r| {
            r.case_id == id.case_id && r.seed_idx == id.seed_idx && r.suite.as_ref().is_none_or(|s| *s == id.suite)
        });
        if let Some(row) = mapped {
            return Ok(Output::Existing(self.files[&row.file].clone()));
        }
        let stem = format!("{}-{}", job.case.prompt, id.seed_idx);
        for ext in VIDEO_EXTS {
            if let Some(p) = self.files.get(&format!("{stem}.{ext}")) {
                return Ok(Output::Existing(p.clone()));
            }
        }
        Err(GenError(format!(
            "no video for case \"{}\" seed {} in {}: expected \"{stem}.mp4\" or a mapping row",
            id.case_id,
            id.seed_idx,
            self.root.display()
        )))
    }
}
