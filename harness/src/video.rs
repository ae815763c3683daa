//! Reading and writing video through FFmpeg (ffmpeg-next): the one place videval touches
//! containers and codecs. Everything else sees a decoded [`Video`]; what happens to its frames
//! next (sampling, resizing, normalising) is `videval_metrics::preprocess`.
//!
//! Decoding streams: frames are converted to RGB and kept only when the [`FrameSampling`] policy
//! asks for them, and decoding stops after the last one needed, so a long 1080p file is never
//! held whole. Display rotation (the container's display matrix) is applied, as players do, and
//! reported. Corrupt packets are skipped and counted; a file that ends early is an error.

use std::path::{Path, PathBuf};
use std::sync::Once;

use ffmpeg_next as ff;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use videval_metrics::Video;
use videval_metrics::preprocess::{self, FrameSampling};

/// Frames larger than this on a side are refused before any allocation.
pub const MAX_SIDE: u32 = 16_384;

/// How much of a file FFmpeg may read to learn its streams (its default, 5 MB, held two frames
/// of a 1080p lossless video; 20 of 4K lossless fit in this).
const PROBE_BYTES: u64 = 256 << 20;
/// The most frames one video may have, decoded or sampled (70 minutes at 24 fps): a file that
/// declares or decodes more is refused, so a mutated header cannot make us allocate for 10¹² frames.
pub const MAX_FRAMES: usize = 100_000;
/// The frame rates a clip is written at: a frame every 100 s to 1,000 a second (a file is read at
/// whatever rate it has: a slideshow GIF of a frame every 200 s, a 2,000 fps capture).
pub const MIN_FPS: f64 = 0.01;
pub const MAX_FPS: f64 = 1000.0;
/// The most pixels one video may decode in all (an hour of 1080p at 24 fps).
pub const MAX_PIXELS: u64 = 1920 * 1080 * 24 * 3600;

#[derive(Debug, Error)]
pub enum VideoIoError {
    #[error("{path}: no such file")]
    Missing { path: PathBuf },
    #[error("{path}: not a readable video ({reason})")]
    NotAVideo { path: PathBuf, reason: String },
    #[error("{path}: file is truncated ({reason})")]
    Truncated { path: PathBuf, reason: String },
    #[error("{path}: damaged ({reason}); `videval video info --decode` shows what decodes")]
    Damaged { path: PathBuf, reason: String },
    #[error("{path}: decoded zero frames")]
    NoFrames { path: PathBuf },
    #[error("{path}: codec {codec} cannot be decoded by this FFmpeg build")]
    UnsupportedCodec { path: PathBuf, codec: String },
    #[error("{path}: absurd frame size {width}x{height} (limit {MAX_SIDE} per side)")]
    AbsurdSize { path: PathBuf, width: u32, height: u32 },
    #[error("{path}: {what}, over the limit of {limit} a video may have")]
    TooLong { path: PathBuf, what: String, limit: String },
    #[error("{path}: {what} failed: {reason}")]
    Codec { path: PathBuf, what: &'static str, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// The disk failed the write (no space, quota, read-only, too large a file, an I/O error):
    /// the machine's fault, not the video's or the model's.
    #[error("{path}: {what} failed: {reason} (the disk, not the video)")]
    Storage { path: PathBuf, what: &'static str, reason: String },
}

impl VideoIoError {
    /// The same error naming `to` where it named `from`.
    fn renamed(self, from: &Path, to: &Path) -> Self {
        use VideoIoError::*;
        let fix = |p: PathBuf| if p == from { to.to_path_buf() } else { p };
        match self {
            Missing { path } => Missing { path: fix(path) },
            NotAVideo { path, reason } => NotAVideo { path: fix(path), reason },
            Truncated { path, reason } => Truncated { path: fix(path), reason },
            Damaged { path, reason } => Damaged { path: fix(path), reason },
            NoFrames { path } => NoFrames { path: fix(path) },
            UnsupportedCodec { path, codec } => UnsupportedCodec { path: fix(path), codec },
            AbsurdSize { path, width, height } => AbsurdSize { path: fix(path), width, height },
            TooLong { path, what, limit } => TooLong { path: fix(path), what, limit },
            Codec { path, what, reason } => Codec { path: fix(path), what, reason },
            Invalid { path, reason } => Invalid { path: fix(path), reason },
            Storage { path, what, reason } => Storage { path: fix(path), what, reason },
        }
    }
}

/// What decoding delivers, in the score cache's keys: bumped when the frames some file decodes
/// to change, or when a file that decoded is now refused, so no score cached from the old
/// frames is served. 2: display matrices with a flip are applied, an unaligned H.264 crop is
/// exact, and a damaged stream is refused (its scores from the frames that survived were
/// cached under its hash). 3: a Matroska file cut short is refused even when sampling stops
/// before the cut, a sampled decode short of the frames it planned is damaged, an MP4/MOV with
/// a held frame decodes (it was refused), and cover art is no video. 4: a stream cut mid-GOP is
/// sampled over the packets that decode (it was refused), a Matroska/WebM file with a longer
/// audio track is as long as its video, and `fps:` sampling of a file with no stated length ends
/// where its timestamps end (each changed the frames sampled). 5: a Matroska/WebM file's frame
/// rate is its timestamps' average where its header's differs (a variable-rate file read at its
/// header's 60 fps showed 24 a second). 6: frames FFmpeg made from damaged data (concealed) are
/// refused, and every decoder has one thread (frame threads concealed damage differently from
/// one decode to the next; a store kept serving a damaged file's cached scores). 7: an AVI
/// whose index counts a whole number of chunks per frame (H.264 with B-frames copied into AVI)
/// is read at its timestamps' rate with its count scaled (refused as truncated, or read at twice
/// its rate with its count patched), and a text file FFmpeg would draw as ANSI art is refused
/// (it decoded as a video). Metric versions
/// say when a metric's formula changes; this says when
/// the pixels under every metric do. Still pictures have their own ([`STILL_DECODE`]), so that a
/// change to them does not recompute every video's scores.
pub const DECODE: u32 = 7;

/// [`DECODE`] for still pictures (an image demuxer's files), in their scores' keys beside it.
/// 1: a JPEG's EXIF orientation is applied, a picture cut short is refused, and a still
/// picture's chroma is interpolated as libjpeg does. 2: a PNG's, WebP's and TIFF's EXIF
/// orientation is applied too (only a JPEG's was), and a TIFF with tags FFmpeg does not know is
/// read.
pub const STILL_DECODE: u32 = 2;

/// The decode versions a file's scores are keyed by: [`DECODE`], and [`STILL_DECODE`] for a
/// still picture. Told from its first bytes (every unit's keys are made on every run, cached or
/// not: opening each file with FFmpeg for it cost a probe a unit); a file that cannot be read
/// keys as a video, and fails.
pub fn decode_versions(path: &Path) -> (u32, Option<u32>) {
    use std::io::Read;
    let mut head = [0u8; 12];
    let n = std::fs::File::open(path).and_then(|f| f.take(12).read(&mut head)).unwrap_or(0);
    let head = &head[..n];
    let still = head.starts_with(b"\x89PNG")
        || head.starts_with(&[0xFF, 0xD8, 0xFF])
        || (head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP"))
        || head.starts_with(b"BM")
        || head.starts_with(b"II*\0")
        || head.starts_with(b"MM\0*")
        || (head.get(4..8) == Some(b"ftyp") && head.get(8..12).is_some_and(|b| b == b"avif"));
    (DECODE, still.then_some(STILL_DECODE))
}

/// What the container says about a video stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub path: String,
    pub container: String,
    pub codec: String,
    pub pix_fmt: String,
    /// Coded size, before rotation.
    pub width: u32,
    pub height: u32,
    /// Average frame rate.
    pub fps: f64,
    /// Frame count declared by the container (absent for streams that do not declare one).
    pub frames: Option<u64>,
    pub duration_s: Option<f64>,
    /// Sample (pixel) aspect ratio of the coded frame (before rotation) as num:den; 1:1 for
    /// square pixels.
    pub sar: [i32; 2],
    /// Display aspect ratio: width·SAR / height, after rotation.
    pub dar: f64,
    /// Clockwise rotation in degrees a player applies (0, 90, 180, 270).
    pub rotation: u32,
    /// Mirrored left to right after the rotation: a display matrix with a flip (a front
    /// camera's selfie clip), shown as the ffmpeg CLI shows it.
    #[serde(default)]
    pub mirrored: bool,
    /// The colour matrix the stream is tagged with, as FFmpeg names it (`bt709`, `smpte170m`,
    /// `bt2020nc`, …); `unknown` when untagged, which decodes as BT.601. Each decoded frame's
    /// own tags are what the conversion to RGB follows.
    #[serde(default)]
    pub color_matrix: String,
    /// The tagged range: `tv` (limited, 16–235) or `pc` (full); `unknown` when untagged (the
    /// pixel format's range: full for `yuvj*`, limited otherwise).
    #[serde(default)]
    pub color_range: String,
    /// The tagged transfer function (`bt709`, `smpte2084` for PQ and `arib-std-b67` for HLG
    /// HDR, …; `unknown` when untagged) and primaries (`bt709`, `bt2020`, …). HDR is converted as
    /// decord and PyAV convert it, without tone mapping: these say when a file is HDR.
    #[serde(default)]
    pub color_transfer: String,
    #[serde(default)]
    pub color_primaries: String,
}

impl VideoInfo {
    /// Whether the file is a still picture (PNG, JPEG, WebP, … read by FFmpeg's picture
    /// demuxers), not a video.
    pub fn is_picture(&self) -> bool {
        self.container.split(',').any(is_image_demuxer)
    }

    /// Width and height of a decoded frame: the coded size turned by the rotation.
    pub fn display_size(&self) -> (u32, u32) {
        if self.rotation % 180 == 90 { (self.height, self.width) } else { (self.width, self.height) }
    }

    /// How wide a pixel is shown relative to its height, after rotation (1 for square pixels, or
    /// when the container says nothing usable: no aspect, or pixels over 16 times as wide as tall
    /// or as tall as wide, which no display format uses — a 100:1 flag widened a 640×480 clip to
    /// 64000×480 for the probes and the flow metrics, 2.7 GB for 17 frames).
    pub fn pixel_aspect(&self) -> f64 {
        let (w, h) = self.display_size();
        let pa = self.dar * f64::from(h) / f64::from(w);
        if pa.is_finite() && (1.0 / 16.0..=16.0).contains(&pa) { pa } else { 1.0 }
    }

    /// The HDR transfer the stream is tagged with ("PQ" or "HLG"), if any: its values are read
    /// without tone mapping (as decord and PyAV read them), so every number on it is an SDR
    /// reading of HDR code values.
    pub fn hdr(&self) -> Option<&'static str> {
        match self.color_transfer.as_str() {
            "smpte2084" => Some("PQ"),
            "arib-std-b67" => Some("HLG"),
            _ => None,
        }
    }

    /// The frames a player shows, by the header alone: its count, or the duration at the rate
    /// where it states none (Matroska); None for an MP4 whose count does not fill its stated
    /// (edited) duration at the frame rate (or that states none), whose edit list may hide some
    /// (72 stated, 60 shown):
    /// only its timestamps say how many ([`shown_frames`]; the duration at the average rate
    /// miscounts a variable-rate clip).
    pub fn shown_frames_by_header(&self) -> Option<u64> {
        let by_length = self.duration_s.map(|d| (d * self.fps).round() as u64).filter(|_| self.fps > 0.0);
        let mov = self.container.split(',').any(|c| c == "mov");
        match (self.frames, by_length) {
            // An MP4's count is the shown one only where it fills its duration at its rate.
            (Some(n), l) if mov && l != Some(n) => None,
            (n, l) => n.or(l),
        }
    }
}

/// How decoding went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecodeReport {
    /// Frames the decoder produced (before sampling).
    pub frames_decoded: usize,
    /// Video packets the demuxer delivered (≈ frames in the file, up to where decoding stopped).
    pub packets: usize,
    /// Video packets the decoder rejected as corrupt.
    pub corrupt_packets: usize,
    /// Read errors the demuxer reported, of any stream (a damaged audio track counts too): not
    /// a verdict on the video by themselves.
    #[serde(default)]
    pub demux_errors: usize,
    /// Packets that yielded no frame (corrupt data the decoder could not conceal).
    pub frames_lost: usize,
    /// Frames the decoder made from damaged data, hiding the damage (FFmpeg's error
    /// concealment: an invalid bitstream, a slice that did not decode); with several decoding
    /// threads what it shows there differs from one decode to the next.
    #[serde(default)]
    pub frames_concealed: usize,
    /// Frames a sampling planned from the packets' timeline that never decoded (packets
    /// without a whole frame: a file cut mid-fragment); a strict decode refuses them.
    #[serde(default)]
    pub frames_short: usize,
    /// Frames kept by the sampling policy.
    pub frames_kept: usize,
    /// Packets an MP4/MOV edit list hides: decoded (later frames are predicted from them) but
    /// never shown, as players do; a clip cut without re-encoding starts with them.
    #[serde(default)]
    pub hidden: usize,
    /// Frames whose size differed from the stream's first (a resolution change mid-stream),
    /// scaled to it as the ffmpeg CLI and OpenCV do.
    #[serde(default)]
    pub rescaled: usize,
    /// Whether decoding stopped after the last frame the policy needed.
    pub stopped_early: bool,
    /// Frames missing from a constant-rate stream's timeline: holes where a demuxer skipped
    /// damaged data without a word (an MPEG-TS or Matroska file resyncs past it).
    #[serde(default)]
    pub frames_missing: usize,
}

/// Frames missing from a timeline of presentation times that is otherwise regular: when at
/// least 9 in 10 steps between consecutive frames are the median step (within a tick of the
/// time base, or 2%: a millisecond time base rounds 1/24 s to 41 or 42), every gap of 3.5
/// regular steps or more counts the frames it skips. A variable-rate stream (no step dominates)
/// counts none, nor does a regular one with slower stretches (steps of 1.5, 2 or 3: a phone's
/// low-light frames); damage a demuxer skips takes whole runs of frames.
fn timeline_holes(mut pts: Vec<i64>) -> usize {
    pts.sort_unstable();
    // In i128: a file's timestamps may sit anywhere in i64 (a Matroska cluster time is a u64
    // the demuxer reads as i64), so a step between two of them may not fit one.
    let mut steps: Vec<i128> = pts.windows(2).map(|w| i128::from(w[1]) - i128::from(w[0])).collect();
    if steps.len() < 4 {
        return 0;
    }
    let mut sorted = steps.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let close = |d: i128| (d - median).abs() <= (median / 50).max(1);
    let regular: Vec<i128> = steps.iter().copied().filter(|&d| close(d)).collect();
    if median <= 0 || regular.len() * 10 < steps.len() * 9 {
        return 0;
    }
    let step = regular.iter().map(|&d| d as f64).sum::<f64>() / regular.len() as f64;
    steps.retain(|&d| d as f64 >= 3.5 * step);
    steps.iter().map(|&d| ((d as f64 / step).round() as usize).saturating_sub(1)).fold(0, usize::saturating_add)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub video: Video,
    pub info: VideoInfo,
    pub report: DecodeReport,
    /// The frames a count-based sampling chose from ([`StreamEnd::sampled_from`]).
    pub sampled_from: Option<usize>,
}

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Initialisation only registers codecs; it cannot fail on a working FFmpeg build.
        let _ = ff::init();
        ff::util::log::set_level(ff::util::log::Level::Fatal);
    });
}

