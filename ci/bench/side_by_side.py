#!/usr/bin/env python3
"""videval beside the reference tools, on the same inputs, in one run; prints a table of medians
and ratios (reference time / videval time: above 1 means videval is faster).

    pip install av numpy scipy            # the references (not needed by videval itself)
    ./ci/bench/side-by-side.sh            # builds what it needs, then runs this script

Decoding and scoring: a 1080p, 10 s, 24 fps H.264 clip (ffmpeg testsrc2), decoded by PyAV to RGB
and by `videval video info --decode`; 16 uniform frames at 224² by PyAV (decode, pick, resize)
and by `videval video info --decode --frames uniform:16 --size 224x224` (each kept frame made and
dropped, as PyAV's arrays are), and once more with the frames written out as a lossless file by
`videval video convert` (PyAV writes nothing there: that row shows the write's cost); the metric
set of issue 18 by
`videval video score` (one streamed decode), with its peak RSS. Fréchet: scipy's sqrtm route
(pytorch-fid), the symmetric-eigen route in numpy/scipy, and np.cov, against
`examples/frechet_timing.rs` on the formula features of metrics/tests/golden/frechet_golden.py.

The decoding rows and the statistics row alternate the reference and videval pair by pair
(`--reps` pairs after a warm-up of each) and print, beside the ratio of the medians, the median
and range of the pairs' ratios: this machine drifts by 10-20% over a minute, which alternation
spreads over both sides instead of one.
"""
import argparse
import importlib.util
import inspect
import json
import pathlib
import resource
import statistics
import subprocess
import sys
import time

import av
import numpy as np
import scipy.linalg

ROOT = pathlib.Path(__file__).resolve().parents[2]
METRICS = "frame_count,temporal_flicker,dynamic_degree,motion_smoothness,warping_error,world_subject_consistency,world_background_consistency"


def timed(f, reps):
    f()  # warm-up (page cache, library loading)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def seconds(f):
    """Wall time of one call, unless it returns its own measurement (seconds)."""
    t = time.perf_counter()
    own = f()
    return own if isinstance(own, float) else time.perf_counter() - t


def paired(ref, ours, reps):
    """Alternates the reference and videval `reps` times after a warm-up of each, so that the
    machine's drift hits both sides alike: (median ref, median ours, every pair's ratio)."""
    ref(), ours()
    pairs = [(seconds(ref), seconds(ours)) for _ in range(reps)]
    return (statistics.median(r for r, _ in pairs), statistics.median(o for _, o in pairs),
            sorted(r / o for r, o in pairs))


