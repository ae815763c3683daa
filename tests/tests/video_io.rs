//! Video I/O against fixtures made by the ffmpeg CLI at test time: codecs, sizes, aspect
//! ratios, variable frame rate, rotation, image folders, round trips, every error kind, and
//! streaming frame selection.

use std::path::{Path, PathBuf};
use std::process::Command;

use videval::video::{self, EncodeParams, VideoIoError, decode, decode_with, probe};
use videval_metrics::Video;
use videval_metrics::preprocess::FrameSampling;
use videval_models::synthetic::{Request, render};
use videval_tests::{Sandbox, code, text};

/// Runs the ffmpeg CLI with `args` in `dir`, writing `out`; returns its path.
fn ffmpeg(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let status = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("the ffmpeg CLI (ci/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed making {out}");
    dir.join(out)
}

fn testsrc(size: &str, rate: u32, secs: f64) -> Vec<String> {
    vec!["-f".into(), "lavfi".into(), "-i".into(), format!("testsrc=size={size}:rate={rate}:duration={secs}")]
}

fn args(v: &[String], extra: &[&str]) -> Vec<String> {
    v.iter().cloned().chain(extra.iter().map(|s| s.to_string())).collect()
}

fn run(dir: &Path, out: &str, a: Vec<String>) -> PathBuf {
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    ffmpeg(dir, out, &refs)
}