fn codec_err<'a>(path: &'a Path, what: &'static str) -> impl Fn(ff::Error) -> VideoIoError + 'a {
    move |e| match e {
        ff::Error::Other { errno } if storage_failure(&std::io::Error::from_raw_os_error(errno)) => {
            VideoIoError::Storage { path: path.to_path_buf(), what, reason: e.to_string() }
        }
        _ => VideoIoError::Codec { path: path.to_path_buf(), what, reason: e.to_string() },
    }
}

/// A failure of the disk rather than of what was written: no space, quota, a read-only
/// filesystem, a file over the size limit, an I/O error.
pub fn storage_failure(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), StorageFull | QuotaExceeded | ReadOnlyFilesystem | FileTooLarge)
        || e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error())
}

/// The orientation a display matrix (nine i32, 16.16 fixed point) asks for: a clockwise
/// rotation by a multiple of 90, then whether to mirror left to right. As the ffmpeg CLI's
/// autorotate reads it: the angle is `av_display_rotation_get`'s, negated and rounded to a
/// quarter, and a flip in the matrix (a negative determinant) is kept — hflip, vflip and the
/// transposes (read before as rotations: a mirrored selfie clip came out upside down).
fn orientation_from_matrix(bytes: &[u8]) -> (u32, bool) {
    if bytes.len() < 36 {
        return (0, false);
    }
    let m: Vec<f64> =
        bytes.chunks_exact(4).take(9).map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect();
    let (s0, s1) = (m[0].hypot(m[3]), m[1].hypot(m[4]));
    if s0 == 0.0 || s1 == 0.0 {
        return (0, false);
    }
    let degrees = (m[1] / s1).atan2(m[0] / s0).to_degrees();
    let quarter = ((degrees / 90.0).round() as i64).rem_euclid(4);
    // The CLI's cases (fftools, autorotate): at 90 and 270 a transpose that flips, at 180 an
    // hflip and/or a vflip, at 0 a vflip; each as (rotation, mirror) here.
    match quarter {
        1 => (90, m[3] > 0.0),
        3 => (270, m[3] < 0.0),
        2 => match (m[0] < 0.0, m[4] < 0.0) {
            (true, true) => (180, false),
            (true, false) => (0, true),
            (false, true) => (180, true),
            (false, false) => (0, false),
        },
        _ => {
            if m[4] < 0.0 {
                (180, true)
            } else {
                (0, false)
            }
        }
    }
}

/// FFmpeg's demuxers of single pictures (and sequences of them).
fn is_image_demuxer(name: &str) -> bool {
    name == "image2" || name.ends_with("_pipe")
}

/// The orientation a still picture's EXIF asks for (tag 0x0112), as (clockwise rotation,
/// mirrored after it), read as viewers and PIL's `exif_transpose` read it: 2 mirrored, 3 turned
/// 180°, 4 flipped top to bottom, 5 transposed, 6 turned 90° clockwise, 7 transversed, 8 turned
/// 270°. The EXIF of a JPEG (APP1), a PNG (eXIf chunk), a WebP (EXIF chunk) or a TIFF (its own
/// first IFD), told by its first bytes; `None` where there is no such tag or it cannot be read
/// (a phone's portrait PNG came out sideways, and an i2v model holding it failed `continuity`).
fn still_orientation(path: &Path) -> Option<(u32, bool)> {
    let tag = exif_orientation(&mut std::fs::File::open(path).ok()?)?;
    Some(match tag {
        1 => (0, false),
        2 => (0, true),
        3 => (180, false),
        4 => (180, true),
        5 => (90, true),
        6 => (90, false),
        7 => (270, true),
        8 => (270, false),
        _ => return None,
    })
}

/// The most bytes of metadata read for it: an EXIF block is at most 64 KiB in a JPEG.
const EXIF_MAX: u64 = 1 << 20;

/// `n` bytes at `at` of a seekable file (or slice).
fn bytes_at<R: std::io::Read + std::io::Seek>(r: &mut R, at: u64, n: u64) -> Option<Vec<u8>> {
    use std::io::{Read, SeekFrom};
    r.seek(SeekFrom::Start(at)).ok()?;
    let mut out = Vec::new();
    r.take(n).read_to_end(&mut out).ok()?;
    (out.len() as u64 == n).then_some(out)
}

/// Tag 0x0112 of a picture's EXIF: walks a JPEG's segments, a PNG's chunks or a WebP's RIFF
/// chunks by their lengths (seeking past pixel data, reading only headers), or reads a TIFF's
/// first IFD where its header points.
fn exif_orientation<R: std::io::Read + std::io::Seek>(r: &mut R) -> Option<u16> {
    let head = bytes_at(r, 0, 12)?;
    let exif_body = |body: Vec<u8>| -> Option<u16> {
        let tiff = body.strip_prefix(b"Exif\0\0").map(<[u8]>::to_vec).unwrap_or(body);
        ifd0_orientation(&mut std::io::Cursor::new(tiff))
    };
    if head.starts_with(&[0xFF, 0xD8]) {
        // Segments up to the scan: marker, length (of itself and its body), body.
        let mut at = 2u64;
        for _ in 0..4096 {
            // Fill bytes (0xFF) may pad the space before a marker (a few; a file of nothing
            // else is read no further).
            for _ in 0..64 {
                if bytes_at(r, at, 2)? != [0xFF, 0xFF] {
                    break;
                }
                at += 1;
            }
            let m = bytes_at(r, at, 4)?;
            let (marker, len) = (m[1], u64::from(u16::from_be_bytes([m[2], m[3]])));
            if m[0] != 0xFF || marker == 0xDA || len < 2 {
                return None;
            }
            if marker == 0xE1 {
                let body = bytes_at(r, at + 4, len - 2)?;
                if body.starts_with(b"Exif\0\0") {
                    return exif_body(body);
                }
            }
            at += 2 + len;
        }
        None
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        // Chunks: length (big-endian), type, data, CRC.
        let mut at = 8u64;
        for _ in 0..100_000 {
            let c = bytes_at(r, at, 8)?;
            let len = u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            match &c[4..8] {
                b"eXIf" if len <= EXIF_MAX => return exif_body(bytes_at(r, at + 8, len)?),
                b"IEND" => return None,
                _ => at += 12 + len,
            }
        }
        None
    } else if head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        // Chunks: FourCC, length (little-endian), data padded to an even length.
        let mut at = 12u64;
        for _ in 0..100_000 {
            let c = bytes_at(r, at, 8)?;
            let len = u64::from(u32::from_le_bytes([c[4], c[5], c[6], c[7]]));
            if &c[..4] == b"EXIF" && len <= EXIF_MAX {
                return exif_body(bytes_at(r, at + 8, len)?);
            }
            at += 8 + len + len % 2;
        }
        None
    } else {
        ifd0_orientation(r)
    }
}

fn ifd0_orientation<R: std::io::Read + std::io::Seek>(r: &mut R) -> Option<u16> {
    ifd0_short(r, 0x0112)
}

/// A SHORT tag (type 3, held in the value field's first two bytes) of the first IFD of a TIFF
/// structure (an EXIF block is one): its header says the byte order and where the IFD is.
fn ifd0_short<R: std::io::Read + std::io::Seek>(r: &mut R, tag: u16) -> Option<u16> {
    let h = bytes_at(r, 0, 8)?;
    let big = match &h[..4] {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_of = |b: &[u8]| if big { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) };
    let ifd = u64::from(if big {
        u32::from_be_bytes([h[4], h[5], h[6], h[7]])
    } else {
        u32::from_le_bytes([h[4], h[5], h[6], h[7]])
    });
    let entries = u64::from(u16_of(&bytes_at(r, ifd, 2)?));
    let table = bytes_at(r, ifd + 2, 12 * entries)?;
    table.chunks_exact(12).find(|e| u16_of(e) == tag).and_then(|e| (u16_of(&e[2..]) == 3).then(|| u16_of(&e[8..])))
}

struct Opened {
    input: ff::format::context::Input,
    index: usize,
    decoder: ff::decoder::Video,
    info: VideoInfo,
    time_base: f64,
    start: i64,
    /// The stream's end (start + duration, in its time base) when it declares a duration.
    end: Option<i64>,
    /// An MP4/MOV: its index lists every sample, and an edit list may hide some of them.
    mov: bool,
    /// The video track's length a Matroska/WebM file states in its `DURATION` tag, in seconds
    /// (written when the file was finished, at its head): the only sign such a file gives of
    /// having been cut short, since it declares no frame count. For an MP4 whose count includes
    /// samples its edit list hides, its edited duration (held to it within 1.5 frames).
    tagged_s: Option<f64>,
    /// A still picture (an image demuxer's): converted as image libraries convert it.
    still: bool,
}

impl Opened {
    /// The frame count the container states where it is the count a decode shows. An MP4/MOV's
    /// includes the samples an edit list hides (a clip cut without re-encoding keeps the frames
    /// back to its keyframe) while its duration is the edited one: unless the count fills the
    /// duration at the frame rate, the frames shown are counted from the packets' timestamps.
    fn shown_count(&self) -> Option<usize> {
        self.info.frames.and(self.info.shown_frames_by_header()).map(|n| n as usize)
    }
}

/// What a per-file cache is keyed by: the path, and the file's length and modification time (a
/// file rewritten in place is another file).
type FileKey = (PathBuf, Option<(u64, Option<std::time::SystemTime>)>);

fn file_key(path: &Path) -> FileKey {
    (path.to_path_buf(), std::fs::metadata(path).ok().map(|m| (m.len(), m.modified().ok())))
}

/// `HH:MM:SS.fraction` (Matroska's DURATION tag) in seconds.
fn tag_seconds(tag: &str) -> Option<f64> {
    let mut parts = tag.trim().split(':');
    let (h, m, s) =
        (parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?);
    let total = h * 3600.0 + m * 60.0 + s;
    (parts.next().is_none() && total.is_finite() && total > 0.0).then_some(total)
}

impl Opened {
    /// Whether a packet stamped `pts` is hidden by an edit list: FFmpeg's MP4 demuxer hands
    /// such packets over timestamped before the stream's start or at or after its end (the
    /// edited duration), and the decoder drops their frames.
    fn hidden(&self, pts: Option<i64>) -> bool {
        self.mov && pts.is_some_and(|t| t < self.start || self.end.is_some_and(|end| t >= end))
    }
}

/// FFmpeg takes paths as UTF-8 text (its Rust binding panicked on any other).
fn utf8_path(path: &Path) -> Result<(), VideoIoError> {
    match path.to_str() {
        Some(_) => Ok(()),
        None => Err(VideoIoError::Invalid {
            path: path.to_path_buf(),
            reason: "the path is not valid UTF-8, which FFmpeg needs: rename the file or the folders above it".into(),
        }),
    }
}

