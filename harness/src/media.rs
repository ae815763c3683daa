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
/// Samples whose media are made side by side before being placed in order: enough to keep every
/// core busy, few enough that what waits to be placed stays small.
const MEDIA_BATCH: usize = 64;

/// Places media inline while the budget lasts, then in the folder beside the report.
pub struct Placer {
    budget: usize,
    inlined: usize,
    folder: String,
    sidecar: PathBuf,
}

impl Placer {
    /// For the page at `report`; clears what an earlier rendering left in its media folder.
    pub fn new(report: &Path) -> Result<Placer> {
        let budget =
            std::env::var("VIDEVAL_REPORT_INLINE_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(INLINE_BUDGET);
        let stem = report.file_stem().map_or("report".into(), |s| s.to_string_lossy().into_owned());
        let folder = format!("{stem}_media");
        let sidecar = report.parent().unwrap_or(Path::new(".")).join(&folder);
        if sidecar.is_dir() {
            std::fs::remove_dir_all(&sidecar).map_err(Error::io(&sidecar))?;
        }
        Ok(Placer { budget, inlined: 0, folder, sidecar })
    }

    /// `name` is made safe for a file name here.
    pub fn place(&mut self, bytes: Vec<u8>, mime: &'static str, name: &str) -> Result<Media> {
        if self.inlined + bytes.len() <= self.budget {
            self.inlined += bytes.len();
            return Ok(Media::Inline { mime, bytes });
        }
        let name = safe_name(name);
        std::fs::create_dir_all(&self.sidecar).map_err(Error::io(&self.sidecar))?;
        write_atomic(&self.sidecar.join(&name), &bytes)?;
        Ok(Media::File(format!("{}/{name}", self.folder)))
    }
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

/// Decodes `path` once, shrinking each frame to the report clip size as it arrives.
pub fn small_video(path: &Path) -> Option<Video> {
    shrunk_video(path, CLIP_HEIGHT)
}

/// Decodes `path` once, shrinking each frame to at most `max_h` pixels tall (even sizes).
pub fn shrunk_video(path: &Path, max_h: u32) -> Option<Video> {
    let mut size = None;
    let mut data = Vec::new();
    let end = video::decode_stream(path, FrameSampling::First(CLIP_FRAMES), |head, rgb| {
        let (cw, ch) = *size.get_or_insert_with(|| clip_size(head.width, head.height, max_h));
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
/// call has its own scratch file, so clips can be made in parallel.
pub fn clip_mp4(v: &Video, scratch: &Path) -> Option<Vec<u8>> {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = scratch.join(format!(".clip-{}-{n}.mp4", std::process::id()));
    let ok = video::encode(v, &tmp, &EncodeParams::report_clip()).is_ok();
    let bytes = if ok { std::fs::read(&tmp).ok() } else { None };
    let _ = std::fs::remove_file(&tmp);
    bytes
}

/// `a` and `b` side by side at `a`'s height and rate, with a white gap; the shorter holds its
/// last frame.
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
    let frames = a.len().max(b.len());
    let row = width as usize * 3;
    let mut data = vec![255u8; frames * row * h as usize];
    for t in 0..frames {
        let fa = a.frame(t.min(a.len().saturating_sub(1)));
        let fb = b.frame(t.min(b.len().saturating_sub(1)));
        let out = &mut data[t * row * h as usize..(t + 1) * row * h as usize];
        let (ra, rb) = (a.width() as usize * 3, b.width() as usize * 3);
        for y in 0..h as usize {
            out[y * row..y * row + ra].copy_from_slice(&fa[y * ra..(y + 1) * ra]);
            let off = y * row + ra + PAIR_GAP as usize * 3;
            out[off..off + rb].copy_from_slice(&fb[y * rb..(y + 1) * rb]);
        }
    }
    Video::new(width, h, a.fps(), data).ok()
}

/// A bar labelled `label` on standard error while `len` items are worked through (indicatif
/// hides it off a terminal).
pub fn progress(label: &str, len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{label:>9} [{{bar:30}}] {{pos}}/{{len}} {{elapsed_precise}} eta {{eta}}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn file_stem(key: &SampleKey) -> String {
    format!("{}__{}__{}", key.0, key.1, key.2)
}

/// Media for the samples of a run (`only`: these samples, else every one): a clip each, and a
/// filmstrip for each case's first seed.
pub fn run_media(run_dir: &Path, results: &Results, report: &Path, only: Option<&[SampleKey]>) -> Result<MediaMap> {
    let paths = crate::compare::video_paths(run_dir)?;
    let mut placer = Placer::new(report)?;
    let mut keys: Vec<SampleKey> = match only {
        Some(keys) => keys.to_vec(),
        None => results.samples.iter().map(Sample::key).collect(),
    };
    keys.sort();
    keys.dedup();
    let scratch = report.parent().unwrap_or(Path::new("."));
    let mut out = MediaMap::new();
    let bar = progress("media", keys.len() as u64);
    let make = |key: &SampleKey| {
        let made = paths.get(key).and_then(|p| small_video(p)).map(|small| {
            let strip = (key.2 == 0)
                .then(|| video::filmstrip_png(&small, STRIP_FRAMES, STRIP_HEIGHT.min(small.height())).ok())
                .flatten();
            (strip, clip_mp4(&small, scratch))
        });
        bar.inc(1);
        made
    };
    made_in_order(&keys, make, |key, made| {
        let Some((strip, clip)) = made else { return Ok(()) };
        let mut media = SampleMedia::default();
        if let Some(png) = strip {
            media.filmstrip = Some(placer.place(png, "image/png", &format!("{}.png", file_stem(key)))?);
        }
        if let Some(mp4) = clip {
            media.clip = Some(placer.place(mp4, "video/mp4", &format!("{}.mp4", file_stem(key)))?);
        }
        out.insert(key.clone(), media);
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(out)
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
) -> Result<Vec<PairMedia>> {
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
            (Some(a), Some(b)) => side_by_side(a, b).and_then(|v| clip_mp4(&v, scratch)),
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let media = pool.install(|| gallery_media(&keys, &base, &cand, &report)).unwrap();
            media.into_iter().flat_map(|m| [m.baseline, m.candidate, m.pair]).collect::<Vec<_>>()
        };
        let (one, many) = (made(1, "one.html"), made(4, "many.html"));
        assert_eq!(one, many, "the same media in the same order whatever the thread count");
        assert!(one.iter().all(Option::is_some), "every sample has its filmstrips and pair clip");
    }
}
