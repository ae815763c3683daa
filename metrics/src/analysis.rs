//! The per-video analysis context: a clip's frames stream through a [`Window`] once, and every
//! streaming metric reads what it needs from it. Derived quantities are computed once and
//! shared — luma at the flow analysis size and its pyramid per frame, checked optical flow per
//! frame pair — so three flow metrics cost one flow per pair, not three. Memory is bounded by
//! the widest window a metric declares ([`WINDOW`] frames), never by the clip's length.
//!
//! ```text
//! decode (stream) ─► Window ─┬─► flow(t−k → t) ─► dynamic_degree, warping_error, motion_smoothness
//!                            └─► frames(t−k) ─► frame_count, temporal_diff, temporal_flicker
//! ```
//!
//! Flow runs at a declared analysis size ([`flow_size`]): frames whose short side exceeds
//! [`FLOW_SHORT_SIDE`] are reduced to it (area filter) before tracking; smaller frames are
//! tracked at their own size. Lucas–Kanade's window and pyramid are fixed in pixels, so the
//! analysis size fixes what motion they can follow and what each flow metric costs per pair,
//! whatever the resolution a model renders at.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::flow::{self, Gray, Level};
use crate::preprocess::{Filter, resize_luma};
use crate::registry::MetricError;
use crate::video::{Video, VideoError};

/// The shortest frame side optical flow is measured on: one grid point [`MARGIN`] pixels from
/// either edge (a 16-px side had none, and a textured clip read "too little texture").
pub const MIN_FLOW_SIDE: u32 = 2 * MARGIN as u32 + 1;

/// Short side (pixels) at which the flow metrics measure; smaller frames stay at their size.
pub const FLOW_SHORT_SIDE: u32 = 256;
/// The most frames any streaming metric looks at together (a triple: motion smoothness).
pub const WINDOW: usize = 3;
/// Flow grid: every `max(MIN_STRIDE, short side / 32)`-th pixel, `MARGIN` pixels from the
/// border, kept when the forward–backward round trip lands within `MAX_FB` pixels.
pub const MIN_STRIDE: usize = 4;
pub const MARGIN: usize = 8;
pub const MAX_FB: f32 = 0.5;

/// The flow grid's stride for a `w × h` analysis frame.
fn flow_stride(w: usize, h: usize) -> usize {
    MIN_STRIDE.max(w.min(h) / 32)
}

/// Checked flow vectors `(x, y, u, v)` in analysis pixels, from one frame to a later one.
pub type Vectors = Arc<Vec<(f32, f32, f32, f32)>>;

/// The size flow is measured at for `w × h` frames: the same size when the short side is at
/// most [`FLOW_SHORT_SIDE`], otherwise scaled so the short side is exactly that.
pub fn flow_size(w: u32, h: u32) -> (u32, u32) {
    let short = w.min(h);
    if short <= FLOW_SHORT_SIDE {
        return (w, h);
    }
    let s = f64::from(FLOW_SHORT_SIDE) / f64::from(short);
    let scaled = |n: u32| if n == short { FLOW_SHORT_SIDE } else { ((f64::from(n) * s).round() as u32).max(1) };
    (scaled(w), scaled(h))
}

struct Slot {
    /// Shared with whoever else reads the frame as it streams past (the scorer's feature
    /// collectors), so the window holds it without a copy.
    rgb: Arc<Vec<u8>>,
    /// Luma at the analysis size and its pyramid, made on first demand.
    pyramid: Option<Arc<Vec<Level>>>,
}

/// The frames a streaming metric can see: the newest [`WINDOW`] frames of the clip, with shared
/// derived quantities.
pub struct Window {
    width: u32,
    height: u32,
    fps: f64,
    pixel_aspect: f64,
    flow_w: u32,
    flow_h: u32,
    slots: VecDeque<Slot>,
    /// `(from, to, vectors)` by absolute frame index; dropped when `from` leaves the window.
    flows: Vec<(usize, usize, Vectors)>,
    pushed: usize,
    flows_computed: usize,
}

impl Window {
    pub fn new(width: u32, height: u32, fps: f64) -> Result<Window, VideoError> {
        Video::new(width, height, fps, Vec::new())?;
        let (flow_w, flow_h) = flow_size(width, height);
        Ok(Window {
            width,
            height,
            fps,
            pixel_aspect: 1.0,
            flow_w,
            flow_h,
            slots: VecDeque::with_capacity(WINDOW),
            flows: Vec::new(),
            pushed: 0,
            flows_computed: 0,
        })
    }

