//! The metric registry: every metric videval can compute, with the facts a report and a gate
//! need about it (version, direction, sane range). Adding a metric is one file plus one line in
//! [`REGISTRY`].

use std::fmt;

use thiserror::Error;

use crate::analysis::Accumulator;
use crate::video::Video;

/// Which way is better, so comparisons can orient deltas. `Neutral` metrics describe a video
/// (its length, its amount of motion) and are never gated on direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    Neutral,
}

#[derive(Debug, Error, PartialEq)]
pub enum MetricError {
    #[error("needs at least {needed} frames, the video has {got}")]
    TooFewFrames { needed: usize, got: usize },
    #[error("value {value:?} is outside the metric's declared range [{lo:?}, {hi:?}]")]
    OutOfRange { value: f64, lo: f64, hi: f64 },
    #[error("{what} is not a finite number")]
    NonFinite { what: &'static str },
    #[error(
        "no point of the frames could be tracked (too little texture: a flat or collapsed picture), so there is no motion to measure"
    )]
    NoTexture,
    #[error("this metric is computed from per-frame features or flow, which were not provided")]
    NeedsFeatures,
    #[error("frames of {width}×{height} are too small for optical flow (a short side of at least {min} px)")]
    TooSmall { width: u32, height: u32, min: u32 },
}

/// The frames a feature metric's extractor sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FrameInput {
    /// Every frame as it is.
    Full,
    /// Every frame with its saturated foreground replaced by the background
    /// ([`crate::feature_consistency::background_only`]).
    Background,
    /// Every frame under VBench's `clip_transform` for CLIP ViT-B/32 image features (weights the
    /// user provides), not the world encoder.
    VbenchClip,
    /// Every frame under VBench's `dino_transform` for DINO ViT-B/16 features (weights the user
    /// provides).
    VbenchDino,
    /// Every frame under VBench's `clip_transform` for the LAION aesthetic predictor on CLIP
    /// ViT-L/14 (weights the user provides); each frame's "feature" is its one head score.
    VbenchAesthetic,
    /// Every frame under VBench's imaging-quality transform (the longer side to 512 when larger)
    /// for MUSIQ (SPAQ checkpoint; weights the user provides); each frame's "feature" is its
    /// score.
    VbenchMusiq,
}

/// The frame-pair network a pair metric reads (optical flow, or interpolation): which network,
/// over which frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlowInput {
    /// VBench's dynamic degree: RAFT-things (weights the user provides), 20 updates, on
    /// consecutive frames sampled at about 8 fps, replicate-padded to multiples of 8; each pair
    /// scored by the mean of its largest 5% of flow magnitudes over the padded frame.
    VbenchRaft,
    /// VBench's temporal-flickering static filter (`vbench/cli/static_filter.py`): RAFT-things, 20
    /// updates, on every pair of consecutive frames, then (first, last) and (last, first) — those
    /// two closing pairs last; each scored by the mean of its largest 2% of flow magnitudes.
    VbenchStatic,
    /// EvalCrafter's flow score (`metrics/RAFT/optical_flow_scores.py`, `calculate_flow_score`):
    /// RAFT-things, 20 updates, on every pair of consecutive frames, replicate-padded to multiples
    /// of 8; each pair scored by its mean flow magnitude over the padded frame.
    EvalCrafterFlow,
    /// EvalCrafter's warping error (`compute_video_warping_error`): RAFT-things, 20 updates, on
    /// every pair of consecutive frames halved in size ([0, 1] values, bilinear ×0.5) and
    /// replicate-padded to multiples of 8, forward and backward; each pair scored by the mean
    /// squared difference between the first frame and the second warped back onto it, outside
    /// occlusions and motion boundaries.
    EvalCrafterWarp,
    /// VBench's motion smoothness (`motion_smoothness.py`): AMT-S (weights the user provides)
    /// predicts each odd frame from the even frames either side (native frames, replicate-padded
    /// to multiples of 16, quantised to 8 bits); each predicted frame scored by its mean absolute
    /// difference from the real one, 0–255.
    VbenchAmt,
}

impl FlowInput {
    /// What each pair's score is, for reports.
    pub fn pair_score(&self) -> &'static str {
        match self {
            FlowInput::VbenchRaft => "mean of the largest 5% of RAFT flow magnitudes over the padded frame, px",
            FlowInput::VbenchStatic => {
                "mean of the largest 2% of RAFT flow magnitudes over the padded frame, px; the last two pairs are first → last and last → first"
            }
            FlowInput::EvalCrafterFlow => "mean RAFT flow magnitude over the padded frame, px",
            FlowInput::EvalCrafterWarp => {
                "mean squared difference of the second frame warped back onto the first, outside occlusions and motion boundaries, half-size [0, 1] frames"
            }
            FlowInput::VbenchAmt => {
                "mean absolute difference of the AMT-S prediction of an odd frame from the real one, 0–255"
            }
        }
    }

    /// The fraction of largest flow magnitudes a pair's score averages; `None` where a pair is
    /// not scored by its flow's magnitudes (the warping error, AMT-S's interpolation).
    pub fn top_fraction(&self) -> Option<f64> {
        match self {
            FlowInput::VbenchRaft => Some(0.05),
            FlowInput::VbenchStatic => Some(0.02),
            FlowInput::EvalCrafterFlow => Some(1.0),
            FlowInput::EvalCrafterWarp | FlowInput::VbenchAmt => None,
        }
    }

    /// Every how many frames one is sampled, at `fps`.
    pub fn interval(&self, fps: f64) -> usize {
        match self {
            FlowInput::VbenchRaft => crate::vbench_dynamic_degree::sample_interval(fps),
            FlowInput::VbenchStatic | FlowInput::EvalCrafterFlow | FlowInput::EvalCrafterWarp => 1,
            // The even frames are AMT-S's inputs; the odd ones are compared.
            FlowInput::VbenchAmt => 2,
        }
    }
}

