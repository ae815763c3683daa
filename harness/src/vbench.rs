//! VBench, exactly where videval can: import its prompt suites (`videval suites import vbench`)
//! and report its dimensions the way it aggregates and normalises them (the `vbench` block of
//! `results.json`), with intervals over prompts. Dimensions videval cannot score yet are listed
//! as skipped, with the reason; nothing falls back silently to a different recipe.
//!
//! Recipes and constants: ../shared/reference/vbench-quality.md (from Vchitect/VBench's
//! `scripts/constant.py` and `scripts/cal_final_score.py`).
//!
//! An imported suite is named `vbench_<dimension>` and its cases keep VBench's prompts byte for
//! byte, so the folder adapter's `{prompt}-{i}.mp4` names match VBench's sampled videos.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use videval_metrics::stats::bootstrap::{MIN_CLUSTERS, expanded_tail, no_spread, quantile_sorted};
use videval_reports::results::{Results, Sample, VbenchBlock, VbenchDimension, VbenchScore, VbenchSkipped};

use crate::error::{Error, ExitCode, Result};
use crate::hash::{seed_of, sha256_hex};
use crate::store::write_atomic;

/// How VBench turns per-video scores into a dimension score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The mean over videos.
    VideoMean,
    /// Σ over videos of (per-video score × frame pairs) / Σ frame pairs: longer videos count more.
    FrameWeighted,
}

/// One VBench dimension: its normalisation, weight, and what videval scores it with.
#[derive(Debug, Clone, Copy)]
pub struct Dimension {
    pub name: &'static str,
    pub quality: bool,
    pub min: f64,
    pub max: f64,
    pub weight: f64,
    pub aggregation: Aggregation,
    /// The videval metric that computes VBench's per-video score, when there is one.
    pub metric: Option<&'static str>,
    /// Why it is not scored yet, when `metric` is None.
    pub missing: &'static str,
}

const fn dim(
    name: &'static str,
    quality: bool,
    min: f64,
    max: f64,
    weight: f64,
    aggregation: Aggregation,
    metric: Option<&'static str>,
    missing: &'static str,
) -> Dimension {
    Dimension { name, quality, min, max, weight, aggregation, metric, missing }
}

use Aggregation::{FrameWeighted, VideoMean};

/// VBench's sixteen dimensions (seven quality, nine semantic), in its order.
pub const DIMENSIONS: [Dimension; 16] = [
    dim("subject_consistency", true, 0.1462, 1.0, 1.0, FrameWeighted, Some("vbench_subject_consistency"), ""),
    dim("background_consistency", true, 0.2615, 1.0, 1.0, FrameWeighted, Some("vbench_background_consistency"), ""),
    dim("temporal_flickering", true, 0.6293, 1.0, 1.0, VideoMean, Some("temporal_flicker"), ""),
    dim("motion_smoothness", true, 0.706, 0.9975, 1.0, VideoMean, Some("vbench_motion_smoothness"), ""),
    dim("dynamic_degree", true, 0.0, 1.0, 0.5, VideoMean, Some("vbench_dynamic_degree"), ""),
    dim("aesthetic_quality", true, 0.0, 1.0, 1.0, VideoMean, Some("vbench_aesthetic_quality"), ""),
    dim("imaging_quality", true, 0.0, 1.0, 1.0, VideoMean, Some("vbench_imaging_quality"), ""),
    dim("object_class", false, 0.0, 1.0, 1.0, VideoMean, None, "needs GRiT object detection"),
    dim("multiple_objects", false, 0.0, 1.0, 1.0, VideoMean, None, "needs GRiT object detection"),
    dim("human_action", false, 0.0, 1.0, 1.0, VideoMean, None, "needs UMT action recognition"),
    dim("color", false, 0.0, 1.0, 1.0, VideoMean, None, "needs GRiT object detection with colour captions"),
    dim("spatial_relationship", false, 0.0, 1.0, 1.0, VideoMean, None, "needs GRiT object detection"),
    dim("scene", false, 0.0, 0.8222, 1.0, VideoMean, None, "needs Tag2Text captions"),
    dim("temporal_style", false, 0.0, 0.364, 1.0, VideoMean, None, "needs ViCLIP video-text features"),
    dim("appearance_style", false, 0.0009, 0.2855, 1.0, VideoMean, None, "needs CLIP ViT-B/32 image-text features"),
    dim("overall_consistency", false, 0.0, 0.364, 1.0, VideoMean, None, "needs ViCLIP video-text features"),
];

pub fn dimension(name: &str) -> Option<&'static Dimension> {
    DIMENSIONS.iter().find(|d| d.name == name)
}

/// The folder VBench's sampled videos for `dimension` are in: the prompt suite it reads them
/// from (VBench's `dimension_to_folder.json`: aesthetic and imaging quality score the
/// `overall_consistency` videos, background consistency the `scene` ones, motion smoothness and
/// dynamic degree the `subject_consistency` ones; every other dimension its own).
pub fn video_folder(dimension: &str) -> &str {
    match dimension {
        "background_consistency" => "scene",
        "aesthetic_quality" | "imaging_quality" => "overall_consistency",
        "motion_smoothness" | "dynamic_degree" => "subject_consistency",
        other => other,
    }
}

/// Whether the found file `rel` (a `/`-separated path under the videos' root) lies under the
/// folder VBench keeps another dimension's videos in, and not under `dimension`'s own (its name
/// or [`video_folder`]).
pub fn other_dimensions_folder(dimension: &str, rel: &str) -> bool {
    let folders: Vec<&str> = rel.split('/').collect();
    let folders = &folders[..folders.len() - 1];
    let own =
        |f: &&str| *f == dimension || *f == video_folder(dimension) || f.strip_prefix("vbench_") == Some(dimension);
    let vbench_folder = |f: &&str| {
        let f = f.strip_prefix("vbench_").unwrap_or(f);
        DIMENSIONS.iter().any(|d| f == d.name || f == video_folder(d.name))
    };
    !folders.iter().any(own) && folders.iter().any(vbench_folder)
}

fn names() -> String {
    DIMENSIONS.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
}

/// One prompt of VBench's info file, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct InfoPrompt {
    pub prompt: String,
    pub dimensions: Vec<String>,
    /// `auxiliary_info` per dimension.
    pub auxiliary: serde_json::Map<String, serde_json::Value>,
}