/// The name FFmpeg opens `path` by: the `file:` protocol, so that a local name is never read as
/// another protocol's address (`pipe:0.mp4` read standard input, `concat:a.mp4` other files,
/// and `take1:final.mp4` was "protocol not found").
fn ffmpeg_url(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// The next packet of `input`, in a packet of its own: reading into one reused packet leaked each
/// packet's data (ffmpeg-next's `read` is a bare `av_read_frame`, which does not unreference what
/// it overwrites): 0.58 MB per 16-frame 512×320 video, several GB over a VBench-size run. A
/// packet is unreferenced when it is dropped.
fn next_packet(input: &mut ff::format::context::Input) -> Result<ff::Packet, ff::Error> {
    let mut packet = ff::Packet::empty();
    packet.read(input).map(|()| packet)
}

/// Whether the decoder made `frame` from damaged data (an invalid bitstream, a slice that did
/// not decode, concealed), as FFmpeg flags it; a reference missing at a stream's start is not
/// damage of this frame's own data.
fn damaged_frame(frame: &ff::frame::Video) -> bool {
    use ff::frame::DecodeError as E;
    frame.decode_error_flags().intersects(E::INVALID_BITSTREAM | E::CONCEALMENT_ACTIVE | E::DECODE_SLICES)
}

fn open(path: &Path) -> Result<Opened, VideoIoError> {
    init();
    if !path.exists() {
        return Err(VideoIoError::Missing { path: path.to_path_buf() });
    }
    let not_video = |reason: String| VideoIoError::NotAVideo { path: path.to_path_buf(), reason };
    // A FIFO or a device would block the demuxer or never end.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Err(not_video("not a regular file (a folder, a FIFO or a device)".into()));
    }
    utf8_path(path)?;
    // FFmpeg learns a stream's frame rate from the packets it reads first, at most 5 MB of
    // them by default: two frames of a 1080p lossless video (2.7 MB each), from which a
    // Matroska file without a default duration read as 1000 fps (its time base) — a camera
    // pan of 0.25 widths/s measured 10.3. Enough is read for its 20 frames.
    let options = || {
        let mut options = ff::Dictionary::new();
        options.set("probesize", &PROBE_BYTES.to_string());
        // A name is a name, never a frame pattern (`a%03d.png` read `a001.png`, … instead).
        options.set("pattern_type", "none");
        options
    };
    let first = {
        use std::io::Read;
        let mut first = [0u8; 32];
        let n = std::fs::File::open(path).and_then(|f| f.take(32).read(&mut first)).unwrap_or(0);
        first[..n].to_vec()
    };
    // Pictures FFmpeg cannot read, said as what they are (an animated WebP was "a header that
    // claims a size too large", a HEIC photo "cut short").
    // Its major brand or a compatible one (bytes 16 on, four each) says HEIF; AVIF, which FFmpeg
    // reads, names `avif` among them too.
    let brands: Vec<&[u8]> =
        [first.get(8..12)].into_iter().flatten().chain(first.get(16..).unwrap_or_default().chunks_exact(4)).collect();
    let heif = brands.iter().any(|b| [&b"heic"[..], b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"].contains(b));
    let avif = brands.iter().any(|b| [&b"avif"[..], b"avis"].contains(b));
    if first.get(4..8) == Some(b"ftyp") && heif && !avif {
        return Err(not_video(
            "a HEIF/HEIC picture, which this FFmpeg build cannot decode: convert it to PNG or JPEG".into(),
        ));
    }
    let animated_webp = first.get(..4) == Some(b"RIFF")
        && first.get(8..16) == Some(b"WEBPVP8X")
        && first.get(20).is_some_and(|flags| flags & 0x02 != 0);
    if animated_webp {
        return Err(not_video(
            "an animated WebP, which FFmpeg's WebP decoder cannot read (it reads still ones): convert it to a video or a GIF".into(),
        ));
    }
    let mut input = ff::format::input_with_dictionary(&ffmpeg_url(path), options()).map_err(|e| {
        // An MP4/MOV whose index (moov) is missing was almost always cut short while written.
        if first.get(4..8) == Some(b"ftyp") {
            VideoIoError::Truncated { path: path.to_path_buf(), reason: format!("the container index is missing: {e}") }
        } else {
            not_video(e.to_string())
        }
    })?;
    // FFmpeg draws text files (`.txt`, `.nfo`, `.bin`, …) as ANSI art, a "video" of the
    // characters scrolling by (a README read as 644 frames of a pan right).
    if input.format().name().split(',').any(|name| ["tty", "bin", "xbin", "adf", "idf"].contains(&name)) {
        return Err(not_video(format!(
            "a text file: FFmpeg's {} reader would draw its characters as a video",
            input.format().name()
        )));
    }
    // A music file's cover art is a video stream of one picture marked as attached: not a video
    // (an MP3 read as a one-frame clip at 90000 fps).
    let cover =
        |st: &ff::format::stream::Stream| st.disposition().contains(ff::format::stream::Disposition::ATTACHED_PIC);
    let videos: Vec<_> = input.streams().filter(|st| st.parameters().medium() == ff::media::Type::Video).collect();
    let stream = match input.streams().best(ff::media::Type::Video) {
        Some(best) if !cover(&best) => best,
        _ => match videos.iter().find(|st| !cover(st)) {
            Some(st) => input.stream(st.index()).ok_or_else(|| not_video("no video stream".into()))?,
            None if !videos.is_empty() => {
                return Err(not_video("no video stream, only a picture attached as cover art (an audio file?)".into()));
            }
            None => return Err(not_video("no video stream".into())),
        },
    };
    let index = stream.index();
    let params = stream.parameters();
    let id = params.id();
    if id == ff::codec::Id::None || ff::decoder::find(id).is_none() {
        return Err(VideoIoError::UnsupportedCodec { path: path.to_path_buf(), codec: id.name().to_string() });
    }
    let rate = stream.avg_frame_rate();
    let rate = if rate.numerator() > 0 && rate.denominator() > 0 { rate } else { stream.rate() };
    let mut fps = if rate.numerator() > 0 && rate.denominator() > 0 { f64::from(rate) } else { 25.0 };
    let tb = stream.time_base();
    let time_base = if tb.denominator() > 0 { f64::from(tb) } else { 1.0 / fps };
    // The video stream's own length: its duration, or Matroska's per-stream DURATION tag. The
    // container's holds every stream: with a longer audio track it was the audio's (2 s of
    // video read as 5 s, and `fps:F` sampling padded 3 s of the last frame), so it stands only
    // for a file whose one stream is the video.
    let matroska = input.format().name().split(',').any(|name| name == "matroska" || name == "webm");
    let tagged_s = if matroska { stream.metadata().get("DURATION").and_then(tag_seconds) } else { None };
    let duration_s = if stream.duration() > 0 {
        Some(stream.duration() as f64 * time_base)
    } else if let Some(t) = tagged_s.filter(|t| *t > 0.0) {
        Some(t)
    } else if input.duration() > 0 && input.streams().count() == 1 {
        Some(input.duration() as f64 / f64::from(ff::ffi::AV_TIME_BASE))
    } else {
        None
    };
    let matrix = stream
        .side_data()
        .find(|sd| sd.kind() == ff::codec::packet::side_data::Type::DisplayMatrix)
        .map(|sd| orientation_from_matrix(sd.data()));
    // A photo's orientation is in its EXIF block, which FFmpeg hands over with the decoded frame
    // only (a phone's portrait JPEG came out sideways: an i2v model holding it perfectly scored
    // 9 dB of continuity against the picture as viewers show it).
    let still = input.format().name().split(',').any(is_image_demuxer);
    let (rotation, mirrored) =
        matrix.or_else(|| still.then(|| still_orientation(path)).flatten()).unwrap_or((0, false));
    let mut frames = (stream.frames() > 0).then(|| stream.frames() as u64);
    let start = if stream.start_time() == ff::ffi::AV_NOPTS_VALUE { 0 } else { stream.start_time() };
    let end = (stream.duration() > 0).then(|| start.saturating_add(stream.duration()));
    let mut context = ff::codec::context::Context::from_parameters(params).map_err(|e| not_video(e.to_string()))?;
    // One decoding thread. Frame threads conceal damaged data differently from one decode to
    // the next (a damaged H.264 scored three ways in six runs of `video score`) and drop FFmpeg's
    // flag saying they concealed it (counted in `frames_concealed`, refused as damage); a
    // decoder per video each starting its own threads also oversubscribed the cores: beside 8
    // busy loops, `generate` over 1,500 small clips took 21.6 s, 9.9 s with one thread. Videos
    // are decoded side by side instead, one on each worker.
    context.set_threading(ff::codec::threading::Config {
        count: 1,
        ..ff::codec::threading::Config::kind(ff::codec::threading::Type::Frame)
    });
    // A stream's crop is applied exactly even where it is not aligned (an H.264 crop of 16
    // columns on the left): without this the decoder hands over wider frames than the stream's
    // size, which were then squeezed to it.
    context.set_flags(ff::codec::Flags::UNALIGNED);
    // FFmpeg's TIFF decoder, told to explode, refuses every tag it does not know (a resolution
    // unit, an orientation: most TIFFs Photoshop, scanners or PIL with a dpi write were "decoded
    // zero frames"); it refuses a strip cut short either way.
    // Nor does it decode JPEG-compressed strips right (a photo read at 6 dB from PIL's pixels).
    if id == ff::codec::Id::TIFF
        && let Some(c @ (6 | 7)) = std::fs::File::open(path).ok().and_then(|mut f| ifd0_short(&mut f, 0x0103))
    {
        return Err(not_video(format!(
            "a TIFF compressed with JPEG (compression {c}), which FFmpeg decodes wrongly; save it as PNG or an uncompressed, LZW or Deflate TIFF"
        )));
    }
    let decoder = if still && id != ff::codec::Id::TIFF {
        // A picture cut short is an error, as image libraries make it (FFmpeg filled a JPEG's
        // missing half with flat green and said nothing, and the picture was scored).
        let mut strict = ff::Dictionary::new();
        strict.set("err_detect", "explode");
        let codec = ff::decoder::find(id).ok_or_else(|| not_video("no decoder".into()))?;
        context.decoder().open_as_with(codec, strict).and_then(|o| o.video())
    } else {
        context.decoder().video()
    }
    .map_err(|e| not_video(e.to_string()))?;
    let (width, height) = (decoder.width(), decoder.height());
    if width == 0 || height == 0 {
        // FFmpeg leaves the size at 0 when it refuses one (a header claiming 1000000×1000000) or
        // finds none (a damaged picture).
        return Err(not_video(
            "FFmpeg found no frame size in it (a damaged file, or a header claiming a size too large)".into(),
        ));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(VideoIoError::AbsurdSize { path: path.to_path_buf(), width, height });
    }
    let sar = decoder.aspect_ratio();
    let sar = if sar.numerator() > 0 && sar.denominator() > 0 { [sar.numerator(), sar.denominator()] } else { [1, 1] };
    // Turned a quarter, the picture's pixels turn too: their aspect inverts (as FFmpeg's
    // transpose sets it), so 64×48 at 2:1 shows as 48×128.
    let (dw, dh, [sn, sd]) =
        if rotation % 180 == 90 { (height, width, [sar[1], sar[0]]) } else { (width, height, sar) };
    let dar = f64::from(dw) * f64::from(sn) / (f64::from(dh) * f64::from(sd));
    // A Matroska/WebM header's rate is the track's default duration or FFmpeg's guess from the
    // first packets: a variable-rate file (frames 1/60 s and 4/60 s apart) read as 60 fps where
    // it shows 24 a second, and its motion per second read 2.5× high. Its timestamps' average
    // stands where the two differ by more than 1% (an MP4's rate is its count over its duration
    // already); a demux pass, then the file is opened afresh. An AVI's rate and count are its
    // index's, which counts the empty chunks FFmpeg writes beside B-frames when it copies H.264
    // into AVI (`-c copy`): 72 frames at 24 fps declared as 144 at 48 (refused as truncated; its
    // count patched, played at 48 fps and its motion read twice as fast). Its timestamps' rate
    // stands there too where the header's is a whole multiple of it, and the count is scaled.
    let avi = input.format().name().split(',').any(|name| name == "avi");
    if (matroska || avi) && !still {
        // Once per file and version of it: a video probed, then decoded (and probed again for
        // `off_request`) was read for its timestamps each time.
        let key = file_key(path);
        let known = TIMELINE_RATES.lock().ok().and_then(|m| m.get(&key).copied());
        let rate = match known {
            Some(rate) => rate,
            None => {
                let rate = timeline_rate(&mut input, index, time_base, fps);
                input = ff::format::input_with_dictionary(&ffmpeg_url(path), options())
                    .map_err(|e| not_video(e.to_string()))?;
                if let Ok(mut m) = TIMELINE_RATES.lock() {
                    m.insert(key, rate);
                }
                rate
            }
        };
        // An AVI's only when its index counts a whole number of chunks per frame (one with
        // dropped-frame chunks here and there keeps its header's rate, as before).
        let whole = |avg: f64| {
            let k = fps / avg;
            k.round() >= 2.0 && (k - k.round()).abs() < 0.01
        };
        if let Some(avg) = rate.filter(|&avg| !avi || whole(avg)) {
            if avi {
                frames = frames.map(|n| (n as f64 * avg / fps).round() as u64);
            }
            fps = avg;
        }
    }
    let info = VideoInfo {
        path: path.display().to_string(),
        container: input.format().name().to_string(),
        codec: id.name().to_string(),
        pix_fmt: decoder.format().descriptor().map_or("unknown".into(), |d| d.name().to_string()),
        width,
        height,
        fps,
        frames,
        duration_s,
        sar,
        dar,
        rotation,
        mirrored,
        color_matrix: decoder.color_space().name().unwrap_or("unknown").to_string(),
        color_range: decoder.color_range().name().unwrap_or("unknown").to_string(),
        color_transfer: decoder.color_transfer_characteristic().name().unwrap_or("unknown").to_string(),
        color_primaries: decoder.color_primaries().name().unwrap_or("unknown").to_string(),
    };
    let mov = info.container.split(',').any(|name| name == "mov");
    // An MP4 whose count includes samples its edit list hides states the length it shows only by
    // its (edited) duration: its frames are held to it as Matroska's are to their tag (one cut
    // short was sampled and scored as a shorter clip).
    let edited = info.duration_s.filter(|d| *d > 0.0 && mov && info.shown_frames_by_header().is_none());
    let tagged_s = tagged_s.or(edited);
    Ok(Opened { input, index, decoder, info, time_base, start, end, mov, tagged_s, still })
}

/// The frame rate stream `index`'s timestamps show where its header's `header` rate is not it
/// (a demux pass over at most [`RATE_PACKETS`] packets or [`PROBE_BYTES`]); None where the
/// header's stands. Timestamps in whole ticks (Matroska's default is 1 ms) round every
/// interval: a rate from intervals that differ by no more than that rounding is the header's
/// unless their mean is farther from it than the rounding explains (a 30 fps file with audio
/// read 29.66 from its length, a 4-frame 120 fps one 121.2); intervals that differ by more (a
/// variable rate) give their mean.
fn timeline_rate(input: &mut ff::format::context::Input, index: usize, time_base: f64, header: f64) -> Option<f64> {
    let mut stamps = Vec::new();
    let mut bytes = 0u64;
    while stamps.len() < RATE_PACKETS && bytes < PROBE_BYTES {
        match next_packet(input) {
            Ok(p) if p.stream() == index => {
                // An AVI's packets carry only decoding times (their index positions).
                stamps.push(p.pts().or(p.dts())?);
                bytes += p.size() as u64;
            }
            Ok(_) | Err(ff::Error::InvalidData) => {}
            Err(_) => break,
        }
    }
    stamps.sort_unstable();
    stamps.dedup();
    let steps: Vec<i64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    let (lo, hi) = (*steps.iter().min()?, *steps.iter().max()?);
    let mean = (stamps[stamps.len() - 1] - stamps[0]) as f64 / steps.len() as f64;
    if mean <= 0.0 {
        return None;
    }
    let avg = 1.0 / (mean * time_base);
    // How far the mean interval may be off from rounding alone: a tick over the span.
    let rounding = 2.0 / (mean * steps.len() as f64) + 0.001;
    let regular = hi - lo <= 2;
    let off = (avg / header - 1.0).abs();
    let replace = if regular { off > rounding.max(0.01) } else { off > 0.01 };
    replace.then_some(avg)
}

/// Packets [`timeline_rate`] reads at most: a minute at 30 fps, the whole of a generated clip.
const RATE_PACKETS: usize = 2000;

/// [`timeline_rate`]'s answer per file.
static TIMELINE_RATES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<FileKey, Option<f64>>>> =
    std::sync::LazyLock::new(Default::default);

/// Reads a file's stream information without decoding frames.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoIoError> {
    open(path).map(|o| o.info)
}

/// The presentation timestamps of the video packets of `o` whose frames are shown (not hidden by
/// an edit list), in file order (a demux-only pass: no decoding); at most `MAX_FRAMES + 1` of
/// them, enough to refuse a longer file. Afterwards `o`
/// reads from the start again: an MP4/MOV (its index lists every sample) is rewound to its first
/// sample, and the first packet read then must be the one the pass began with (left in `pending`,
/// to be decoded first); anything else, or a rewind that does not land there, is opened afresh.
fn packet_timestamps(
    o: &mut Opened,
    path: &Path,
    pending: &mut Option<ff::Packet>,
) -> Result<Vec<Option<i64>>, VideoIoError> {
    let id = |p: &ff::Packet| (p.stream(), p.pts(), p.dts(), p.position(), p.size());
    let mut stamps = Vec::new();
    // Per shown packet: whether a keyframe (shown or hidden by an edit list) came at or before
    // it; and the first keyframe's timestamp.
    let mut keyed = Vec::new();
    let mut key_pts: Option<Option<i64>> = None;
    let mut first = None;
    while stamps.len() <= MAX_FRAMES {
        match next_packet(&mut o.input) {
            Ok(packet) => {
                first.get_or_insert_with(|| id(&packet));
                if packet.stream() == o.index {
                    if packet.is_key() && key_pts.is_none() {
                        key_pts = Some(packet.pts());
                    }
                    if !o.hidden(packet.pts()) {
                        stamps.push(packet.pts());
                        keyed.push(key_pts.is_some());
                    }
                }
            }
            Err(ff::Error::InvalidData) => {}
            Err(_) => break,
        }
    }
    let stamps = decodable(stamps, &keyed, key_pts.flatten(), matches!(o.info.codec.as_str(), "h264" | "hevc"));
    if o.mov && first.is_some() && o.input.seek(i64::MIN / 2, ..).is_ok() {
        if let Ok(packet) = next_packet(&mut o.input)
            && Some(id(&packet)) == first
        {
            *pending = Some(packet);
            return Ok(stamps);
        }
    }
    *o = open(path)?;
    Ok(stamps)
}

/// The packets of a stream that give frames when it is decoded from its start: none before its
/// first keyframe (a clip cut mid-GOP, `-ss … -c copy`, or a broadcast recording starts with
/// packets that reference frames it does not hold), and for H.264/HEVC none shown before that
/// keyframe (the leading pictures of an open GOP, which the decoder drops). Counted, they planned
/// frames that never came, and a whole clip that decodes was refused as cut short. A stream
/// with no packet marked as a keyframe keeps all.
/// `keyed`: per packet, whether a keyframe came at or before it in decode order (an edit list
/// may hide that keyframe: the shown frames after it decode); `key_pts`: that keyframe's
/// timestamp.
fn decodable(
    stamps: Vec<Option<i64>>,
    keyed: &[bool],
    key_pts: Option<i64>,
    leading_dropped: bool,
) -> Vec<Option<i64>> {
    if !keyed.iter().any(|&k| k) {
        return stamps;
    }
    stamps
        .into_iter()
        .zip(keyed)
        .filter(|&(pts, &k)| k && !(leading_dropped && matches!((pts, key_pts), (Some(p), Some(kp)) if p < kp)))
        .map(|(pts, _)| pts)
        .collect()
}

/// Which packets' frames a subset of a stream can do without. H.264 and HEVC decoders skip a
/// non-reference frame on request (no other frame is predicted from it, so every other frame
/// decodes to the same pixels); a frame is known by its packet's timestamp, ranked among all of
/// them, which is its display position when every packet holds one frame. Each decoded frame is
/// checked against that: a frame whose rank is unknown, out of order, or after a frame that was
/// neither decoded nor asked to be skipped (the demuxer dropped it, say) ends the attempt, and
/// the stream is decoded again without skipping.
struct SkipPlan {
    rank: std::collections::HashMap<i64, usize>,
    /// Per rank: no sampled frame is this one.
    unselected: Vec<bool>,
    /// Per rank: its packet went to the decoder with the skip request.
    asked: Vec<bool>,
    next: usize,
    asked_count: usize,
    asked_but_decoded: usize,
    misaligned: bool,
}

impl SkipPlan {
    fn new(stamps: &[Option<i64>], counts: &[usize]) -> Option<Self> {
        let mut sorted: Vec<i64> = stamps.iter().copied().collect::<Option<_>>()?;
        sorted.sort_unstable();
        if sorted.len() != counts.len() || sorted.windows(2).any(|p| p[0] == p[1]) {
            return None;
        }
        Some(SkipPlan {
            rank: sorted.iter().enumerate().map(|(r, &t)| (t, r)).collect(),
            unselected: counts.iter().map(|&c| c == 0).collect(),
            asked: vec![false; counts.len()],
            next: 0,
            asked_count: 0,
            asked_but_decoded: 0,
            misaligned: false,
        })
    }

    /// Whether to ask the decoder to skip this packet's frame (if it is not a reference).
    fn ask(&mut self, packet: &ff::Packet) -> bool {
        let Some(&r) = packet.pts().and_then(|t| self.rank.get(&t)) else { return false };
        let ask = self.unselected[r] && !packet.is_key();
        self.asked[r] = ask;
        self.asked_count += usize::from(ask);
        ask
    }

    /// The display position of a decoded frame, or None (and the attempt ends) when it does not
    /// line up.
    fn place(&mut self, pts: Option<i64>) -> Option<usize> {
        let r = pts.and_then(|t| self.rank.get(&t).copied());
        match r {
            Some(r) if r >= self.next && self.asked[self.next..r].iter().all(|&a| a) => {
                self.asked_but_decoded += usize::from(self.asked[r]);
                self.next = r + 1;
                Some(r)
            }
            _ => {
                self.misaligned = true;
                None
            }
        }
    }

    /// Frames the decoder skipped as asked.
    fn skipped(&self) -> usize {
        self.asked_count - self.asked_but_decoded
    }
}

/// Rotates an RGB frame clockwise by 90, 180 or 270 degrees.
fn rotate(src: &[u8], w: usize, h: usize, degrees: u32) -> Vec<u8> {
    let mut out = vec![0u8; src.len()];
    for y in 0..h {
        for x in 0..w {
            let (nx, ny, nw) = match degrees {
                90 => (h - 1 - y, x, h),
                180 => (w - 1 - x, h - 1 - y, w),
                270 => (y, w - 1 - x, h),
                _ => (x, y, w),
            };
            let (s, d) = ((y * w + x) * 3, (ny * nw + nx) * 3);
            out[d..d + 3].copy_from_slice(&src[s..s + 3]);
        }
    }
    out
}

/// Mirrors a packed RGB8 frame of `w`×`h` left to right, in place.
fn mirror(frame: &mut [u8], w: usize, h: usize) {
    for row in frame.chunks_exact_mut(w * 3).take(h) {
        for x in 0..w / 2 {
            let (a, b) = (x * 3, (w - 1 - x) * 3);
            for c in 0..3 {
                row.swap(a + c, b + c);
            }
        }
    }
}

/// Converts decoded frames to packed RGB8 at display orientation, reusing its buffers: a frame
/// whose rows are already packed (stride = 3·width) and needs no rotation is lent straight from
/// the conversion's output.
///
/// The conversion is FFmpeg's `scale` filter, as the ffmpeg CLI, OpenCV, decord and PyAV convert:
/// it reads each frame's colour matrix (BT.601, BT.709, BT.2020, …) and range (limited or full)
/// from the frame's tags, and an untagged frame is BT.601 in its pixel format's range. (A bare
/// swscale context would treat a BT.709 video as BT.601: 6.5 levels off on average.)
struct Converter<'a> {
    path: &'a Path,
    w: u32,
    h: u32,
    rotation: u32,
    mirrored: bool,
    still: bool,
    /// The filter graph and the pixel format and size it was built for.
    graph: Option<((ff::format::Pixel, u32, u32), ff::filter::Graph)>,
    rgb: ff::frame::Video,
    packed: Vec<u8>,
}