    /// The same window for frames whose pixels are shown `pixel_aspect` times as wide as tall (a
    /// container's sample aspect ratio; 1, square pixels, unless said). Flow is measured on
    /// square pixels, as a player shows the frames: on the coded ones a 4:3-pixel clip's
    /// sideways motion read 14% slow.
    pub fn with_pixel_aspect(mut self, pixel_aspect: f64) -> Window {
        self.pixel_aspect = pixel_aspect;
        (self.flow_w, self.flow_h) = flow_size(crate::preprocess::shown_width(self.width, pixel_aspect), self.height);
        self
    }

    /// Adds the next frame (RGB8, `width × height`); the oldest leaves once [`WINDOW`] are held.
    pub fn push(&mut self, rgb: impl Into<Arc<Vec<u8>>>) -> Result<(), VideoError> {
        let rgb = rgb.into();
        if rgb.len() != self.width as usize * self.height as usize * 3 {
            return Err(VideoError::Ragged { got: rgb.len(), width: self.width, height: self.height });
        }
        if self.slots.len() == WINDOW {
            self.slots.pop_front();
        }
        self.slots.push_back(Slot { rgb, pyramid: None });
        self.pushed += 1;
        let oldest = self.pushed - self.slots.len();
        self.flows.retain(|(from, _, _)| *from >= oldest);
        Ok(())
    }

    /// Frames pushed so far; the newest frame's index is `len() - 1`.
    pub fn len(&self) -> usize {
        self.pushed
    }

