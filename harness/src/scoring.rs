//! One pass per video: a video is decoded once and its frames stream through everything that
//! measures it. Windowed metrics share one [`Window`] (frames, luma pyramids and flow computed
//! once per frame or pair); feature metrics collect their extractor's small preprocessed
//! frames as they pass; only what needs the whole clip (the probes, a `Reads::WholeClip` metric)
//! holds every frame. Peak memory is the window plus the decoder's own buffers, whatever the
//! clip's length, unless a whole-clip consumer is asked for.

use std::collections::BTreeMap;
use std::path::Path;

use videval_metrics::analysis::{Accumulator, Window};
use videval_metrics::preprocess::{self, FrameSampling, Frames};
use videval_metrics::probes::{self, Expectation};
use videval_metrics::registry::{FrameInput, Metric, MetricError, Reads};
use videval_metrics::{Video, feature_consistency};
use videval_models::encoders::world::WorldEncoder;

use crate::video::decode_stream;

/// One thing to measure on a video.
pub enum Need<'a> {
    Metric(&'static dyn Metric),
    /// Every probe expectation of one probe kind; the value is the fraction passed.
    Probes(&'a [Expectation]),
}

/// A measurement: the value and, for probes, the verdicts in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub value: f64,
    pub detail: Option<String>,
}

/// Why a measurement has no value.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The metric does not apply to this video (too few frames); not an error of the video.
    NotApplicable(String),
    Error(String),
}

pub type Outcome = Result<Value, Failure>;

impl From<MetricError> for Failure {
    fn from(e: MetricError) -> Self {
        match e {
            MetricError::TooFewFrames { .. } => Failure::NotApplicable(e.to_string()),
            _ => Failure::Error(e.to_string()),
        }
    }
}

/// A feature metric's frames, preprocessed for the world encoder as they stream past.
struct FeatureFrames {
    input: FrameInput,
    frames: Frames,
}

impl FeatureFrames {
    fn new(input: FrameInput) -> Self {
        let p = WorldEncoder::FRAME_PREPROCESS;
        let ((width, height), _) = preprocess::geometry(p.spatial, 1, 1);
        FeatureFrames { input, frames: Frames { data: Vec::new(), len: 0, width, height } }
    }

    fn push(&mut self, rgb: &[u8], w: u32, h: u32) {
        let p = WorldEncoder::FRAME_PREPROCESS;
        let frame = match self.input {
            FrameInput::Full => preprocess::apply_frame(rgb, w, h, &p),
            FrameInput::Background => {
                preprocess::apply_frame(&feature_consistency::background_only_frame(rgb), w, h, &p)
            }
        };
        self.frames.data.extend(frame);
        self.frames.len += 1;
    }
}

/// Measures `needs` on the video at `path` in one decode. `Err` when the video cannot be decoded
/// (every need fails with it); otherwise one outcome per need, in order.
pub fn score_video(path: &Path, needs: &[Need<'_>]) -> Result<Vec<Outcome>, String> {
    let mut accumulators: Vec<Option<Box<dyn Accumulator>>> = needs
        .iter()
        .map(|n| match n {
            Need::Metric(m) => m.stream(),
            Need::Probes(_) => None,
        })
        .collect();
    let mut features: BTreeMap<u8, FeatureFrames> = BTreeMap::new();
    let mut whole_clip = false;
    for n in needs {
        match n {
            Need::Metric(m) => match m.reads() {
                Reads::Window(_) => {}
                Reads::Features(input) => {
                    features.entry(input_key(input)).or_insert_with(|| FeatureFrames::new(input));
                }
                Reads::WholeClip => whole_clip = true,
            },
            Need::Probes(_) => whole_clip = true,
        }
    }

    let mut window: Option<Window> = None;
    let mut clip: Vec<u8> = Vec::new();
    let mut bad_window: Option<String> = None;
    let end = decode_stream(path, FrameSampling::All, |head, frame| {
        for f in features.values_mut() {
            f.push(&frame, head.width, head.height);
        }
        if whole_clip {
            clip.extend_from_slice(&frame);
        }
        let w = match &mut window {
            Some(w) => w,
            None => match Window::new(head.width, head.height, head.fps) {
                Ok(w) => window.insert(w),
                Err(e) => {
                    bad_window.get_or_insert(e.to_string());
                    return;
                }
            },
        };
        if let Err(e) = w.push(frame) {
            bad_window.get_or_insert(e.to_string());
            return;
        }
        for a in accumulators.iter_mut().flatten() {
            a.push(w);
        }
    })
    .map_err(|e| e.to_string())?;
    if let Some(e) = bad_window {
        return Err(format!("{}: {e}", path.display()));
    }
    let Some(window) = window else { return Err(format!("{}: no frames", path.display())) };
    let video = if whole_clip {
        Some(Video::new(end.head.width, end.head.height, end.head.fps, clip).map_err(|e| e.to_string())?)
    } else {
        None
    };

    let mut embedded: BTreeMap<u8, Result<Vec<Vec<f64>>, String>> = BTreeMap::new();
    let mut out = Vec::with_capacity(needs.len());
    for (n, acc) in needs.iter().zip(&mut accumulators) {
        let outcome = match n {
            Need::Metric(m) => match (m.reads(), acc.take()) {
                (Reads::Window(_), Some(acc)) => acc.finish(&window).and_then(|v| m.check(v)).map_err(Failure::from),
                (Reads::Features(input), _) => {
                    let key = input_key(input);
                    let feats = embedded.entry(key).or_insert_with(|| {
                        let (enc, _) = crate::distribution::world_encoder()?;
                        let frames = features.get(&key).map(|f| &f.frames);
                        frames.map_or(Err("no frames collected".to_string()), |f| {
                            enc.embed_preprocessed(f).map_err(|e| e.to_string())
                        })
                    });
                    match feats {
                        Ok(feats) => m.measure_features(feats).map_err(Failure::from),
                        Err(e) => Err(Failure::Error(e.clone())),
                    }
                }
                _ => match &video {
                    Some(v) => m.measure(v).map_err(Failure::from),
                    None => Err(Failure::Error(format!("{} was not given the whole clip", m.id()))),
                },
            }
            .map(|value| Value { value, detail: None }),
            Need::Probes(expectations) => match &video {
                Some(v) => Ok(check_probes(v, expectations)),
                None => Err(Failure::Error("probes were not given the whole clip".into())),
            },
        };
        out.push(outcome);
    }
    Ok(out)
}

fn input_key(input: FrameInput) -> u8 {
    match input {
        FrameInput::Full => 0,
        FrameInput::Background => 1,
    }
}

/// Checks every expectation against the clip: the fraction passed, and each verdict in words.
fn check_probes(video: &Video, expectations: &[Expectation]) -> Value {
    let ctx = probes::Context::new(video);
    let verdicts: Vec<probes::Verdict> = expectations.iter().map(|e| probes::check(e, &ctx)).collect();
    let passed = verdicts.iter().filter(|v| v.pass).count();
    let detail = verdicts
        .iter()
        .map(|v| format!("{}: {}", if v.pass { "pass" } else { "FAIL" }, v.reason))
        .collect::<Vec<_>>()
        .join(" | ");
    Value { value: passed as f64 / verdicts.len() as f64, detail: Some(detail) }
}