/// `buffer → scale → buffersink` turning `format` frames of `fw`×`fh` into RGB24 of `w`×`h`.
fn rgb_graph(
    format: ff::format::Pixel,
    (fw, fh): (u32, u32),
    w: u32,
    h: u32,
    still: bool,
) -> Result<ff::filter::Graph, ff::Error> {
    let missing = ff::Error::FilterNotFound;
    let name = format.descriptor().ok_or(ff::Error::InvalidData)?.name();
    let mut graph = ff::filter::Graph::new();
    let args = format!("video_size={fw}x{fh}:pix_fmt={name}:time_base=1/1:pixel_aspect=1/1");
    graph.add(&ff::filter::find("buffer").ok_or(missing)?, "in", &args)?;
    graph.add(&ff::filter::find("buffersink").ok_or(missing)?, "out", "")?.set_pixel_format(ff::format::Pixel::RGB24);
    // The matrix and range come from each frame ("auto", the filter's default). A frame whose
    // size changed mid-stream is scaled to the stream's first size, bicubic, as the ffmpeg CLI
    // and OpenCV do.
    // A still picture's chroma is interpolated and rounded as libjpeg (PIL, OpenCV's imread,
    // diffusers) does: FFmpeg's default left a 4:2:0 JPEG 34 dB from what an image-to-video
    // model reads, capping continuity there. Video keeps the default, as decord and OpenCV's
    // video reader (VBench's) have it.
    let scale = match ((fw, fh) == (w, h), still) {
        (true, true) => "scale=flags=bicubic+accurate_rnd+full_chroma_int+full_chroma_inp".to_string(),
        (true, false) => "scale=flags=bilinear".to_string(),
        (false, _) => format!("scale={w}:{h}:flags=bicubic"),
    };
    graph.output("in", 0)?.input("out", 0)?.parse(&scale)?;
    graph.validate()?;
    Ok(graph)
}

impl Converter<'_> {
    /// Converts `frame`, taking its buffers (the frame is left empty).
    fn convert(&mut self, frame: &mut ff::frame::Video) -> Result<&[u8], VideoIoError> {
        let (w, h, path) = (self.w, self.h, self.path);
        let key = (frame.format(), frame.width(), frame.height());
        if self.graph.as_ref().is_some_and(|(k, _)| *k != key) {
            self.graph = None;
        }
        let (_, graph) = match &mut self.graph {
            Some(built) => built,
            empty => {
                let graph =
                    rgb_graph(key.0, (key.1, key.2), w, h, self.still).map_err(codec_err(path, "colour conversion"))?;
                empty.insert((key, graph))
            }
        };
        let mut end = |name: &str| graph.get(name).ok_or(ff::Error::FilterNotFound);
        end("in").and_then(|mut s| s.source().add(frame)).map_err(codec_err(path, "colour conversion"))?;
        end("out").and_then(|mut s| s.sink().frame(&mut self.rgb)).map_err(codec_err(path, "colour conversion"))?;
        let got = (self.rgb.format(), self.rgb.width(), self.rgb.height());
        if got != (ff::format::Pixel::RGB24, w, h) {
            return Err(VideoIoError::Codec {
                path: path.to_path_buf(),
                what: "colour conversion",
                reason: format!("the scale filter gave {:?} {}x{}, not RGB24 {w}x{h}", got.0, got.1, got.2),
            });
        }
        let (stride, row, rows) = (self.rgb.stride(0), w as usize * 3, h as usize);
        let data = self.rgb.data(0);
        if stride == row && self.rotation == 0 && !self.mirrored {
            return Ok(&data[..row * rows]);
        }
        self.packed.clear();
        for y in 0..rows {
            self.packed.extend_from_slice(&data[y * stride..y * stride + row]);
        }
        if self.rotation != 0 {
            self.packed = rotate(&self.packed, w as usize, rows, self.rotation);
        }
        if self.mirrored {
            let (dw, dh) = if self.rotation % 180 == 90 { (rows, w as usize) } else { (w as usize, rows) };
            mirror(&mut self.packed, dw, dh);
        }
        Ok(&self.packed)
    }
}

/// Which frames to keep while streaming.
enum Selector {
    /// Source index → how many times it is kept; decoding stops after `last`.
    Indices { counts: Vec<usize>, last: usize },
    /// Sample and hold onto a time grid of `step` seconds, up to `end`.
    Times { step: f64, end: f64, next: usize },
}

/// Decodes every frame of the first video stream of `path` to RGB24 at display orientation.
pub fn decode(path: &Path) -> Result<Video, VideoIoError> {
    decode_with(path, FrameSampling::All).map(|d| d.video)
}

/// Decodes the frames `sampling` selects, streaming: only selected frames are converted and
/// kept, and decoding stops after the last one needed.
pub fn decode_with(path: &Path, sampling: FrameSampling) -> Result<Decoded, VideoIoError> {
    let mut data: Vec<u8> = Vec::new();
    let end = decode_stream(path, sampling, |_, frame| data.extend_from_slice(frame))?;
    let video = Video::new(end.head.width, end.head.height, end.head.fps, data)
        .map_err(|e| VideoIoError::Invalid { path: path.to_path_buf(), reason: e.to_string() })?;
    Ok(Decoded { video, info: end.info, report: end.report, sampled_from: end.sampled_from })
}

/// The frames protocol `p` keeps of `path`, each resized and normalised as soon as it is decoded:
/// [`preprocess::apply`] of the decoded video without ever holding the clip (the sampling is
/// the streaming decoder's, as `video info --decode --frames` reports it). Memory is the
/// network-sized frames kept plus one decoded frame, whatever the clip's size and length.
pub fn decode_preprocessed(path: &Path, p: &preprocess::Preprocess) -> Result<preprocess::Frames, VideoIoError> {
    decode_preprocessed_sampled(path, p).map(|(frames, _)| frames)
}

/// [`decode_preprocessed`], each frame kept once: a count-based sampling of a clip shorter than
/// its count takes some frames twice (8 uniform frames of a 2-frame clip are 0,0,0,0,1,1,1,1),
/// which a mean over frames weighs unequally and a mean over consecutive pairs reads as frames
/// that match themselves.
pub fn decode_preprocessed_once(path: &Path, p: &preprocess::Preprocess) -> Result<preprocess::Frames, VideoIoError> {
    let (frames, sampled) = decode_preprocessed_sampled(path, p)?;
    if sampled.len() != frames.len || sampled.windows(2).all(|w| w[0] != w[1]) {
        return Ok(frames);
    }
    let mut data = Vec::with_capacity(frames.data.len());
    for (t, _) in sampled.iter().enumerate().filter(|(t, i)| *t == 0 || sampled[t - 1] != **i) {
        data.extend_from_slice(frames.frame(t));
    }
    let len = data.len() / frames.frame(0).len();
    Ok(preprocess::Frames { data, len, ..frames })
}

/// The preprocessed frames and the source frame each was taken from (in delivery order, frames
/// sampled twice delivered twice); the positions `0..len` where the sampling is not count-based.
pub fn decode_preprocessed_sampled(
    path: &Path,
    p: &preprocess::Preprocess,
) -> Result<(preprocess::Frames, Vec<usize>), VideoIoError> {
    let mut data = Vec::new();
    let mut len = 0;
    let end = decode_stream(path, p.frames, |head, rgb| {
        data.extend(preprocess::apply_frame(rgb, head.width, head.height, p));
        len += 1;
    })?;
    if len == 0 {
        return Err(VideoIoError::Invalid {
            path: path.to_path_buf(),
            reason: format!("no frames to keep ({} sampling of a stream that delivered none)", p.frames.name()),
        });
    }
    let ((width, height), _) = preprocess::geometry(p.spatial, end.head.width, end.head.height);
    let sampled = match end.sampled_from {
        Some(total) => p.frames.indices(total, end.head.fps),
        None => (0..len).collect(),
    };
    Ok((preprocess::Frames { data, len, width, height }, sampled))
}

