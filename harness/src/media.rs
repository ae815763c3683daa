//! What the report pages show of the videos themselves, shared by the run report, the
//! limitations page and the compare gallery: a filmstrip per case (PNG; it is what prints) and a
//! clip per sample that plays in place (H.264 in MP4, at most [`CLIP_HEIGHT`] pixels tall, muted,
//! looping). Compare pairs play as one clip, baseline left and candidate right, so the two cannot
//! drift apart. Media are inlined up to a byte budget and written to `<report>_media/` beside the
//! report after it, so the page stays one static file that works offline.
//!
//! Every video is decoded once, streamed and shrunk frame by frame: memory follows the clip's
//! small size, not the source's. A video that no longer decodes just has no pictures; the numbers
//! stand on their own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use videval_metrics::Video;
use videval_metrics::preprocess::{self, Filter, FrameSampling, Spatial};
use videval_reports::html::{Media, MediaMap, SampleMedia};
use videval_reports::results::{Results, Sample, SampleKey};

use crate::error::{Error, Result};
use crate::store::write_atomic;
use crate::video::{self, EncodeParams};

/// Bytes of media inlined into one page before the rest go beside it
/// (`VIDEVAL_REPORT_INLINE_BYTES` overrides).
pub const INLINE_BUDGET: usize = 8 << 20;
/// Clips are at most this tall (sources that are smaller keep their size).
pub const CLIP_HEIGHT: u32 = 144;
/// Clips show at most this many frames from the start (25 s at 24 fps).
pub const CLIP_FRAMES: usize = 600;
/// Filmstrips: this many frames, this tall.
const STRIP_FRAMES: usize = 8;
const STRIP_HEIGHT: u32 = 64;
/// Pixels of white between the two halves of a compare pair.
const PAIR_GAP: u32 = 4;
/// How many frames a side-by-side clip may have per frame of its longer side, when the sides
/// play on one clock (a 1 fps clip beside a 60 fps one shows each of its frames 60 times).
const MAX_PAIR_FRAMES_PER_SIDE: usize = 64;
/// Samples whose media are made side by side before being placed in order: enough to keep every
/// core busy, few enough that what waits to be placed stays small.
const MEDIA_BATCH: usize = 64;

/// Places media inline while the budget lasts, then in the folder beside the report.
///
/// The folder's files are written into a staging folder beside it and put in place by
/// [`Placer::publish`] together with the page: a render killed half-way leaves the earlier page
/// and its media as they were. Only a folder videval made (it holds [`MARK`]) is ever replaced.
pub struct Placer {
    budget: usize,
    inlined: usize,
    folder: String,
    sidecar: PathBuf,
    staging: PathBuf,
    staged: bool,
    /// Names given so far: two samples whose names read the same (suite `a`, case `b__c` and
    /// suite `a__b`, case `c`) get two files.
    used: std::collections::HashSet<String>,
}

/// The file that marks a media folder as videval's: replacing it loses nothing of anyone's.
const MARK: &str = ".videval-media";

impl Placer {
    /// For the page at `report`.
    pub fn new(report: &Path) -> Result<Placer> {
        let budget = match std::env::var("VIDEVAL_REPORT_INLINE_BYTES") {
            Err(_) => INLINE_BUDGET,
            Ok(v) if v.trim().is_empty() => INLINE_BUDGET,
            Ok(v) => v.trim().parse().map_err(|_| {
                Error::Config(format!(
                    "VIDEVAL_REPORT_INLINE_BYTES={v:?}: expected a whole number of bytes (0 puts every picture beside the page)"
                ))
            })?,
        };
        let stem = report.file_stem().map_or("report".into(), |s| s.to_string_lossy().into_owned());
        let folder = format!("{stem}_media");
        let dir = report.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let sidecar = dir.join(&folder);
        if sidecar.exists() && !made_by_videval(&sidecar) {
            return Err(Error::Config(format!(
                "{}: the report's media folder exists and videval did not make it (no {MARK} in it); move it or write the report elsewhere (-o)",
                sidecar.display()
            )));
        }
        // Scratch names stay short whatever the page's name; a killed render's are swept.
        let scratch = format!(".{}.", crate::store::name_prefix(&folder));
        sweep_scratch(dir, &scratch);
        let staging = dir.join(format!("{scratch}{}.staging", crate::store::unique()));
        Ok(Placer { budget, inlined: 0, folder, sidecar, staging, staged: false, used: Default::default() })
    }

