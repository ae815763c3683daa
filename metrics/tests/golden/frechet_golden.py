#!/usr/bin/env python3
"""Golden Fréchet distances from numpy/scipy in float64, for metrics/tests/frechet_reference.rs.

    pip install numpy scipy && python3 metrics/tests/golden/frechet_golden.py > metrics/tests/golden/frechet.json

Features come from a formula both sides evaluate identically (a counter-based splitmix64 stream,
no RNG library), so the test needs no data files: u[k] = splitmix64(seed + (k + 1)·γ) mapped to
[-1, 1), and row i, column j of a set is
    x[i, j] = s_j · u[i·d + j] + 0.5 · u[i·d + (j + 1) mod d] + m_j,
    s_j = 0.5 + ((j·7) mod 13) / 13 · scale,  m_j = shift · sin(0.1·j).
Each case records two references:
  * `eigh`: the symmetric formulation Tr sqrt(√Σa Σb √Σa) with scipy.linalg.eigh (clamped), the
    method tfgan uses and the one we implement;
  * `sqrtm`: the common pytorch-fid / StyleGAN-V formula with scipy.linalg.sqrtm(Σa·Σb), real part,
    and the largest imaginary part it produced (non-zero when N < d).
"""
import json
import sys

import numpy as np
import scipy
import scipy.linalg

GAMMA = np.uint64(0x9E3779B97F4A7C15)
MASK = (1 << 64) - 1


def uniform(seed, count):
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53 * 2.0 - 1.0


def features(seed, n, d, scale, shift):
    u = uniform(seed, n * d).reshape(n, d)
    j = np.arange(d)
    s = 0.5 + ((j * 7) % 13) / 13.0 * scale
    m = shift * np.sin(0.1 * j)
    return s * u + 0.5 * np.roll(u, -1, axis=1) + m


def eigh_fd(mu1, s1, mu2, s2):
    w, v = scipy.linalg.eigh(s1)
    b = v * np.sqrt(np.clip(w, 0, None))
    m = b.T @ s2 @ b
    mu = scipy.linalg.eigh((m + m.T) / 2, eigvals_only=True)
    tr = np.sqrt(np.clip(mu, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr)


def sqrtm_fd(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if isinstance(covmean, tuple):
        covmean = covmean[0]
    imag = float(np.abs(covmean.imag).max()) if np.iscomplexobj(covmean) else 0.0
    covmean = covmean.real
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    return value, imag


CASES = [
    # name, (seed, n, scale, shift) for a, same for b, d
    ("400d", (1, 600, 1.0, 0.0), (2, 500, 1.5, 0.3), 400),
    ("400d-rank-deficient", (3, 40, 1.0, 0.0), (4, 50, 1.2, 0.2), 400),
    ("2048d", (5, 2500, 1.0, 0.0), (6, 2200, 0.8, 0.1), 2048),
]


def main():
    out = {"numpy": np.__version__, "scipy": scipy.__version__, "cases": []}
    for name, a, b, d in CASES:
        fa, fb = features(a[0], a[1], d, a[2], a[3]), features(b[0], b[1], d, b[2], b[3])
        mu1, mu2 = fa.mean(0), fb.mean(0)
        s1, s2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
        sq, cx = sqrtm_fd(mu1, s1, mu2, s2)
        out["cases"].append({
            "name": name, "dim": d,
            "a": {"seed": a[0], "n": a[1], "scale": a[2], "shift": a[3]},
            "b": {"seed": b[0], "n": b[1], "scale": b[2], "shift": b[3]},
            "mean_a_0": float(mu1[0]), "cov_a_01": float(s1[0, 1]),
            "eigh": eigh_fd(mu1, s1, mu2, s2),
            "sqrtm": sq, "sqrtm_max_imag": cx,
        })
        print(name, out["cases"][-1]["eigh"], sq, cx, file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