/// What a flow network measured on a clip's sampled frame pairs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowPairs {
    /// The frames' size, before any padding.
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Frames sampled.
    pub frames: usize,
    /// Frames decoded (sampled or not).
    pub decoded: usize,
    /// One score per consecutive pair of sampled frames (the [`FlowInput`] says which; for
    /// [`FlowInput::VbenchAmt`], one per frame predicted from a pair).
    pub scores: Vec<f64>,
}

impl FlowPairs {
    /// The mean of the scores, or too few frames (`needed` of them) when there is none.
    pub fn mean_score(&self, needed: usize) -> Result<f64, MetricError> {
        if self.scores.is_empty() {
            return Err(MetricError::TooFewFrames { needed, got: self.decoded });
        }
        Ok(self.scores.iter().sum::<f64>() / self.scores.len() as f64)
    }
}

/// How much of a clip a metric reads at once: the runner streams frames through windowed
/// metrics and holds a whole clip only for what needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The newest `k` frames of an [`crate::analysis::Window`] (1 = each frame alone, 2 = pairs,
    /// 3 = triples); the metric is an [`crate::analysis::Accumulator`] ([`Metric::stream`]).
    Window(usize),
    /// Per-frame features of the frames named (the harness's frame extractor, frame by frame).
    Features(FrameInput),
    /// Optical flow of sampled frame pairs (the harness runs the network as frames stream past).
    Flow(FlowInput),
    /// The whole decoded clip at once.
    WholeClip,
}

/// A metric's registry name, validated against [`REGISTRY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricId(&'static str);

impl MetricId {
    /// Looks a name up in the registry; `None` for names no metric carries.
    pub fn parse(name: &str) -> Option<Self> {
        lookup(name).map(|m| MetricId(m.id()))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    pub fn metric(&self) -> &'static dyn Metric {
        // A MetricId is only built from a registry entry, so the lookup cannot miss.
        lookup(self.0).unwrap_or_else(|| unreachable!("MetricId {} not in registry", self.0))
    }
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One scalar measurement of one video.
pub trait Metric: Sync {
    /// Registry name, `snake_case`, stable across versions.
    fn id(&self) -> &'static str;
    /// Bumped whenever the computed number can change; part of every score's cache key.
    fn version(&self) -> u32;
    /// One sentence for reports and `--help`: what is measured and on which frames.
    fn description(&self) -> &'static str;
    fn direction(&self) -> Direction;
    /// Bounds every correct value lies in; a value outside is an error, never a score.
    fn range(&self) -> (f64, f64);
    /// What the metric reads at once; a `Window` metric must give a [`Metric::stream`].
    fn reads(&self) -> Reads;

    /// A fresh accumulator for a streaming (`Reads::Window`) metric; `None` for the others.
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        None
    }

    /// The value on a decoded clip. A streaming metric's value is its accumulator run over the
    /// clip's frames (one code path for streamed and decoded clips).
    fn compute(&self, video: &Video) -> Result<f64, MetricError> {
        match self.stream() {
            Some(acc) => crate::analysis::run(video, vec![acc]).pop().unwrap_or(Err(MetricError::NeedsFeatures)),
            None => Err(MetricError::NeedsFeatures),
        }
    }

    /// `Some` for metrics over per-frame feature vectors: the harness runs its frame feature
    /// extractor (the world encoder) on the frames named here and calls
    /// [`Metric::compute_features`] instead of [`Metric::compute`].
    fn frame_input(&self) -> Option<FrameInput> {
        match self.reads() {
            Reads::Features(input) => Some(input),
            _ => None,
        }
    }

    /// The metric from unit-norm per-frame features (`features[t]` for frame `t`).
    fn compute_features(&self, _features: &[Vec<f64>]) -> Result<f64, MetricError> {
        Err(MetricError::NeedsFeatures)
    }

    /// The metric from a flow network's per-pair scores ([`Reads::Flow`] metrics).
    fn compute_flow(&self, _flow: &FlowPairs) -> Result<f64, MetricError> {
        Err(MetricError::NeedsFeatures)
    }

