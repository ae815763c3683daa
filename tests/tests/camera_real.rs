//! Camera estimation on camera moves the ffmpeg CLI makes over a still picture: pans by a
//! moving crop window, tilts likewise, zooms with zoompan. The class must be right and the
//! speed within 10% of the commanded one.

use std::path::Path;
use std::process::Command;

use videval::video::decode;
use videval_metrics::probes::{CameraMotion, Context};
use videval_tests::Sandbox;

fn ffmpeg(dir: &Path, args: &[&str]) {
    let ok = Command::new("ffmpeg").current_dir(dir).args(["-v", "error", "-y"]).args(args).status().unwrap().success();
    assert!(ok, "ffmpeg {args:?}");
}

#[test]
fn camera_moves_over_a_still_are_classified_with_their_speed() {
    let sb = Sandbox::new();
    let d = sb.path();
    // A detailed still: a Mandelbrot render with film-like noise, 640×480.
    ffmpeg(
        d,
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=640x480:end_pts=1",
            "-vf",
            "noise=alls=20:allf=u",
            "-frames:v",
            "1",
            "still.png",
        ],
    );
    let fps = 10.0;
    // Output 160×120 windows; pans move the window 4 px per frame = 40 px/s = 0.25 widths/s.
    let cases: [(&str, &str, CameraMotion, f64); 5] = [
        ("pan_right.mkv", "crop=160:120:200+4*n:180", CameraMotion::PanRight, 40.0 / 160.0),
        ("pan_left.mkv", "crop=160:120:300-4*n:180", CameraMotion::PanLeft, 40.0 / 160.0),
        ("tilt_down.mkv", "crop=160:120:240:150+3*n", CameraMotion::TiltDown, 30.0 / 120.0),
        ("tilt_up.mkv", "crop=160:120:240:250-3*n", CameraMotion::TiltUp, 30.0 / 120.0),
        // zoompan magnifies 2% more each frame about the centre: zoom in at ln(1.02)·10 per
        // second.
        (
            "zoom_in.mkv",
            "zoompan=z='2*pow(1.02\\,on)':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=160x120:fps=10",
            CameraMotion::ZoomIn,
            1.02f64.ln() * 10.0,
        ),
    ];
    for (name, filter, want, speed) in cases {
        ffmpeg(
            d,
            &[
                "-loop",
                "1",
                "-framerate",
                "10",
                "-i",
                "still.png",
                "-vf",
                filter,
                "-frames:v",
                "12",
                "-c:v",
                "ffv1",
                name,
            ],
        );
        let v = decode(&d.join(name)).unwrap();
        assert_eq!(v.fps(), fps);
        let ctx = Context::new(&v);
        let (class, got) = videval_metrics::probes::camera_class(&ctx).unwrap_or_else(|| panic!("{name}: no estimate"));
        assert_eq!(class, want, "{name}");
        assert!((got / speed - 1.0).abs() < 0.10, "{name}: speed {got:.4} vs commanded {speed:.4}");
    }
}
