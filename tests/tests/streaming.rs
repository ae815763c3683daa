//! The scorer's one-pass streaming path holds a bounded amount of memory: the peak of scoring a
//! clip does not grow with the clip's length. Measured by a counting allocator (every heap byte
//! this process holds), not by timing; this binary has one test so nothing else allocates
//! beside it.

#![allow(unsafe_code)] // the counting allocator delegates to the system allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use videval::scoring::{Need, score_video};
use videval_metrics::registry;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn clip(dir: &Path, name: &str, secs: u32) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=320x240:rate=24:duration={secs}"))
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "23"])
        .arg(&out)
        .status()
        .expect("the ffmpeg CLI (ci/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed making {name}");
    out
}

/// Peak heap bytes above what was held before, while scoring `path`.
fn peak_while_scoring(path: &Path, needs: &[Need<'_>]) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = score_video(path, needs).expect("the clip decodes");
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    PEAK.load(Ordering::Relaxed) - base
}

#[test]
fn peak_memory_of_the_streaming_scorer_does_not_grow_with_clip_length() {
    let dir = tempfile::tempdir().unwrap();
    // 3 s is past one full chunk of the feature extractor (64 frames), so both peaks include it.
    let (short, long) = (clip(dir.path(), "short.mp4", 3), clip(dir.path(), "long.mp4", 12));
    let needs: Vec<Need<'_>> = [
        "frame_count",
        "temporal_flicker",
        "dynamic_degree",
        "motion_smoothness",
        "warping_error",
        "subject_consistency",
        "background_consistency",
    ]
    .iter()
    .map(|n| Need::Metric(registry::lookup(n).unwrap()))
    .collect();
    // The first call loads the world encoder (held for the process): not part of either peak.
    peak_while_scoring(&short, &needs);
    let a = peak_while_scoring(&short, &needs);
    let b = peak_while_scoring(&long, &needs);
    eprintln!("peak heap while scoring: 3 s {a} B, 12 s {b} B");
    // Four times the length: within 10% (and 1 MB of allocator noise).
    assert!(b as f64 <= a as f64 * 1.10 + 1e6, "peak grew with length: {a} B for 3 s, {b} B for 12 s");
    // The 12 s clip's frames alone (288 × 320×240 RGB, 66 MB) are more than the whole peak.
    assert!(b < 288 * 320 * 240 * 3, "peak {b} B");
}