/// What every frame of a stream shares: display size (rotation applied) and the rate the kept
/// frames play at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamHead {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// How wide a frame's pixel is shown, relative to its height (the container's sample aspect
    /// ratio after rotation; 1 for square pixels). Frames are delivered as coded, as OpenCV,
    /// decord and PyAV give them; what a player shows is `width · pixel_aspect × height`.
    pub pixel_aspect: f64,
    /// The frames the container says a whole decode will deliver (its stated frame count, or its
    /// duration at its rate where that is lower), before any is decoded; `None` when it states
    /// no count, or when only some frames are sampled.
    pub declared_frames: Option<u64>,
}

/// How a [`decode_stream`] ended.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEnd {
    pub head: StreamHead,
    pub info: VideoInfo,
    pub report: DecodeReport,
    /// The frames a count-based sampling (`first:N`, `uniform:N`, `middle:N`) chose from: the
    /// clip's length as the decoder counted it; `None` for `all` and `fps:F`.
    pub sampled_from: Option<usize>,
}

/// The frames a whole decode shows, without decoding: the container's count where it states one
/// that fills its duration, else the shown packets counted by a demux pass (a Matroska/WebM file
/// states none; an MP4's count includes samples its edit list hides) — as [`decode_stream`]
/// counts them for a sampling.
/// A file's count is found once per version of it: the checks before a run count each
/// conditioning clip, and an adapter's refusal asks again.
pub fn shown_frames(path: &Path) -> Result<usize, VideoIoError> {
    let key = file_key(path);
    if let Some(&n) = SHOWN_FRAMES.lock().ok().as_ref().and_then(|m| m.get(&key)) {
        return Ok(n);
    }
    let mut o = open(path)?;
    let n = match o.shown_count() {
        Some(n) => n,
        None => {
            let mut pending = None;
            let stamps = packet_timestamps(&mut o, path, &mut pending)?;
            // A file cut short is said as the decoder says it, not counted as a shorter clip.
            let end = stamps.iter().flatten().max().map(|&pts| pts as f64 * o.time_base + 1.0 / o.info.fps);
            if let (Some(end), Some(tagged)) = (end, o.tagged_s) {
                cut_short(path, end, tagged, o.mov.then_some(o.info.fps))?;
            }
            stamps.len()
        }
    };
    if let Ok(mut m) = SHOWN_FRAMES.lock() {
        m.insert(key, n);
    }
    Ok(n)
}

/// [`shown_frames`]'s answer per file.
static SHOWN_FRAMES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<FileKey, usize>>> =
    std::sync::LazyLock::new(Default::default);

/// Frames that end well before the length the file states (half a second or a tenth of it, so
/// variable frame rates and a last frame's duration never count; for an MP4's edited duration,
/// `exact_at` its frame rate, 1.5 frames or 2%): the file was cut short.
fn cut_short(path: &Path, frames_end: f64, tagged: f64, exact_at: Option<f64>) -> Result<(), VideoIoError> {
    // An MP4's edited duration is near its packets' own end: within 1.5 frames at its average
    // rate and 2% (a variable-rate clip, a cut at a GOP's end).
    let slack = match exact_at {
        Some(fps) => (1.5 / fps).max(0.02 * tagged),
        None => (0.5f64).max(0.1 * tagged),
    };
    if frames_end < tagged - slack {
        return Err(VideoIoError::Truncated {
            path: path.to_path_buf(),
            reason: format!("the file states a video {tagged:.3} s long, but its frames end at {frames_end:.3} s"),
        });
    }
    Ok(())
}

/// How many frames `path` decodes to, counting at most `k` (nothing is kept: a count at any
/// size in constant memory). The one test of "more than one frame" and of a frame range's end.
pub fn frames_upto(path: &Path, k: usize) -> Result<usize, VideoIoError> {
    let mut n = 0;
    decode_stream(path, FrameSampling::First(k), |_, _| n += 1)?;
    Ok(n)
}

/// Decodes the frames `sampling` selects and hands each to `sink` as packed RGB8 (display
/// orientation) as soon as it is decoded, borrowed from the converter's own buffer (a sink that
/// keeps a frame copies it; one that only looks copies nothing): nothing is kept here, so memory
/// does not grow with the clip. An error after some frames were delivered (a truncated file) is
/// still an error; the sink's partial state is the caller's to discard.
///
/// A stream with packets the decoder rejected, frames it made from damaged data (concealed), or
/// frames missing from its constant-rate timeline, is refused as [`VideoIoError::Damaged`]: the
/// frames that did decode are not the video, and scoring them as if they were would hide the
/// damage.
pub fn decode_stream(
    path: &Path,
    sampling: FrameSampling,
    sink: impl FnMut(&StreamHead, &[u8]),
) -> Result<StreamEnd, VideoIoError> {
    let end = decode_stream_damaged(path, sampling, sink)?;
    let r = &end.report;
    // A frame or two missing from the timeline is what a cut without re-encoding leaves (a
    // B-frame whose packet fell outside the cut); more is damage. Packets that yield no frame
    // are not damage by themselves: a stream cut before a keyframe, or coded as fields, has them.
    let missing = r.frames_missing > (r.frames_decoded / 50).max(2);
    if r.corrupt_packets > 0 || missing || r.frames_short > 0 || r.frames_concealed > 0 {
        let mut what = Vec::new();
        if r.frames_short > 0 {
            what.push(format!(
                "{} of the {} frames sampled from its {} video packets decoded (packets without a whole frame: cut short?)",
                r.frames_kept,
                r.frames_kept + r.frames_short,
                r.packets
            ));
        }
        if r.corrupt_packets > 0 {
            what.push(format!("the decoder rejected {} of its {} video packets", r.corrupt_packets, r.packets));
        }
        if r.frames_concealed > 0 {
            what.push(format!(
                "{} of its frames decoded from damaged data (FFmpeg concealed the damage: what it shows there is a guess)",
                r.frames_concealed
            ));
        }
        if missing {
            what.push(format!("{} frames missing from its constant frame rate's timeline", r.frames_missing));
        }
        return Err(VideoIoError::Damaged { path: path.to_path_buf(), reason: what.join(", ") });
    }
    Ok(end)
}

/// [`decode_stream`] that delivers what a damaged stream still decodes, its report saying how
/// much was lost (`video info --decode`, to see what a damaged file holds).
pub fn decode_stream_damaged(
    path: &Path,
    sampling: FrameSampling,
    mut sink: impl FnMut(&StreamHead, &[u8]),
) -> Result<StreamEnd, VideoIoError> {
    match stream(path, sampling, true, &mut sink)? {
        Streamed::Done(end) => Ok(end),
        Streamed::Misaligned { delivered } => {
            // Again without skipping; the frames already delivered come first again, in the
            // same order, and are passed over.
            let mut pass = delivered;
            let mut rest = |head: &StreamHead, frame: &[u8]| {
                if pass > 0 {
                    pass -= 1;
                } else {
                    sink(head, frame);
                }
            };
            match stream(path, sampling, false, &mut rest)? {
                Streamed::Done(end) => Ok(end),
                Streamed::Misaligned { .. } => Err(VideoIoError::Invalid {
                    path: path.to_path_buf(),
                    reason: "frames out of line with their packets although none were skipped".into(),
                }),
            }
        }
    }
}

enum Streamed {
    Done(StreamEnd),
    /// Skipping met frames that do not line up with their packets (see [`SkipPlan`]) after
    /// delivering this many.
    Misaligned {
        delivered: usize,
    },
}

fn stream(
    path: &Path,
    sampling: FrameSampling,
    skip_allowed: bool,
    sink: &mut dyn FnMut(&StreamHead, &[u8]),
) -> Result<Streamed, VideoIoError> {
    let mut o = open(path)?;
    let mut plan: Option<SkipPlan> = None;
    // A packet the timestamp pass read back after rewinding, decoded before any other.
    let mut pending: Option<ff::Packet> = None;
    // Where the packets of a stream sampled by index end (seconds), when read ahead: a decode that
    // stops after the last frame it needs never reaches a cut end itself. And the frames the
    // sampling plans to keep.
    let mut stamps_end: Option<f64> = None;
    let mut planned: Option<usize> = None;
    let mut sampled_from: Option<usize> = None;
    let mut selector = match sampling {
        FrameSampling::Fps(target) => {
            let info = &o.info;
            let end = match (info.duration_s, info.frames) {
                (Some(d), _) => d,
                (None, Some(n)) => n as f64 / info.fps,
                // Where the frames' timestamps end: their count at the header's rate assumed the
                // rate was right (a 60-fps-tagged recording of 28 fps lost its last 2 s).
                (None, None) => {
                    let stamps = packet_timestamps(&mut o, path, &mut pending)?;
                    let known: Vec<i64> = stamps.iter().flatten().copied().collect();
                    match (known.iter().min(), known.iter().max()) {
                        (Some(&lo), Some(&hi)) if known.len() == stamps.len() => {
                            (hi - lo) as f64 * o.time_base + 1.0 / o.info.fps
                        }
                        _ => stamps.len() as f64 / o.info.fps,
                    }
                }
            };
            if !(end * target <= MAX_FRAMES as f64) {
                return Err(VideoIoError::TooLong {
                    path: path.to_path_buf(),
                    what: format!("{end} s sampled at {target} fps would be {:.0} frames", end * target),
                    limit: format!("{MAX_FRAMES} frames"),
                });
            }
            Selector::Times { step: 1.0 / target, end, next: 0 }
        }
        FrameSampling::All => Selector::Indices { counts: Vec::new(), last: usize::MAX },
        other => {
            // The frames shown: the stated count where it is theirs, else counted from the
            // packets' timestamps ([`Opened::shown_count`]).
            let counted = o.shown_count();
            let mut stamps =
                if counted.is_none() { Some(packet_timestamps(&mut o, path, &mut pending)?) } else { None };
            let total = stamps.as_ref().map_or_else(|| counted.unwrap_or(0), Vec::len);
            stamps_end = stamps
                .as_ref()
                .and_then(|s| s.iter().flatten().max())
                .map(|&pts| pts as f64 * o.time_base + 1.0 / o.info.fps);
            if total > MAX_FRAMES {
                return Err(VideoIoError::TooLong {
                    path: path.to_path_buf(),
                    what: format!("the container declares {total} frames"),
                    limit: format!("{MAX_FRAMES} frames"),
                });
            }
            if let FrameSampling::Uniform(n) = other
                && n > MAX_FRAMES
            {
                return Err(VideoIoError::TooLong {
                    path: path.to_path_buf(),
                    what: format!("{n} uniformly sampled frames"),
                    limit: format!("{MAX_FRAMES} frames"),
                });
            }
            let idx = other.indices(total, o.info.fps);
            planned = Some(idx.len());
            sampled_from = Some(total);
            let mut counts = vec![0usize; total];
            for &i in &idx {
                counts[i] += 1;
            }
            // Skipping is worth a demux pass when at least a quarter of the frames decoded (up
            // to the last one kept) are not kept: not for `first:N`, say.
            let last = idx.iter().copied().max().unwrap_or(0);
            let unneeded = counts.iter().take(last + 1).filter(|&&c| c == 0).count();
            if skip_allowed && matches!(o.info.codec.as_str(), "h264" | "hevc") && unneeded * 4 >= last + 1 {
                let stamps = match stamps.take() {
                    Some(s) => s,
                    None => packet_timestamps(&mut o, path, &mut pending)?,
                };
                plan = SkipPlan::new(&stamps, &counts);
            }
            Selector::Indices { last, counts }
        }
    };
    let (w, h) = (o.info.width, o.info.height);
    let (rotation, mirrored) = (o.info.rotation, o.info.mirrored);
    let (dw, dh) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
    let head = StreamHead {
        width: dw,
        height: dh,
        fps: match sampling {
            FrameSampling::Fps(target) => target,
            _ => o.info.fps,
        },
        pixel_aspect: o.info.pixel_aspect(),
        // A stated count only: a duration at an average rate is no count (a variable-rate file
        // with a long still tail read 17,000 frames for 80).
        declared_frames: match sampling {
            FrameSampling::All => {
                let by_time = o.info.duration_s.map(|d| (d * o.info.fps).ceil() as u64);
                match (o.info.frames, by_time) {
                    (Some(n), Some(t)) => Some(n.min(t)),
                    (n, _) => n,
                }
            }
            _ => None,
        },
    };
    let mut emit = |frame: &[u8]| sink(&head, frame);
    let mut report = DecodeReport::default();
    let mut held: Option<(f64, Vec<u8>)> = None;
    let mut done = false;

    let mut converter = Converter {
        path,
        w,
        h,
        rotation,
        mirrored,
        still: o.still,
        graph: None,
        rgb: ff::frame::Video::empty(),
        packed: Vec::new(),
    };

    let mut handle = |frame: &mut ff::frame::Video,
                      report: &mut DecodeReport,
                      plan: &mut Option<SkipPlan>,
                      emit: &mut dyn FnMut(&[u8]),
                      held: &mut Option<(f64, Vec<u8>)>|
     -> Result<bool, VideoIoError> {
        let i = match plan {
            None => report.frames_decoded,
            Some(plan) => match plan.place(frame.pts()) {
                Some(r) => r,
                None => return Ok(true),
            },
        };
        report.frames_decoded += 1;
        report.frames_concealed += usize::from(damaged_frame(frame));
        report.rescaled += usize::from((frame.width(), frame.height()) != (w, h));
        let pixels = report.frames_decoded as u64 * u64::from(w) * u64::from(h);
        if report.frames_decoded > MAX_FRAMES || pixels > MAX_PIXELS {
            return Err(VideoIoError::TooLong {
                path: path.to_path_buf(),
                what: format!("decoding passed {} frames of {w}x{h}", report.frames_decoded),
                limit: format!("{MAX_FRAMES} frames or {MAX_PIXELS} pixels"),
            });
        }
        match &mut selector {
            Selector::Indices { counts, last } => {
                let keep = if counts.is_empty() { 1 } else { counts.get(i).copied().unwrap_or(0) };
                if keep > 0 {
                    let rgb = converter.convert(frame)?;
                    for _ in 0..keep {
                        emit(rgb);
                    }
                    report.frames_kept += keep;
                }
                Ok(i >= *last)
            }
            Selector::Times { step, end, next } => {
                let ts =
                    frame.timestamp().map_or(i as f64 * o.time_base.max(1e-9), |t| (t - o.start) as f64 * o.time_base);
                // Emit the held frame for every grid time before this frame's time.
                if let Some((_, prev)) = held.as_ref() {
                    while (*next as f64) * *step < ts.min(*end) - 1e-9 {
                        emit(prev);
                        report.frames_kept += 1;
                        *next += 1;
                    }
                }
                *held = Some((ts, converter.convert(frame)?.to_vec()));
                Ok(false)
            }
        }
    };

    let mut packet;
    let mut truncated: Option<String> = None;
    // Where the video packets read so far end, in seconds from the stream's start.
    let mut frames_end: f64 = 0.0;
    let mut frame = ff::frame::Video::empty();
    // Presentation times of the frames decoded, for the holes a demuxer left without a word.
    let mut shown: Vec<i64> = Vec::new();
    while !done {
        let read = match pending.take() {
            Some(p) => Ok(p),
            None => next_packet(&mut o.input),
        };
        match read {
            Ok(p) => packet = p,
            Err(ff::Error::Eof) => break,
            Err(ff::Error::InvalidData) => {
                report.demux_errors += 1;
                continue;
            }
            Err(e) => {
                truncated = Some(e.to_string());
                break;
            }
        }
        if packet.stream() != o.index {
            continue;
        }
        report.packets += 1;
        report.hidden += usize::from(o.hidden(packet.pts()));
        if let Some(pts) = packet.pts() {
            // On the file's own timeline, as the muxer measured the DURATION it wrote.
            let end = pts.saturating_add(packet.duration().max(0)) as f64 * o.time_base;
            frames_end = frames_end.max(end);
        }
        if let Some(plan) = &mut plan {
            o.decoder.skip_frame(if plan.ask(&packet) { ff::Discard::NonReference } else { ff::Discard::Default });
        }
        if o.decoder.send_packet(&packet).is_err() {
            report.corrupt_packets += 1;
            continue;
        }
        while o.decoder.receive_frame(&mut frame).is_ok() {
            shown.extend(frame.timestamp());
            if handle(&mut frame, &mut report, &mut plan, &mut emit, &mut held)? {
                done = true;
                report.stopped_early = true;
                break;
            }
        }
    }
    if !done {
        // Drain the frames the decoder still holds.
        if o.decoder.send_eof().is_ok() {
            while o.decoder.receive_frame(&mut frame).is_ok() {
                shown.extend(frame.timestamp());
                if handle(&mut frame, &mut report, &mut plan, &mut emit, &mut held)? {
                    break;
                }
            }
        }
    }
    if let (Selector::Times { step, end, next }, Some((_, prev))) = (&mut selector, &held) {
        while (*next as f64) * *step < *end - 1e-9 {
            emit(prev);
            report.frames_kept += 1;
            *next += 1;
        }
    }
    if plan.as_ref().is_some_and(|p| p.misaligned) {
        return Ok(Streamed::Misaligned { delivered: report.frames_kept });
    }
    if !report.stopped_early {
        let skipped = plan.as_ref().map_or(0, SkipPlan::skipped);
        report.frames_lost = report.packets.saturating_sub(report.frames_decoded + skipped + report.hidden);
        // Skipped frames are holes made on purpose; hidden ones are before the start.
        // Animations (GIF, WebP, APNG) hold frames as long as they like.
        let animation = matches!(o.info.codec.as_str(), "gif" | "webp" | "apng");
        // An MP4/MOV's sample table states every frame's time: a gap in it is meant (a
        // variable-rate recording holding a frame), never a demuxer's silent resync.
        if skipped == 0 && shown.len() == report.frames_decoded && !animation && !o.mov {
            report.frames_missing = timeline_holes(shown);
        }
    }
    if let Some(reason) = truncated {
        return Err(VideoIoError::Truncated {
            path: path.to_path_buf(),
            reason: format!("reading stopped after {} frames: {reason}", report.frames_decoded),
        });
    }
    if report.frames_decoded == 0 && report.corrupt_packets > 0 {
        return Err(VideoIoError::Damaged {
            path: path.to_path_buf(),
            reason: format!(
                "the decoder rejected {} of {} packets and no frame decoded (a picture cut short?)",
                report.corrupt_packets, report.packets
            ),
        });
    }
    if report.frames_decoded == 0 {
        return Err(VideoIoError::NoFrames { path: path.to_path_buf() });
    }
    // Where the stream's frames end: as decoded, or, when decoding stopped after the last frame
    // it needed, as its packets were read ahead (an intra-only FFV1 or MJPEG file cut short was
    // sampled over what survived, and scored).
    let ends_at = if report.stopped_early { stamps_end } else { Some(frames_end) };
    if let (Some(frames_end), Some(tagged)) = (ends_at, o.tagged_s) {
        cut_short(path, frames_end, tagged, o.mov.then_some(o.info.fps))?;
    }
    if let (false, Some(declared)) = (report.stopped_early, o.info.frames) {
        // A container that declares more frames than it holds was cut short, whatever is kept
        // of it (a stream read to its end: sampled frames past the cut were silently missing,
        // and FVD failed as an internal error on "2 of 8 frames").
        // An MP4's count only where it fills the stated duration at the frame rate: else its edit
        // list hides samples the count includes, whole GOPs of which are never even demuxed (a
        // clip shifted by `-output_ts_offset -0.5`: 60 packets read against 72 stated, refused
        // as truncated); such a file is held to its edited duration instead, above.
        let trusted = o.shown_count().is_some();
        if trusted && report.packets + report.demux_errors < declared as usize {
            return Err(VideoIoError::Truncated {
                path: path.to_path_buf(),
                reason: format!("the container declares {declared} frames but holds {}", report.packets),
            });
        }
    }
    // Frames sampled from the packets' timeline that never decoded (a fragmented MP4 cut
    // mid-fragment: its last packet holds no whole frame): fewer frames than asked for were an
    // internal error downstream. [`decode_stream`] refuses them; the damaged view reports them.
    report.frames_short = planned.map_or(0, |n| n.saturating_sub(report.frames_kept));
    Ok(Streamed::Done(StreamEnd { head, info: o.info, report, sampled_from }))
}

