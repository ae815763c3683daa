//! `camera`: the camera path class (static, pan, tilt, zoom) and its speed from the global
//! motion of the frame. The content moves against the camera: a pan right shifts the image
//! left. Pans are in canvas widths per second, tilts in canvas heights per second, zooms as the
//! log scale change per second.

use super::{Camera, CameraMotion, Context, Verdict, bound_words};

/// Below this speed in every component the camera is static.
pub const STATIC_SPEED: f64 = 0.02;

/// (class, speed) of the camera over the clip.
pub fn classify(ctx: &Context<'_>) -> Option<(CameraMotion, f64)> {
    let m = ctx.camera();
    let usable: Vec<_> = m.iter().filter(|x| x.inliers >= crate::global_motion::MIN_INLIERS).collect();
    if usable.is_empty() {
        return None;
    }
    let n = usable.len() as f64;
    let fps = ctx.video.fps();
    let (w, h) = (f64::from(ctx.video.width()), f64::from(ctx.video.height()));
    let pan = -usable.iter().map(|x| x.tx).sum::<f64>() / n / w * fps;
    let tilt = -usable.iter().map(|x| x.ty).sum::<f64>() / n / h * fps;
    let zoom = usable.iter().map(|x| x.scale.ln()).sum::<f64>() / n * fps;
    let (class, speed) = if pan.abs().max(tilt.abs()).max(zoom.abs()) < STATIC_SPEED {
        (CameraMotion::Static, pan.abs().max(tilt.abs()).max(zoom.abs()))
    } else if pan.abs() >= tilt.abs() && pan.abs() >= zoom.abs() {
        (if pan > 0.0 { CameraMotion::PanRight } else { CameraMotion::PanLeft }, pan.abs())
    } else if tilt.abs() >= zoom.abs() {
        (if tilt > 0.0 { CameraMotion::TiltDown } else { CameraMotion::TiltUp }, tilt.abs())
    } else {
        (if zoom > 0.0 { CameraMotion::ZoomIn } else { CameraMotion::ZoomOut }, zoom.abs())
    };
    Some((class, speed))
}

pub fn check(p: &Camera, ctx: &Context<'_>) -> Verdict {
    let Some((class, speed)) = classify(ctx) else {
        return Verdict::not_measurable("too little texture to measure camera motion");
    };
    let name = |c: CameraMotion| super::words(c);
    if class != p.motion {
        return Verdict::new(
            false,
            "wrong camera motion",
            Some(speed),
            format!("camera {} at {speed:.3}/s, expected {}", name(class), name(p.motion)),
        );
    }
    if let Some(b) = &p.speed {
        if !b.contains(speed) {
            return Verdict::new(
                false,
                "camera speed out of range",
                Some(speed),
                format!("camera {} at {speed:.3}/s, expected speed {}", name(class), bound_words(b)),
            );
        }
    }
    Verdict::new(true, "", Some(speed), format!("camera {} at {speed:.3}/s", name(class)))
}