/// Reads VBench's `VBench_full_info.json` format: a list of `{prompt_en, dimension: [...],
/// auxiliary_info?}`. Errors name the file, the entry and the field.
pub fn read_info(path: &Path) -> Result<(Vec<InfoPrompt>, String)> {
    let bad = |message: String| Error::BadFile { path: path.to_path_buf(), message };
    // Only a regular file of bounded size (VBench's is 0.2 MB): `/dev/zero` read without end.
    let text = videval_models::files::read_text(path, MAX_INFO_BYTES).map_err(Error::input(path))?;
    let digest = sha256_hex(text.as_bytes());
    // A byte-order mark (Windows editors write one) is not JSON, and not a reason to refuse.
    let value: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        let msg = e.to_string();
        let hint = if e.line() == 1 && e.column() <= 1 {
            " (only VBench's `VBench_full_info.json` is read: a JSON list of {\"prompt_en\", \"dimension\"}, \
             not its per-dimension .txt prompt files)"
        } else if msg.contains("hex escape") || msg.contains("surrogate") {
            // serde's words for a lone \ud800–\udfff escape, which Python's json writes for a
            // string holding half a character.
            " (a \\uD800–\\uDFFF escape without its other half: half a character, not text; fix that prompt)"
        } else {
            ""
        };
        bad(format!("line {}, column {}: not JSON: {e}{hint}", e.line(), e.column()))
    })?;
    let items = value
        .as_array()
        .ok_or_else(|| bad("expected a list of prompts ([{\"prompt_en\": …, \"dimension\": […]}, …])".into()))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let obj =
            item.as_object().ok_or_else(|| bad(format!("[{i}]: expected an object with prompt_en and dimension")))?;
        let prompt = match obj.get("prompt_en") {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(_) => return Err(bad(format!("[{i}].prompt_en: expected a non-empty string"))),
            None => return Err(bad(format!("[{i}]: missing prompt_en"))),
        };
        let dims = obj
            .get("dimension")
            .ok_or_else(|| bad(format!("[{i}] ({prompt:?}): missing dimension")))?
            .as_array()
            .ok_or_else(|| bad(format!("[{i}].dimension: expected a list of dimension names")))?;
        if dims.is_empty() {
            return Err(bad(format!("[{i}].dimension ({prompt:?}): empty; name the dimensions the prompt is for")));
        }
        let mut dimensions = Vec::new();
        for (j, d) in dims.iter().enumerate() {
            let name = d.as_str().ok_or_else(|| bad(format!("[{i}].dimension[{j}]: expected a string")))?;
            if dimension(name).is_none() {
                // VBench-2.0's dimensions are capitalised (`Camera_Motion`), VBench++'s
                // image-to-video ones start `i2v_`/`camera_`: neither is VBench's.
                // One of VBench's spelt otherwise (`Subject_Consistency`, `subject consistency`) is
                // named as VBench writes it (it was called a VBench-2.0 dimension).
                let family = if let Some(d) = spelt_otherwise(name) {
                    format!(" (VBench writes it \"{d}\")")
                } else if name.starts_with("i2v_") || name.starts_with("camera_") {
                    " (a VBench++ image-to-video dimension: not supported, only VBench's 16)".to_string()
                } else if name.chars().next().is_some_and(char::is_uppercase) {
                    " (a VBench-2.0 dimension: not supported, only VBench's 16)".to_string()
                } else {
                    String::new()
                };
                return Err(bad(format!(
                    "[{i}].dimension[{j}]: unknown dimension \"{name}\"{family}, expected one of {}",
                    names()
                )));
            }
            dimensions.push(name.to_string());
        }
        let auxiliary = match obj.get("auxiliary_info") {
            None | Some(serde_json::Value::Null) => serde_json::Map::new(),
            Some(serde_json::Value::Object(m)) => m.clone(),
            Some(_) => return Err(bad(format!("[{i}].auxiliary_info: expected an object keyed by dimension"))),
        };
        out.push(InfoPrompt { prompt, dimensions, auxiliary });
    }
    Ok((out, digest))
}

/// The largest info file read (VBench's is 0.2 MB).
const MAX_INFO_BYTES: u64 = 256 << 20;

/// Case ids of a dimension's prompts: [`case_id`], and where two prompts share one (a slug cut at
/// 40 characters and 32 bits of hash collide in large imports with a shared prefix), those
/// prompts take 16 hex digits instead; ids of every other prompt stay as they were.
fn case_ids(prompts: &[&str]) -> std::result::Result<Vec<String>, String> {
    let mut ids: Vec<String> = prompts.iter().map(|p| case_id(p)).collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &ids {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let clashing: Vec<usize> = (0..ids.len()).filter(|&i| count[ids[i].as_str()] > 1).collect();
    for i in clashing {
        let hash = &sha256_hex(prompts[i].as_bytes())[..16];
        let short = ids[i].len() - 8;
        ids[i] = format!("{}{hash}", &ids[i][..short]);
    }
    let mut seen = BTreeMap::new();
    for (id, p) in ids.iter().zip(prompts) {
        if let Some(first) = seen.insert(id.as_str(), p) {
            return Err(format!("the prompts {first:?} and {p:?} have the same case id {id}"));
        }
    }
    Ok(ids)
}

/// A stable case id: a slug of the prompt and 8 hex digits of its hash (the same every time the
/// same prompt is imported; [`case_ids`] lengthens the hash of the rare ids that collide).
pub fn case_id(prompt: &str) -> String {
    let mut slug = String::new();
    for c in prompt.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let hash = &sha256_hex(prompt.as_bytes())[..8];
    if slug.is_empty() { format!("p-{hash}") } else { format!("{slug}-{hash}") }
}

/// A YAML double-quoted scalar that reads back as exactly `s`; template markers are kept
/// literal (suite strings are MiniJinja templates).
fn yaml_string(s: &str) -> std::result::Result<String, String> {
    let literal = if s.contains("{{") || s.contains("{%") || s.contains("{#") {
        if s.contains("endraw") {
            return Err("contains template markers and \"endraw\": cannot be kept literal".into());
        }
        format!("{{% raw %}}{s}{{% endraw %}}")
    } else {
        s.to_string()
    };
    Ok(crate::yaml::quoted(&literal))
}

/// A camera-motion label from auxiliary info in videval's words, when the camera probe checks it.
fn camera_motion(aux: &serde_json::Value) -> Option<&'static str> {
    let label = match aux {
        serde_json::Value::String(s) => s.as_str(),
        serde_json::Value::Object(m) => m.get("camera_motion")?.as_str()?,
        _ => return None,
    };
    let norm: String = label.trim().to_lowercase().replace([' ', '-'], "_");
    Some(match norm.as_str() {
        "pan_left" => "pan_left",
        "pan_right" => "pan_right",
        "tilt_up" => "tilt_up",
        "tilt_down" => "tilt_down",
        "zoom_in" => "zoom_in",
        "zoom_out" => "zoom_out",
        "static" => "static",
        _ => return None,
    })
}

/// Videos per prompt an import plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Samples {
    /// Every dimension's (VBench: 5).
    pub per_prompt: u32,
    /// With VBench's static filter, temporal flickering's (VBench: 25, of which the first 5
    /// static ones are scored); `None` without the filter.
    pub static_filter: Option<u32>,
}

/// What an import wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub dimension: String,
    pub file: PathBuf,
    pub prompts: usize,
    pub expectations: usize,
    /// Auxiliary camera motions the camera probe does not check (prompt: label): no expectation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
}

/// The metric of VBench's temporal-flickering static filter; a `vbench_temporal_flickering` suite
/// that scores it is filtered as VBench's protocol does ([`block`]).
pub const STATIC_FILTER: &str = "vbench_static";

/// Static videos per prompt VBench's temporal flickering keeps (`static_filter.py` copies them as
/// `{prompt}-{i}.mp4`; the evaluation reads i = 0…4).
const STATIC_KEPT: usize = 5;