    pub fn is_empty(&self) -> bool {
        self.pushed == 0
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    /// Whether optical flow measures anything on these frames: a short side of at least
    /// [`MIN_FLOW_SIDE`] (a 1×1 clip read dynamic degree 0, motion smoothness 1 and warping error
    /// 0, each as a measurement).
    pub fn flow_measurable(&self) -> Result<(), MetricError> {
        if self.width.min(self.height) < MIN_FLOW_SIDE {
            return Err(MetricError::TooSmall { width: self.width, height: self.height, min: MIN_FLOW_SIDE });
        }
        Ok(())
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// How wide a pixel is shown relative to its height (1 for square pixels).
    pub fn pixel_aspect(&self) -> f64 {
        self.pixel_aspect
    }

    /// The analysis size flow is measured at.
    pub fn flow_dims(&self) -> (u32, u32) {
        (self.flow_w, self.flow_h)
    }

    /// The grid points flow is tracked at, tracked or not: [`Window::flow`] returns those that
    /// passed its texture and forward–backward checks.
    pub fn flow_grid_points(&self) -> usize {
        let (w, h) = (self.flow_w as usize, self.flow_h as usize);
        flow::grid_len(w, h, flow_stride(w, h), MARGIN)
    }

    /// How many flow fields were computed (each pair and direction once, however many metrics
    /// read it).
    pub fn flows_computed(&self) -> usize {
        self.flows_computed
    }

    fn slot(&self, back: usize) -> Option<usize> {
        (back < self.slots.len()).then(|| self.slots.len() - 1 - back)
    }

    /// RGB8 pixels of the frame `back` frames before the newest (0 = newest).
    pub fn frame(&self, back: usize) -> Option<&[u8]> {
        self.slot(back).map(|i| self.slots[i].rgb.as_slice())
    }

    /// Luma pyramid at the analysis size of the frame `back` frames before the newest; level 0
    /// is the full analysis size.
    pub fn pyramid(&mut self, back: usize) -> Option<Arc<Vec<Level>>> {
        let i = self.slot(back)?;
        let (w, h, fw, fh) = (self.width, self.height, self.flow_w, self.flow_h);
        let slot = &mut self.slots[i];
        let p = slot.pyramid.get_or_insert_with(|| {
            let g = if (fw, fh) == (w, h) {
                Gray::from_rgb(&slot.rgb, w as usize, h as usize)
            } else {
                // Luma straight into the area filter: no full-size plane. A side widened to
                // square pixels (a small anamorphic clip) is interpolated.
                let filter = if fw <= w && fh <= h { Filter::Area } else { Filter::Bilinear };
                Gray { w: fw as usize, h: fh as usize, data: resize_luma(&slot.rgb, w, h, fw, fh, filter, true) }
            };
            Arc::new(flow::pyramid(&g, flow::LEVELS))
        });
        Some(Arc::clone(p))
    }

    /// Checked flow from the frame `back` frames before the newest to the newest; `None` when
    /// the window does not reach that far back.
    pub fn flow(&mut self, back: usize) -> Option<Vectors> {
        if back == 0 {
            return None;
        }
        let to = self.pushed.checked_sub(1)?;
        let from = to.checked_sub(back)?;
        if let Some((_, _, v)) = self.flows.iter().find(|(f, t, _)| (*f, *t) == (from, to)) {
            return Some(Arc::clone(v));
        }
        let (pa, pb) = (self.pyramid(back)?, self.pyramid(0)?);
        let stride = flow_stride(pa[0].image.w, pa[0].image.h);
        let vectors: Vec<_> = flow::dense_checked_pyramids(&pa, &pb, stride, MARGIN, MAX_FB)
            .into_iter()
            .filter_map(|(x, y, f)| f.map(|f| (x, y, f[0], f[1])))
            .collect();
        self.flows_computed += 1;
        let v = Arc::new(vectors);
        self.flows.push((from, to, Arc::clone(&v)));
        Some(v)
    }
}

/// A streaming metric's running state: it sees each frame once, in order, while the frame is
/// the newest in the window, and gives its value at the end of the clip.
pub trait Accumulator: Send {
    fn push(&mut self, window: &mut Window);
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError>;
}

/// Streams a decoded video through accumulators (one window shared by all); the values in order.
pub fn run(video: &Video, accumulators: Vec<Box<dyn Accumulator>>) -> Vec<Result<f64, MetricError>> {
    let mut window = match Window::new(video.width(), video.height(), video.fps()) {
        Ok(w) => w,
        // A Video's size and rate were validated when it was built.
        Err(e) => unreachable!("a decoded Video is always a valid window: {e}"),
    };
    run_with(&mut window, video, accumulators)
}

/// [`run`] on a window the caller keeps (to read its counters afterwards).
pub fn run_with(
    window: &mut Window,
    video: &Video,
    mut accumulators: Vec<Box<dyn Accumulator>>,
) -> Vec<Result<f64, MetricError>> {
    for frame in video.frames() {
        if let Err(e) = window.push(frame.to_vec()) {
            unreachable!("frames of a Video have the window's size: {e}");
        }
        for a in &mut accumulators {
            a.push(window);
        }
    }
    accumulators.into_iter().map(|a| a.finish(window)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::registry::{Metric, Reads};

    /// A smooth texture translated `speed` px per frame: exact ground-truth motion.
    fn textured(frames: usize, w: usize, h: usize, speed: f64) -> Video {
        shifted(w, h, &(0..frames).map(|t| speed * t as f64).collect::<Vec<_>>())
    }

    /// The flow metrics' test texture, one frame per horizontal shift in `shifts`.
    pub(crate) fn shifted(w: usize, h: usize, shifts: &[f64]) -> Video {
        let mut data = Vec::with_capacity(shifts.len() * w * h * 3);
        for &dx in shifts {
            for y in 0..h {
                for x in 0..w {
                    let (u, v) = (x as f64 - dx, y as f64);
                    let l = 128.0 + 60.0 * (0.31 * u).sin() * (0.23 * v).cos() + 40.0 * (0.17 * u + 0.29 * v).sin();
                    let l = l.round() as u8;
                    data.extend([l, l, l]);
                }
            }
        }
        Video::new(w as u32, h as u32, 8.0, data).unwrap()
    }

    #[test]
    fn analysis_size_keeps_small_frames_and_reduces_large_ones_to_a_256_short_side() {
        assert_eq!(flow_size(64, 64), (64, 64));
        assert_eq!(flow_size(256, 480), (256, 480));
        assert_eq!(flow_size(1920, 1080), (455, 256));
        assert_eq!(flow_size(1080, 1920), (256, 455));
        assert_eq!(flow_size(854, 480), (455, 256));
    }

    #[test]
    fn three_flow_metrics_compute_each_pair_once() {
        let v = textured(9, 64, 48, 1.5);
        let flow_metrics: Vec<&dyn Metric> = ["dynamic_degree", "warping_error", "motion_smoothness"]
            .iter()
            .map(|n| crate::registry::lookup(n).unwrap())
            .collect();
        let mut window = Window::new(64, 48, 8.0).unwrap();
        let accs = flow_metrics.iter().map(|m| m.stream().unwrap()).collect();
        let values = run_with(&mut window, &v, accs);
        assert!(values.iter().all(Result::is_ok), "{values:?}");
        // (t−1 → t) for 8 pairs, shared by two metrics; (t−2 → t) for 7 triples.
        assert_eq!(window.flows_computed(), 8 + 7);
        // Each alone computes its own pairs: the shared run did the work of the three once.
        let alone: usize = flow_metrics
            .iter()
            .map(|m| {
                let mut w = Window::new(64, 48, 8.0).unwrap();
                run_with(&mut w, &v, vec![m.stream().unwrap()]);
                w.flows_computed()
            })
            .sum();
        assert_eq!(alone, 8 + 8 + 7);
        // Shared or alone, the values are the same.
        for (m, shared) in flow_metrics.iter().zip(&values) {
            assert_eq!(m.measure(&v).as_ref(), shared.as_ref(), "{}", m.id());
        }
    }

    #[test]
    fn the_window_holds_a_bounded_number_of_frames_and_flows() {
        let v = textured(40, 48, 40, 1.0);
        let mut window = Window::new(48, 40, 8.0).unwrap();
        let mut accs: Vec<Box<dyn Accumulator>> = crate::registry::REGISTRY.iter().filter_map(|m| m.stream()).collect();
        for f in v.frames() {
            window.push(f.to_vec()).unwrap();
            for a in &mut accs {
                a.push(&mut window);
            }
            assert!(window.slots.len() <= WINDOW);
            // At most the pairs ending at the newest frame and the one before it.
            assert!(window.flows.len() <= 2 * (WINDOW - 1), "{} flows held", window.flows.len());
        }
        assert_eq!(window.flows_computed(), 39 + 38);
        for m in crate::registry::REGISTRY {
            if let Reads::Window(k) = m.reads() {
                assert!((1..=WINDOW).contains(&k), "{} declares a window of {k}", m.id());
            }
        }
    }

    #[test]
    fn a_frame_of_the_wrong_size_is_refused() {
        let mut w = Window::new(4, 4, 8.0).unwrap();
        assert!(matches!(w.push(vec![0; 10]), Err(VideoError::Ragged { .. })));
        assert!(Window::new(0, 4, 8.0).is_err());
    }

    #[test]
    fn large_frames_are_tracked_at_the_analysis_size_and_the_motion_is_rescaled() {
        // 3 px/frame at a 512-px short side is 1.5 px at 256, 12 px/s at 8 fps: dynamic degree
        // reads it at 256.
        let v = textured(4, 600, 512, 3.0);
        let dd = crate::registry::lookup("dynamic_degree").unwrap().measure(&v).unwrap();
        assert!((dd - 12.0).abs() < 1.2, "{dd}");
    }

    /// Pixels shown twice as wide as tall: flow is measured on the frames as shown, so a shift of
    /// 1.5 coded pixels a frame is 3 shown pixels (it read 1.5: sideways motion in coded pixels).
    #[test]
    fn flow_is_measured_on_square_pixels() {
        let v = textured(3, 96, 64, 1.5);
        let mean_u = |pixel_aspect: f64| {
            let mut w = Window::new(96, 64, 8.0).unwrap().with_pixel_aspect(pixel_aspect);
            for t in 0..v.len() {
                w.push(v.frame(t).to_vec()).unwrap();
            }
            let flow = w.flow(1).unwrap();
            (w.flow_dims(), flow.iter().map(|p| f64::from(p.2)).sum::<f64>() / flow.len() as f64)
        };
        let ((dims_1, u_1), (dims_2, u_2)) = (mean_u(1.0), mean_u(2.0));
        assert_eq!((dims_1, dims_2), ((96, 64), (192, 64)));
        assert!((u_1 - 1.5).abs() < 0.1 && (u_2 - 3.0).abs() < 0.2, "{u_1} {u_2}");
    }
}