/// The file endings read as videos (case-insensitive): the common containers FFmpeg demuxes.
pub const VIDEO_EXTS: &[&str] =
    &["mp4", "webm", "mkv", "mov", "avi", "gif", "m4v", "ts", "m2ts", "mts", "mpg", "mpeg", "flv", "wmv", "ogv", "3gp"];

/// Whether `path` is named as a video (one of [`VIDEO_EXTS`], any case).
pub fn is_video_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| VIDEO_EXTS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The file endings read as pictures (case-insensitive): units of `mode: image`, frames of a
/// folder.
pub const IMAGE_EXTS: &[&str] = &["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "avif"];

/// Whether `path` is named as a picture (one of [`IMAGE_EXTS`], any case).
pub fn is_image_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A folder's frames in order: its pictures ([`IMAGE_EXTS`]; hidden files and macOS's `._`
/// companions left out, as the `dir:` adapter leaves them), sorted by name with numbers compared
/// as numbers, and how many frames their numbers skip. Refused: two frames of one number
/// (`f_1.png`, `f_01.png`: their order was the file system's), and pictures named otherwise
/// than the numbered frames (a `cover.png` became frame 0).
fn frame_files(dir: &Path) -> Result<(Vec<PathBuf>, usize), VideoIoError> {
    let invalid = |path: &Path, reason: String| VideoIoError::Invalid { path: path.to_path_buf(), reason };
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = |p: &Path| p.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| invalid(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !name(p).starts_with('.') && is_image_file(p))
        .collect();
    files.sort_by_cached_key(|p| natural_key(&stem(p)));
    if files.is_empty() {
        // A folder of videos (a `dir:` model's) is not a clip: said, not "decoded zero frames".
        let videos = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok()).filter(|e| is_video_file(&e.path())).count())
            .unwrap_or(0);
        let found =
            if videos > 0 { format!("; it holds {videos} video file(s): give one of them") } else { String::new() };
        return Err(invalid(dir, format!("no picture frames (PNG, JPEG, WebP, BMP, TIFF, AVIF) in the folder{found}")));
    }
    for w in files.windows(2) {
        if natural_key(&stem(&w[0])) == natural_key(&stem(&w[1])) {
            return Err(invalid(
                &w[1],
                format!("numbered as {} is: two frames cannot hold one place in the clip", name(&w[0])),
            ));
        }
    }
    // Each name's pattern: its digits as '#'. The most common one, if numbered, is the frames'.
    let pattern = |p: &Path| -> String {
        let mut out = String::new();
        for c in stem(p).chars() {
            if !c.is_ascii_digit() {
                out.push(c);
            } else if !out.ends_with('#') {
                out.push('#');
            }
        }
        out
    };
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for f in &files {
        *counts.entry(pattern(f)).or_default() += 1;
    }
    // The most common pattern, a numbered one where counts tie (`frame_0001` beside `zcover`).
    let frames_pattern =
        counts.iter().max_by_key(|(p, n)| (**n, p.contains('#'))).map(|(p, _)| p.clone()).unwrap_or_default();
    if frames_pattern.contains('#')
        && let Some(odd) = files.iter().find(|f| pattern(f) != frames_pattern)
        && let Some(frame) = files.iter().find(|f| pattern(f) == frames_pattern)
    {
        return Err(invalid(
            odd,
            format!(
                "named otherwise than the folder's numbered frames ({}, as `{frames_pattern}` with # for the number): move it out of the folder",
                name(frame)
            ),
        ));
    }
    // Skipped numbers: steps between consecutive frames' last numbers above the usual one.
    let last_number = |f: &PathBuf| -> Option<u64> {
        let digits = natural_key(&stem(f)).into_iter().rev().find(|k| k.0)?.2;
        if digits.is_empty() { Some(0) } else { digits.parse().ok() }
    };
    let numbers: Vec<u64> = files.iter().filter_map(last_number).collect();
    let mut skipped = 0;
    if numbers.len() == files.len() && numbers.len() >= 3 {
        let mut steps: Vec<u64> = numbers.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
        steps.sort_unstable();
        let usual = steps[steps.len() / 2].max(1);
        skipped = numbers.windows(2).map(|w| (w[1].saturating_sub(w[0]) / usual).saturating_sub(1) as usize).sum();
    }
    Ok((files, skipped))
}

/// Decodes a folder of picture frames ([`frame_files`]) as a video at `fps`. The frames its
/// numbers skip are counted in the report's `frames_missing`.
pub fn decode_frames_dir(dir: &Path, fps: f64, sampling: FrameSampling, limit: u64) -> Result<Decoded, VideoIoError> {
    let (files, skipped) = frame_files(dir)?;
    if files.len() > MAX_FRAMES {
        return Err(VideoIoError::TooLong {
            path: dir.to_path_buf(),
            what: format!("{} frames", files.len()),
            limit: format!("{MAX_FRAMES} frames"),
        });
    }
    // Only the frames asked for are read, each file's first picture only (an MP4 named .png was
    // decoded to its end), and what they hold together must fit (every frame of the folder was
    // kept, with no limit: 846 MB for 120 1080p frames asked for one).
    let kept: Vec<usize> = sampling.indices(files.len(), fps);
    let mut data = Vec::new();
    let mut size = None;
    for &i in &kept {
        let f = &files[i];
        let v = decode_with(f, FrameSampling::First(2))?.video;
        if v.len() > 1 {
            return Err(VideoIoError::Invalid {
                path: f.clone(),
                reason: "holds more than one frame; a folder of frames holds one picture a file".into(),
            });
        }
        match size {
            None => {
                let bytes = kept.len() as u64 * u64::from(v.width()) * u64::from(v.height()) * 3;
                if bytes > limit {
                    return Err(VideoIoError::TooLong {
                        path: dir.to_path_buf(),
                        what: format!(
                            "{} frames of {}x{} ({:.1} GB)",
                            kept.len(),
                            v.width(),
                            v.height(),
                            bytes as f64 / 1e9
                        ),
                        limit: format!("{:.1} GB (half the memory available)", limit as f64 / 1e9),
                    });
                }
                size = Some((v.width(), v.height()));
            }
            Some(s) if s != (v.width(), v.height()) => {
                return Err(VideoIoError::Invalid {
                    path: f.clone(),
                    reason: format!("frame is {}x{} but earlier frames are {}x{}", v.width(), v.height(), s.0, s.1),
                });
            }
            Some(_) => {}
        }
        data.extend_from_slice(v.frame(0));
    }
    let (w, h) = size.unwrap_or((0, 0));
    let fps = if let FrameSampling::Fps(f) = sampling { f } else { fps };
    let video = Video::new(w, h, fps, data)
        .map_err(|e| VideoIoError::Invalid { path: dir.to_path_buf(), reason: e.to_string() })?;
    let info = frames_dir_info(dir, (w, h), fps, kept.len());
    let n = kept.len();
    let report =
        DecodeReport { frames_decoded: n, packets: n, frames_kept: n, frames_missing: skipped, ..Default::default() };
    // Counted only for a count-based sampling, as a stream's is.
    let sampled_from = (!matches!(sampling, FrameSampling::All | FrameSampling::Fps(_))).then_some(files.len());
    Ok(Decoded { video, info, report, sampled_from })
}

/// The stream information of a folder of picture frames ([`frame_files`]) played at `fps`: its
/// size is its first picture's as shown (decoded, turned by its orientation), its frame count
/// the files'; with how many frames its numbers skip. Only the first picture is read.
pub fn probe_frames_dir(dir: &Path, fps: f64) -> Result<(VideoInfo, usize), VideoIoError> {
    let (files, skipped) = frame_files(dir)?;
    let first = decode_with(&files[0], FrameSampling::First(1))?.video;
    Ok((frames_dir_info(dir, (first.width(), first.height()), fps, files.len()), skipped))
}

/// A folder of `frames` pictures of `size`, played at `fps`, described as a stream.
fn frames_dir_info(dir: &Path, (width, height): (u32, u32), fps: f64, frames: usize) -> VideoInfo {
    VideoInfo {
        path: dir.display().to_string(),
        container: "image_sequence".into(),
        codec: "images".into(),
        pix_fmt: "rgb24".into(),
        width,
        height,
        fps,
        frames: Some(frames as u64),
        duration_s: Some(frames as f64 / fps),
        sar: [1, 1],
        dar: f64::from(width) / f64::from(height),
        rotation: 0,
        mirrored: false,
        color_matrix: "rgb".into(),
        color_range: "pc".into(),
        color_transfer: "unknown".into(),
        color_primaries: "unknown".into(),
    }
}

/// Sort key that orders "frame2" before "frame10": a number as (true, its digits without
/// leading zeros, counted, then compared as text), so numbers of any length order as numbers
/// (past u64 they all read as its maximum, and their frames were shuffled).
fn natural_key(name: &str) -> Vec<(bool, usize, String)> {
    let mut out = Vec::new();
    let mut chars = name.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut n = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(d);
                chars.next();
            }
            let n = n.trim_start_matches('0').to_string();
            out.push((true, n.len(), n));
        } else {
            let mut t = String::new();
            while let Some(&d) = chars.peek().filter(|d| !d.is_ascii_digit()) {
                t.push(d);
                chars.next();
            }
            out.push((false, 0, t));
        }
    }
    out
}

