//! Reading and writing video files through FFmpeg (ffmpeg-next). The one place videval touches
//! container and codec details: everything else sees a decoded [`Video`].
//!
//! Decoding yields RGB24 frames at the stream's native size; encoding writes H.264 in MP4 with a
//! fixed CRF and preset, recorded in [`EncodeParams`] so that a result can say exactly what was
//! scored.

use std::path::{Path, PathBuf};
use std::sync::Once;

use ffmpeg_next as ff;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use videval_metrics::Video;

#[derive(Debug, Error)]
pub enum VideoIoError {
    #[error("{path}: no such file")]
    Missing { path: PathBuf },
    #[error("{path}: not a readable video ({reason})")]
    NotAVideo { path: PathBuf, reason: String },
    #[error("{path}: decoded zero frames")]
    NoFrames { path: PathBuf },
    #[error("{path}: {what} failed: {reason}")]
    Codec { path: PathBuf, what: &'static str, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
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

    /// Chosen by file extension: `.mkv` lossless, anything else H.264/MP4.
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("mkv") => Self::lossless(),
            _ => Self::h264(),
        }
    }
}

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Initialisation only registers codecs; it cannot fail on a working FFmpeg build.
        let _ = ff::init();
        ff::util::log::set_level(ff::util::log::Level::Error);
    });
}

fn codec_err<'a>(path: &'a Path, what: &'static str) -> impl Fn(ff::Error) -> VideoIoError + 'a {
    move |e| VideoIoError::Codec { path: path.to_path_buf(), what, reason: e.to_string() }
}

/// Decodes every frame of the first video stream of `path` to RGB24 at native size.
pub fn decode(path: &Path) -> Result<Video, VideoIoError> {
    init();
    if !path.exists() {
        return Err(VideoIoError::Missing { path: path.to_path_buf() });
    }
    let not_video = |reason: String| VideoIoError::NotAVideo { path: path.to_path_buf(), reason };
    let mut input = ff::format::input(&path).map_err(|e| not_video(e.to_string()))?;
    let stream = input.streams().best(ff::media::Type::Video).ok_or_else(|| not_video("no video stream".into()))?;
    let index = stream.index();
    let rate = stream.avg_frame_rate();
    let rate = if rate.numerator() > 0 && rate.denominator() > 0 { rate } else { stream.rate() };
    let fps = if rate.numerator() > 0 && rate.denominator() > 0 { f64::from(rate) } else { 25.0 };
    let context =
        ff::codec::context::Context::from_parameters(stream.parameters()).map_err(|e| not_video(e.to_string()))?;
    let mut decoder = context.decoder().video().map_err(|e| not_video(e.to_string()))?;
    let (width, height) = (decoder.width(), decoder.height());
    if width == 0 || height == 0 || width > 16384 || height > 16384 {
        return Err(VideoIoError::Invalid {
            path: path.to_path_buf(),
            reason: format!("absurd frame size {width}x{height}"),
        });
    }
    let mut scaler: Option<ff::software::scaling::Context> = None;
    let mut data = Vec::new();
    let mut receive = |decoder: &mut ff::decoder::Video, data: &mut Vec<u8>| -> Result<(), VideoIoError> {
        let mut frame = ff::frame::Video::empty();
        while decoder.receive_frame(&mut frame).is_ok() {
            if scaler.is_none() {
                scaler = Some(
                    ff::software::scaling::Context::get(
                        frame.format(),
                        frame.width(),
                        frame.height(),
                        ff::format::Pixel::RGB24,
                        width,
                        height,
                        ff::software::scaling::Flags::BILINEAR | ff::software::scaling::Flags::ACCURATE_RND,
                    )
                    .map_err(codec_err(path, "colour conversion"))?,
                );
            }
            let mut rgb = ff::frame::Video::empty();
            if let Some(s) = scaler.as_mut() {
                s.run(&frame, &mut rgb).map_err(codec_err(path, "colour conversion"))?;
            }
            let stride = rgb.stride(0);
            let row = width as usize * 3;
            for y in 0..height as usize {
                data.extend_from_slice(&rgb.data(0)[y * stride..y * stride + row]);
            }
        }
        Ok(())
    };
    for (s, packet) in input.packets() {
        if s.index() != index {
            continue;
        }
        // A corrupt packet is skipped; the frames it carried are missing from the output.
        if decoder.send_packet(&packet).is_ok() {
            receive(&mut decoder, &mut data)?;
        }
    }
    decoder.send_eof().map_err(codec_err(path, "flushing the decoder"))?;
    receive(&mut decoder, &mut data)?;
    if data.is_empty() {
        return Err(VideoIoError::NoFrames { path: path.to_path_buf() });
    }
    Video::new(width, height, fps, data)
        .map_err(|e| VideoIoError::Invalid { path: path.to_path_buf(), reason: e.to_string() })
}

/// Encodes `video` to `path` with `params`. Odd frame sizes are encoded as yuv444p when 4:2:0
/// was asked for (it needs even sizes); the returned parameters say what was used.
pub fn encode(video: &Video, path: &Path, params: &EncodeParams) -> Result<EncodeParams, VideoIoError> {
    init();
    let mut used = params.clone();
    let odd = video.width() % 2 == 1 || video.height() % 2 == 1;
    if odd && used.pix_fmt == "yuv420p" {
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
    let mut output = ff::format::output_as(&path, &params.container).map_err(err("opening the output"))?;
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
    let mut encoder = enc.open_with(opts).map_err(err("opening the encoder"))?;
    stream.set_parameters(&encoder);
    stream.set_time_base(time_base);
    let stream_index = stream.index();
    // Bit-exact muxing: no random segment ids or wall-clock dates, so equal frames give equal
    // files (content addressing depends on it).
    let mut mux_opts = ff::Dictionary::new();
    mux_opts.set("fflags", "+bitexact");
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

#[cfg(test)]
mod tests {
    use super::*;
    use videval_models::synthetic::{Request, render};

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
}