def pyav_rgb(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        return sum(1 for f in c.decode(s) if f.to_ndarray(format="rgb24") is not None)


def pyav_uniform16(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        total = s.frames
        keep = {int((i + 0.5) * total / 16) for i in range(16)}
        out = [f.to_ndarray(width=224, height=224, format="rgb24")
               for i, f in enumerate(c.decode(s)) if i in keep]
        return len(out)


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def peak_rss_mb(cmd):
    """Peak RSS of one child process (fresh interpreter, so no earlier child counts)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], check=True, capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--videval", required=True, help="the videval binary")
    ap.add_argument("--frechet", required=True, help="the frechet_timing example binary")
    ap.add_argument("--work", default="target/side-by-side")
    ap.add_argument("--reps", type=int, default=7, help="pairs (reference, videval) per paired row")
    a = ap.parse_args()
    work = pathlib.Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    clip = work / "testsrc2-1080p-10s.mp4"
    if not clip.exists():
        run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=24:duration=10",
             "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "23", str(clip)])
    rows = []

    # Decoding: PyAV timed inside this interpreter, videval as a whole process (its start, ~30 ms
    # here — the dynamic loader resolving Debian FFmpeg's 137 libraries — counts against it),
    # pair by pair.
    decode = [a.videval, "video", "info", "--decode", str(clip)]
    uniform = [a.videval, "video", "info", "--decode", "--frames", "uniform:16", "--size", "224x224", str(clip)]
    out16 = work / "uniform16.mkv"
    convert = [a.videval, "video", "convert", "--frames", "uniform:16", "--size", "224x224", str(clip), str(out16)]
    t_pyav, t_dec, r = paired(lambda: pyav_rgb(clip), lambda: run(decode), a.reps)
    rows.append(("decode 1080p x240 to RGB", "PyAV", t_pyav, t_dec, r))
    t_pyav16, t_v16, r = paired(lambda: pyav_uniform16(clip), lambda: run(uniform), a.reps)
    rows.append(("uniform:16 -> 224x224", "PyAV", t_pyav16, t_v16, r))
    t_a, t_b, r = paired(lambda: pyav_uniform16(clip), lambda: run(convert), a.reps)
    rows.append(("uniform:16 -> 224x224, written (convert)", "PyAV", t_a, t_b, r))
    # Like for like: both leave out their start (PyAV's interpreter and `import av`, videval's
    # process start); videval's time is the wall time its --json reports, from opening the file
    # to the last frame.
    own = lambda cmd: lambda: json.loads(subprocess.run(cmd + ["--json"], check=True, capture_output=True,
                                                        text=True).stdout)["wall_s"]
    t_a, t_b, r = paired(lambda: pyav_rgb(clip), own(decode), a.reps)
    rows.append(("decode to RGB, both without their start", "PyAV", t_a, t_b, r))
    t_a, t_b, r = paired(lambda: pyav_uniform16(clip), own(uniform), a.reps)
    rows.append(("uniform:16, both without their start", "PyAV", t_a, t_b, r))
    # As processes both ways, PyAV pays its interpreter and `import av` too (the child runs the
    # same function's source with only `sys` and `av` imported, not this script's numpy/scipy):
    for task, fn, cmd in (("decode to RGB, both as processes", pyav_rgb, decode),
                          ("uniform:16, both as processes", pyav_uniform16, uniform)):
        code = f"import sys\nimport av\n{inspect.getsource(fn)}\n{fn.__name__}(sys.argv[1])\n"
        t_proc, t_ours, r = paired(lambda: run([sys.executable, "-c", code, str(clip)]), lambda: run(cmd), a.reps)
        rows.append((task, "PyAV", t_proc, t_ours, r))
    score = [a.videval, "video", "score", "--metrics", METRICS, str(clip)]
    t_score = timed(lambda: run(score), 1)
    rss = peak_rss_mb(score)
    rows.append(("7 metrics, one pass (vs PyAV decode)", "PyAV decode", t_pyav, t_score, None))

    ours = json.loads(subprocess.run([a.frechet], check=True, capture_output=True, text=True).stdout)
    spec = importlib.util.spec_from_file_location("golden", ROOT / "metrics/tests/golden/frechet_golden.py")
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    fa, fb = golden.features(1, 2500, 2048, 1.0, 0.0), golden.features(2, 2200, 2048, 1.5, 0.3)
    mu1, mu2 = fa.mean(0), fb.mean(0)
    s1, s2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    t_sqrtm = timed(lambda: golden.sqrtm_fd(mu1, s1, mu2, s2), 1)
    t_eigh = timed(lambda: golden.eigh_fd(mu1, s1, mu2, s2), a.reps)
    ref_value = golden.eigh_fd(mu1, s1, mu2, s2)
    rows.append(("Frechet 2048-d from statistics", "scipy sqrtm", t_sqrtm, ours["fd_2048"]["ms"] / 1e3, None))
    rows.append(("Frechet 2048-d from statistics", "eigh route", t_eigh, ours["fd_2048"]["ms"] / 1e3, None))
    big = golden.features(3, 10_000, 2048, 1.0, 0.0)
    stats_only = lambda: json.loads(subprocess.run([a.frechet, "stats"], check=True, capture_output=True,
                                                   text=True).stdout)["stats_10000x2048_ms"] / 1e3
    # Each side's steady state (the median of 3 after a warm-up, in this interpreter and in the
    # example's process): np.cov timed right after a child process exits ran up to 4x slower here.
    np_cov = lambda: timed(lambda: (big.mean(0), np.cov(big, rowvar=False)), 3)
    t_cov, t_stats, r = paired(np_cov, stats_only, a.reps)
    rows.append(("mean+cov of 10000x2048", "np.cov", t_cov, t_stats, r))
    ga, gb = golden.features(1, 300, 2048, 1.0, 0.0), golden.features(2, 300, 2048, 1.5, 0.3)
    t_small = timed(lambda: golden.sqrtm_fd(ga.mean(0), np.cov(ga, rowvar=False), gb.mean(0),
                                            np.cov(gb, rowvar=False)), 1)
    rows.append(("Frechet N=300, d=2048 from features", "scipy sqrtm", t_small, ours["fd_features_300"]["ms"] / 1e3, None))

    print(f"{'task':<42} {'reference':<12} {'ref s':>8} {'videval s':>10} {'ratio':>7}  pairs: median [min, max]")
    for task, ref, tr, tv, r in rows:
        pairs = f"  {statistics.median(r):.2f} [{r[0]:.2f}, {r[-1]:.2f}]" if r else ""
        print(f"{task:<42} {ref:<12} {tr:>8.3f} {tv:>10.3f} {tr / tv:>7.2f}{pairs}")
    print(f"peak RSS of the 7-metric pass: {rss:.0f} MB")
    rel = abs(ours["fd_2048"]["value"] - ref_value) / ref_value
    print(f"Frechet 2048-d: videval {ours['fd_2048']['value']:.12g}, eigh route {ref_value:.12g}, relative {rel:.2e}")


if __name__ == "__main__":
    main()