/// Writes one suite per dimension (`DIR/vbench_<dimension>.yaml`); with `static_filter`, temporal
/// flickering also scores [`STATIC_FILTER`].
pub fn import(info: &Path, out: &Path, only: &[String], samples: Samples) -> Result<Vec<Imported>> {
    let Samples { per_prompt: samples, static_filter } = samples;
    for d in only {
        if dimension(d).is_none() {
            let hint = spelt_otherwise(d).map_or(String::new(), |v| format!(" (VBench writes it \"{v}\")"));
            return Err(Error::Config(format!(
                "--dimension: unknown dimension \"{d}\"{hint}, expected one of {}",
                names()
            )));
        }
    }
    if !(1..=1000).contains(&samples) {
        return Err(Error::Config(format!("--samples: expected 1..=1000 samples per prompt, got {samples}")));
    }
    if let Some(n) = static_filter {
        if !(1..=1000).contains(&n) {
            return Err(Error::Config(format!("--static-samples: expected 1..=1000 samples per prompt, got {n}")));
        }
        // The filter scores a prompt's first 5 static videos: fewer samples never give them
        // (allowed, for a folder sampled that way; each prompt is then said to fall short).
        if (n as usize) < STATIC_KEPT {
            eprintln!(
                "warning: --static-samples {n}: fewer than the {STATIC_KEPT} static videos a prompt's score takes; every prompt will fall short of VBench's protocol (said when scored)"
            );
        }
    }
    if out.exists() && !out.is_dir() {
        return Err(Error::Config(format!(
            "--out {}: a file, where the folder for the suites is expected",
            out.display()
        )));
    }
    if static_filter.is_some() && !only.is_empty() && !only.iter().any(|d| d == "temporal_flickering") {
        return Err(Error::Config(
            "--static-filter applies to temporal_flickering, which --dimension leaves out".into(),
        ));
    }
    let (prompts, digest) = read_info(info)?;
    // Every suite is made and loaded back before any is written: a prompt the loader refuses (a
    // NUL, a megabyte) was written and said imported, and a later dimension's error left the
    // earlier ones' files behind.
    let mut written = Vec::new();
    let mut texts = Vec::new();
    for d in DIMENSIONS.iter().filter(|d| only.is_empty() || only.iter().any(|o| o == d.name)) {
        // A prompt listed twice in a dimension is one case; twice with different auxiliary info
        // for the dimension, the file contradicts itself.
        let mut seen: BTreeMap<&str, Option<&serde_json::Value>> = BTreeMap::new();
        let mut mine: Vec<&InfoPrompt> = Vec::new();
        for p in prompts.iter().filter(|p| p.dimensions.iter().any(|x| x == d.name)) {
            let aux = p.auxiliary.get(d.name);
            match seen.get(p.prompt.as_str()) {
                None => {
                    seen.insert(&p.prompt, aux);
                    mine.push(p);
                }
                Some(first) if *first == aux => {}
                Some(_) => {
                    return Err(Error::BadFile {
                        path: info.to_path_buf(),
                        message: format!(
                            "the prompt {:?} is listed twice for {} with different auxiliary_info; keep one",
                            p.prompt, d.name
                        ),
                    });
                }
            }
        }
        if mine.is_empty() {
            continue;
        }
        // Frame-weighted dimensions weigh each video by its frame pairs: frame_count goes along.
        let mut metrics = match (d.metric, d.aggregation) {
            (Some(m), FrameWeighted) => format!("{m}, frame_count"),
            (Some(m), VideoMean) => m.to_string(),
            (None, _) => "frame_count".to_string(),
        };
        // VBench samples 25 videos a prompt for the static filter, 5 for every other dimension.
        let (filtered, samples) = match static_filter {
            Some(n) if d.name == "temporal_flickering" => (true, n),
            _ => (false, samples),
        };
        if filtered {
            metrics.push_str(&format!(", {STATIC_FILTER}"));
        }
        // The name goes into a comment line: control characters (a newline) are escaped.
        let file_name = info.file_name().map_or("info".into(), |n| n.to_string_lossy().into_owned());
        let file_name = if file_name.chars().any(char::is_control) { format!("{file_name:?}") } else { file_name };
        let mut y = format!(
            "# Imported by `videval suites import vbench` from {file_name} (sha256 {}). Prompts are VBench's, byte for\n\
             # byte: the folder adapter matches VBench's `{{prompt}}-{{i}}.mp4` videos.\n\
             schema: 1\nsuite: vbench_{}\nversion: 1\n\
             description: {}\n\
             tags: [vbench]\n\
             defaults:\n  seeds: {{per_case: {samples}}}\n\
             metrics: [{metrics}]\ncases:\n",
            &digest[..16],
            d.name,
            yaml_string(&format!(
                "VBench dimension {}: {} prompts, {samples} samples each.{}{}",
                d.name,
                mine.len(),
                if d.metric.is_some() { String::new() } else { format!(" Not scored by videval yet ({}).", d.missing) },
                if filtered {
                    format!(" VBench's static filter: the first {STATIC_KEPT} static videos of each prompt are scored.")
                } else {
                    String::new()
                }
            ))
            .map_err(Error::Config)?,
        );
        let mut expectations = 0;
        let mut unchecked = Vec::new();
        let ids = case_ids(&mine.iter().map(|p| p.prompt.as_str()).collect::<Vec<_>>())
            .map_err(|message| Error::BadFile { path: info.to_path_buf(), message })?;
        for (p, id) in mine.iter().zip(&ids) {
            let prompt = yaml_string(&p.prompt).map_err(|e| Error::BadFile {
                path: info.to_path_buf(),
                message: format!("prompt {:?}: {e}", p.prompt),
            })?;
            y.push_str(&format!("  - id: {id}\n    prompt: {prompt}\n"));
            // Auxiliary info a probe can check becomes an expectation; nothing else is invented.
            if let Some(aux) = p.auxiliary.get("camera_motion") {
                match camera_motion(aux) {
                    Some(motion) => {
                        y.push_str(&format!("    expect:\n      - {{probe: camera, motion: {motion}}}\n"));
                        expectations += 1;
                    }
                    None => unchecked.push(format!("{:?}: {aux}", p.prompt)),
                }
            }
        }
        let file = out.join(format!("vbench_{}.yaml", d.name));
        loads_back(&file, &y, &mine).map_err(|message| Error::BadFile { path: info.to_path_buf(), message })?;
        texts.push(y);
        written.push(Imported { dimension: d.name.to_string(), file, prompts: mine.len(), expectations, unchecked });
    }
    if written.is_empty() {
        let which = if only.is_empty() { "any dimension".to_string() } else { only.join(", ") };
        return Err(Error::BadFile {
            path: info.to_path_buf(),
            message: format!("no prompt for {which}: nothing to import"),
        });
    }
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    // Every target checked before any is written: one that could not be stopped the import with
    // the suites before it written and not said; and the input is never overwritten.
    for w in &written {
        if crate::store::same_file(&w.file, info) {
            return Err(Error::Config(format!(
                "{}: that is the file being imported; choose another --out",
                w.file.display()
            )));
        }
        if w.file.exists() && !w.file.is_file() {
            return Err(Error::Config(format!(
                "{}: not a regular file, where a suite is to be written",
                w.file.display()
            )));
        }
    }
    for (w, y) in written.iter().zip(&texts) {
        write_atomic(&w.file, y.as_bytes())?;
    }
    Ok(written)
}