fn psnr(a: &Video, b: &Video) -> f64 {
    let mse = a.as_bytes().iter().zip(b.as_bytes()).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>()
        / a.as_bytes().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

#[test]
fn decodes_common_codecs_sizes_and_aspect_ratios() {
    let sb = Sandbox::new();
    let d = sb.path();
    let cases: Vec<(&str, &str, Vec<&str>, (u32, u32))> = vec![
        ("h264.mp4", "320x240", vec!["-c:v", "libx264", "-pix_fmt", "yuv420p"], (320, 240)),
        ("vp9.webm", "160x120", vec!["-c:v", "libvpx-vp9", "-b:v", "200k"], (160, 120)),
        ("ffv1.mkv", "33x21", vec!["-c:v", "ffv1"], (33, 21)),
        ("anim.gif", "64x48", vec![], (64, 48)),
        ("mpeg4.mov", "90x160", vec!["-c:v", "mpeg4"], (90, 160)),
        ("wide.mp4", "210x90", vec!["-c:v", "libx264", "-pix_fmt", "yuv420p"], (210, 90)),
    ];
    for (name, size, extra, (w, h)) in cases {
        let path = run(d, name, args(&testsrc(size, 10, 1.0), &extra));
        let info = probe(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((info.width, info.height), (w, h), "{name}");
        let v = decode(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((v.width(), v.height(), v.len()), (w, h, 10), "{name}");
        assert!((v.fps() - 10.0).abs() < 1e-6, "{name}: {} fps", v.fps());
    }
}

#[test]
fn rotation_metadata_is_applied_like_a_player() {
    let sb = Sandbox::new();
    let plain =
        run(sb.path(), "plain.mp4", args(&testsrc("64x48", 10, 0.5), &["-c:v", "libx264", "-pix_fmt", "yuv420p"]));
    let rotated = ffmpeg(sb.path(), "rot.mp4", &["-i", "plain.mp4", "-c", "copy", "-metadata:s:v:0", "rotate=90"]);
    let info = probe(&rotated).unwrap();
    assert!(info.rotation == 90 || info.rotation == 270, "rotation {}", info.rotation);
    assert!((info.dar - 48.0 / 64.0).abs() < 1e-9);
    // Anamorphic and turned: the pixels' aspect turns with the picture (a player shows 64×48
    // coded at 2:1 as 128×48, and turned a quarter as 48×128).
    let wide = run(
        sb.path(),
        "sar2.mp4",
        args(&testsrc("64x48", 10, 0.5), &["-vf", "setsar=2", "-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    );
    let turned = ffmpeg(sb.path(), "sar2rot.mp4", &["-i", "sar2.mp4", "-c", "copy", "-metadata:s:v:0", "rotate=90"]);
    assert!((probe(&wide).unwrap().dar - 128.0 / 48.0).abs() < 1e-9);
    assert!((probe(&turned).unwrap().dar - 48.0 / 128.0).abs() < 1e-9, "{}", probe(&turned).unwrap().dar);
    // The aspect_ratio metric reports what a player shows, not the coded 4:3.
    for (file, want) in [(&wide, 128.0 / 48.0), (&turned, 48.0 / 128.0)] {
        let (c, v) = sb.run_json(&["video", "score", &file.display().to_string(), "--metrics", "aspect_ratio"]);
        assert_eq!(c, 0, "{v}");
        let got = v["metrics"][0]["value"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{}: aspect_ratio {got}, a player shows {want}", file.display());
    }
    // The report's clips and filmstrips show it so too, resampled at its height (they were
    // squeezed to the coded 4:3).
    for (file, want) in [(&wide, (128, 48)), (&turned, (24, 64))] {
        let small = videval::media::small_video(file).unwrap();
        assert_eq!((small.width(), small.height()), want, "{}", file.display());
    }
    let (a, b) = (decode(&plain).unwrap(), decode(&rotated).unwrap());
    assert_eq!((b.width(), b.height()), (48, 64));
    // Every pixel moves where a clockwise rotation by `info.rotation` puts it.
    let (w, h) = (64usize, 48usize);
    for (x, y) in [(0, 0), (63, 0), (10, 40), (63, 47), (31, 20)] {
        let s = &a.frame(0)[(y * w + x) * 3..(y * w + x) * 3 + 3];
        let (nx, ny) = if info.rotation == 90 { (h - 1 - y, x) } else { (y, w - 1 - x) };
        let t = &b.frame(0)[(ny * h + nx) * 3..(ny * h + nx) * 3 + 3];
        assert_eq!(s, t, "pixel ({x}, {y})");
    }
    // The ffmpeg CLI autorotates. Rotating its plain frame the way we rotate must give its
    // rotated frame (same conversion path on both sides, so near-exact), and the opposite
    // direction must not.
    let first = |p: &Path| cli_rgb(p, "null")[..48 * 64 * 3].to_vec();
    let (cli_plain, cli_rot) = (first(&plain), first(&rotated));
    assert_eq!(cli_rgb(&rotated, "null").len(), 48 * 64 * 3 * 5, "five turned frames");
    let turn = |deg: u32| {
        let mut out = vec![0u8; cli_plain.len()];
        for y in 0..h {
            for x in 0..w {
                let (nx, ny) = if deg == 90 { (h - 1 - y, x) } else { (y, w - 1 - x) };
                out[(ny * h + nx) * 3..(ny * h + nx) * 3 + 3]
                    .copy_from_slice(&cli_plain[(y * w + x) * 3..(y * w + x) * 3 + 3]);
            }
        }
        out
    };
    let ours = psnr_frame(&turn(info.rotation), &cli_rot);
    let other = psnr_frame(&turn(360 - info.rotation), &cli_rot);
    assert!(ours > 35.0 && ours > other + 10.0, "ours {ours:.1} dB, opposite {other:.1} dB");
}

/// An H.264 stream cropped on the left and top by amounts the decoder cannot align (16 columns,
/// 8 rows) is cropped exactly: the decoder handed over frames 16 columns wider than the stream's
/// size, which were squeezed to it (matching no window of the picture).
#[test]
fn an_unaligned_h264_crop_is_applied_exactly() {
    let sb = Sandbox::new();
    let orig =
        run(sb.path(), "orig.mp4", args(&testsrc("320x240", 24, 0.5), &["-c:v", "libx264", "-pix_fmt", "yuv420p"]));
    let cropped = ffmpeg(
        sb.path(),
        "crop.mp4",
        &["-i", "orig.mp4", "-c", "copy", "-bsf:v", "h264_metadata=crop_left=16:crop_top=8"],
    );
    let (full, crop) = (decode(&orig).unwrap(), decode(&cropped).unwrap());
    assert_eq!((crop.width(), crop.height(), crop.len()), (304, 232, full.len()));
    for t in 0..full.len() {
        let (f, c) = (full.frame(t), crop.frame(t));
        for y in 0..232 {
            let src = ((y + 8) * 320 + 16) * 3;
            assert_eq!(&c[y * 304 * 3..(y + 1) * 304 * 3], &f[src..src + 304 * 3], "frame {t}, row {y}");
        }
    }
}

/// A display matrix with a flip (hflip, vflip, a transpose) is shown as the ffmpeg CLI shows it:
/// a mirrored selfie clip was read as turned 180° (upside down) and a vflip was ignored.
#[test]
fn flipped_display_matrices_are_applied_as_the_cli_does() {
    let sb = Sandbox::new();
    run(sb.path(), "plain.mp4", args(&testsrc("64x48", 10, 0.5), &["-c:v", "libx264", "-pix_fmt", "yuv420p"]));
    let plain = std::fs::read(sb.join("plain.mp4")).unwrap();
    // The track header's matrix (a b u / c d v / x y w, 16.16 fixed point): after 'tkhd', its
    // version and flags, times, ids, duration, reserved words, layer, group, volume.
    let at = plain.windows(4).position(|w| w == b"tkhd").unwrap();
    let off = at + 4 + 4 + if plain[at + 4] == 1 { 32 } else { 20 } + 8 + 8;
    for (name, [a, b, c, d], rotation, mirrored) in [
        ("hflip", [-1, 0, 0, 1], 0, true),
        ("vflip", [1, 0, 0, -1], 180, true),
        ("transpose", [0, 1, 1, 0], 90, true),
        ("turned", [0, 1, -1, 0], 90, false),
    ] {
        let mut bytes = plain.clone();
        let fx = |v: i32| (v << 16).to_be_bytes();
        let (tx, ty): (i32, i32) =
            (if a < 0 || c < 0 { 64 << 16 } else { 0 }, if d < 0 || b < 0 { 48 << 16 } else { 0 });
        let matrix = [
            fx(a),
            fx(b),
            [0; 4],
            fx(c),
            fx(d),
            [0; 4],
            tx.to_be_bytes(),
            ty.to_be_bytes(),
            (1i32 << 30).to_be_bytes(),
        ];
        bytes[off..off + 36].copy_from_slice(&matrix.concat());
        let path = sb.join(&format!("{name}.mp4"));
        std::fs::write(&path, &bytes).unwrap();
        let info = probe(&path).unwrap();
        assert_eq!((info.rotation, info.mirrored), (rotation, mirrored), "{name}");
        let ours = decode(&path).unwrap();
        let cli = cli_rgb(&path, "null");
        let n = ours.frame(0).len();
        assert_eq!(cli.len(), n * 5, "{name}: the CLI's frames are of our size");
        let db = psnr_frame(ours.frame(0), &cli[..n]);
        assert!(db > 35.0, "{name}: {db:.1} dB from the CLI's frame");
    }
}

/// A photo's EXIF orientation is applied as viewers (and PIL's exif_transpose, which image-to-video
/// pipelines call) apply it: every one of the eight. A phone's portrait JPEG was read sideways.
/// A JPEG cut short is refused.
#[test]
fn a_jpegs_exif_orientation_is_applied_as_viewers_do() {
    let sb = Sandbox::new();
    run(sb.path(), "plain.jpg", args(&testsrc("48x32", 1, 1.0), &["-frames:v", "1", "-q:v", "2"]));
    let plain = std::fs::read(sb.join("plain.jpg")).unwrap();
    let base = decode(&sb.join("plain.jpg")).unwrap();
    let (w, h) = (base.width() as usize, base.height() as usize);
    // A picture cut short is refused, as image libraries refuse it (FFmpeg filled the missing
    // rows with flat green without a word).
    std::fs::write(sb.join("cut.jpg"), &plain[..plain.len() / 2]).unwrap();
    assert!(matches!(decode(&sb.join("cut.jpg")), Err(VideoIoError::Damaged { .. })), "a JPEG cut in half decoded");
    let px = |x: usize, y: usize| &base.frame(0)[(y * w + x) * 3..(y * w + x) * 3 + 3];
    // Where displayed pixel (x, y) comes from in the stored picture, per orientation.
    type From = fn(usize, usize, usize, usize) -> (usize, usize);
    let cases: [(u16, bool, From); 8] = [
        (1, false, |x, y, _, _| (x, y)),
        (2, false, |x, y, w, _| (w - 1 - x, y)),
        (3, false, |x, y, w, h| (w - 1 - x, h - 1 - y)),
        (4, false, |x, y, _, h| (x, h - 1 - y)),
        (5, true, |x, y, _, _| (y, x)),
        (6, true, |x, y, _, h| (y, h - 1 - x)),
        (7, true, |x, y, w, h| (w - 1 - y, h - 1 - x)),
        (8, true, |x, y, w, _| (w - 1 - y, x)),
    ];
    for big_endian in [true, false] {
        for (tag, turned, from) in cases {
            // APP1: "Exif\0\0", a TIFF header, one IFD holding Orientation (0x0112, SHORT, 1).
            let (u16b, u32b): (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]) =
                if big_endian { (u16::to_be_bytes, u32::to_be_bytes) } else { (u16::to_le_bytes, u32::to_le_bytes) };
            let mut tiff: Vec<u8> = if big_endian { b"MM\0*".to_vec() } else { b"II*\0".to_vec() };
            tiff.extend(u32b(8));
            tiff.extend(u16b(1));
            tiff.extend([u16b(0x0112), u16b(3)].concat());
            tiff.extend(u32b(1));
            tiff.extend([u16b(tag), [0, 0]].concat());
            tiff.extend(u32b(0));
            let mut app1 = b"Exif\0\0".to_vec();
            app1.extend(tiff);
            let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE1];
            bytes.extend(((app1.len() + 2) as u16).to_be_bytes());
            bytes.extend(app1);
            bytes.extend(&plain[2..]);
            let path = sb.join(&format!("o{tag}.jpg"));
            std::fs::write(&path, &bytes).unwrap();
            let v = decode(&path).unwrap();
            let (dw, dh) = if turned { (h, w) } else { (w, h) };
            assert_eq!((v.width() as usize, v.height() as usize), (dw, dh), "orientation {tag}");
            for y in 0..dh {
                for x in 0..dw {
                    let (sx, sy) = from(x, y, w, h);
                    assert_eq!(
                        &v.frame(0)[(y * dw + x) * 3..(y * dw + x) * 3 + 3],
                        px(sx, sy),
                        "orientation {tag} at {x},{y}"
                    );
                }
            }
        }
    }
}

/// CRC-32 (as PNG chunks carry it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// A little-endian TIFF structure whose first IFD holds `entries` (tag, type, count, value or
/// offset), sorted by tag, followed by `data` at offset 8 + 2 + 12·n + 4.
fn tiff_le(entries: &[(u16, u16, u32, u32)], data: &[u8]) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend(8u32.to_le_bytes());
    t.extend((entries.len() as u16).to_le_bytes());
    for &(tag, kind, count, value) in entries {
        t.extend(tag.to_le_bytes());
        t.extend(kind.to_le_bytes());
        t.extend(count.to_le_bytes());
        t.extend(value.to_le_bytes());
    }
    t.extend(0u32.to_le_bytes());
    t.extend(data);
    t
}

/// A PNG's (eXIf chunk), a WebP's (EXIF chunk) and a TIFF's own orientation tag are applied as
/// PIL's exif_transpose applies them (only a JPEG's was: a phone's portrait PNG was read
/// sideways); a TIFF with tags FFmpeg does not know (a resolution unit) is read (it was "decoded
/// zero frames"), and one compressed with JPEG, which FFmpeg decodes wrongly, is refused.
#[test]
fn png_webp_and_tiff_orientations_are_applied_and_tiffs_read() {
    let sb = Sandbox::new();
    run(sb.path(), "plain.png", args(&testsrc("48x32", 1, 1.0), &["-frames:v", "1"]));
    run(
        sb.path(),
        "plain.webp",
        args(&testsrc("48x32", 1, 1.0), &["-frames:v", "1", "-c:v", "libwebp", "-lossless", "1"]),
    );
    let base = decode(&sb.join("plain.png")).unwrap();
    let (w, h) = (48usize, 32usize);
    // Orientation 6: displayed pixel (x, y) is stored pixel (y, h − 1 − x).
    let turned = |v: &Video, what: &str| {
        assert_eq!((v.width(), v.height()), (32, 48), "{what}");
        for y in 0..w {
            for x in 0..h {
                let (sx, sy) = (y, h - 1 - x);
                let (a, b) = ((y * h + x) * 3, (sy * w + sx) * 3);
                assert_eq!(&v.frame(0)[a..a + 3], &base.frame(0)[b..b + 3], "{what} at {x},{y}");
            }
        }
    };
    let exif6 = tiff_le(&[(0x0112, 3, 1, 6)], &[]);
    // PNG: an eXIf chunk after IHDR.
    let png = std::fs::read(sb.join("plain.png")).unwrap();
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut chunk = (exif6.len() as u32).to_be_bytes().to_vec();
    let body = [b"eXIf".as_slice(), &exif6].concat();
    chunk.extend(&body);
    chunk.extend(crc32(&body).to_be_bytes());
    std::fs::write(sb.join("o6.png"), [&png[..ihdr_end], &chunk, &png[ihdr_end..]].concat()).unwrap();
    turned(&decode(&sb.join("o6.png")).unwrap(), "png");
    // WebP: the extended format (VP8X, its EXIF flag set), the picture's chunk, an EXIF chunk.
    let webp = std::fs::read(sb.join("plain.webp")).unwrap();
    let mut vp8x = b"VP8X".to_vec();
    vp8x.extend(10u32.to_le_bytes());
    vp8x.extend([0x08, 0, 0, 0]);
    vp8x.extend(&(w as u32 - 1).to_le_bytes()[..3]);
    vp8x.extend(&(h as u32 - 1).to_le_bytes()[..3]);
    let mut exif_chunk = b"EXIF".to_vec();
    exif_chunk.extend((exif6.len() as u32).to_le_bytes());
    exif_chunk.extend(&exif6);
    let inner = [b"WEBP".as_slice(), &vp8x, &webp[12..], &exif_chunk].concat();
    let riff = [b"RIFF".as_slice(), &(inner.len() as u32).to_le_bytes(), &inner].concat();
    std::fs::write(sb.join("o6.webp"), riff).unwrap();
    turned(&decode(&sb.join("o6.webp")).unwrap(), "webp");
    // TIFF: uncompressed RGB in one strip, as PIL writes it with a dpi (ResolutionUnit 296).
    let tiff = |compression: u32, orientation: u32| {
        let n = 13;
        let pixels_at = (8 + 2 + 12 * n + 4) as u32;
        let bits_at = pixels_at + (w * h * 3) as u32;
        let mut data = base.frame(0).to_vec();
        data.extend([8u16, 8, 8].iter().flat_map(|b| b.to_le_bytes()));
        let resolution_at = bits_at + 6;
        data.extend([72u32, 1, 72, 1].iter().flat_map(|v| v.to_le_bytes()));
        tiff_le(
            &[
                (256, 3, 1, w as u32),
                (257, 3, 1, h as u32),
                (258, 3, 3, bits_at),
                (259, 3, 1, compression),
                (262, 3, 1, 2),
                (273, 4, 1, pixels_at),
                (274, 3, 1, orientation),
                (277, 3, 1, 3),
                (278, 3, 1, h as u32),
                (279, 4, 1, (w * h * 3) as u32),
                (282, 5, 1, resolution_at),
                (283, 5, 1, resolution_at + 8),
                (296, 3, 1, 2),
            ],
            &data,
        )
    };
    std::fs::write(sb.join("o1.tiff"), tiff(1, 1)).unwrap();
    assert_eq!(decode(&sb.join("o1.tiff")).unwrap().frame(0), base.frame(0), "an upright TIFF with a dpi");
    std::fs::write(sb.join("o6.tiff"), tiff(1, 6)).unwrap();
    turned(&decode(&sb.join("o6.tiff")).unwrap(), "tiff");
    std::fs::write(sb.join("jpeg.tiff"), tiff(7, 1)).unwrap();
    let e = decode(&sb.join("jpeg.tiff")).unwrap_err().to_string();
    assert!(e.contains("a TIFF compressed with JPEG (compression 7)"), "{e}");
    for still in ["o6.png", "o6.webp", "o6.tiff"] {
        assert_eq!(video::decode_versions(&sb.join(still)).1, Some(video::STILL_DECODE), "{still}");
    }
}

/// A 4:2:0 JPEG's chroma is interpolated as image libraries do (libjpeg, which PIL, imread and
/// diffusers use): closer to the picture than FFmpeg's default conversion, which left a JPEG
/// 34 dB from what an image-to-video model reads. Video keeps the default (decord's, VBench's).
#[test]
fn a_jpegs_chroma_is_interpolated_as_image_libraries_do() {
    let sb = Sandbox::new();
    ffmpeg(sb.path(), "src.png", &["-f", "lavfi", "-i", "mandelbrot=s=128x96", "-frames:v", "1"]);
    ffmpeg(sb.path(), "j.jpg", &["-i", "src.png", "-q:v", "2", "-pix_fmt", "yuvj420p"]);
    let src = decode(&sb.join("src.png")).unwrap();
    let ours = decode(&sb.join("j.jpg")).unwrap();
    let default = cli_rgb(&sb.join("j.jpg"), "null");
    let (a, b) = (psnr_frame(ours.frame(0), src.frame(0)), psnr_frame(&default, src.frame(0)));
    assert!(a > b + 0.2, "{a:.2} dB from the picture, FFmpeg's default {b:.2}");
    // Pictures' scores are keyed by their own decode version, videos' by theirs alone (a change
    // to pictures recomputed every video's scores).
    ffmpeg(sb.path(), "v.mkv", &["-f", "lavfi", "-i", "testsrc=s=32x24:d=0.2", "-c:v", "ffv1"]);
    assert_eq!(video::decode_versions(&sb.join("v.mkv")), (video::DECODE, None));
    for still in ["j.jpg", "src.png"] {
        assert_eq!(video::decode_versions(&sb.join(still)), (video::DECODE, Some(video::STILL_DECODE)), "{still}");
    }
}

/// The ffmpeg CLI's RGB24 frames of `path` (each decoded frame once), through its scale filter
/// with `vf` options.
fn cli_rgb(path: &Path, vf: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vf", vf, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// How many bytes differ (all of the longer one's when the lengths differ).
fn differing(a: &[u8], b: &[u8]) -> usize {
    if a.len() != b.len() {
        return a.len().max(b.len());
    }
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

#[test]
fn colour_matrix_and_range_tags_are_honoured_as_ffmpeg_opencv_and_decord_do() {
    // Checked here against the ffmpeg CLI; PyAV 18.1, OpenCV 5.1 and decord 0.6 gave the same
    // bytes as videval on these clips when measured (README, "Colour tags").
    let sb = Sandbox::new();
    // An HDR file says so (it is read without tone mapping, as decord and PyAV read it).
    ffmpeg(
        sb.path(),
        "pq.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=64x48:d=0.2",
            "-c:v",
            "ffv1",
            "-pix_fmt",
            "yuv420p10le",
            "-color_trc",
            "smpte2084",
            "-color_primaries",
            "bt2020",
            "-colorspace",
            "bt2020nc",
        ],
    );
    let info = probe(&sb.join("pq.mkv")).unwrap();
    assert_eq!((info.color_transfer.as_str(), info.color_primaries.as_str()), ("smpte2084", "bt2020"), "{info:?}");
    let o = sb.run(&["video", "info", "pq.mkv"]);
    assert!(text(&o).contains("HDR (PQ): read without tone mapping"), "{}", text(&o));
    // … and so do `video score` and a run's record of it (they measured it without a word).
    let (rc, v) = sb.run_json(&["video", "score", "pq.mkv", "--metrics", "frame_count"]);
    assert_eq!((rc, v["warnings"][0].as_str().unwrap_or_default().contains("is HDR (PQ)")), (0, true), "{v}");
    std::fs::create_dir_all(sb.join("hdr")).unwrap();
    std::fs::copy(sb.join("pq.mkv"), sb.join("hdr/a lamp-0.mkv")).unwrap();
    sb.write(
        "hdr.yaml",
        "schema: 1\nsuite: hdr\nversion: 1\ndefaults: {seeds: {per_case: 1, base: 1}, generation: {frames: 5, width: 64, height: 48, fps: 25}}\nmetrics: [frame_count]\ncases: [{id: a, prompt: a lamp}]\n",
    );
    let o = sb.run(&["run", "--suite", "hdr.yaml", "--model", "dir:hdr", "--out", "runs/hdr"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let gens = String::from_utf8(sb.read("runs/hdr/shards/0-of-1/generations.jsonl")).unwrap();
    assert!(gens.contains("\"off_request\":\"HDR (PQ), measured without tone mapping\""), "{gens}");
    assert!(text(&o).contains("or are HDR, measured without tone mapping"), "{}", text(&o));
    let src = "testsrc2=size=96x64:rate=10:duration=0.5";
    // What HD cameras and generators write: BT.709, limited range (H.264, lossless); BT.709 full
    // range in plain yuv420p (no yuvj format says so, only the tag); BT.2020 10-bit.
    let cases = [
        (
            "bt709.mp4",
            "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "tv",
            "bt709",
            vec!["-colorspace", "bt709", "-c:v", "libx264", "-qp", "0"],
        ),
        (
            "full709.mkv",
            "scale=out_color_matrix=bt709:out_range=pc,format=yuv420p",
            "pc",
            "bt709",
            vec!["-colorspace", "bt709", "-color_range", "pc", "-c:v", "ffv1"],
        ),
        (
            "bt2020.mkv",
            "scale=out_color_matrix=bt2020:out_range=tv,format=yuv420p10le",
            "tv",
            "bt2020nc",
            vec!["-colorspace", "bt2020nc", "-color_range", "tv", "-c:v", "ffv1"],
        ),
    ];
    for (name, vf, range, matrix, extra) in cases {
        let mut a = vec!["-f", "lavfi", "-i", src, "-vf", vf];
        a.extend(extra);
        let path = ffmpeg(sb.path(), name, &a);
        let info = probe(&path).unwrap();
        assert_eq!((info.color_matrix.as_str(), info.color_range.as_str()), (matrix, range), "{name}");
        let ours = decode(&path).unwrap();
        // The CLI with the same scaler flags reads the tags: equal bytes.
        assert_eq!(differing(ours.as_bytes(), &cli_rgb(&path, "scale=flags=bilinear")), 0, "{name}: bytes differ");
        // Read as untagged BT.601 limited range (what a bare swscale context does), the
        // pixels are off by several levels on average: the tags are what made them equal.
        let as_601 = cli_rgb(&path, "scale=flags=bilinear:in_color_matrix=bt601:in_range=tv");
        let mae = ours.as_bytes().iter().zip(&as_601).map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs()).sum::<f64>()
            / as_601.len() as f64;
        assert!(mae > 2.0, "{name}: only {mae:.2} levels from a BT.601 reading");
    }
    // Untagged stays BT.601 of the pixel format's range, as every FFmpeg-based reader has it.
    let plain = run(
        sb.path(),
        "plain.mp4",
        args(&testsrc("96x64", 10, 0.5), &["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"]),
    );
    let info = probe(&plain).unwrap();
    assert_eq!((info.color_matrix.as_str(), info.color_range.as_str()), ("unknown", "unknown"));
    let as_601 = cli_rgb(&plain, "scale=flags=bilinear:in_color_matrix=bt601:in_range=tv");
    assert_eq!(differing(decode(&plain).unwrap().as_bytes(), &as_601), 0);
}

#[test]
fn variable_frame_rate_is_resampled_by_timestamps() {
    let sb = Sandbox::new();
    // 25 frames at 25 fps, then frames every 0.1 s: pts_N = N/25 for N < 25, 1 + (N − 25)/10.
    let path = run(
        sb.path(),
        "vfr.mkv",
        args(
            &testsrc("64x48", 25, 2.0),
            &["-vf", "setpts='if(lt(N,25),N/25,1+(N-25)/10)/TB'", "-fps_mode", "vfr", "-c:v", "ffv1"],
        ),
    );
    let all = decode(&path).unwrap();
    assert_eq!(all.len(), 50);
    let pts = |n: usize| if n < 25 { n as f64 / 25.0 } else { 1.0 + (n - 25) as f64 / 10.0 };
    let resampled = decode_with(&path, FrameSampling::Fps(5.0)).unwrap();
    assert_eq!(resampled.video.fps(), 5.0);
    assert!(resampled.video.len() >= 17, "{} frames", resampled.video.len());
    for k in 0..resampled.video.len() {
        let t = k as f64 / 5.0;
        let want = (0..50).filter(|&n| pts(n) <= t + 1e-9).max().unwrap();
        assert_eq!(
            resampled.video.frame(k),
            all.frame(want),
            "output frame {k} (t = {t}) should be source frame {want}"
        );
    }
}

/// A variable-rate file's frame rate is its average a second in every container: Matroska and
/// WebM gave their header's rate (the 60 fps its frames were picked from, where it shows 24 a
/// second), and per-second motion on them read 2.5× what the same frames in an MP4 read. A
/// constant-rate file keeps its header's exact rate.
#[test]
fn a_variable_rate_file_reads_at_its_average_rate_in_every_container() {
    let sb = Sandbox::new();
    // Frames 0, 1, 5, 6, 10, 11, … of a 60 fps source: 1/60 s and 4/60 s apart, 72 in 2.95 s.
    let vfr = |name: &str, codec: &str| {
        run(
            sb.path(),
            name,
            args(&testsrc("64x48", 60, 3.0), &["-vf", "select='lt(mod(n,5),2)'", "-fps_mode", "vfr", "-c:v", codec]),
        )
    };
    let want = 72.0 / 2.95;
    for (name, codec) in [("v.mp4", "libx264"), ("v.mkv", "libx264"), ("v.mkv2.mkv", "ffv1"), ("v.webm", "libvpx-vp9")]
    {
        let path = vfr(name, codec);
        let fps = probe(&path).unwrap().fps;
        // Matroska's is the mean interval (71 over 2.933 s), MP4's its count over its length.
        assert!((fps / want - 1.0).abs() < 0.015, "{name}: {fps} fps, want {want}");
        let video = decode(&path).unwrap();
        assert_eq!((video.len(), video.fps()), (72, fps), "{name}");
    }
    let ntsc = run(sb.path(), "ntsc.mkv", args(&testsrc("64x48", 30, 1.0), &["-r", "30000/1001", "-c:v", "ffv1"]));
    assert_eq!(probe(&ntsc).unwrap().fps, 30000.0 / 1001.0);
    // Constant rates keep their header's exactly, however the millisecond timestamps round: with
    // an AAC track (the video starts 23 ms in; read 29.66 from its tagged end), and a few
    // frames at a high rate (4 at 120 fps read 121.2).
    let av = ffmpeg(
        sb.path(),
        "av.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
        ],
    );
    let fast = run(sb.path(), "fast.mkv", args(&testsrc("64x48", 120, 4.0 / 120.0), &["-c:v", "libx264"]));
    assert_eq!((probe(&av).unwrap().fps, probe(&fast).unwrap().fps), (30.0, 120.0));
    // Three frames, the last stamped at 1,000,000 s, are read at the rate they have: a file is
    // not refused for a slow rate (a slideshow of a frame every 200 s is one).
    let gap = run(
        sb.path(),
        "gap.mkv",
        args(
            &testsrc("64x48", 8, 0.375),
            &["-vf", "setpts='if(eq(N,2),1000000/TB,PTS)'", "-fps_mode", "passthrough", "-c:v", "ffv1"],
        ),
    );
    let video = decode(&gap).unwrap();
    assert_eq!(video.len(), 3);
    assert!(video.fps() > 0.0 && video.fps() < 1e-5, "{}", video.fps());
}

/// What a recorder writes is read as it is, and what was cut short is said so however it is
/// sampled: an MP4 holding a frame for a second (variable rate; refused as "frames missing"), an
/// FFV1 file cut short and sampled uniformly (its survivors were scored), a fragmented MP4 cut
/// mid-fragment (an internal error downstream), and an MP3's cover art (a 90000 fps clip).
#[test]
fn held_frames_cut_files_and_cover_art_are_told_apart() {
    let sb = Sandbox::new();
    let src = testsrc("64x48", 30, 3.0);
    let hold = "setpts='if(lt(N,30),N/30,if(lt(N,31),1,2+(N-31)/30))/TB'";
    let held = run(sb.path(), "held.mp4", args(&src, &["-vf", hold, "-fps_mode", "vfr", "-c:v", "libx264"]));
    assert_eq!(decode(&held).unwrap().len(), 90);
    let cut = |name: &str, extra: &[&str]| {
        let whole = run(sb.path(), name, args(&src, extra));
        let bytes = std::fs::read(&whole).unwrap();
        let cut = sb.join(&format!("cut-{name}"));
        std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
        cut
    };
    let ffv1 = cut("whole.mkv", &["-c:v", "ffv1"]);
    let e = decode_with(&ffv1, FrameSampling::Uniform(8)).unwrap_err();
    assert!(matches!(e, VideoIoError::Truncated { .. }), "{e}");
    let frag = cut("frag.mp4", &["-c:v", "libx264", "-g", "4", "-movflags", "frag_keyframe+empty_moov"]);
    let e = decode_with(&frag, FrameSampling::Uniform(8)).unwrap_err();
    assert!(matches!(e, VideoIoError::Damaged { .. } | VideoIoError::Truncated { .. }), "{e}");
    ffmpeg(sb.path(), "red.png", &["-f", "lavfi", "-i", "color=red:s=32x32", "-frames:v", "1"]);
    let mp3 = ffmpeg(
        sb.path(),
        "song.mp3",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=d=1",
            "-i",
            "red.png",
            "-map",
            "0",
            "-map",
            "1",
            "-c:v",
            "mjpeg",
            "-disposition:v",
            "attached_pic",
        ],
    );
    let e = probe(&mp3).unwrap_err();
    assert!(e.to_string().contains("cover art"), "{e}");
}

#[test]
fn a_folder_of_frames_decodes_in_natural_order() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.join("frames")).unwrap();
    run(&sb.join("frames"), "f%d.png", args(&testsrc("32x24", 10, 1.2), &[]));
    let whole = run(sb.path(), "whole.mkv", args(&testsrc("32x24", 10, 1.2), &["-c:v", "ffv1"]));
    let d = video::decode_frames_dir(&sb.join("frames"), 10.0, FrameSampling::All, u64::MAX).unwrap();
    let v = decode(&whole).unwrap();
    assert_eq!(d.video.len(), 12);
    // f10.png and f11.png come after f9.png: frame order equals the video's.
    for t in 0..12 {
        assert!(psnr_frame(d.video.frame(t), v.frame(t)) > 40.0, "frame {t} out of order");
    }
    // Only the frames asked for are read, and what they hold must fit (every frame was kept).
    let first = video::decode_frames_dir(&sb.join("frames"), 10.0, FrameSampling::First(1), u64::MAX).unwrap();
    assert_eq!((first.video.len(), first.video.frame(0)), (1, d.video.frame(0)));
    let e = video::decode_frames_dir(&sb.join("frames"), 10.0, FrameSampling::All, 12 * 32 * 24 * 3 - 1).unwrap_err();
    assert!(matches!(e, VideoIoError::TooLong { .. }), "{e}");
    // A file holding several frames is not one frame of the folder (an MP4 named .png was read
    // to its end and kept as one; an APNG cut to its first frame).
    run(&sb.join("frames"), "f12.png", args(&testsrc("32x24", 10, 0.3), &["-f", "apng"]));
    let e = video::decode_frames_dir(&sb.join("frames"), 10.0, FrameSampling::All, u64::MAX).unwrap_err();
    assert!(e.to_string().contains("holds more than one frame"), "{e}");
}

/// A folder's frames are every picture it holds in its numbers' order, whatever their ending
/// (every third frame a WebP or BMP was dropped without a word) and however long their numbers
/// (past 20 digits they were shuffled); hidden files and macOS's `._` companions are left out
/// (one made the folder unreadable); a picture named unlike the frames, or two frames of one
/// number, are refused, named; skipped numbers are counted.
#[test]
fn a_folder_of_frames_reads_every_picture_in_order_and_refuses_strangers() {
    let sb = Sandbox::new();
    let whole = run(sb.path(), "whole.mkv", args(&testsrc("32x24", 10, 0.9), &["-c:v", "ffv1"]));
    let v = decode(&whole).unwrap();
    let dir = sb.join("frames");
    std::fs::create_dir_all(&dir).unwrap();
    for t in 0..9 {
        let ext = ["png", "webp", "bmp"][t % 3];
        let name = format!("shot_{}{t:02}.{ext}", "0".repeat(20));
        let mut extra = vec!["-vf".to_string(), format!("select=eq(n\\,{t})"), "-frames:v".into(), "1".into()];
        if ext == "webp" {
            extra.extend(["-c:v", "libwebp", "-lossless", "1"].map(String::from));
        }
        let a: Vec<&str> = extra.iter().map(String::as_str).collect();
        run(&dir, &name, args(&["-i".to_string(), whole.display().to_string()], &a));
    }
    std::fs::write(dir.join("._shot_00.png"), b"\0\x05\x16\x07 AppleDouble").unwrap();
    std::fs::write(dir.join(".DS_Store"), b"junk").unwrap();
    let d = video::decode_frames_dir(&dir, 10.0, FrameSampling::All, u64::MAX).unwrap();
    assert_eq!((d.video.len(), d.report.frames_missing), (9, 0));
    for t in 0..9 {
        assert!(psnr_frame(d.video.frame(t), v.frame(t)) > 40.0, "frame {t} out of order");
    }
    // Numbers that skip: counted.
    let zeros = "0".repeat(20);
    std::fs::rename(dir.join(format!("shot_{zeros}08.bmp")), dir.join(format!("shot_{zeros}11.bmp"))).unwrap();
    let d = video::decode_frames_dir(&dir, 10.0, FrameSampling::All, u64::MAX).unwrap();
    assert_eq!((d.video.len(), d.report.frames_missing), (9, 3), "07 → 11 skips three");
    // `video info` reads a folder as `convert` does (it refused it as not a regular file): from
    // its first picture alone, or decoding every frame.
    let (rc, v) = sb.run_json(&["video", "info", "frames", "--fps", "10"]);
    assert_eq!(rc, 0, "{v}");
    let i = &v["info"];
    assert_eq!((i["width"].as_u64(), i["height"].as_u64(), i["frames"].as_u64()), (Some(32), Some(24), Some(9)), "{v}");
    assert_eq!(
        (i["fps"].as_f64(), i["container"].as_str(), v["decode"].is_null()),
        (Some(10.0), Some("image_sequence"), true)
    );
    let out = sb.run(&["video", "info", "frames"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the frames' numbers skip 3 frame(s)"), "{err}");
    let (rc, v) = sb.run_json(&["video", "info", "frames", "--decode", "--frames", "first:4"]);
    assert_eq!(
        (rc, v["decode"]["frames_kept"].as_u64(), v["decode"]["frames_missing"].as_u64()),
        (0, Some(4), Some(3)),
        "{v}"
    );
    let out = sb.run(&["video", "info", "frames", "--fps", "0"]);
    assert_eq!(out.status.code(), Some(3));
    // A cover among the frames, and two frames of one number.
    std::fs::copy(dir.join(format!("shot_{}00.png", "0".repeat(20))), dir.join("cover.png")).unwrap();
    let e = video::decode_frames_dir(&dir, 10.0, FrameSampling::All, u64::MAX).unwrap_err().to_string();
    assert!(e.contains("cover.png") && e.contains("named otherwise than the folder's numbered frames"), "{e}");
    std::fs::remove_file(dir.join("cover.png")).unwrap();
    std::fs::copy(dir.join(format!("shot_{}00.png", "0".repeat(20))), dir.join("shot_0.png")).unwrap();
    let e = video::decode_frames_dir(&dir, 10.0, FrameSampling::All, u64::MAX).unwrap_err().to_string();
    assert!(e.contains("two frames cannot hold one place"), "{e}");
    // A folder of videos (a `dir:` model's) is said to be one (it "decoded zero frames").
    std::fs::create_dir_all(sb.join("vids")).unwrap();
    std::fs::copy(&whole, sb.join("vids/a.mkv")).unwrap();
    let o = sb.run(&["video", "info", "vids"]);
    assert!(
        o.status.code() == Some(3) && text(&o).contains("it holds 1 video file(s): give one of them"),
        "{}",
        text(&o)
    );
}

fn psnr_frame(a: &[u8], b: &[u8]) -> f64 {
    let mse = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

#[test]
fn lossless_round_trip_is_exact_and_h264_stays_above_33_db() {
    let sb = Sandbox::new();
    let v = render(&Request {
        prompt: "an orange ball moves right",
        seed: 4,
        frames: 12,
        width: 96,
        height: 54,
        fps: 24.0,
    });
    let mkv = sb.join("v.mkv");
    video::encode(&v, &mkv, &EncodeParams::lossless()).unwrap();
    assert_eq!(decode(&mkv).unwrap(), v);
    let mp4 = sb.join("v.mp4");
    video::encode(&v, &mp4, &EncodeParams::h264()).unwrap();
    let back = decode(&mp4).unwrap();
    assert_eq!(back.len(), v.len(), "the mp4 edit-list bug drops the last frame");
    let p = psnr(&v, &back);
    // CRF 18, yuv420p, on a 96×54 clip of sharp synthetic edges (chroma subsampling costs most
    // here): measured 35.1 dB; the bound leaves 2 dB for encoder builds.
    assert!(p > 33.0, "H.264 round trip PSNR {p:.1} dB");
    // The file says how its YUV was made, so no player guesses BT.709 for it.
    let info = probe(&mp4).unwrap();
    assert_eq!((info.color_matrix.as_str(), info.color_range.as_str()), ("smpte170m", "tv"));
}

#[test]
fn previews_filmstrips_and_sidecars() {
    let sb = Sandbox::new();
    let v = render(&Request { prompt: "a red ball falls", seed: 1, frames: 9, width: 64, height: 48, fps: 8.0 });
    let webp = sb.join("p.webp");
    let side = video::write_with_sidecar(&v, &webp, None).unwrap();
    assert_eq!(side.encode.codec, "libwebp_anim");
    assert!(std::fs::read(&webp).unwrap().starts_with(b"RIFF"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(video::sidecar_path(&webp)).unwrap()).unwrap();
    assert_eq!(json["frames"], 9);
    let png = sb.join("s.png");
    video::write_filmstrip(&v, &png, 4, 24).unwrap();
    let strip = decode(&png).unwrap();
    assert_eq!((strip.width(), strip.height(), strip.len()), (4 * 32, 24, 1));
}

#[test]
fn streaming_selection_stops_after_the_last_needed_frame() {
    let sb = Sandbox::new();
    let path =
        run(sb.path(), "long.mp4", args(&testsrc("64x48", 25, 8.0), &["-c:v", "libx264", "-pix_fmt", "yuv420p"]));
    let all = decode(&path).unwrap();
    assert_eq!(all.len(), 200);
    let first = decode_with(&path, FrameSampling::First(5)).unwrap();
    assert!(first.report.stopped_early);
    assert!(first.report.frames_decoded < 50, "decoded {} frames for first:5", first.report.frames_decoded);
    assert_eq!(first.video.len(), 5);
    let uni = decode_with(&path, FrameSampling::Uniform(16)).unwrap();
    for (k, &i) in FrameSampling::Uniform(16).indices(200, 25.0).iter().enumerate() {
        assert_eq!(uni.video.frame(k), all.frame(i));
    }
    let mid = decode_with(&path, FrameSampling::Middle(4)).unwrap();
    assert_eq!(mid.video.frame(0), all.frame(98));
}

#[test]
fn a_clip_cut_without_reencoding_is_sampled_over_the_frames_it_shows() {
    // `-ss … -c copy` keeps the packets back to the previous keyframe behind an MP4 edit list:
    // the container declares them, players (and the ffmpeg CLI, OpenCV, PyAV) do not show them.
    // An edit list can also end before the last samples (a tail trim), hiding those.
    let sb = Sandbox::new();
    let mut files = Vec::new();
    for (codec, extra) in [("h264", vec!["-c:v", "libx264", "-bf", "2"]), ("mpeg4", vec!["-c:v", "mpeg4", "-bf", "2"])]
    {
        let src = format!("{codec}-long.mp4");
        let mut a =
            vec!["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=4", "-g", "48", "-pix_fmt", "yuv420p"];
        a.extend(extra);
        ffmpeg(sb.path(), &src, &a);
        let cut =
            ffmpeg(sb.path(), &format!("{codec}-cut.mp4"), &["-ss", "1.3", "-i", &src, "-c", "copy", "-t", "1.5"]);
        files.push((format!("{codec} cut"), cut));
    }
    // The tail trim: the H.264 file's one edit shortened by a tenth of a second (its first
    // entry's segment duration, in the movie's time scale of 1000).
    let mut bytes = std::fs::read(sb.join("h264-long.mp4")).unwrap();
    let at = bytes.windows(4).position(|w| w == b"elst").expect("an edit list") + 12;
    let segment = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    bytes[at..at + 4].copy_from_slice(&(segment - 100).to_be_bytes());
    std::fs::write(sb.join("h264-trimmed.mp4"), &bytes).unwrap();
    files.push(("h264 tail-trimmed".into(), sb.join("h264-trimmed.mp4")));
    for (name, path) in files {
        let shown = cli_rgb(&path, "scale=flags=bilinear").len() / (96 * 64 * 3);
        let declared = probe(&path).unwrap().frames.unwrap() as usize;
        assert!(declared > shown, "{name}: the edit list should hide frames ({declared} declared, {shown} shown)");
        let all = decode_with(&path, FrameSampling::All).unwrap();
        assert_eq!(all.video.len(), shown, "{name}");
        assert_eq!((all.report.hidden, all.report.frames_lost), (declared - shown, 0), "{name}: {:?}", all.report);
        for policy in [FrameSampling::Uniform(16), FrameSampling::First(5), FrameSampling::Middle(4)] {
            let sub = decode_with(&path, policy).unwrap();
            let idx = policy.indices(shown, 24.0);
            assert_eq!(sub.video.len(), idx.len(), "{name} {policy:?}");
            for (k, &i) in idx.iter().enumerate() {
                assert!(
                    sub.video.frame(k) == all.video.frame(i),
                    "{name} {policy:?}: frame {k} is not shown frame {i}"
                );
            }
        }
    }
    // An edit list that starts a whole GOP in (`-output_ts_offset -0.5` over 12-frame GOPs):
    // the GOP it hides is never demuxed, so fewer packets arrive than the container counts; it
    // was refused as "file is truncated (the container declares 96 frames but holds 84)".
    let a = ["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=4", "-g", "12", "-bf", "3", "-pix_fmt"];
    ffmpeg(sb.path(), "gop12.mp4", &[&a[..], &["yuv420p", "-c:v", "libx264"]].concat());
    let shifted = ffmpeg(
        sb.path(),
        "shifted.mp4",
        &["-i", "gop12.mp4", "-c", "copy", "-output_ts_offset", "-0.5", "-movflags", "+faststart"],
    );
    let shown = cli_rgb(&shifted, "scale=flags=bilinear");
    let declared = probe(&shifted).unwrap().frames.unwrap() as usize;
    assert!(declared > shown.len() / (96 * 64 * 3), "{declared} declared");
    let all = decode_with(&shifted, FrameSampling::All).unwrap();
    assert_eq!((all.video.as_bytes().len(), all.report.frames_lost), (shown.len(), 0), "{:?}", all.report);
    assert_eq!(differing(all.video.as_bytes(), &shown), 0);
    // Shifted by part of a GOP (-0.7 s): the whole GOP before it is never demuxed and the next is
    // read back to its keyframe, hidden in part; however it is read it is the clip the CLI shows
    // (a count of the packets read against the hidden ones refused it as truncated).
    let part = ffmpeg(sb.path(), "part.mp4", &["-i", "gop12.mp4", "-c", "copy", "-output_ts_offset", "-0.7"]);
    let shown = cli_rgb(&part, "scale=flags=bilinear");
    let all = decode_with(&part, FrameSampling::All).unwrap();
    assert_eq!(differing(all.video.as_bytes(), &shown), 0);
    let sampled = decode_with(&part, FrameSampling::Uniform(8)).unwrap();
    assert_eq!(sampled.video.len(), 8);
    // Such a file cut short is still cut short, however it is read (it was scored as a shorter
    // clip): its edited duration says how long it shows.
    let bytes = std::fs::read(&shifted).unwrap();
    std::fs::write(sb.join("shifted-cut.mp4"), &bytes[..bytes.len() * 6 / 10]).unwrap();
    for policy in [FrameSampling::All, FrameSampling::Uniform(8), FrameSampling::Middle(4)] {
        let e = decode_with(&sb.join("shifted-cut.mp4"), policy).unwrap_err();
        assert!(matches!(e, VideoIoError::Truncated { .. }), "{policy:?}: {e}");
    }
}

#[test]
fn a_resolution_change_mid_stream_is_scaled_to_the_first_size_as_the_cli_does() {
    // Two H.264 streams of different sizes back to back (what an adaptive-bitrate download or a
    // concatenation gives): the ffmpeg CLI and OpenCV keep the first size and scale the rest.
    let sb = Sandbox::new();
    let h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "h264"];
    run(sb.path(), "a.h264", args(&testsrc("64x48", 10, 1.0), &h264));
    run(sb.path(), "b.h264", args(&testsrc("96x64", 10, 1.0), &h264));
    let mut both = std::fs::read(sb.join("a.h264")).unwrap();
    both.extend(std::fs::read(sb.join("b.h264")).unwrap());
    std::fs::write(sb.join("ab.h264"), &both).unwrap();
    let d = decode_with(&sb.join("ab.h264"), FrameSampling::All).unwrap();
    assert_eq!((d.video.width(), d.video.height(), d.video.len()), (64, 48, 20));
    assert_eq!((d.report.rescaled, d.report.frames_lost), (10, 0), "{:?}", d.report);
    assert_eq!(differing(d.video.as_bytes(), &cli_rgb(&sb.join("ab.h264"), "null")), 0);
}

#[test]
fn every_error_kind_is_typed_and_names_the_file() {
    let sb = Sandbox::new();
    let d = sb.path();
    let check = |path: &Path, ok: fn(&VideoIoError) -> bool, phrase: &str| {
        let e = decode(path).expect_err("should fail");
        assert!(ok(&e), "{}: unexpected {e:?}", path.display());
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()) && msg.contains(phrase), "{msg}");
    };
    check(&d.join("missing.mp4"), |e| matches!(e, VideoIoError::Missing { .. }), "no such file");
    std::fs::write(d.join("notes.mp4"), "not a video, just text").unwrap();
    check(&d.join("notes.mp4"), |e| matches!(e, VideoIoError::NotAVideo { .. }), "not a readable video");
    // Pictures FFmpeg cannot read are named for what they are: an animated WebP (videval's own
    // previews) was "a header that claims a size too large", a HEIC photo "cut short".
    ffmpeg(d, "anim.webp", &["-f", "lavfi", "-i", "testsrc=s=32x32:r=4:d=1", "-loop", "0"]);
    check(&d.join("anim.webp"), |e| matches!(e, VideoIoError::NotAVideo { .. }), "an animated WebP");
    // HEIF by its major brand, or by a compatible one (phones outside Apple's write `mif1`).
    for (name, brands) in [("photo.heic", &b"heic\0\0\0\0mif1heic"[..]), ("other.heic", b"mif1\0\0\0\0mif1heic")] {
        let mut heic = b"\0\0\0\x18ftyp".to_vec();
        heic.extend(brands);
        heic.extend([0u8; 64]);
        std::fs::write(d.join(name), heic).unwrap();
        check(&d.join(name), |e| matches!(e, VideoIoError::NotAVideo { .. }), "a HEIF/HEIC picture");
    }
    ffmpeg(d, "tone.wav", &["-f", "lavfi", "-i", "sine", "-t", "0.5"]);
    check(&d.join("tone.wav"), |e| matches!(e, VideoIoError::NotAVideo { .. }), "no video stream");
    // Truncated: the index survives (faststart) but half the frames are gone; and the index lost.
    let noisy =
        args(&testsrc("160x120", 25, 2.0), &["-vf", "noise=alls=60:allf=t", "-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    for (name, faststart) in [("fs.mp4", true), ("plain.mp4", false)] {
        let mut a = noisy.clone();
        if faststart {
            a.extend(["-movflags".into(), "+faststart".into()]);
        }
        let full = std::fs::read(run(d, name, a)).unwrap();
        let cut = d.join(format!("cut-{name}"));
        std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
        check(&cut, |e| matches!(e, VideoIoError::Truncated { .. }), "truncated");
        // Sampled too (FVD's uniform frames): the frames past the cut were silently missing,
        // and the encoder failed as an internal error on "2 of 8 frames".
        let sampled =
            videval::video::decode_stream(&cut, videval_metrics::preprocess::FrameSampling::Uniform(8), |_, _| {});
        assert!(matches!(sampled, Err(VideoIoError::Truncated { .. })), "{name}: {sampled:?}");
    }
    std::fs::write(d.join("empty.y4m"), "YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\n").unwrap();
    check(&d.join("empty.y4m"), |e| matches!(e, VideoIoError::NoFrames { .. }), "zero frames");
    std::fs::write(d.join("wide.y4m"), "YUV4MPEG2 W20000 H16 F25:1 Ip A1:1 C420jpeg\nFRAME\nabc").unwrap();
    check(&d.join("wide.y4m"), |e| matches!(e, VideoIoError::AbsurdSize { width: 20000, .. }), "absurd frame size");
    // An encoder-only codec (Commodore 64 multicolour) in NUT: no decoder exists.
    ffmpeg(d, "c64.nut", &["-f", "lavfi", "-i", "testsrc=size=320x200:rate=5", "-t", "0.4", "-c:v", "a64multi"]);
    check(&d.join("c64.nut"), |e| matches!(e, VideoIoError::UnsupportedCodec { .. }), "cannot be decoded");
}

/// A copy of `clean` named `name` beside it, the bytes `span` gives (of the file's length)
/// overwritten with a fixed pseudo-random pattern.
fn damaged(clean: &Path, name: &str, span: impl Fn(usize) -> std::ops::Range<usize>) -> PathBuf {
    let mut bytes = std::fs::read(clean).unwrap();
    let range = span(bytes.len());
    let mut x: u32 = 12345;
    for b in &mut bytes[range] {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    let path = clean.with_file_name(name);
    std::fs::write(&path, &bytes).unwrap();
    path
}

/// Damaged H.264 the decoder hides: 3,000 bytes overwritten a third of the way into an MP4 leave
/// every packet accepted and every frame decoded, one of them made up by FFmpeg's error
/// concealment. It was "0 corrupt packets, 0 frames lost", scored with exit 0, and scored three
/// ways in six runs (frame threads conceal differently each time and drop the flag).
#[test]
fn concealed_damage_is_counted_refused_and_decoded_the_same_every_time() {
    let sb = Sandbox::new();
    let d = sb.path();
    let clean = run(
        d,
        "clean.mp4",
        args(&testsrc("320x240", 25, 2.0), &["-vf", "noise=alls=40:allf=t", "-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    );
    let bad = damaged(&clean, "bad.mp4", |n| n / 3..n / 3 + 3000);
    let decoded = || {
        let mut frames = Vec::new();
        let r = video::decode_stream_damaged(&bad, FrameSampling::All, |_, f| frames.push(f.to_vec())).unwrap().report;
        (r, frames)
    };
    let (r, first) = decoded();
    assert!(r.corrupt_packets == 0 && r.frames_decoded == 50 && r.frames_concealed > 0, "{r:?}");
    for _ in 0..3 {
        assert!(decoded().1 == first, "a damaged file decoded differently");
    }
    let e = decode_with(&bad, FrameSampling::All).unwrap_err();
    assert!(matches!(e, VideoIoError::Damaged { .. }) && e.to_string().contains("concealed"), "{e}");
    let bad_s = bad.to_str().unwrap();
    let o = sb.run(&["video", "score", bad_s, "--metrics", "temporal_flicker"]);
    assert!(code(&o) == 3 && text(&o).contains("damaged data"), "{}", text(&o));
    let (rc, v) = sb.run_json(&["video", "info", "--decode", bad_s]);
    assert!(rc == 0 && v["decode"]["frames_concealed"].as_u64().unwrap() > 0, "{v}");
    // The file it was made from has none.
    let r = video::decode_stream(&clean, FrameSampling::All, |_, _| {}).unwrap().report;
    assert_eq!(r.frames_concealed, 0);
}

#[test]
fn corrupt_packets_mid_stream_are_counted_and_garbage_never_panics() {
    let sb = Sandbox::new();
    let d = sb.path();
    let ts = run(
        d,
        "clean.ts",
        args(&testsrc("160x120", 25, 3.0), &["-vf", "noise=alls=40:allf=t", "-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    );
    // A stretch in the middle overwritten.
    let bad = damaged(&ts, "corrupt.ts", |n| n / 2..n / 2 + n / 10);
    // What still decodes is there to inspect, with the damage counted...
    let mut delivered = 0;
    let r = video::decode_stream_damaged(&bad, FrameSampling::All, |_, _| delivered += 1).unwrap().report;
    // (Here the MPEG-TS demuxer resyncs past the damage without a word: the frames are missing
    // from the 25 fps timeline.)
    assert!(r.frames_decoded < 75 && r.frames_missing == 75 - r.frames_decoded, "nothing was lost? {r:?}");
    assert_eq!(delivered, r.frames_decoded);
    // ...but it is not the video: scoring it as if it were hid the damage (a run's unit was ok,
    // its numbers from the frames that survived).
    let e = decode_with(&bad, FrameSampling::All).unwrap_err();
    assert!(matches!(e, VideoIoError::Damaged { .. }) && e.to_string().contains("7 frames missing"), "{e}");
    let bad_s = bad.to_str().unwrap();
    let o = sb.run(&["video", "score", bad_s, "--metrics", "temporal_flicker"]);
    assert!(code(&o) == 3 && text(&o).contains("damaged"), "{}", text(&o));
    let o = sb.run(&["video", "info", "--decode", bad_s]);
    assert!(code(&o) == 0 && text(&o).contains("7 missing from the timeline"), "{}", text(&o));
    // Garbage under every extension: a typed error, never a panic.
    for ext in ["mp4", "mkv", "webm", "gif", "mov", "ts", "png"] {
        let mut junk = Vec::new();
        for i in 0..20_000u32 {
            junk.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
        }
        let p = d.join(format!("junk.{ext}"));
        std::fs::write(&p, &junk).unwrap();
        let caught = std::panic::catch_unwind(|| decode(&p));
        assert!(caught.is_ok(), "decoding junk.{ext} panicked");
        // Truncating a real file at many points also never panics.
    }
    let clean = std::fs::read(&ts).unwrap();
    for frac in [3, 5, 7, 9] {
        let p = d.join(format!("t{frac}.ts"));
        std::fs::write(&p, &clean[..clean.len() * frac / 10]).unwrap();
        assert!(std::panic::catch_unwind(|| decode(&p)).is_ok());
    }
}

#[test]
fn video_cli_info_and_convert() {
    let sb = Sandbox::new();
    run(sb.path(), "in.mp4", args(&testsrc("96x54", 10, 1.0), &["-c:v", "libx264", "-pix_fmt", "yuv420p"]));
    let (rc, v) = sb.run_json(&["video", "info", "in.mp4", "--decode"]);
    assert_eq!(rc, 0);
    assert_eq!(v["info"]["width"], 96);
    assert_eq!(v["decode"]["frames_decoded"], 10);
    // The frames a policy delivers, made at a size and dropped (what `convert` decodes).
    let (rc, v) = sb.run_json(&["video", "info", "in.mp4", "--decode", "--frames", "uniform:4", "--size", "32x24"]);
    assert_eq!(rc, 0);
    assert_eq!(v["decode"]["frames_kept"], 4);
    let out = sb.run(&["video", "info", "in.mp4", "--frames", "uniform:4"]);
    assert_eq!(videval_tests::code(&out), 3, "--frames without --decode: {}", videval_tests::text(&out));
    let out = sb.run(&["video", "info", "in.mp4", "--decode", "--size", "huge"]);
    assert!(videval_tests::text(&out).contains("--size huge: expected"));
    // A count no video may have is refused before anything is decoded or allocated.
    let out = sb.run(&["video", "convert", "in.mp4", "x.mkv", "--frames", "uniform:10000000000"]);
    assert_eq!(videval_tests::code(&out), 3);
    assert!(videval_tests::text(&out).contains("--frames uniform:10000000000: at most 100000 frames"));
    let out = sb.run(&[
        "video",
        "convert",
        "in.mp4",
        "out.mkv",
        "--frames",
        "uniform:4",
        "--size",
        "crop:32",
        "--filter",
        "bicubic",
    ]);
    assert_eq!(videval_tests::code(&out), 0, "{}", videval_tests::text(&out));
    let back = decode(&sb.join("out.mkv")).unwrap();
    assert_eq!((back.len(), back.width(), back.height()), (4, 32, 32));
    // Four frames spread over the clip play over its length (at its own rate, the 10-frame clip
    // became 4 frames long).
    let source = decode(&sb.join("in.mp4")).unwrap();
    assert!((back.duration_s() - source.duration_s()).abs() < 1e-3, "{} vs {}", back.duration_s(), source.duration_s());
    // A filmstrip of fewer frames than panels shows each once, and --json gives the picture's size.
    let (rc, v) = sb.run_json(&["video", "convert", "in.mp4", "few.png", "--frames", "uniform:3", "--strip", "8"]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!((v["panels"].as_u64(), v["height"].as_u64()), (Some(3), Some(54)), "{v}");
    assert_eq!(
        v["width"].as_u64(),
        Some(3 * (54 * source.width() as u64).div_ceil(source.height() as u64).min(1000)),
        "{v}"
    );
    let side: serde_json::Value = serde_json::from_slice(&sb.read("out.mkv.json")).unwrap();
    assert_eq!(side["encode"]["codec"], "ffv1");
    // A still picture's filmstrip is the picture once (it was eight identical panels).
    run(sb.path(), "still.png", args(&testsrc("32x24", 1, 1.0), &["-frames:v", "1"]));
    let (rc, v) = sb.run_json(&["video", "convert", "still.png", "still-strip.png"]);
    assert_eq!((rc, v["panels"].as_u64(), v["frames"].as_u64()), (0, Some(1), Some(1)), "{v}");
    // A filmstrip decodes only the frames it shows: the poster of the whole decoded clip, byte
    // for byte (here 3 of 10 frames, and 12 of 10 — frames repeat).
    for strip in ["3", "12"] {
        let out = sb.run(&["video", "convert", "in.mp4", "strip.png", "--strip", strip]);
        assert_eq!(videval_tests::code(&out), 0, "{}", videval_tests::text(&out));
        let whole = decode(&sb.join("in.mp4")).unwrap();
        video::write_filmstrip(&whole, &sb.join("expected.png"), strip.parse().unwrap(), 54).unwrap();
        assert!(sb.read("strip.png") == sb.read("expected.png"), "--strip {strip}");
    }
    let out = sb.run(&["video", "convert", "in.mp4", "x.mkv", "--size", "huge"]);
    assert_eq!(videval_tests::code(&out), 3);
    assert!(videval_tests::text(&out).contains("--size huge: expected"));
    let out = sb.run(&["video", "info", "nope.mp4"]);
    assert_eq!(videval_tests::code(&out), 3);
    assert!(videval_tests::text(&out).contains("nope.mp4: no such file"));
    // Non-square pixels are made square, as players show them (360×240 at 32:27 is 427×240),
    // not stored as they are and shown 3:2.
    run(sb.path(), "anam.mp4", args(&testsrc("360x240", 8, 1.0), &["-vf", "setsar=32/27", "-c:v", "libx264"]));
    let out = sb.run(&["video", "convert", "anam.mp4", "anam.mkv"]);
    assert_eq!(videval_tests::code(&out), 0, "{}", videval_tests::text(&out));
    let back = decode(&sb.join("anam.mkv")).unwrap();
    assert_eq!((back.width(), back.height()), (427, 240));
    // Rates no encoder holds, and more frames than videval reads back, are refused up front.
    for (a, why) in [
        (vec!["video", "convert", "in.mp4", "x.mkv", "--frames", "fps:1e-300"], "at least fps:0.01"),
        (
            vec!["synth", "--prompt", "x", "--frames", "200000", "--width", "2", "--height", "2", "--out", "m.mkv"],
            "at most 100000",
        ),
    ] {
        let out = sb.run(&a);
        assert!(
            videval_tests::code(&out) == 3 && videval_tests::text(&out).contains(why),
            "{a:?}: {}",
            videval_tests::text(&out)
        );
    }
}

/// A local file name is never an FFmpeg address or frame pattern: `pipe:0.mp4` read standard
/// input, `a%03d.mkv` read `a001.mkv`, and `take1:final.mkv` could not be written.
#[test]
fn file_names_are_names_never_protocols_or_patterns() {
    let sb = Sandbox::new();
    let out = sb.run(&[
        "synth",
        "--prompt",
        "a red ball",
        "--frames",
        "3",
        "--width",
        "32",
        "--height",
        "24",
        "--out",
        "take1:final.mkv",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = sb.run(&[
        "synth",
        "--prompt",
        "a red ball",
        "--frames",
        "5",
        "--width",
        "16",
        "--height",
        "16",
        "--out",
        "a001.mkv",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    for name in ["pipe:0.mkv", "a%03d.mkv", "concat:x.mkv"] {
        let out = sb.run(&["video", "convert", "take1:final.mkv", name]);
        assert_eq!(code(&out), 0, "{name}: {}", text(&out));
        let (rc, v) = sb.run_json(&["video", "info", name, "--decode"]);
        assert_eq!(rc, 0, "{name}: {v}");
        assert_eq!(
            (v["info"]["width"].as_u64(), v["decode"]["frames_decoded"].as_u64()),
            (Some(32), Some(3)),
            "{name}"
        );
    }
}

/// `fvd` and `clipscore` decode each file straight to its network's input: the frames equal,
/// bit for bit, the protocol applied to the whole decoded clip — for clips shorter than the
/// sample (frames repeated), odd sizes, and a size change mid-stream.
#[test]
fn decoding_straight_to_a_network_input_equals_preprocessing_the_decoded_clip() {
    use videval_metrics::preprocess::{Preprocess, Spatial, apply};
    let sb = Sandbox::new();
    let d = sb.path();
    let mut files = vec![
        run(d, "h264.mp4", args(&testsrc("320x180", 24, 2.0), &["-c:v", "libx264", "-pix_fmt", "yuv420p"])),
        run(d, "short.mkv", args(&testsrc("33x21", 10, 0.5), &["-c:v", "ffv1"])),
        run(d, "tall.webm", args(&testsrc("90x160", 10, 1.0), &["-c:v", "libvpx-vp9", "-b:v", "200k"])),
    ];
    let parts: Vec<PathBuf> = ["96x64", "160x90"]
        .iter()
        .enumerate()
        .map(|(i, size)| {
            run(d, &format!("part{i}.ts"), args(&testsrc(size, 10, 1.0), &["-c:v", "libx264", "-pix_fmt", "yuv420p"]))
        })
        .collect();
    let joined: Vec<u8> = parts.iter().flat_map(|p| std::fs::read(p).unwrap()).collect();
    std::fs::write(d.join("changes.ts"), joined).unwrap();
    files.push(d.join("changes.ts"));
    let clip = Preprocess {
        spatial: Spatial::ShortSideCrop { short: 224, crop_w: 224, crop_h: 224 },
        ..videval_models::encoders::clip::PREPROCESS
    };
    let protocols = [videval_models::encoders::world::PREPROCESS, videval_models::encoders::i3d::PREPROCESS, clip];
    for path in &files {
        let whole = decode(path).unwrap();
        for p in &protocols {
            let streamed = video::decode_preprocessed(path, p).unwrap();
            let expected = apply(&whole, p);
            let name = format!("{} {}", path.display(), p.frames.name());
            assert_eq!(
                (streamed.len, streamed.width, streamed.height),
                (expected.len, expected.width, expected.height)
            );
            assert!(streamed.data == expected.data, "{name}: values differ");
        }
    }
    // A file that does not decode names itself, as `decode` does.
    std::fs::write(d.join("junk.mp4"), b"not a video").unwrap();
    let err = video::decode_preprocessed(&d.join("junk.mp4"), &protocols[0]).unwrap_err();
    assert!(err.to_string().contains("junk.mp4"), "{err}");
}

/// Outputs a stranger names: a failed or refused write leaves the file that was there (writes
/// were straight to the path: a failed encode left 0 or 48 bytes of a good video); an ending
/// videval does not write is refused (it wrote MP4 bytes over a scene file named .yaml); a
/// conversion onto its own input is refused; sizes and rates that would abort the process on an
/// allocation are refused first; a FIFO is not opened as a video (the demuxer would block).
#[test]
fn outputs_are_written_whole_or_not_at_all() {
    let sb = Sandbox::new();
    let synth = |args: &[&str]| sb.command(&["synth", "--prompt", "a red ball"]).args(args).output().unwrap();
    assert_eq!(code(&synth(&["--frames", "4", "--out", "good.mp4"])), 0);
    let good = sb.read("good.mp4");
    for args in [
        &["--fps", "1e-9", "--out", "good.mp4"][..],
        &["--fps", "inf", "--out", "good.mp4"],
        &["--width", "20000", "--out", "good.mp4"],
        &["--frames", "100000000", "--out", "good.mp4"],
    ] {
        let o = synth(args);
        assert_eq!(code(&o), 3, "{args:?}: {}", text(&o));
        assert_eq!(sb.read("good.mp4"), good, "{args:?} left the old file");
    }
    sb.write("scene.yaml", "objects: []\n");
    let o = synth(&["--frames", "4", "--out", "scene.yaml"]);
    assert!(code(&o) == 3 && text(&o).contains("the extension .yaml is not one it writes"), "{}", text(&o));
    assert_eq!(sb.read("scene.yaml"), b"objects: []\n");
    let o = sb.run(&["video", "convert", "good.mp4", "good.mp4"]);
    assert!(code(&o) == 3 && text(&o).contains("the output is the input"), "{}", text(&o));
    let o = sb.run(&["video", "convert", "good.mp4", "out.avi"]);
    assert!(code(&o) == 3 && !sb.join("out.avi").exists(), "{}", text(&o));
    // Written among a folder's frames, it replaced one of them.
    for k in 1..=2 {
        assert_eq!(code(&synth(&["--frames", "1", "--out", &format!("frames/000{k}.png")])), 0);
    }
    let frame = sb.read("frames/0001.png");
    for out in ["frames/0001.png", "frames/./strip.png"] {
        let o = sb.run(&["video", "convert", "frames", out]);
        assert!(code(&o) == 3 && text(&o).contains("inside the folder of frames"), "{out}: {}", text(&o));
    }
    assert_eq!(sb.read("frames/0001.png"), frame);
    assert!(!sb.join("frames/strip.png").exists());
    // Uniform frames of a folder play over its length too (2 frames at the default 8 fps).
    let (rc, v) = sb.run_json(&["video", "convert", "frames", "one.mkv", "--frames", "uniform:1"]);
    assert_eq!((rc, v["frames"].as_u64(), v["fps"].as_f64()), (0, Some(1), Some(4.0)), "{v}");
    let leftovers: Vec<_> = std::fs::read_dir(sb.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(std::process::Command::new("mkfifo").arg(sb.join("fifo.mp4")).status().unwrap().success());
    let o = sb.run(&["video", "info", "fifo.mp4"]);
    assert!(code(&o) == 3 && text(&o).contains("not a regular file"), "{}", text(&o));
}

/// A Matroska/WebM file declares no frame count, only its video's length (the DURATION tag,
/// written at its head when it was finished): a copy cut short is refused as truncated instead of
/// being scored on the frames that survived; a whole file, or a video shorter than its audio, is
/// read as before.
#[test]
fn a_matroska_file_cut_short_is_refused_as_truncated() {
    let sb = Sandbox::new();
    let whole = ffmpeg(
        sb.path(),
        "whole.mkv",
        &["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "2", "-c:v", "ffv1"],
    );
    let bytes = std::fs::read(&whole).unwrap();
    let cut = sb.join("cut.mkv");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 5]).unwrap();
    assert_eq!(decode(&whole).unwrap().len(), 60);
    match decode(&cut) {
        Err(VideoIoError::Truncated { reason, .. }) => {
            assert!(reason.contains("states a video 2.000 s long"), "{reason}")
        }
        other => panic!("a cut-short file decoded: {:?}", other.map(|v| v.len())),
    }
    let o = sb.run(&["video", "score", "cut.mkv"]);
    assert!(code(&o) == 3 && text(&o).contains("truncated"), "{}", text(&o));
    let av = ffmpeg(
        sb.path(),
        "av.webm",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10:d=2",
            "-f",
            "lavfi",
            "-i",
            "sine=d=6",
            "-c:v",
            "libvpx-vp9",
            "-c:a",
            "libopus",
        ],
    );
    assert_eq!(decode(&av).unwrap().len(), 20, "a video shorter than its audio is whole");
    // A video that starts later on the file's timeline (an A/V sync offset) is whole too.
    let late = ffmpeg(sb.path(), "late.mkv", &["-itsoffset", "1", "-i", "whole.mkv", "-c", "copy"]);
    assert_eq!(decode(&late).unwrap().len(), 60);
}

/// A Matroska/WebM file whose audio runs past its video is as long as its video (the container's
/// length, the audio's, was taken: 2 s read as 5 s, and `fps:` sampling padded the rest with the
/// last frame); a transport stream cut mid-GOP samples from the frames that decode (the packets
/// before its first keyframe planned frames that never came, and it was refused as cut short).
#[test]
fn longer_audio_and_a_mid_gop_start_do_not_change_what_a_video_holds() {
    let sb = Sandbox::new();
    let dir = sb.path();
    for ext in ["mkv", "webm"] {
        let codec = if ext == "webm" { "libvpx-vp9" } else { "libx264" };
        let audio = if ext == "webm" { "libopus" } else { "aac" };
        let out = format!("longaudio.{ext}");
        let path = ffmpeg(
            dir,
            &out,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=8:duration=2",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=5",
                "-c:v",
                codec,
                "-c:a",
                audio,
            ],
        );
        let info = probe(&path).unwrap();
        assert!(info.duration_s.is_some_and(|d| (d - 2.0).abs() < 0.2), "{ext}: {:?}", info.duration_s);
        let d = decode_with(&path, FrameSampling::Fps(8.0)).unwrap();
        assert!((16..=17).contains(&d.video.len()), "{ext}: {} frames at 8 fps", d.video.len());
    }
    // 4 s of H.264 in MPEG-TS with a keyframe every 2 s, its first 40% of bytes cut away (at a
    // TS packet boundary: mid-GOP).
    let ts = ffmpeg(
        dir,
        "whole.ts",
        &["-f", "lavfi", "-i", "testsrc=size=320x240:rate=24:duration=4", "-c:v", "libx264", "-g", "48", "-bf", "2"],
    );
    let bytes = std::fs::read(&ts).unwrap();
    let cut_at = (bytes.len() * 2 / 5) / 188 * 188;
    std::fs::write(dir.join("cut.ts"), &bytes[cut_at..]).unwrap();
    let d = decode_with(&dir.join("cut.ts"), FrameSampling::Uniform(8)).unwrap();
    assert_eq!(d.video.len(), 8);
}

/// `video tracks` shows what the probes see: a red ball rolling right over a still picture is
/// one red circle, found as "the red object", starting left of where it ends; the camera is
/// still. A file that is no video is bad input naming it.
#[test]
fn video_tracks_shows_the_objects_the_probes_find() {
    let sb = Sandbox::new();
    let clip = sb.path().join("ball.mp4").display().to_string();
    let o = sb.run(&[
        "synth",
        "--prompt",
        "a red ball rolls to the right",
        "--seed",
        "1",
        "--frames",
        "24",
        "--out",
        &clip,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, v) = sb.run_json(&["video", "tracks", &clip]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["frames"], 24);
    assert_eq!(v["camera"]["motion"], "static", "{v}");
    assert!(v["camera"]["speed_unit"].is_string(), "{v}");
    let tracks = v["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1, "{v}");
    let t = &tracks[0];
    assert_eq!((t["color"].as_str(), t["shape"].as_str()), (Some("red"), Some("circle")), "{t}");
    assert_eq!(t["found_as"], serde_json::json!(["red"]));
    assert_eq!(t["frames_seen"], 24);
    let x = |k: &str| t[k][0].as_f64().unwrap();
    assert!(x("last_center_h") - x("first_center_h") > 0.3, "{t}");
    let o = sb.run(&["video", "tracks", &clip]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("camera: static") && text.contains("← the red object"), "{text}");
    let bad = sb.path().join("notes.mp4");
    std::fs::write(&bad, "not a video").unwrap();
    let o = sb.run(&["video", "tracks", &bad.display().to_string()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(3) && err.contains("notes.mp4"), "{:?} {err}", o.status.code());
}

/// H.264 with B-frames copied into AVI (`ffmpeg -i clip.mp4 -c copy clip.avi`): FFmpeg's muxer
/// writes an empty chunk beside each frame, and the index declares 48 frames at 48 fps for 24
/// at 24. It was refused as truncated ("declares 48 frames but holds 24"); its timestamps give
/// the rate, the count is scaled to it, and it decodes as the MP4 it came from.
#[test]
fn h264_with_b_frames_copied_into_avi_keeps_its_rate_and_count() {
    let sb = Sandbox::new();
    let d = sb.path();
    let mp4 =
        run(d, "b.mp4", args(&testsrc("160x120", 24, 1.0), &["-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p"]));
    let avi = ffmpeg(d, "b.avi", &["-i", "b.mp4", "-c", "copy"]);
    let info = probe(&avi).unwrap();
    assert!((info.fps - 24.0).abs() < 1e-6, "{info:?}");
    assert_eq!(info.frames, Some(24), "{info:?}");
    let (a, b) = (decode(&mp4).unwrap(), decode(&avi).unwrap());
    assert_eq!((b.len(), b.fps()), (24, 24.0));
    assert!((0..24).all(|t| a.frame(t) == b.frame(t)), "the AVI's frames differ from the MP4's");
}

/// A text file is not a video, whatever it is named: FFmpeg draws a `.txt` or `.nfo` as ANSI
/// art (a README read as 644 frames of a pan right, `video score` gave its dynamic degree).
#[test]
fn a_text_file_is_not_read_as_a_video() {
    let sb = Sandbox::new();
    for name in ["README.txt", "notes.nfo"] {
        let path = sb.path().join(name);
        std::fs::write(&path, "videval\n\nA harness for text-to-video models.\n".repeat(40)).unwrap();
        let e = probe(&path).unwrap_err();
        assert!(e.to_string().contains("a text file"), "{name}: {e}");
        let o = sb.run(&["video", "tracks", &path.display().to_string()]);
        assert_eq!(o.status.code(), Some(3), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    }
}