    /// [`Metric::compute_flow`] followed by the range check.
    fn measure_flow(&self, flow: &FlowPairs) -> Result<f64, MetricError> {
        // A NaN score compares false with every threshold: it read as a static pair.
        if flow.scores.iter().any(|s| !s.is_finite()) {
            return Err(MetricError::NonFinite { what: "a flow score from the network (broken weights or input?)" });
        }
        self.check(self.compute_flow(flow)?)
    }

    /// [`Metric::compute`] followed by the range check.
    fn measure(&self, video: &Video) -> Result<f64, MetricError> {
        self.check(self.compute(video)?)
    }

    /// [`Metric::compute_features`] followed by the range check.
    fn measure_features(&self, features: &[Vec<f64>]) -> Result<f64, MetricError> {
        // A NaN cosine clamped at 0 read as "no consistency at all".
        if features.iter().flatten().any(|x| !x.is_finite()) {
            return Err(MetricError::NonFinite { what: "a frame feature from the network (broken weights or input?)" });
        }
        self.check(self.compute_features(features)?)
    }

    fn check(&self, value: f64) -> Result<f64, MetricError> {
        let (lo, hi) = self.range();
        if value.is_nan() {
            return Err(MetricError::NonFinite { what: "the metric's value" });
        }
        if value < lo || value > hi {
            return Err(MetricError::OutOfRange { value, lo, hi });
        }
        Ok(value)
    }
}

/// Every metric, in report order.
pub static REGISTRY: &[&dyn Metric] = &[
    &crate::frame_count::FrameCount,
    &crate::aspect_ratio::AspectRatio,
    &crate::temporal_diff::TemporalDiff,
    &crate::temporal_flicker::TemporalFlicker,
    &crate::dynamic_degree::DynamicDegree,
    &crate::motion_smoothness::MotionSmoothness,
    &crate::warping_error::WarpingError,
    &crate::world_subject_consistency::WorldSubjectConsistency,
    &crate::world_background_consistency::WorldBackgroundConsistency,
    &crate::vbench_background_consistency::VbenchBackgroundConsistency,
    &crate::vbench_subject_consistency::VbenchSubjectConsistency,
    &crate::vbench_aesthetic_quality::VbenchAestheticQuality,
    &crate::vbench_dynamic_degree::VbenchDynamicDegree,
    &crate::vbench_static::VbenchStatic,
    &crate::raft_flow_score::RaftFlowScore,
    &crate::raft_warping_error::RaftWarpingError,
    &crate::vbench_motion_smoothness::VbenchMotionSmoothness,
    &crate::vbench_imaging_quality::VbenchImagingQuality,
];

/// Metric ids that were renamed, `(old, new)`: a suite or `--metrics` that names an old id is told
/// the new one, and `compare` reads results written under an old id as the new one.
pub const RENAMED: &[(&str, &str)] = &[
    // The world-encoder consistency metrics, named for what they are (VBench's own are vbench_*).
    ("subject_consistency", "world_subject_consistency"),
    ("background_consistency", "world_background_consistency"),
];

/// The id an old metric name was renamed to.
pub fn renamed(old: &str) -> Option<&'static str> {
    RENAMED.iter().find(|(o, _)| *o == old).map(|(_, new)| *new)
}

/// Why `name` is not a metric, for error messages: the new id of a renamed one, else the list.
pub fn unknown(name: &str) -> String {
    match renamed(name) {
        Some(new) => format!("metric \"{name}\" was renamed to \"{new}\""),
        None => format!("unknown metric \"{name}\", expected one of {}", names().join(", ")),
    }
}

pub fn lookup(name: &str) -> Option<&'static dyn Metric> {
    REGISTRY.iter().copied().find(|m| m.id() == name)
}

pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|m| m.id()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_ids_are_unique_snake_case_and_documented() {
        let mut seen = std::collections::BTreeSet::new();
        for m in REGISTRY {
            assert!(seen.insert(m.id()), "duplicate metric id {}", m.id());
            assert!(
                m.id().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{} is not snake_case",
                m.id()
            );
            assert!(m.description().len() > 20, "{} lacks a description", m.id());
            assert!(m.version() >= 1);
            let (lo, hi) = m.range();
            assert!(lo < hi, "{} has an empty range", m.id());
            assert_eq!(MetricId::parse(m.id()).map(|id| id.as_str()), Some(m.id()));
            // A windowed metric streams, and only a windowed one.
            assert_eq!(matches!(m.reads(), Reads::Window(_)), m.stream().is_some(), "{}", m.id());
        }
        assert_eq!(MetricId::parse("gravty"), None);
    }

    #[test]
    fn a_renamed_metric_points_to_its_new_id() {
        for (old, new) in RENAMED {
            assert!(lookup(old).is_none() && lookup(new).is_some(), "{old} → {new}");
        }
        assert_eq!(
            unknown("subject_consistency"),
            "metric \"subject_consistency\" was renamed to \"world_subject_consistency\""
        );
        assert!(unknown("gravty").starts_with("unknown metric \"gravty\", expected one of frame_count"));
    }
}
