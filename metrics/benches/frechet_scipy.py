#!/usr/bin/env python3
"""Times the reference Fréchet computations on the same features as benches/frechet.rs.

    pip install numpy scipy && python3 metrics/benches/frechet_scipy.py

Prints the median of 10 runs (after one warm-up) for: pytorch-fid / StyleGAN-V's
`scipy.linalg.sqrtm(Σa Σb)` route, the symmetric eigh route (what videval computes), and
`np.cov` for the statistics. Run it on an idle machine, right after the criterion bench.
"""
import importlib.util
import pathlib
import statistics
import time

import numpy as np

spec = importlib.util.spec_from_file_location(
    "golden", pathlib.Path(__file__).resolve().parent.parent / "tests" / "golden" / "frechet_golden.py")
golden = importlib.util.module_from_spec(spec)
spec.loader.exec_module(golden)


def median_ms(f, reps=10):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


for d, na, nb in [(400, 600, 500), (2048, 2500, 2200)]:
    fa = golden.features(1, na, d, 1.0, 0.0)
    fb = golden.features(2, nb, d, 1.5, 0.3)
    mu1, mu2 = fa.mean(0), fb.mean(0)
    s1, s2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    print(f"{d}-d: scipy sqrtm distance {median_ms(lambda: golden.sqrtm_fd(mu1, s1, mu2, s2)):.1f} ms, "
          f"eigh distance {median_ms(lambda: golden.eigh_fd(mu1, s1, mu2, s2)):.1f} ms, "
          f"np.cov of {na}x{d} {median_ms(lambda: np.cov(fa, rowvar=False)):.1f} ms")