    /// `name` is made safe, and short enough, for a file name here ([`file_name`]).
    pub fn place(&mut self, bytes: Vec<u8>, mime: &'static str, name: &str) -> Result<Media> {
        if self.inlined + bytes.len() <= self.budget {
            self.inlined += bytes.len();
            return Ok(Media::Inline { mime, bytes });
        }
        let mut name = file_name(name);
        let (stem, ext) =
            name.rsplit_once('.').map_or((name.clone(), String::new()), |(s, e)| (s.into(), format!(".{e}")));
        let mut n = 1;
        while !self.used.insert(name.clone()) {
            n += 1;
            name = format!("{stem}-{n}{ext}");
        }
        if !self.staged {
            if self.staging.exists() {
                std::fs::remove_dir_all(&self.staging).map_err(Error::io(&self.staging))?;
            }
            std::fs::create_dir_all(&self.staging).map_err(Error::io(&self.staging))?;
            std::fs::write(self.staging.join(MARK), b"made by videval; replaced when the report is rendered again\n")
                .map_err(Error::io(&self.staging))?;
            self.staged = true;
        }
        write_atomic(&self.staging.join(&name), &bytes)?;
        Ok(Media::File(format!("{}/{}", url_path(&self.folder), url_path(&name))))
    }

    /// Writes the page with `write_page` and puts the media it links beside it, replacing what
    /// an earlier rendering left. The folder is swapped in just before the page is written.
    pub fn publish(self, write_page: impl FnOnce() -> Result<()>) -> Result<()> {
        let old = self.staging.with_extension("old");
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(Error::io(&old))?;
        }
        let had = self.sidecar.is_dir();
        if had {
            std::fs::rename(&self.sidecar, &old).map_err(Error::io(&self.sidecar))?;
        }
        if self.staged {
            if let Err(e) = std::fs::rename(&self.staging, &self.sidecar) {
                if had {
                    let _ = std::fs::rename(&old, &self.sidecar);
                }
                return Err(Error::io(&self.sidecar)(e));
            }
        }
        match write_page() {
            Ok(()) => {
                if had {
                    let _ = std::fs::remove_dir_all(&old);
                }
                Ok(())
            }
            Err(e) => {
                // The earlier page stays, with its own media.
                if self.staged {
                    let _ = std::fs::remove_dir_all(&self.sidecar);
                }
                if had {
                    let _ = std::fs::rename(&old, &self.sidecar);
                }
                Err(e)
            }
        }
    }
}