/// Whether the suite text `y` made for `file` loads as written, else what is wrong with which of
/// `prompts` (its cases, in order).
fn loads_back(file: &Path, y: &str, prompts: &[&InfoPrompt]) -> std::result::Result<(), String> {
    struct Text<'a>(&'a str);
    impl crate::suite::Source for Text<'_> {
        fn read(&self, _: &str) -> std::io::Result<String> {
            Ok(self.0.to_string())
        }
    }
    // An import may hold more cases than a suite does by default (said when imported).
    let limits = crate::suite::load::Limits { max_cases: usize::MAX, max_units: usize::MAX, include_outside: false };
    let name = file.to_string_lossy();
    let Err(e) = crate::suite::load::load_with(&Text(y), &name, &limits) else { return Ok(()) };
    let first = e.errors.first().map_or(String::new(), |e| e.message.clone());
    // The prompt the first error is about, when it is about a case.
    let case = e.errors.first().and_then(|e| e.path.strip_prefix("cases[")).and_then(|r| r.split(']').next());
    let prompt = case.and_then(|i| i.parse::<usize>().ok()).and_then(|i| prompts.get(i));
    Err(match prompt {
        Some(p) => {
            let shown: String = p.prompt.chars().take(80).collect();
            format!("the prompt {shown:?} cannot be a suite's case: {first}")
        }
        None => format!("{} would not load as written: {e}", name),
    })
}

pub fn import_command(info: &Path, out: &Path, only: &[String], samples: Samples, json: bool) -> Result<ExitCode> {
    let written = import(info, out, only, samples)?;
    for w in written.iter().filter(|w| w.prompts > crate::suite::load::MAX_CASES) {
        eprintln!(
            "note: {} has {} cases, over the {} a suite may have by default: run it with --max-cases {}",
            w.file.display(),
            w.prompts,
            crate::suite::load::MAX_CASES,
            w.prompts
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&written).map_err(|e| Error::Internal(e.to_string()))?);
    } else {
        for w in &written {
            println!(
                "{:<24} {:>4} prompts → {}{}",
                w.dimension,
                w.prompts,
                w.file.display(),
                if w.expectations > 0 { format!(" ({} camera expectations)", w.expectations) } else { String::new() }
            );
            if !w.unchecked.is_empty() {
                println!(
                    "  {} camera_motion label(s) the camera probe does not check, imported without an expectation; first: {}",
                    w.unchecked.len(),
                    w.unchecked[0]
                );
            }
        }
    }
    Ok(ExitCode::Ok)
}

/// A suite imported with VBench's static filter keeps its own temporal flickering row over every
/// video it holds (so `compare` pairs every case), while VBench's score is over the static videos
/// the filter keeps: the row says so (it read as VBench's, "(static scenes)", over flickering
/// videos too).
pub fn mark_unfiltered_rows(results: &mut Results) {
    let filtered: Vec<String> = results
        .suites
        .keys()
        .filter(|s| s.strip_prefix("vbench_") == Some("temporal_flickering") && scores_static_filter(results, s))
        .cloned()
        .collect();
    for suite in filtered {
        if let Some(row) = results.suites.get_mut(&suite).and_then(|r| r.metrics.get_mut("temporal_flicker")) {
            row.description.push_str(
                " Here over every video of the suite, not VBench's protocol: VBench's score is over the static videos its filter keeps (the VBench table).",
            );
        }
    }
}

/// VBench's name of a dimension spelt in other letter case or with spaces or hyphens.
fn spelt_otherwise(name: &str) -> Option<&'static str> {
    let normal = name.trim().to_lowercase().replace([' ', '-'], "_");
    dimension(&normal).map(|d| d.name)
}

/// Whether a suite scores VBench's static filter (imported with `--static-filter`).
fn scores_static_filter(results: &Results, suite: &str) -> bool {
    results.suites.get(suite).is_some_and(|r| r.metrics.contains_key(STATIC_FILTER))
        || results.samples.iter().any(|s| {
            s.suite == suite && (s.metrics.contains_key(STATIC_FILTER) || s.metric_errors.contains_key(STATIC_FILTER))
        })
}

/// VBench's static-filter protocol: per prompt, the first [`STATIC_KEPT`] videos the filter calls
/// static, in the order of VBench's sorted file names (`{prompt}-{i}.mp4`: `-10` before `-2`),
/// and a note of what was kept; `Err` when no video's filter could be measured (why).
fn static_videos<'a>(samples: &[&'a Sample]) -> std::result::Result<(Vec<&'a Sample>, String), String> {
    let mut by_prompt: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        by_prompt.entry(s.cluster.as_str()).or_default().push(s);
    }
    let (mut kept, mut statics, mut unknown, mut short) = (Vec::new(), 0, 0, Vec::new());
    for (prompt, mut videos) in by_prompt {
        videos.sort_by_key(|s| format!("{}.mp4", s.seed_idx));
        let mut n = 0;
        for s in videos {
            match s.metrics.get(STATIC_FILTER) {
                Some(&v) if v == 1.0 => {
                    statics += 1;
                    if n < STATIC_KEPT {
                        kept.push(s);
                        n += 1;
                    }
                }
                Some(_) => {}
                None => unknown += 1,
            }
        }
        if n < STATIC_KEPT {
            short.push(format!("{prompt:?} ({n})"));
        }
    }
    if unknown == samples.len() {
        let why = samples
            .iter()
            .find_map(|s| s.metric_errors.get(STATIC_FILTER).cloned())
            .unwrap_or_else(|| "no video was scored".into());
        return Err(format!("VBench's static filter could not be measured: {why}"));
    }
    if kept.is_empty() {
        return Err(format!("VBench's static filter kept no video: none of {} is static", samples.len()));
    }
    let mut note = format!(
        "VBench's static filter: {statics} of {} videos static; the first {STATIC_KEPT} of each prompt scored ({})",
        samples.len(),
        kept.len()
    );
    if unknown > 0 {
        note.push_str(&format!("; {unknown} videos not measurable by the filter, left out"));
    }
    if !short.is_empty() {
        note.push_str(&format!(
            "; {} prompts have fewer than {STATIC_KEPT} static videos (sample more): {}",
            short.len(),
            short.join(", ")
        ));
    }
    Ok((kept, note))
}

/// One dimension's videos: per prompt, (per-video score, frame pairs).
type ByPrompt = Vec<Vec<(f64, f64)>>;

fn aggregate(d: &Dimension, prompts: &[&Vec<(f64, f64)>]) -> Option<f64> {
    let videos = prompts.iter().flat_map(|p| p.iter());
    let (num, den) = match d.aggregation {
        VideoMean => videos.fold((0.0, 0.0), |(s, n), &(v, _)| (s + v, n + 1.0)),
        FrameWeighted => videos.fold((0.0, 0.0), |(s, n), &(v, w)| (s + v * w, n + w)),
    };
    (den > 0.0).then(|| num / den)
}

