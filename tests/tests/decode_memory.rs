//! Decoding memory, alone in its binary: the resident size is read from /proc, and the other
//! video tests (decodes of tens of MB) must not run in the same process meanwhile.

use std::path::Path;
use std::process::Command;

use videval::video::decode;

/// Decoding the same file many times keeps the process's memory flat: every packet read into
/// one reused packet leaked its data (0.58 MB per 16-frame 512×320 video: several GB over a
/// VBench-size run, in `score` and in `report` alike). FFmpeg's allocations are invisible to a
/// counting allocator, so the resident size is read from /proc.
#[test]
fn decoding_again_and_again_does_not_grow_memory() {
    let dir = tempfile::tempdir().unwrap();
    // Noise keeps the packets large, as a photoreal clip's are (~150 KB).
    let clip = dir.path().join("clip.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=512x320:rate=8:duration=2"])
        .args(["-vf", "noise=alls=30:allf=t+u", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .expect("the ffmpeg CLI (ci/setup.sh installs it)");
    assert!(made.success() && Path::new(&clip).is_file());
    // VmRSS in kB (not statm's pages, whose size differs between machines).
    let resident = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().to_string();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    };
    for _ in 0..20 {
        decode(&clip).unwrap();
    }
    let before = resident();
    for _ in 0..100 {
        decode(&clip).unwrap();
    }
    let grown = resident().saturating_sub(before);
    // A leak of the clip's packets 100 times over is 15 MB and more.
    let size = std::fs::metadata(&clip).unwrap().len();
    assert!(size > 150_000, "{size}");
    assert!(grown < 8 << 20, "resident size grew by {} MB over 100 decodes", grown >> 20);
}