impl Drop for Placer {
    fn drop(&mut self) {
        // A render that failed before publishing leaves no staging folder behind (after
        // publishing it has been renamed away).
        if self.staged && self.staging.is_dir() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// Removes the staging and old media folders (`{scratch}{unique}.staging|old`, named as the
/// store names its temporary files) that renders killed before they finished left beside a page.
fn sweep_scratch(dir: &Path, scratch: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with(scratch) && (name.ends_with(".staging") || name.ends_with(".old"));
        // And a killed render's clip scratch files (`.clip.{unique}.mp4` and the encoder's
        // `.….partial` beside it), which stayed for good.
        let clip = name.starts_with(".clip.") || (name.starts_with("..clip.") && name.ends_with(".partial"));
        if ours && crate::store::left_by_gone_writer(&name) {
            let _ = std::fs::remove_dir_all(e.path());
        } else if clip && e.file_type().is_ok_and(|t| t.is_file()) && crate::store::left_by_gone_writer(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether `folder` is a media folder videval made: it holds [`MARK`], or (made before there was
/// one) nothing but the PNG filmstrips and MP4 clips videval writes.
fn made_by_videval(folder: &Path) -> bool {
    if folder.join(MARK).is_file() {
        return true;
    }
    // Its files are named suite__case__seed(.png|.mp4); a file manager's or a killed write's
    // hidden files do not count.
    std::fs::read_dir(folder).is_ok_and(|entries| {
        entries.into_iter().all(|e| {
            e.is_ok_and(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with('.')
                    || (e.file_type().is_ok_and(|t| t.is_file())
                        && name.contains("__")
                        && (name.ends_with(".png") || name.ends_with(".mp4")))
            })
        })
    })
}

/// `s` as one segment of a relative URL: a report named `nightly #3.html` links its media as
/// `nightly%20%233_media/…`, not as a fragment.
fn url_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The clip size for a `w × h` source: at most `max_h` tall, aspect kept, both sides even
/// (4:2:0 H.264, which every browser plays, needs them even).
fn clip_size(w: u32, h: u32, max_h: u32) -> (u32, u32) {
    let even = |v: u32| (v & !1).max(2);
    let ch = even(h.min(max_h));
    let cw = even((f64::from(w) * f64::from(ch) / f64::from(h.max(1))).round() as u32);
    (cw, ch)
}

/// A file-name-safe form of `s`.
pub fn safe_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

/// Longest file name [`file_name`] gives, in bytes (file systems refuse past 255).
const MAX_FILE_NAME: usize = 120;

/// [`safe_name`] of a file name made from suite names and case ids, which have no length limit:
/// one longer than [`MAX_FILE_NAME`] keeps its extension and the start of its stem, and 12 hex
/// digits of the whole name's hash keep two long names apart (a 300-character case id made
/// "File name too long" and no report at all).
pub fn file_name(s: &str) -> String {
    let safe = safe_name(s);
    if safe.len() <= MAX_FILE_NAME {
        return safe;
    }
    let (stem, ext) = match safe.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 8 => (stem, format!(".{ext}")),
        _ => (safe.as_str(), String::new()),
    };
    let digest: String = crate::hash::sha256_hex(s.as_bytes()).chars().take(12).collect();
    let keep = MAX_FILE_NAME - ext.len() - digest.len() - 1;
    format!("{}-{digest}{ext}", &stem[..keep.min(stem.len())])
}

/// `v` at even width and height (dropping the last column or row), as 4:2:0 H.264 needs.
pub fn even_video(v: &Video) -> Video {
    let (w, h) = (v.width() & !1, v.height() & !1);
    if (w, h) == (v.width(), v.height()) || w == 0 || h == 0 {
        return v.clone();
    }
    let mut data = Vec::with_capacity(v.len() * (w * h * 3) as usize);
    for f in v.frames() {
        for y in 0..h as usize {
            let row = y * v.width() as usize * 3;
            data.extend_from_slice(&f[row..row + w as usize * 3]);
        }
    }
    Video::new(w, h, v.fps(), data).unwrap_or_else(|_| v.clone())
}

/// Whether `path` still holds the video that was scored (`sha`, as the results name it; no
/// hash recorded, nothing to check). A video replaced since the run is not shown beside numbers
/// that are not its own: the sample has no pictures, as when its video is gone.
pub fn is_scored_file(path: &Path, sha: Option<&str>) -> bool {
    sha.is_none_or(|want| crate::hash::sha256_file(path).is_ok_and(|have| have == want))
}

/// Decodes `path` once, shrinking each frame to the report clip size as it arrives.
pub fn small_video(path: &Path) -> Option<Video> {
    shrunk_video(path, CLIP_HEIGHT)
}

/// Decodes `path` once, shrinking each frame to at most `max_h` pixels tall (even sizes), with
/// square pixels: an anamorphic stream is widened as a player shows it (a 4:3-pixel 640×480
/// clip was a 192×144 clip, and a filmstrip, squeezed to 4:3).
pub fn shrunk_video(path: &Path, max_h: u32) -> Option<Video> {
    let mut size = None;
    let mut data = Vec::new();
    let end = video::decode_stream(path, FrameSampling::First(CLIP_FRAMES), |head, rgb| {
        let (cw, ch) = *size.get_or_insert_with(|| {
            clip_size(preprocess::shown_width(head.width, head.pixel_aspect), head.height, max_h)
        });
        if (cw, ch) == (head.width, head.height) {
            data.extend_from_slice(rgb);
            return;
        }
        let filter = if ch < head.height { Filter::Area } else { Filter::Nearest };
        let spatial = Spatial::Stretch { width: cw, height: ch };
        data.extend(preprocess::transform_frame(rgb, head.width, head.height, spatial, filter, true));
    })
    .ok()?;
    let (w, h) = size?;
    Video::new(w, h, end.head.fps, data).ok()
}

/// The clip as H.264 MP4 bytes (bit-exact settings: the same frames give the same bytes). Each
/// call has its own scratch file, so clips can be made in parallel. A failure is said naming
/// `of`, the video the clip shows (it named the scratch file).
pub fn clip_mp4(v: &Video, scratch: &Path, of: &Path) -> Option<Vec<u8>> {
    // The page's folder may not be there yet (`-o new/page.html`): every clip failed to encode
    // into it, and the page came out without a single video.
    if let Err(e) = std::fs::create_dir_all(scratch) {
        eprintln!("warning: no clips in the report: cannot make {}: {e}", scratch.display());
        return None;
    }
    let tmp = scratch.join(format!(".clip.{}.mp4", crate::store::unique()));
    // Shown at a rate a player plays: a slideshow of a frame every 200 s (or three frames over
    // eleven days) could not be encoded at its own, and its clip was missing.
    let shown = v.fps().clamp(video::MIN_FPS, video::MAX_FPS);
    let paced;
    let v = if shown == v.fps() {
        v
    } else {
        paced = Video::new(v.width(), v.height(), shown, v.as_bytes().to_vec()).ok()?;
        &paced
    };
    let encoded = video::encode(v, &tmp, &EncodeParams::report_clip());
    if let Err(e) = &encoded {
        let why = e.to_string().replace(&format!("{}: ", tmp.display()), "");
        eprintln!("warning: {}: its clip is left out of the page: {why}", of.display());
    }
    let bytes = if encoded.is_ok() { std::fs::read(&tmp).ok() } else { None };
    let _ = std::fs::remove_file(&tmp);
    bytes
}

/// `a` and `b` side by side at `a`'s height and the faster one's rate, with a white gap; the
/// shorter holds its last frame.
pub fn side_by_side(a: &Video, b: &Video) -> Option<Video> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let h = a.height();
    let b = if b.height() == h {
        b.clone()
    } else {
        let w = (((f64::from(b.width()) * f64::from(h) / f64::from(b.height())).round() as u32) & !1).max(2);
        preprocess::transform_video(b, Spatial::Stretch { width: w, height: h }, Filter::Area, true)
    };
    let width = a.width() + PAIR_GAP + b.width();
    // On one clock: at the faster side's rate, each side shows its frame of that moment (at
    // one rate, frame for frame), so clips of different rates stay in step.
    let fps = a.fps().max(b.fps());
    let seconds = |v: &Video| v.len() as f64 / v.fps();
    let on_clock = (seconds(a).max(seconds(&b)) * fps).round().max(1.0);
    // Rates far apart (1000 fps beside one frame a day) would take more frames than a report
    // clip holds on one clock: those play frame for frame instead.
    let same_clock = a.fps() != b.fps() && on_clock <= (MAX_PAIR_FRAMES_PER_SIDE * a.len().max(b.len())) as f64;
    let frames = if same_clock { on_clock as usize } else { a.len().max(b.len()) };
    let at = |v: &Video, t: usize| {
        let i = if !same_clock || v.fps() == fps { t } else { (t as f64 * v.fps() / fps + 1e-9).floor() as usize };
        i.min(v.len() - 1)
    };
    let row = width as usize * 3;
    let mut data = vec![255u8; frames * row * h as usize];
    for t in 0..frames {
        let fa = a.frame(at(a, t));
        let fb = b.frame(at(&b, t));
        let out = &mut data[t * row * h as usize..(t + 1) * row * h as usize];
        let (ra, rb) = (a.width() as usize * 3, b.width() as usize * 3);
        for y in 0..h as usize {
            out[y * row..y * row + ra].copy_from_slice(&fa[y * ra..(y + 1) * ra]);
            let off = y * row + ra + PAIR_GAP as usize * 3;
            out[off..off + rb].copy_from_slice(&fb[y * rb..(y + 1) * rb]);
        }
    }
    Video::new(width, h, fps, data).ok()
}

/// No progress bars in this process (`--json`: output for machines, whatever the terminal).
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn hide_progress() {
    QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A bar labelled `label` on standard error while `len` items are worked through (indicatif
/// hides it off a terminal).
/// Without a terminal (a CI log, nohup) the bar is not drawn: a line of `noun`s done on standard
/// error at most every 30 s and at the end instead (ten minutes of scoring said nothing).
pub fn progress(label: &str, noun: &str, len: u64) -> Progress {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return Progress::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{label:>9} [{{bar:30}}] {{pos}}/{{len}} {{elapsed_precise}} eta {{eta}}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    use std::io::IsTerminal;
    let plain = (!std::io::stderr().is_terminal()).then(|| {
        std::sync::Mutex::new(PlainProgress {
            label: label.to_string(),
            noun: noun.to_string(),
            len,
            done: 0,
            said: std::time::Instant::now(),
        })
    });
    Progress { bar, plain }
}

/// A stage's progress ([`progress`]).
pub struct Progress {
    bar: indicatif::ProgressBar,
    plain: Option<std::sync::Mutex<PlainProgress>>,
}

struct PlainProgress {
    label: String,
    noun: String,
    len: u64,
    done: u64,
    said: std::time::Instant,
}

impl Progress {
    /// Nothing shown (`--json`).
    pub fn hidden() -> Progress {
        Progress { bar: indicatif::ProgressBar::hidden(), plain: None }
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        let Some(plain) = &self.plain else { return };
        let Ok(mut p) = plain.lock() else { return };
        p.done += n;
        if p.done == p.len || p.said.elapsed().as_secs() >= 30 {
            p.said = std::time::Instant::now();
            let elapsed = self.bar.elapsed().as_secs();
            eprintln!("{}: {}/{} {} ({}m{:02}s)", p.label, p.done, p.len, p.noun, elapsed / 60, elapsed % 60);
        }
    }

    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

fn file_stem(key: &SampleKey) -> String {
    format!("{}__{}__{}", key.0, key.1, key.2)
}

/// Media for the samples of a run (`only`: these samples, else every one): a clip each, and a
/// filmstrip for each case's first seed.
///
/// The page goes through the returned [`Placer`]'s [`Placer::publish`], which puts the media
/// folder in place with it. The notes say why samples have none (for the page; each is also
/// printed as a warning).
pub fn run_media(
    run_dir: &Path,
    store: Option<&Path>,
    results: &Results,
    report: &Path,
    only: Option<&[SampleKey]>,
) -> Result<(MediaMap, Placer, Vec<String>)> {
    let paths = crate::compare::video_paths(run_dir, store)?;
    let shas: BTreeMap<SampleKey, Option<&str>> =
        results.samples.iter().map(|s| (s.key(), s.video_sha256.as_deref())).collect();
    let mut placer = Placer::new(report)?;
    let mut keys: Vec<SampleKey> = match only {
        Some(keys) => keys.to_vec(),
        None => results.samples.iter().map(Sample::key).collect(),
    };
    keys.sort();
    keys.dedup();
    let scratch = report.parent().unwrap_or(Path::new("."));
    let mut out = MediaMap::new();
    // The run page shows a case's first seed as a filmstrip; a page that asks for particular
    // samples (a failure on seed 1) gets theirs (it had only a clip, which does not print).
    let wants_strip = |key: &SampleKey| key.2 == 0 || only.is_some();
    // Each video (one file, one hash) is made once for every sample showing it: a folder's video
    // serving several VBench dimensions' suites was decoded and encoded once per suite (a third
    // of a VBench-size report's 329 s). The first sample of each makes it.
    let mut makers: Vec<SampleKey> = Vec::new();
    let mut maker_of: Vec<usize> = Vec::with_capacity(keys.len());
    let mut strip_for: Vec<bool> = Vec::new();
    let mut seen: BTreeMap<(Option<&PathBuf>, Option<&str>), usize> = BTreeMap::new();
    for key in &keys {
        let video = (paths.get(key), shas.get(key).copied().flatten());
        let m = match (video.0, seen.get(&video)) {
            (Some(_), Some(&m)) => m,
            _ => {
                seen.insert(video, makers.len());
                makers.push(key.clone());
                strip_for.push(false);
                makers.len() - 1
            }
        };
        strip_for[m] |= wants_strip(key);
        maker_of.push(m);
    }
    let bar = progress("media", "videos", makers.len() as u64);
    // Files still there but changed since they were scored (a folder's video replaced).
    let changed = std::sync::Mutex::new(Vec::new());
    let strip_of: BTreeMap<&SampleKey, bool> = makers.iter().zip(&strip_for).map(|(k, &s)| (k, s)).collect();
    let make = |key: &SampleKey| {
        let scored = paths.get(key).filter(|p| {
            let same = is_scored_file(p, shas.get(key).copied().flatten());
            if !same && p.exists() {
                changed.lock().unwrap_or_else(|e| e.into_inner()).push((*p).clone());
            }
            same
        });
        let made = scored.and_then(|p| small_video(p)).map(|small| {
            let strip = strip_of
                .get(key)
                .copied()
                .unwrap_or(false)
                .then(|| video::filmstrip_png(&small, STRIP_FRAMES, STRIP_HEIGHT.min(small.height())).ok())
                .flatten();
            (strip, scored.and_then(|p| clip_mp4(&small, scratch, p)))
        });
        bar.inc(1);
        made
    };
    // Filmstrips are placed first, clips after: the inline budget goes to the pictures every case
    // shows before the clips, most of which a large page only links to (a VBench-size page spent
    // 9.6 of its 14.7 MB on clips that never play and sent 70% of its filmstrips to files).
    let mut placed: Vec<SampleMedia> = Vec::with_capacity(makers.len());
    let mut made_any: Vec<bool> = Vec::with_capacity(makers.len());
    let mut clips: Vec<(usize, Vec<u8>)> = Vec::new();
    made_in_order(&makers, make, |key, made| {
        let mut media = SampleMedia::default();
        made_any.push(made.is_some());
        if let Some((strip, clip)) = made {
            if let Some(png) = strip {
                media.filmstrip = Some(placer.place(png, "image/png", &format!("{}.png", file_stem(key)))?);
            }
            if let Some(mp4) = clip {
                clips.push((placed.len(), mp4));
            }
        }
        placed.push(media);
        Ok(())
    })?;
    for (m, mp4) in clips {
        placed[m].clip = Some(placer.place(mp4, "video/mp4", &format!("{}.mp4", file_stem(&makers[m])))?);
    }
    for (key, &m) in keys.iter().zip(&maker_of) {
        if !made_any[m] {
            continue;
        }
        let media = &placed[m];
        let filmstrip = media.filmstrip.clone().filter(|_| wants_strip(key));
        out.insert(key.clone(), SampleMedia { filmstrip, clip: media.clip.clone() });
    }
    bar.finish_and_clear();
    // Said, not only seen as pictures missing from the page: a store moved or cleaned since.
    // Of what: a page of examples counts its own (the limitations page said "1 of the run's
    // videos" where all 4 were gone).
    let of = match only {
        Some(_) => format!("of the {} videos this page shows", keys.len()),
        None => "of the run's videos".to_string(),
    };
    let mut notes = Vec::new();
    let gone: Vec<&PathBuf> = keys.iter().filter_map(|k| paths.get(k)).filter(|p| !p.exists()).collect();
    if let Some(first) = gone.first() {
        notes.push(format!(
            "{} {of} are not where it recorded them (first: {}){}; the report shows no clip or filmstrip for them",
            gone.len(),
            first.display(),
            store.map_or(String::new(), |s| format!(" nor in the store {}", s.display()))
        ));
    }
    // A file still there but changed since it was scored is left out too, and said (the page
    // showed one clip fewer without a word).
    let mut changed = changed.into_inner().unwrap_or_else(|e| e.into_inner());
    changed.sort();
    if let Some(first) = changed.first() {
        notes.push(format!(
            "{} {of} changed since they were scored (first: {}); the report shows no clip or filmstrip for them",
            changed.len(),
            first.display()
        ));
    }
    for note in &notes {
        eprintln!("warning: {note}");
    }
    Ok((out, placer, notes))
}

/// Makes each key's media with `make` in parallel, [`MEDIA_BATCH`] keys at a time (each sample's
/// decode and encode are independent and bit-exact), and hands them to `place` in key order: the
/// page and its media folder are the same whatever the core count.
fn made_in_order<T: Send>(
    keys: &[SampleKey],
    make: impl Fn(&SampleKey) -> T + Sync,
    mut place: impl FnMut(&SampleKey, T) -> Result<()>,
) -> Result<()> {
    for batch in keys.chunks(MEDIA_BATCH) {
        let made: Vec<T> = batch.par_iter().map(&make).collect();
        for (key, made) in batch.iter().zip(made) {
            place(key, made)?;
        }
    }
    Ok(())
}

/// One compare gallery item's media: both filmstrips and the side-by-side clip.
pub struct PairMedia {
    pub baseline: Option<Media>,
    pub candidate: Option<Media>,
    pub pair: Option<Media>,
}

/// Media for the compare gallery's samples, in order.
pub fn gallery_media(
    keys: &[SampleKey],
    base_paths: &BTreeMap<SampleKey, PathBuf>,
    cand_paths: &BTreeMap<SampleKey, PathBuf>,
    report: &Path,
) -> Result<(Vec<PairMedia>, Placer)> {
    let mut placer = Placer::new(report)?;
    let scratch = report.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    let strip = |v: &Option<Video>| {
        v.as_ref().and_then(|v| video::filmstrip_png(v, STRIP_FRAMES, STRIP_HEIGHT.min(v.height())).ok())
    };
    let make = |key: &SampleKey| {
        let a = base_paths.get(key).and_then(|p| small_video(p));
        let b = cand_paths.get(key).and_then(|p| small_video(p));
        let pair = match (&a, &b) {
            (Some(a), Some(b)) => side_by_side(a, b).and_then(|v| clip_mp4(&v, scratch, &cand_paths[key])),
            _ => None,
        };
        (strip(&a), strip(&b), pair)
    };
    made_in_order(keys, make, |key, (a, b, pair)| {
        let stem = file_stem(key);
        let mut place =
            |bytes: Option<Vec<u8>>, mime, name: String| bytes.map(|b| placer.place(b, mime, &name)).transpose();
        out.push(PairMedia {
            baseline: place(a, "image/png", format!("{stem}__baseline.png"))?,
            candidate: place(b, "image/png", format!("{stem}__candidate.png"))?,
            pair: place(pair, "video/mp4", format!("{stem}__pair.mp4"))?,
        });
        Ok(())
    })?;
    Ok((out, placer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report render killed while it encoded a clip left `.clip….mp4` and the encoder's
    /// `..clip….partial` in the run folder for good; the next render removes a gone writer's.
    #[test]
    fn a_killed_renders_clip_scratch_is_swept() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mine = crate::store::unique();
        let host = mine.split('.').next().unwrap().to_string();
        let names = [
            format!(".clip.{host}.{dead}.0.mp4"),
            format!("..clip.{host}.{dead}.0.mp4.{host}.{dead}.1.partial"),
            format!(".clip.{mine}.mp4"),
            "notes.txt".to_string(),
        ];
        for n in &names {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        // A clip made now uses such a name and leaves nothing.
        let v = Video::new(8, 8, 8.0, vec![100; 8 * 8 * 3 * 2]).unwrap();
        assert!(clip_mp4(&v, dir.path(), Path::new("v.mp4")).is_some());
        // Into a page's folder not made yet (`report -o new/page.html`): every clip was lost.
        assert!(clip_mp4(&v, &dir.path().join("new/deeper"), Path::new("v.mp4")).is_some());
        std::fs::remove_dir_all(dir.path().join("new")).unwrap();
        // A slideshow's rate (a frame every 200 s), a capture's (2,000 fps), three frames over
        // eleven days: each is shown at a rate a player plays.
        for fps in [0.005, 2000.0, 2e-6] {
            let v = Video::new(8, 8, fps, vec![100; 8 * 8 * 3 * 3]).unwrap();
            assert!(clip_mp4(&v, dir.path(), Path::new("v.mp4")).is_some(), "{fps} fps");
        }
        sweep_scratch(dir.path(), ".report_media.");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![names[2].clone(), names[3].clone()]);
    }

    #[test]
    fn clips_are_small_even_and_keep_the_aspect() {
        assert_eq!(clip_size(1920, 1080, CLIP_HEIGHT), (256, 144));
        assert_eq!(clip_size(32, 32, CLIP_HEIGHT), (32, 32));
        assert_eq!(clip_size(33, 17, CLIP_HEIGHT), (30, 16));
        assert_eq!(clip_size(480, 854, CLIP_HEIGHT), (80, 144));
        assert_eq!(clip_size(1, 1, CLIP_HEIGHT), (2, 2));
        assert_eq!(clip_size(1920, 1080, 480), (852, 480));
    }

    #[test]
    fn a_pair_is_both_videos_side_by_side_frame_for_frame() {
        let a = Video::new(4, 2, 8.0, (0..3 * 4 * 2 * 3).map(|i| (i % 250) as u8).collect()).unwrap();
        let b = Video::new(2, 2, 8.0, vec![7u8; 2 * 2 * 2 * 3]).unwrap();
        let p = side_by_side(&a, &b).unwrap();
        assert_eq!((p.width(), p.height(), p.len()), (4 + PAIR_GAP + 2, 2, 3));
        let row = p.width() as usize * 3;
        for t in 0..3 {
            let f = p.frame(t);
            assert_eq!(&f[..12], &a.frame(t)[..12], "baseline on the left, frame {t}");
            assert!(f[12..12 + 3 * PAIR_GAP as usize].iter().all(|&v| v == 255), "the gap is white");
            // The shorter candidate holds its last frame.
            assert_eq!(&f[row - 6..row], &[7u8; 6]);
        }
        // A side without frames gives no pair (never an index past the end).
        let empty = Video::new(2, 2, 8.0, Vec::new()).unwrap();
        assert!(side_by_side(&empty, &b).is_none() && side_by_side(&a, &empty).is_none());
        // Different rates play on one clock: 2 s at 8 fps beside 2 s at 24 fps is 2 s at 24 fps,
        // the 8 fps side showing each of its frames three times (it played 3× slower).
        let slow = Video::new(2, 2, 8.0, (0..16u8).flat_map(|i| [i; 12]).collect()).unwrap();
        let fast = Video::new(2, 2, 24.0, (0..48u8).flat_map(|i| [i; 12]).collect()).unwrap();
        let p = side_by_side(&slow, &fast).unwrap();
        assert_eq!((p.len(), p.fps()), (48, 24.0));
        for t in 0..48 {
            let row = p.width() as usize * 3;
            assert_eq!((p.frame(t)[0], p.frame(t)[row - 1]), ((t / 3) as u8, t as u8), "frame {t}");
        }
        // Rates too far apart for one clock (4 frames at 1000 fps beside 4 at one a day asked
        // for 2.3 TB): frame for frame.
        let day = Video::new(2, 2, 1.0 / 86_400.0, (0..4u8).flat_map(|i| [i; 12]).collect()).unwrap();
        let kilo = Video::new(2, 2, 1000.0, (0..4u8).flat_map(|i| [i + 10; 12]).collect()).unwrap();
        let p = side_by_side(&day, &kilo).unwrap();
        assert_eq!((p.len(), p.fps()), (4, 1000.0));
        let row = p.width() as usize * 3;
        assert!((0..4).all(|t| (p.frame(t)[0], p.frame(t)[row - 1]) == (t as u8, t as u8 + 10)));
    }

    /// A file name from a 300-character case id stays under the file system's 255 bytes, keeps
    /// its extension, and differs from another that shares its first 200 characters; a short
    /// one is [`safe_name`]'s.
    #[test]
    fn long_names_are_cut_with_a_hash_and_short_ones_kept() {
        assert_eq!(file_name("suite__a b__0.png"), "suite__a_b__0.png");
        let long = |tail: &str| format!("suite__{}{tail}__0.png", "x".repeat(300));
        let (a, b) = (file_name(&long("a")), file_name(&long("b")));
        assert!(a.len() <= MAX_FILE_NAME && a.ends_with(".png") && a.starts_with("suite__xxx"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, file_name(&long("a")), "the same name each time");
        // Written as a file through the placer: the page's media exist.
        let dir = tempfile::tempdir().unwrap();
        let mut placer = Placer::new(&dir.path().join("report.html")).unwrap();
        placer.budget = 0;
        let Media::File(link) = placer.place(b"png".to_vec(), "image/png", &long("a")).unwrap() else {
            panic!("not placed beside the page")
        };
        placer.publish(|| write_atomic(&dir.path().join("report.html"), b"page")).unwrap();
        assert_eq!(fs_read(&dir.path().join(&link)), b"png");
    }

    /// The media folder: files beside the page only once it is published (a killed render
    /// leaves the earlier page's folder as it was), names that read the same kept apart, links
    /// that survive a page name with `#` or spaces, and a folder videval did not make never
    /// replaced.
    #[test]
    fn the_media_folder_is_put_in_place_with_its_page_and_only_ever_replaces_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("nightly #3.html");
        let folder = dir.path().join("nightly #3_media");
        let render = |bytes: &[u8]| {
            let mut placer = Placer::new(&page).unwrap();
            placer.budget = 0;
            let a = placer.place(bytes.to_vec(), "image/png", "a__b__c__0.png").unwrap();
            let b = placer.place(bytes.to_vec(), "image/png", "a__b__c__0.png").unwrap();
            assert!(!folder.join("a__b__c__0.png").exists() || fs_read(&folder.join("a__b__c__0.png")) != bytes);
            (placer, a, b)
        };
        let (placer, a, b) = render(b"one");
        assert_eq!(a, Media::File("nightly%20%233_media/a__b__c__0.png".into()));
        assert_eq!(b, Media::File("nightly%20%233_media/a__b__c__0-2.png".into()));
        placer.publish(|| write_atomic(&page, b"page one")).unwrap();
        assert_eq!(fs_read(&folder.join("a__b__c__0-2.png")), b"one");
        // A second rendering replaces it whole; one whose page fails keeps the first.
        let (placer, ..) = render(b"two");
        let failed = placer.publish(|| Err(Error::Internal("the page could not be written".into())));
        assert!(failed.is_err());
        assert_eq!(fs_read(&folder.join("a__b__c__0.png")), b"one");
        let (placer, ..) = render(b"two");
        placer.publish(|| write_atomic(&page, b"page two")).unwrap();
        assert_eq!(fs_read(&folder.join("a__b__c__0.png")), b"two");
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        left.sort();
        assert_eq!(left, ["nightly #3.html", "nightly #3_media"], "no staging or old folders left");
        // Someone's own folder of that name is never removed.
        let theirs = dir.path().join("index_media");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("holiday.jpg"), b"a photo").unwrap();
        std::fs::write(theirs.join("strip.png"), b"a picture").unwrap();
        let e = Placer::new(&dir.path().join("index.html")).err().unwrap().to_string();
        assert!(e.contains("videval did not make it"), "{e}");
        assert_eq!(fs_read(&theirs.join("holiday.jpg")), b"a photo");
        // Pictures of one's own are not videval's either; one an earlier videval made (no mark
        // yet: only its suite__case__seed filmstrips and clips) is.
        std::fs::remove_file(theirs.join("holiday.jpg")).unwrap();
        assert!(Placer::new(&dir.path().join("index.html")).is_err());
        std::fs::remove_file(theirs.join("strip.png")).unwrap();
        std::fs::write(theirs.join("smoke__drop__0.png"), b"a strip").unwrap();
        std::fs::write(theirs.join(".DS_Store"), b"").unwrap();
        assert!(Placer::new(&dir.path().join("index.html")).is_ok());
    }

    fn fs_read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap_or_default()
    }

    /// Media made in parallel are the bytes made one at a time, placed in the same order (so the
    /// inline budget is spent on the same ones).
    #[test]
    fn gallery_media_are_the_same_on_one_thread_and_on_several() {
        let dir = tempfile::tempdir().unwrap();
        let mut base = BTreeMap::new();
        let mut cand = BTreeMap::new();
        let mut keys = Vec::new();
        for i in 0..5u32 {
            let frames: Vec<u8> = (0..6 * 48 * 32 * 3).map(|k| ((k as u32 * (7 + i)) % 251) as u8).collect();
            let v = Video::new(48, 32, 8.0, frames).unwrap();
            let key = (format!("case{i}"), "p".to_string(), 0);
            for (side, map) in [("a", &mut base), ("b", &mut cand)] {
                let path = dir.path().join(format!("{side}{i}.mkv"));
                video::encode(&v, &path, &EncodeParams::lossless()).unwrap();
                map.insert(key.clone(), path);
            }
            keys.push(key);
        }
        let made = |threads: usize, name: &str| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let report = dir.path().join(name);
            let media = pool.install(|| gallery_media(&keys, &base, &cand, &report)).unwrap().0;
            media.into_iter().flat_map(|m| [m.baseline, m.candidate, m.pair]).collect::<Vec<_>>()
        };
        let (one, many) = (made(1, "one.html"), made(4, "many.html"));
        assert!(one.iter().all(Option::is_some), "every sample has its filmstrips and pair clip");
        // The same bytes, filmstrips and clips alike (libx264 without its macroblock tree; with
        // it a clip now and then came out as another bitstream of the same frames).
        assert_eq!(one.len(), many.len());
        for (k, (a, b)) in one.iter().zip(&many).enumerate() {
            let (Some(Media::Inline { mime: ma, bytes: a }), Some(Media::Inline { mime: mb, bytes: b })) = (a, b)
            else {
                panic!("media {k} placed differently");
            };
            assert_eq!(ma, mb, "media {k}");
            assert!(a == b, "media {k} ({ma}): not the same bytes on one thread and on four");
        }
    }
}