fn normalise(d: &Dimension, x: f64) -> f64 {
    (x - d.min) / (d.max - d.min)
}

const N_BOOT: usize = 2000;

/// Samples a prompt VBench scores: 5, and 25 for temporal flickering under its static filter.
const VBENCH_SAMPLES: usize = 5;
const VBENCH_STATIC_SAMPLES: usize = 25;

/// The `vbench` block of a run's results: every suite named `vbench_<dimension>`, aggregated and
/// normalised as VBench does, with percentile-bootstrap intervals over prompts (the samples of a
/// prompt together), and the Quality Score over the quality dimensions present. None when the
/// run has no VBench suite. `narrowed`: suites the run planned some of the cases of (`--limit`,
/// `--cases`), with their cases planned and in all.
pub fn block(results: &Results, narrowed: &BTreeMap<String, [usize; 2]>) -> Option<VbenchBlock> {
    let mut per_dim: Vec<(&'static Dimension, String, Vec<String>, ByPrompt)> = Vec::new();
    let mut present: BTreeSet<&str> = BTreeSet::new();
    // Why a dimension with a metric has no value: the first reason its samples give.
    let mut unmeasured: BTreeMap<&str, String> = BTreeMap::new();
    // What a filter kept (temporal flickering under VBench's static filter).
    let mut filters: BTreeMap<&str, String> = BTreeMap::new();
    let mut left_out: BTreeMap<&str, String> = BTreeMap::new();
    for suite in results.suites.keys() {
        let Some(d) = suite.strip_prefix("vbench_").and_then(dimension) else { continue };
        present.insert(d.name);
        let Some(metric) = d.metric else { continue };
        let mut prompts: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        let mut unweighted = false;
        let scored: Vec<&Sample> = results.samples.iter().filter(|s| &s.suite == suite && s.status == "ok").collect();
        let scored = if d.name == "temporal_flickering" && scores_static_filter(results, suite) {
            match static_videos(&scored) {
                Ok((kept, note)) => {
                    filters.insert(d.name, note);
                    kept
                }
                Err(why) => {
                    unmeasured.insert(d.name, why);
                    continue;
                }
            }
        } else {
            scored
        };
        // Videos the score cannot include: not generated or read, or not measurable. VBench
        // would have failed on them; the score is over the others, and says so.
        let failed: Vec<&Sample> = results.samples.iter().filter(|s| &s.suite == suite && s.status != "ok").collect();
        let unmeasurable: Vec<&Sample> = scored.iter().copied().filter(|s| !s.metrics.contains_key(metric)).collect();
        // Of those, the videos that could not be read (a truncated file): counted as not read,
        // not as not measurable.
        let unread = unmeasurable.iter().filter(|s| s.failed_metrics.contains(metric)).count();
        let why = failed
            .iter()
            .find_map(|s| s.error.clone())
            .or_else(|| unmeasurable.iter().find_map(|s| s.metric_errors.get(metric).cloned()));
        // A partial merge (`--allow-partial`) has units with no record at all.
        let unmerged = results
            .missing_units
            .iter()
            .filter(|u| u.strip_prefix(suite.as_str()).is_some_and(|r| r.starts_with('/')))
            .count();
        let out = failed.len() + unmeasurable.len() + unmerged;
        if out > 0 {
            left_out.insert(
                d.name,
                format!(
                    "{out} video{} left out ({} not generated or read, {} not measurable{}){}",
                    if out == 1 { "" } else { "s" },
                    failed.len() + unread,
                    unmeasurable.len() - unread,
                    if unmerged > 0 { format!(", {unmerged} not in the merged shards") } else { String::new() },
                    why.map_or(String::new(), |w| format!("; first: {w}"))
                ),
            );
        }
        for s in scored {
            let Some(&v) = s.metrics.get(metric) else { continue };
            // Frame-weighted dimensions weigh each video by its frame pairs (frame_count − 1);
            // without frame_count VBench's aggregation cannot be reproduced, so none is given.
            let pairs = match (d.aggregation, s.metrics.get("frame_count")) {
                (FrameWeighted, Some(n)) => (n - 1.0).max(0.0),
                (FrameWeighted, None) => {
                    unweighted = true;
                    continue;
                }
                (VideoMean, _) => 1.0,
            };
            prompts.entry(s.cluster.as_str()).or_default().push((v, pairs));
        }
        if unweighted {
            unmeasured
                .insert(d.name, format!("VBench weighs {} by frames: the suite must also score frame_count", d.name));
        } else if prompts.is_empty() {
            let reason = results.samples.iter().filter(|s| &s.suite == suite).find_map(|s| s.metric_errors.get(metric));
            let any_ok = results.samples.iter().any(|s| &s.suite == suite && s.status == "ok");
            let why = match reason {
                Some(r) => r.clone(),
                None if any_ok && !results.suites[suite].metrics.contains_key(metric) => {
                    format!("the suite {suite} does not score {metric}")
                }
                // With the first failure's reason (a folder whose every video was ambiguous said
                // only this).
                None => match results.samples.iter().filter(|s| &s.suite == suite).find_map(|s| s.error.as_deref()) {
                    Some(e) => format!("no video of its suite was scored; first: {e}"),
                    None => "no video of its suite was scored".to_string(),
                },
            };
            unmeasured.insert(d.name, why);
        } else {
            let names = prompts.keys().map(|k| k.to_string()).collect();
            per_dim.push((d, suite.clone(), names, prompts.into_values().collect()));
        }
    }
    if present.is_empty() {
        return None;
    }
    let mut dimensions = Vec::new();
    // The quality dimensions scored, with their prompts by name, for the Quality Score.
    let mut quality_prompts: Vec<(&Dimension, BTreeMap<&str, &Vec<(f64, f64)>>)> = Vec::new();
    for (d, suite, names, prompts) in &per_dim {
        let all: Vec<&Vec<(f64, f64)>> = prompts.iter().collect();
        let Some(raw) = aggregate(d, &all) else {
            // Frame-weighted, and no video has two frames: VBench's weights are all zero.
            unmeasured.insert(d.name, format!("VBench weighs {} by frame pairs, and no video has two frames", d.name));
            continue;
        };
        let k = prompts.len();
        // Each dimension draws from its own seed: one stream through them all gave a dimension
        // another interval when another suite was in the run.
        let mut rng = ChaCha8Rng::seed_from_u64(seed_of(&["vbench", d.name]));
        let mut boot = Vec::with_capacity(N_BOOT);
        for _ in 0..N_BOOT {
            let pick: Vec<&Vec<(f64, f64)>> = (0..k).map(|_| &prompts[rng.random_range(0..k)]).collect();
            boot.push(aggregate(d, &pick).unwrap_or(raw));
        }
        let mut sorted = boot.clone();
        sorted.sort_by(f64::total_cmp);
        let tail = expanded_tail(0.025, k);
        let ci = Some([quantile_sorted(&sorted, tail), quantile_sorted(&sorted, 1.0 - tail)])
            .filter(|&[lo, hi]| k >= MIN_CLUSTERS && !no_spread(lo, hi));
        let note = ci.is_none().then(|| {
            if k < MIN_CLUSTERS {
                format!("n/a ({k} prompt{}; an interval needs {MIN_CLUSTERS})", if k == 1 { "" } else { "s" })
            } else {
                format!("n/a (all {k} prompts equal)")
            }
        });
        dimensions.push(VbenchDimension {
            dimension: d.name.to_string(),
            quality: d.quality,
            suite: suite.clone(),
            metric: d.metric.unwrap_or_default().to_string(),
            aggregation: serde_json::to_value(d.aggregation)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            prompts: k,
            videos: prompts.iter().map(Vec::len).sum(),
            raw: VbenchScore { value: raw, ci, note: note.clone() },
            normalised: VbenchScore {
                value: normalise(d, raw),
                ci: ci.map(|[a, b]| [normalise(d, a), normalise(d, b)]),
                note,
            },
            min: d.min,
            max: d.max,
            weight: d.weight,
            filter: filters.get(d.name).cloned(),
            left_out: left_out.get(d.name).cloned(),
        });
        if d.quality {
            quality_prompts.push((d, names.iter().map(String::as_str).zip(prompts).collect()));
        }
    }
    let quality: Vec<&VbenchDimension> = dimensions.iter().filter(|d| d.quality).collect();
    let quality_score = (!quality.is_empty()).then(|| {
        let total: f64 = quality.iter().map(|d| d.weight).sum();
        let value = quality.iter().map(|d| d.weight * d.normalised.value).sum::<f64>() / total;
        // One draw of prompts for every dimension at once: VBench's dimensions share prompts
        // (and their videos), so a prompt drawn counts in each dimension that has it, and the
        // interval keeps how the dimensions move together (drawn separately, it was too narrow
        // where they rise together and too wide where they move apart).
        let union: Vec<&str> =
            quality_prompts.iter().flat_map(|(_, p)| p.keys().copied()).collect::<BTreeSet<_>>().into_iter().collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed_of(&["vbench", "quality score"]));
        let mut q: Vec<f64> = (0..N_BOOT)
            .map(|_| {
                let drawn: Vec<&str> = (0..union.len()).map(|_| union[rng.random_range(0..union.len())]).collect();
                quality_prompts
                    .iter()
                    .zip(&quality)
                    .map(|((d, by_name), scored)| {
                        let pick: Vec<&Vec<(f64, f64)>> =
                            drawn.iter().filter_map(|n| by_name.get(n).copied()).collect();
                        d.weight * normalise(d, aggregate(d, &pick).unwrap_or(scored.raw.value))
                    })
                    .sum::<f64>()
                    / total
            })
            .collect();
        q.sort_by(f64::total_cmp);
        let enough = quality.iter().all(|d| d.prompts >= MIN_CLUSTERS);
        let tail = expanded_tail(0.025, union.len());
        let ci = Some([quantile_sorted(&q, tail), quantile_sorted(&q, 1.0 - tail)])
            .filter(|&[lo, hi]| enough && !no_spread(lo, hi));
        // Why there is no interval, where there is none (the page showed "n/a" alone).
        let few: Vec<&str> =
            quality.iter().filter(|d| d.prompts < MIN_CLUSTERS).map(|d| d.dimension.as_str()).collect();
        let why = if ci.is_some() {
            String::new()
        } else if !few.is_empty() {
            format!("; no interval: {} scored on fewer than {MIN_CLUSTERS} prompts", few.join(", "))
        } else {
            "; no interval: the resampled scores do not spread".to_string()
        };
        VbenchScore {
            value,
            ci,
            note: Some(format!(
                "over {} of the 7 quality dimensions ({}); VBench's Quality Score uses all 7{why}",
                quality.len(),
                quality.iter().map(|d| d.dimension.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    });
    let scored: BTreeSet<&str> = dimensions.iter().map(|d| d.dimension.as_str()).collect();
    let skipped = DIMENSIONS
        .iter()
        .filter(|d| !scored.contains(d.name) && (d.quality || present.contains(d.name)))
        .map(|d| VbenchSkipped {
            dimension: d.name.to_string(),
            reason: if let Some(why) = unmeasured.get(d.name) {
                why.clone()
            } else if !d.missing.is_empty() {
                d.missing.to_string()
            } else {
                format!("no vbench_{} suite in this run", d.name)
            },
        })
        .collect();
    // Where the protocol is not VBench's: its numbers are over other prompts or samples.
    let mut caveats = Vec::new();
    for suite in results.suites.keys().filter(|s| s.strip_prefix("vbench_").and_then(dimension).is_some()) {
        if let Some([planned, all]) = narrowed.get(suite) {
            caveats
                .push(format!("{suite}: {planned} of its {all} prompts (--limit or --cases): not VBench's full set"));
        }
        // The samples each prompt's score rests on: generated or read, and measured (a planned
        // sample whose video was missing counted, and a score over 0 of a prompt's 5 read as
        // VBench's protocol).
        // Of a dimension scored (one not scored is listed as skipped, with why).
        if !dimensions.iter().any(|d| &d.suite == suite) {
            continue;
        }
        let metric = suite.strip_prefix("vbench_").and_then(dimension).and_then(|d| d.metric);
        let mut per_case: BTreeMap<&str, usize> = BTreeMap::new();
        for s in results.samples.iter().filter(|s| &s.suite == suite) {
            let scored = s.status == "ok" && metric.is_none_or(|m| s.metrics.contains_key(m));
            *per_case.entry(s.case_id.as_str()).or_default() += usize::from(scored);
        }
        let counts: BTreeSet<usize> = per_case.into_values().collect();
        let want = if scores_static_filter(results, suite) { VBENCH_STATIC_SAMPLES } else { VBENCH_SAMPLES };
        if counts.iter().any(|&n| n != want) {
            let said: Vec<String> = counts.iter().map(usize::to_string).collect();
            caveats.push(format!("{suite}: {} sample(s) per prompt, where VBench reads {want}", said.join(" to ")));
        }
    }
    let quality_score = quality_score.map(|mut q| {
        if !caveats.is_empty() {
            q.note = q.note.map(|n| format!("{n}; not VBench's protocol (see the caveats)"));
        }
        q
    });
    Some(VbenchBlock { dimensions, quality_score, skipped, caveats })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_survive_yaml_quoting_byte_for_byte() {
        for p in [
            "a red bicycle",
            "A beautiful coastal beach in spring, waves lapping on sand by Hokusai, in the style of Ukiyo",
            "quotes \" and \\ backslash: and # hash, 'single'",
            "unicode — café 東京 🚲",
            "template {{ x }} and {% if %} markers",
            "tab\tand\nnewline",
            // Control characters of every kind (a C1 one is refused raw by videval's reader).
            "a cat\u{92}s toy \u{0} \u{1b}[1m \u{7f} \u{85} \u{9f} \u{2028} \u{feff} \u{fffe} \u{ffff}",
        ] {
            let yaml = format!("v: {}\n", yaml_string(p).unwrap());
            let node = crate::yaml::parse("t.yaml", &yaml).unwrap();
            let crate::yaml::Value::Map(entries) = node.value else { panic!("a mapping") };
            let crate::yaml::Value::Str(back) = &entries[0].value.value else { panic!("a string") };
            let expected = if p.contains("{{") || p.contains("{%") {
                format!("{{% raw %}}{p}{{% endraw %}}")
            } else {
                p.to_string()
            };
            assert_eq!(back, &expected);
        }
        assert!(yaml_string("{{ x }} endraw").is_err());
    }

    #[test]
    fn the_static_filter_keeps_the_first_five_static_videos_of_a_prompt_in_vbenchs_file_order() {
        let sample = |cluster: &str, seed_idx: u32, is_static: Option<f64>| {
            let mut s: Sample = serde_json::from_value(serde_json::json!({
                "suite": "vbench_temporal_flickering", "case_id": cluster, "seed_idx": seed_idx, "seed": 0,
                "cluster": cluster, "prompt": cluster, "status": "ok", "metrics": {"temporal_flicker": 0.9},
            }))
            .unwrap();
            match is_static {
                Some(v) => drop(s.metrics.insert(STATIC_FILTER.into(), v)),
                None => drop(s.metric_errors.insert(STATIC_FILTER.into(), "needs RAFT-things weights".into())),
            }
            s
        };
        // Prompt a: 12 videos, static at 0, 2, 3, 10, 11 and 9 (VBench's sorted names: -0, -1,
        // -10, -11, -2, -3, …, -9), so the five kept are 0, 10, 11, 2, 3; prompt b: two static.
        let mut all: Vec<Sample> =
            (0..12).map(|i| sample("a", i, Some(f64::from(u8::from([0, 2, 3, 9, 10, 11].contains(&i)))))).collect();
        all.extend([sample("b", 0, Some(1.0)), sample("b", 1, Some(0.0)), sample("b", 2, Some(1.0))]);
        all.push(sample("b", 3, None));
        let refs: Vec<&Sample> = all.iter().collect();
        let (kept, note) = static_videos(&refs).unwrap();
        let got: Vec<(&str, u32)> = kept.iter().map(|s| (s.cluster.as_str(), s.seed_idx)).collect();
        assert_eq!(got, [("a", 0), ("a", 10), ("a", 11), ("a", 2), ("a", 3), ("b", 0), ("b", 2)]);
        assert!(note.contains("8 of 16 videos static"), "{note}");
        assert!(note.contains("1 videos not measurable"), "{note}");
        assert!(note.contains("fewer than 5 static videos (sample more): \"b\" (2)"), "{note}");
        // No static video, or no measurable one: said so, never a number from other videos.
        let moving: Vec<Sample> = (0..3).map(|i| sample("a", i, Some(0.0))).collect();
        let err = static_videos(&moving.iter().collect::<Vec<_>>()).unwrap_err();
        assert!(err.contains("kept no video"), "{err}");
        let unknown: Vec<Sample> = (0..3).map(|i| sample("a", i, None)).collect();
        let err = static_videos(&unknown.iter().collect::<Vec<_>>()).unwrap_err();
        assert!(err.contains("could not be measured: needs RAFT-things weights"), "{err}");
    }

    /// A dimension without a value says why: its suite does not score the metric, or (frame
    /// weighted) no video has two frames; never "no video was scored" when they were.
    #[test]
    fn a_dimension_without_a_value_says_why() {
        let results = |metrics: serde_json::Value, sample_metrics: serde_json::Value| -> Results {
            serde_json::from_value(serde_json::json!({
                "schema": videval_reports::results::RESULTS_SCHEMA, "plan_hash": "p", "model": {}, "complete": true,
                "missing_units": [],
                "suites": {"vbench_subject_consistency": {"version": 1, "content_hash": "h", "n": {"cases": 1, "samples": 1, "failed_generations": 0, "failed_scores": 0, "not_applicable": 0}, "metrics": metrics}},
                "samples": [{"suite": "vbench_subject_consistency", "case_id": "a", "seed_idx": 0, "seed": 0,
                    "cluster": "a", "prompt": "a", "status": "ok", "metrics": sample_metrics}],
            }))
            .unwrap()
        };
        let metric = serde_json::json!({"point_estimate": 1.0, "method": "m", "unit": "case", "n_clusters": 1,
            "n_samples": 1, "n_boot": 0, "rng_seed": 0, "metric_version": 1, "direction": "higher_is_better",
            "description": ""});
        let why = |r: &Results| {
            let b = block(r, &BTreeMap::new()).unwrap();
            b.skipped
                .iter()
                .find(|s| s.dimension == "subject_consistency")
                .map(|s| s.reason.clone())
                .unwrap_or_default()
        };
        let r = results(serde_json::json!({"frame_count": metric}), serde_json::json!({"frame_count": 16.0}));
        assert_eq!(why(&r), "the suite vbench_subject_consistency does not score vbench_subject_consistency");
        let r = results(
            serde_json::json!({"frame_count": metric, "vbench_subject_consistency": metric}),
            serde_json::json!({"frame_count": 1.0, "vbench_subject_consistency": 1.0}),
        );
        assert!(why(&r).contains("no video has two frames"), "{}", why(&r));
    }

    /// The Quality Score's interval draws prompts once for all dimensions: two that move exactly
    /// against each other over the same prompts leave it no width (drawn separately, they gave
    /// it one). Videos a dimension had to leave out are counted, with the first reason.
    #[test]
    fn the_quality_score_draws_prompts_jointly_and_left_out_videos_are_said() {
        let metric = serde_json::json!({"point_estimate": 0.5, "method": "m", "unit": "case", "n_clusters": 20,
            "n_samples": 20, "n_boot": 0, "rng_seed": 0, "metric_version": 1, "direction": "higher_is_better",
            "description": ""});
        let suite = |m: &str| {
            serde_json::json!({"version": 1, "content_hash": "h", "n": {"cases": 20, "samples": 20, "failed_generations": 0,
                "failed_scores": 0, "not_applicable": 0}, "metrics": {m: metric}})
        };
        let mut samples = Vec::new();
        for i in 0..20 {
            let a = f64::from(i) / 20.0;
            for (s, m, v) in [
                ("vbench_aesthetic_quality", "vbench_aesthetic_quality", a),
                ("vbench_imaging_quality", "vbench_imaging_quality", 1.0 - a),
            ] {
                let c = format!("p{i}");
                samples.push(serde_json::json!({"suite": s, "case_id": c, "seed_idx": 0, "seed": 0, "cluster": c,
                    "prompt": c, "status": "ok", "metrics": {m: v}}));
            }
        }
        samples.push(serde_json::json!({"suite": "vbench_imaging_quality", "case_id": "p20", "seed_idx": 0, "seed": 0,
            "cluster": "p20", "prompt": "p20", "status": "error", "error": "no video for case p20", "metrics": {}}));
        samples.push(serde_json::json!({"suite": "vbench_imaging_quality", "case_id": "p21", "seed_idx": 0, "seed": 0,
            "cluster": "p21", "prompt": "p21", "status": "ok", "metrics": {},
            "metric_errors": {"vbench_imaging_quality": "needs MUSIQ (SPAQ) weights"}}));
        // A video that could not be read is counted as not read (it was "not measurable").
        samples.push(serde_json::json!({"suite": "vbench_imaging_quality", "case_id": "p22", "seed_idx": 0, "seed": 0,
            "cluster": "p22", "prompt": "p22", "status": "ok", "metrics": {},
            "metric_errors": {"vbench_imaging_quality": "x.mp4: file is truncated"},
            "failed_metrics": ["vbench_imaging_quality"]}));
        let r: Results = serde_json::from_value(serde_json::json!({
            "schema": videval_reports::results::RESULTS_SCHEMA, "plan_hash": "p", "model": {}, "complete": false,
            "missing_units": ["vbench_aesthetic_quality/p30#0", "vbench_aesthetic_quality_x/p31#0"],
            "suites": {"vbench_aesthetic_quality": suite("vbench_aesthetic_quality"),
                "vbench_imaging_quality": suite("vbench_imaging_quality")},
            "samples": samples,
        }))
        .unwrap();
        let b = block(&r, &BTreeMap::new()).unwrap();
        let q = b.quality_score.unwrap();
        assert!((q.value - 0.5).abs() < 1e-12, "{q:?}");
        assert!(q.ci.is_none_or(|[lo, hi]| hi - lo < 1e-12), "{q:?}");
        // It has none (no spread), and the note says why (the page showed "n/a" alone).
        assert!(
            q.ci.is_none()
                && q.note.as_deref().is_some_and(|n| n.contains("; no interval: the resampled scores do not spread")),
            "{q:?}"
        );
        // The samples each prompt's score rests on: p20's failed and p21's unmeasured videos.
        assert!(
            b.caveats.iter().any(|c| c == "vbench_imaging_quality: 0 to 1 sample(s) per prompt, where VBench reads 5"),
            "{:?}",
            b.caveats
        );
        for d in &b.dimensions {
            assert!(d.raw.ci.is_some_and(|[lo, hi]| hi - lo > 0.1), "each dimension varies: {d:?}");
        }
        let imaging = b.dimensions.iter().find(|d| d.dimension == "imaging_quality").unwrap();
        assert_eq!(
            imaging.left_out.as_deref(),
            Some("3 videos left out (2 not generated or read, 1 not measurable); first: no video for case p20")
        );
        // A unit a partial merge has no record of is left out too (a suite whose name only
        // starts alike is another suite's).
        assert_eq!(
            b.dimensions.iter().find(|d| d.dimension == "aesthetic_quality").unwrap().left_out.as_deref(),
            Some("1 video left out (0 not generated or read, 0 not measurable, 1 not in the merged shards)")
        );
    }

    /// A dimension whose every video failed says why, with the first failure (it said only that
    /// no video was scored).
    #[test]
    fn a_dimension_with_no_video_scored_says_the_first_failure() {
        let r: Results = serde_json::from_value(serde_json::json!({
            "schema": videval_reports::results::RESULTS_SCHEMA, "plan_hash": "p", "model": {}, "complete": true,
            "missing_units": [],
            "suites": {"vbench_temporal_flickering": {"version": 1, "content_hash": "h", "n": {"cases": 1,
                "samples": 1, "failed_generations": 1, "failed_scores": 0, "not_applicable": 0}, "metrics": {}}},
            "samples": [{"suite": "vbench_temporal_flickering", "case_id": "a", "seed_idx": 0, "seed": 0,
                "cluster": "a", "prompt": "a", "status": "error", "error": "2 videos named a-0.mp4", "metrics": {}}],
        }))
        .unwrap();
        let b = block(&r, &BTreeMap::new()).unwrap();
        let tf = b.skipped.iter().find(|s| s.dimension == "temporal_flickering").unwrap();
        assert_eq!(tf.reason, "no video of its suite was scored; first: 2 videos named a-0.mp4");
    }

    #[test]
    fn a_dimension_reads_its_own_folder_a_flat_one_or_any_other_but_another_dimensions() {
        assert!(!other_dimensions_folder("aesthetic_quality", "a-0.mp4"));
        assert!(!other_dimensions_folder("aesthetic_quality", "overall_consistency/a-0.mp4"));
        assert!(!other_dimensions_folder("aesthetic_quality", "aesthetic_quality/1024x576/a-0.mp4"));
        assert!(!other_dimensions_folder("aesthetic_quality", "videos/a-0.mp4"));
        assert!(other_dimensions_folder("aesthetic_quality", "subject_consistency/a-0.mp4"));
        assert!(other_dimensions_folder("dynamic_degree", "scene/x/a-0.mp4"));
        assert!(!other_dimensions_folder("dynamic_degree", "subject_consistency/a-0.mp4"));
        assert!(other_dimensions_folder("scene", "vbench_color/a-0.mp4"));
        assert!(!other_dimensions_folder("color", "vbench_color/a-0.mp4"));
    }

    #[test]
    fn colliding_case_ids_take_a_longer_hash_and_the_others_keep_theirs() {
        // Two prompts found to share a slug and 32 bits of hash (a search over variants).
        let (a, b) = (
            "a photo of a cat sitting on a red sofa in the living room, variant 18645",
            "a photo of a cat sitting on a red sofa in the living room, variant 64990",
        );
        assert_eq!(case_id(a), case_id(b));
        let ids = case_ids(&[a, "a dog", b]).unwrap();
        assert_eq!(ids[1], case_id("a dog"));
        assert_ne!(ids[0], ids[2]);
        assert_eq!(ids[0].len(), case_id(a).len() + 8);
        assert!(ids[0].starts_with(&case_id(a)[..case_id(a).len() - 8]));
    }

    #[test]
    fn case_ids_are_stable_slugs_with_a_hash() {
        let id = case_id("A 3D model of a 1800s victorian house.");
        assert!(id.starts_with("a-3d-model-of-a-1800s-victorian-house-") && id.len() == 38 + 8, "{id}");
        assert_eq!(id, case_id("A 3D model of a 1800s victorian house."));
        assert_ne!(case_id("a cat"), case_id("A cat"));
        assert!(case_id("東京").starts_with("p-"));
    }

    #[test]
    fn the_table_matches_vbench_constants() {
        let q: Vec<&str> = DIMENSIONS.iter().filter(|d| d.quality).map(|d| d.name).collect();
        assert_eq!(q.len(), 7);
        let tf = dimension("temporal_flickering").unwrap();
        assert_eq!((tf.min, tf.max, tf.weight, tf.metric), (0.6293, 1.0, 1.0, Some("temporal_flicker")));
        assert_eq!(dimension("dynamic_degree").unwrap().weight, 0.5);
        assert!((normalise(tf, 0.98) - (0.98 - 0.6293) / (1.0 - 0.6293)).abs() < 1e-15);
        assert_eq!(camera_motion(&serde_json::json!({"camera_motion": "pan left"})), Some("pan_left"));
        assert_eq!(camera_motion(&serde_json::json!("zoom_in")), Some("zoom_in"));
        assert_eq!(camera_motion(&serde_json::json!("orbit")), None);
    }
}