/// How a video is encoded; stored next to every generated video's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodeParams {
    pub container: String,
    pub codec: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crf: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    pub pix_fmt: String,
}

impl EncodeParams {
    /// Lossless FFV1 in Matroska, 8-bit BGR0: decodes to exactly the pixels that were encoded.
    /// Generated videos are stored this way, so scores measure the model, not a codec, and the
    /// bytes are reproducible (libx264 output was seen to vary between runs of one process).
    pub fn lossless() -> Self {
        Self { container: "matroska".into(), codec: "ffv1".into(), crf: None, preset: None, pix_fmt: "bgr0".into() }
    }

    /// H.264 in MP4 at CRF 18, preset medium, yuv420p (yuv444p for odd sizes): what people
    /// share and what reports embed.
    pub fn h264() -> Self {
        Self {
            container: "mp4".into(),
            codec: "libx264".into(),
            crf: Some(18),
            preset: Some("medium".into()),
            pix_fmt: "yuv420p".into(),
        }
    }

    /// What reports embed: H.264 in MP4 at CRF 26, yuv420p (even sizes; every browser plays it),
    /// the index at the front so playback starts before the whole file has arrived.
    pub fn report_clip() -> Self {
        Self {
            container: "mp4".into(),
            codec: "libx264".into(),
            crf: Some(26),
            preset: Some("medium".into()),
            pix_fmt: "yuv420p".into(),
        }
    }

    /// Animated WebP (libwebp, quality 80, looping): small previews an HTML report can inline.
    pub fn webp_preview() -> Self {
        Self {
            container: "webp".into(),
            codec: "libwebp_anim".into(),
            crf: None,
            preset: None,
            pix_fmt: "yuv420p".into(),
        }
    }

    /// Chosen by file extension: `.mp4` H.264, `.mkv` lossless, `.webp` animated preview; any
    /// other ending is refused (it would have been an MP4 under another name).
    pub fn for_path(path: &Path) -> Result<Self, VideoIoError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("mp4") => Ok(Self::h264()),
            Some("mkv") => Ok(Self::lossless()),
            Some("webp") => Ok(Self::webp_preview()),
            other => Err(VideoIoError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "{}: videval writes .mp4 (H.264), .mkv (lossless FFV1), .webp (animated preview) or, where a filmstrip is asked for, .png",
                    other.map_or("no extension".to_string(), |e| format!("the extension .{e} is not one it writes"))
                ),
            }),
        }
    }
}

/// Encodes `video` to `path` with `params`, atomically: into a scratch file beside it, renamed
/// over `path` once whole, so a killed or failed encode leaves what was there before. Odd frame
/// sizes are encoded as yuv444p when 4:2:0 was asked for (it needs even sizes); the returned
/// parameters say what was used.
pub fn encode(video: &Video, path: &Path, params: &EncodeParams) -> Result<EncodeParams, VideoIoError> {
    let name = path.file_name().map_or("video".into(), |n| n.to_string_lossy().into_owned());
    // Named as the store names its temporary files, so that a killed writer's is recognised and swept.
    let scratch =
        path.with_file_name(format!(".{}.{}.partial", crate::store::name_prefix(&name), crate::store::unique()));
    match encode_to(video, &scratch, params) {
        Ok(used) => std::fs::rename(&scratch, path).map(|()| used).map_err(|e| {
            let _ = std::fs::remove_file(&scratch);
            if storage_failure(&e) {
                VideoIoError::Storage {
                    path: path.to_path_buf(),
                    what: "moving the encoded file into place",
                    reason: e.to_string(),
                }
            } else {
                VideoIoError::Invalid { path: path.to_path_buf(), reason: format!("cannot write: {e}") }
            }
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&scratch);
            // Errors name the file asked for, not the scratch file.
            Err(e.renamed(&scratch, path))
        }
    }
}

fn encode_to(video: &Video, path: &Path, params: &EncodeParams) -> Result<EncodeParams, VideoIoError> {
    init();
    // H.264 encodes run in parallel: the bitstreams that differed now and then (a lock, one
    // encode at a time, made them rarer) came from x264's macroblock tree, off below; without
    // the lock, 16 threads encoding 7 clips 4 times each gave the same bytes 448 of 448 times.
    let mut used = params.clone();
    let odd = video.width() % 2 == 1 || video.height() % 2 == 1;
    if odd && used.pix_fmt == "yuv420p" && used.codec == "libx264" {
        used.pix_fmt = "yuv444p".into();
    }
    let pix = match used.pix_fmt.as_str() {
        "yuv420p" => ff::format::Pixel::YUV420P,
        "yuv444p" => ff::format::Pixel::YUV444P,
        "bgr0" => ff::format::Pixel::BGRZ,
        other => {
            return Err(VideoIoError::Invalid {
                path: path.to_path_buf(),
                reason: format!("unsupported pixel format {other}"),
            });
        }
    };
    let err = |what| codec_err(path, what);
    utf8_path(path)?;
    let mut output = ff::format::output_as(&ffmpeg_url(path), &params.container).map_err(err("opening the output"))?;
    let codec = ff::encoder::find_by_name(&params.codec).ok_or_else(|| VideoIoError::Invalid {
        path: path.to_path_buf(),
        reason: format!("encoder {} not available", params.codec),
    })?;
    let global_header = output.format().flags().contains(ff::format::Flags::GLOBAL_HEADER);
    let rate = ff::Rational::from(video.fps());
    let time_base = rate.invert();
    let mut stream = output.add_stream(codec).map_err(err("adding a stream"))?;
    let mut enc =
        ff::codec::context::Context::new_with_codec(codec).encoder().video().map_err(err("creating the encoder"))?;
    enc.set_width(video.width());
    enc.set_height(video.height());
    enc.set_format(pix);
    if pix != ff::format::Pixel::BGRZ {
        // Say how the RGB frames below were turned into YUV (swscale's default: BT.601, limited
        // range), so that players do not guess: browsers may take untagged HD video as BT.709.
        enc.set_colorspace(ff::color::Space::SMPTE170M);
        enc.set_color_range(ff::color::Range::MPEG);
    }
    enc.set_time_base(time_base);
    enc.set_frame_rate(Some(rate));
    if global_header {
        enc.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    }
    let mut opts = ff::Dictionary::new();
    if let Some(crf) = params.crf {
        opts.set("crf", &crf.to_string());
    }
    if let Some(preset) = &params.preset {
        opts.set("preset", preset);
    }
    // One thread keeps the bitstream independent of the machine's core count.
    opts.set("threads", "1");
    opts.set("flags", "+bitexact");
    if params.codec == "libx264" {
        // Closed GOPs, as libx264's own defaults have them (`+cgop`; setting the global-header
        // flag above replaced them): with open GOPs Chromium failed to decode after a seek past
        // a scene cut's keyframe, and the rating page's videos stopped.
        opts.set("flags", "+bitexact+cgop");
        // x264's macroblock tree reads memory it has not written on small frames (64×64, 17
        // frames: one clip encoded 32 times in a row in one process came out 7 different ways,
        // a different way each time the allocator handed it other leftovers; one encode at a
        // time did not help). Without it every encode of the same frames is the same bytes (32 of 32,
        // as with B-frames off; aq, psy, trellis, weightp off did not help).
        opts.set("x264-params", "mbtree=0");
    }
    if params.codec == "libwebp_anim" {
        opts.set("quality", "80");
    }
    let mut encoder = enc.open_with(opts).map_err(err("opening the encoder"))?;
    stream.set_parameters(&encoder);
    stream.set_time_base(time_base);
    // The rate in the container too (Matroska's default duration): without it a reader learns
    // it from the first packets, and read two 1080p lossless frames as 1000 fps.
    stream.set_rate(rate);
    stream.set_avg_frame_rate(rate);
    let stream_index = stream.index();
    // Bit-exact muxing: no random segment ids or wall-clock dates, so equal frames give equal
    // files (content addressing depends on it).
    let mut mux_opts = ff::Dictionary::new();
    mux_opts.set("fflags", "+bitexact");
    if params.container == "webp" {
        mux_opts.set("loop", "0");
    }
    if params.container == "mp4" {
        // The index before the media: browsers start playing without reading to the end.
        mux_opts.set("movflags", "+faststart");
    }
    output.write_header_with(mux_opts).map_err(err("writing the header"))?;
    let out_tb = output.stream(stream_index).map(|s| s.time_base()).unwrap_or(time_base);

    let mut scaler = ff::software::scaling::Context::get(
        ff::format::Pixel::RGB24,
        video.width(),
        video.height(),
        pix,
        video.width(),
        video.height(),
        ff::software::scaling::Flags::BILINEAR | ff::software::scaling::Flags::ACCURATE_RND,
    )
    .map_err(err("colour conversion"))?;
    let row = video.width() as usize * 3;
    let drain =
        |encoder: &mut ff::encoder::Video, output: &mut ff::format::context::Output| -> Result<(), VideoIoError> {
            let mut packet = ff::Packet::empty();
            while encoder.receive_packet(&mut packet).is_ok() {
                packet.set_stream(stream_index);
                // FFmpeg 5.1's libx264 wrapper leaves duration 0; the mp4 muxer would then hide the
                // last frame behind an edit list.
                packet.set_duration(1);
                packet.rescale_ts(time_base, out_tb);
                packet.write_interleaved(output).map_err(codec_err(path, "writing a packet"))?;
            }
            Ok(())
        };
    for (t, pixels) in video.frames().enumerate() {
        // FFmpeg allocates frames uninitialised, row padding included, and SIMD code may read
        // the padding; zeroing keeps garbage out of the encoder's input.
        let mut rgb = ff::frame::Video::new(ff::format::Pixel::RGB24, video.width(), video.height());
        rgb.data_mut(0).fill(0);
        let stride = rgb.stride(0);
        for y in 0..video.height() as usize {
            rgb.data_mut(0)[y * stride..y * stride + row].copy_from_slice(&pixels[y * row..(y + 1) * row]);
        }
        let mut yuv = ff::frame::Video::new(pix, video.width(), video.height());
        for plane in 0..yuv.planes() {
            yuv.data_mut(plane).fill(0);
        }
        scaler.run(&rgb, &mut yuv).map_err(err("colour conversion"))?;
        yuv.set_pts(Some(t as i64));
        encoder.send_frame(&yuv).map_err(err("encoding a frame"))?;
        drain(&mut encoder, &mut output)?;
    }
    encoder.send_eof().map_err(err("flushing the encoder"))?;
    drain(&mut encoder, &mut output)?;
    output.write_trailer().map_err(err("writing the trailer"))?;
    Ok(used)
}

/// Writes `n` uniformly sampled frames side by side, each scaled to `height` pixels tall
/// (area filter), as one PNG: the poster a report shows for a video.
/// Returns the picture's width and height.
pub fn write_filmstrip(video: &Video, path: &Path, n: usize, height: u32) -> Result<(u32, u32), VideoIoError> {
    let bytes = filmstrip_png(video, n, height).map_err(|e| match e {
        VideoIoError::Codec { what, reason, .. } => VideoIoError::Codec { path: path.to_path_buf(), what, reason },
        other => other,
    })?;
    crate::store::write_atomic(path, &bytes)
        .map_err(|e| VideoIoError::Invalid { path: path.to_path_buf(), reason: e.to_string() })?;
    let (idx, width) = filmstrip_panels(video, n, height);
    Ok((width * idx.len() as u32, height))
}

/// A filmstrip's frames and the width of each panel.
fn filmstrip_panels(video: &Video, n: usize, height: u32) -> (Vec<usize>, u32) {
    let idx = FrameSampling::Uniform(n.max(1)).indices(video.len(), video.fps());
    let width = ((f64::from(video.width()) * f64::from(height) / f64::from(video.height())).round() as u32).max(1);
    (idx, width)
}

/// The PNG bytes of a filmstrip (see [`write_filmstrip`]).
pub fn filmstrip_png(video: &Video, n: usize, height: u32) -> Result<Vec<u8>, VideoIoError> {
    init();
    let path = Path::new("<filmstrip>");
    let (idx, width) = filmstrip_panels(video, n, height);
    let small = preprocess::transform_video(
        video,
        preprocess::Spatial::Stretch { width, height },
        preprocess::Filter::Area,
        true,
    );
    let strip_w = width as usize * idx.len();
    let mut strip = vec![0u8; strip_w * height as usize * 3];
    for (k, &i) in idx.iter().enumerate() {
        let f = small.frame(i);
        for y in 0..height as usize {
            let row = width as usize * 3;
            let d = (y * strip_w + k * width as usize) * 3;
            strip[d..d + row].copy_from_slice(&f[y * row..(y + 1) * row]);
        }
    }
    png_bytes(&strip, strip_w as u32, height, path)
}

/// Frame `i` of `video` as PNG bytes, pixel for pixel.
pub fn frame_png(video: &Video, i: usize) -> Result<Vec<u8>, VideoIoError> {
    init();
    png_bytes(video.frame(i), video.width(), video.height(), Path::new("<frame>"))
}

/// Packed RGB24 rows of `strip_w` × `height` as PNG bytes.
fn png_bytes(strip: &[u8], strip_w: u32, height: u32, path: &Path) -> Result<Vec<u8>, VideoIoError> {
    let strip_w = strip_w as usize;
    let err = |what| codec_err(path, what);
    let codec = ff::encoder::find(ff::codec::Id::PNG).ok_or_else(|| VideoIoError::Invalid {
        path: path.to_path_buf(),
        reason: "PNG encoder not available".into(),
    })?;
    let mut enc =
        ff::codec::context::Context::new_with_codec(codec).encoder().video().map_err(err("creating the encoder"))?;
    enc.set_width(strip_w as u32);
    enc.set_height(height);
    enc.set_format(ff::format::Pixel::RGB24);
    enc.set_time_base(ff::Rational::new(1, 1));
    let mut encoder = enc.open().map_err(err("opening the encoder"))?;
    let mut frame = ff::frame::Video::new(ff::format::Pixel::RGB24, strip_w as u32, height);
    let stride = frame.stride(0);
    let row = strip_w * 3;
    for y in 0..height as usize {
        frame.data_mut(0)[y * stride..y * stride + row].copy_from_slice(&strip[y * row..(y + 1) * row]);
    }
    frame.set_pts(Some(0));
    encoder.send_frame(&frame).map_err(err("encoding"))?;
    encoder.send_eof().map_err(err("encoding"))?;
    let mut packet = ff::Packet::empty();
    let mut bytes = Vec::new();
    while encoder.receive_packet(&mut packet).is_ok() {
        bytes.extend_from_slice(packet.data().unwrap_or_default());
    }
    Ok(bytes)
}

pub const SIDECAR_SCHEMA: &str = "videval/encode-sidecar/v1";

/// `<file>.json` next to a file videval wrote for people: how it was encoded and from what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    pub schema: String,
    pub encode: EncodeParams,
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub source: Option<String>,
}

pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// Encodes with the parameters the extension implies and writes the sidecar.
pub fn write_with_sidecar(video: &Video, path: &Path, source: Option<&Path>) -> Result<Sidecar, VideoIoError> {
    write_with_sidecar_using(video, path, source, &EncodeParams::for_path(path)?)
}

/// [`write_with_sidecar`] with chosen encoder settings (an H.264 CRF, say).
pub fn write_with_sidecar_using(
    video: &Video,
    path: &Path,
    source: Option<&Path>,
    params: &EncodeParams,
) -> Result<Sidecar, VideoIoError> {
    let used = encode(video, path, params)?;
    let sidecar = Sidecar {
        schema: SIDECAR_SCHEMA.into(),
        encode: used,
        frames: video.len(),
        width: video.width(),
        height: video.height(),
        fps: video.fps(),
        source: source.map(|p| p.display().to_string()),
    };
    let json = serde_json::to_vec_pretty(&sidecar).unwrap_or_default();
    // Whole or not at all, as the file it describes.
    crate::store::write_atomic(&sidecar_path(path), &json)
        .map_err(|e| VideoIoError::Invalid { path: path.to_path_buf(), reason: e.to_string() })?;
    Ok(sidecar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_in_a_regular_timeline_are_counted_and_a_variable_rate_has_none() {
        let at = |ts: &[i64]| timeline_holes(ts.to_vec());
        assert_eq!(at(&[0, 512, 1024, 1536, 2048, 2560]), 0);
        // A millisecond time base at 24 fps: steps of 41 and 42; 13 frames gone after 958.
        let mut ms: Vec<i64> = (0..24).map(|i| (i as f64 * 1000.0 / 24.0).round() as i64).collect();
        ms.extend((36..48).map(|i| (i as f64 * 1000.0 / 24.0).round() as i64));
        assert_eq!(at(&ms), 12);
        // Out of order (B-frames) is the same timeline.
        let mut shuffled: Vec<i64> = (0..30).filter(|&i| !(7..11).contains(&i)).map(|i| i * 512).collect();
        shuffled.swap(3, 4);
        shuffled.swap(10, 12);
        assert_eq!(at(&shuffled), 4);
        // A regular stream with slower stretches (one frame in 20 at a double step, one at a
        // triple): no frames missing.
        let mut t = 0;
        let slow: Vec<i64> = (0..60)
            .map(|i| {
                t += if i % 20 == 5 {
                    1024
                } else if i % 20 == 15 {
                    1536
                } else {
                    512
                };
                t
            })
            .collect();
        assert_eq!(at(&slow), 0);
        // Variable frame rate: 24 fps then 10 fps, no step dominates.
        let mut vfr: Vec<i64> = (0..24).map(|i| i * 500).collect();
        vfr.extend((0..20).map(|i| 12_000 + i * 1200));
        assert_eq!(at(&vfr), 0);
        assert_eq!(at(&[0, 1, 5]), 0);
        // Timestamps at both ends of i64 (a crafted Matroska cluster time): steps that do not
        // fit an i64 once panicked with an overflow.
        let far = [i64::MIN, i64::MIN + 512, i64::MIN + 1024, i64::MAX - 1024, i64::MAX - 512, i64::MAX];
        assert_eq!(at(&far), 0);
        let mut spread: Vec<i64> = (0..40).map(|i| i64::MIN + i * 512).collect();
        spread.extend((0..40).map(|i| i64::MAX - 40 * 512 + i * 512));
        assert!(at(&spread) > 1_000_000_000, "one gap of 2^64 ticks counts as frames gone");
    }
    use videval_models::synthetic::{Request, render};

    /// Frames a subset decode delivers equal the same frames of a full decode, byte for byte,
    /// while non-reference frames the subset does not need are skipped (H.264 and HEVC with
    /// B-frames, as the ffmpeg CLI encodes by default; MPEG-4 Part 2 is never skipped). The MP4s
    /// are rewound after the timestamp pass (one with an audio track interleaved, whose first
    /// packet may be audio); the Matroska file is opened again.
    #[test]
    fn subsets_skip_unneeded_frames_and_equal_the_full_decode() {
        let dir = tempfile::tempdir().unwrap();
        for (name, codec) in
            [("h264.mp4", "libx264"), ("h264-aac.mp4", "libx264"), ("hevc.mkv", "libx265"), ("mpeg4.avi", "mpeg4")]
        {
            let path = dir.path().join(name);
            let audio: &[&str] = if name.contains("aac") {
                &["-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac"]
            } else {
                &[]
            };
            let ok = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=3"])
                .args(audio)
                .args(["-c:v", codec, "-bf", "3", "-pix_fmt", "yuv420p"])
                .args(if codec == "libx265" { &["-x265-params", "log-level=error"][..] } else { &[] })
                .arg(&path)
                .status()
                .unwrap()
                .success();
            assert!(ok, "ffmpeg could not encode {name}");
            let all = decode(&path).unwrap();
            assert_eq!(all.len(), 72, "{name}");
            for sampling in [
                FrameSampling::Uniform(5),
                FrameSampling::Uniform(16),
                FrameSampling::First(7),
                FrameSampling::Middle(9),
            ] {
                let got = decode_with(&path, sampling).unwrap();
                let idx = sampling.indices(all.len(), all.fps());
                let want: Vec<u8> = idx.iter().flat_map(|&i| all.frame(i).to_vec()).collect();
                assert_eq!(got.video.len(), idx.len(), "{name} {sampling:?}");
                assert!(
                    got.video.as_bytes() == want.as_slice(),
                    "{name} {sampling:?}: frames differ from the full decode"
                );
                if sampling == FrameSampling::Uniform(5) {
                    let skips = codec != "mpeg4";
                    assert_eq!(got.report.frames_decoded < 70, skips, "{name}: {:?}", got.report);
                }
            }
            // More frames than any video may have: refused before the indices are made.
            let e = decode_with(&path, FrameSampling::Uniform(MAX_FRAMES + 1)).unwrap_err();
            assert!(matches!(e, VideoIoError::TooLong { .. }), "{name}: {e}");
        }
    }

    #[test]
    fn a_frame_out_of_line_with_its_packets_ends_the_skipping_attempt() {
        let stamps: Vec<Option<i64>> = [0, 3, 1, 2, 6, 4, 5].map(Some).to_vec();
        let counts = [1, 0, 0, 1, 0, 0, 1];
        let plan = || SkipPlan::new(&stamps, &counts).unwrap();
        // Rank 1 asked to be skipped and gone, rank 2 never asked: a frame at rank 3 is out of line.
        let mut p = plan();
        (p.asked[1], p.asked[2]) = (true, false);
        assert_eq!(p.place(Some(0)), Some(0));
        assert_eq!(p.place(Some(3)), None);
        assert!(p.misaligned);
        // Both asked: in line; an unknown timestamp or one going back is not.
        let mut p = plan();
        (p.asked[1], p.asked[2]) = (true, true);
        assert_eq!((p.place(Some(0)), p.place(Some(3))), (Some(0), Some(3)));
        assert_eq!(p.place(Some(2)), None);
        let mut p = plan();
        assert_eq!(p.place(None), None);
        // Duplicate or missing timestamps, or a count that disagrees: no plan at all.
        assert!(SkipPlan::new(&[Some(0), Some(0)], &[1, 0]).is_none());
        assert!(SkipPlan::new(&[Some(0), None], &[1, 0]).is_none());
        assert!(SkipPlan::new(&[Some(0), Some(1)], &[1, 0, 0]).is_none());
    }

    #[test]
    fn mp4_round_trip_keeps_every_frame_size_and_rate_and_is_close() {
        let dir = tempfile::tempdir().unwrap();
        for (w, h) in [(48, 32), (33, 21)] {
            let v = render(&Request {
                prompt: "a red ball moves right",
                seed: 5,
                frames: 16,
                width: w,
                height: h,
                fps: 8.0,
            });
            let path = dir.path().join(format!("v{w}.mp4"));
            let used = encode(&v, &path, &EncodeParams::h264()).unwrap();
            assert_eq!(used.pix_fmt, if w % 2 == 1 { "yuv444p" } else { "yuv420p" });
            let back = decode(&path).unwrap();
            assert_eq!((back.len(), back.width(), back.height()), (16, w, h));
            assert!((back.fps() - 8.0).abs() < 1e-9);
            let mad: f64 =
                v.as_bytes().iter().zip(back.as_bytes()).map(|(&a, &b)| f64::from(a.abs_diff(b))).sum::<f64>()
                    / v.as_bytes().len() as f64;
            // CRF 18 on flat synthetic content: mean error a few levels at most.
            assert!(mad < 4.0, "mean abs error {mad}");
            // Same input, same bytes: the encoder is deterministic.
            let again = dir.path().join("again.mp4");
            encode(&v, &again, &EncodeParams::h264()).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
        }
    }

    #[test]
    fn lossless_round_trip_is_exact_for_odd_sizes_too() {
        let dir = tempfile::tempdir().unwrap();
        for (w, h) in [(48, 32), (33, 21)] {
            let v = render(&Request {
                prompt: "a blue ball moves left",
                seed: 2,
                frames: 9,
                width: w,
                height: h,
                fps: 12.0,
            });
            let path = dir.path().join(format!("v{w}.mkv"));
            encode(&v, &path, &EncodeParams::lossless()).unwrap();
            let back = decode(&path).unwrap();
            assert_eq!(back.as_bytes(), v.as_bytes());
            assert!((back.fps() - 12.0).abs() < 1e-9);
        }
    }

    #[test]
    fn bad_inputs_are_typed_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.mp4");
        assert!(matches!(decode(&missing), Err(VideoIoError::Missing { .. })));
        let text = dir.path().join("text.mp4");
        std::fs::write(&text, b"this is not a video").unwrap();
        let e = decode(&text).unwrap_err();
        assert!(matches!(e, VideoIoError::NotAVideo { .. }), "{e}");
        assert!(e.to_string().contains("text.mp4"));
    }
}

#[cfg(test)]
mod concurrency_tests {
    use super::*;
    use videval_models::synthetic::{Request, render};

    /// Regression: the store is content-addressed, so a lossless encode must give the same bytes
    /// whatever else the process is doing (a run encodes on all cores). Matroska wrote random
    /// segment ids until muxing was made bit-exact.
    #[test]
    fn parallel_encodes_are_bit_identical() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [(48u32, 86u32), (86, 48), (80, 48), (48, 48), (112, 48), (36, 48)];
        let videos: Vec<_> = sizes
            .iter()
            .map(|&(w, h)| {
                render(&Request { prompt: "a red ball falls", seed: 9, frames: 17, width: w, height: h, fps: 8.0 })
            })
            .collect();
        let want: Vec<Vec<u8>> = videos
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let p = dir.path().join(format!("ref{i}.mkv"));
                encode(v, &p, &EncodeParams::lossless()).unwrap();
                std::fs::read(&p).unwrap()
            })
            .collect();
        for round in 0..6 {
            let paths: Vec<_> = (0..videos.len()).map(|i| dir.path().join(format!("p{round}-{i}.mkv"))).collect();
            std::thread::scope(|s| {
                for (p, v) in paths.iter().zip(&videos) {
                    s.spawn(move || encode(v, p, &EncodeParams::lossless()).unwrap());
                }
            });
            for (p, w) in paths.iter().zip(&want) {
                assert!(std::fs::read(p).unwrap() == *w, "{} differs from a lone encode", p.display());
            }
        }
    }

    /// A lossless 1080p video (frames of noise, 6 MB each) says its rate in the container, read
    /// with FFmpeg's default probe of 5 MB: without it the two frames that fit read as 1000 fps
    /// (Matroska's time base), and a camera pan measured 41 times its speed; and videval reads
    /// its rate right.
    #[test]
    fn a_large_lossless_video_keeps_its_frame_rate() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (1920u32, 1080u32);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<u8> = (0..w as usize * h as usize * 3 * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let video = Video::new(w, h, 24.0, data).unwrap();
        let path = dir.path().join("noise.mkv");
        encode(&video, &path, &EncodeParams::lossless()).unwrap();
        init();
        let input = ff::format::input(&path).unwrap();
        let stream = input.streams().best(ff::media::Type::Video).unwrap();
        assert_eq!(stream.avg_frame_rate(), ff::Rational::new(24, 1));
        assert_eq!(probe(&path).unwrap().fps, 24.0);
    }

    /// Report clips and photo-style videos are H.264: one clip encoded again and again in one
    /// process is the same bytes every time. With x264's macroblock tree it came out several
    /// ways (17 of 32 like the first on a 64×64 camera zoom), so report pages differed from
    /// render to render.
    #[test]
    fn h264_encodes_of_the_same_frames_are_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // A textured frame zooming out, as the camera suite's world renders it.
        let (w, h, n) = (64u32, 64u32, 17usize);
        let mut data = Vec::with_capacity(w as usize * h as usize * 3 * n);
        for t in 0..n {
            let zoom = 1.0 + t as f64 * 0.08;
            for y in 0..h {
                for x in 0..w {
                    let (u, v) = ((f64::from(x) - 32.0) * zoom, (f64::from(y) - 32.0) * zoom);
                    let check = ((u / 6.0).floor() as i64 + (v / 6.0).floor() as i64).rem_euclid(2) as u8;
                    let ring = (((u * u + v * v).sqrt() / 3.0).sin() * 60.0 + 100.0) as u8;
                    data.extend_from_slice(&[ring + 90 * check, 40 + 100 * check, ring / 2]);
                }
            }
        }
        let video = Video::new(w, h, 8.0, data).unwrap();
        let first = dir.path().join("first.mp4");
        encode(&video, &first, &EncodeParams::report_clip()).unwrap();
        let want = std::fs::read(&first).unwrap();
        // Closed GOPs (x264 writes its settings into the stream): an open one was not seekable
        // in Chromium past a scene cut.
        let settings = |b: &[u8]| b.windows(10).any(|w| w == b"open_gop=0");
        assert!(settings(&want), "the clip is encoded with open GOPs");
        for i in 0..24 {
            let p = dir.path().join(format!("again{i}.mp4"));
            encode(&video, &p, &EncodeParams::report_clip()).unwrap();
            assert!(std::fs::read(&p).unwrap() == want, "encode {i} differs from the first");
        }
        // And side by side, as a report makes its clips.
        let paths: Vec<_> = (0..8).map(|i| dir.path().join(format!("side{i}.mp4"))).collect();
        std::thread::scope(|s| {
            for p in &paths {
                s.spawn(|| encode(&video, p, &EncodeParams::report_clip()).unwrap());
            }
        });
        for p in &paths {
            assert!(std::fs::read(p).unwrap() == want, "{} differs from the first", p.display());
        }
    }
}
