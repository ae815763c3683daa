#!/usr/bin/env python3
"""VBench's three motion and imaging networks, PyTorch reference and videval's candle port, side by
side on this machine: one pass each on random weights, as VBench runs them on a W x H video.

    pip install vbench==0.1.5 --no-deps; pip install torch numpy omegaconf imageio easydict requests
    pip install --no-deps pyiqa==0.1.16
    cargo build --release -p videval-models --example network_speed
    python3 ci/bench/networks_side_by_side.py [--size 512x288] [--passes 5] [--threads N]

Not part of the tests (it takes minutes and needs torch). The references are the code VBench runs:
  * RAFT: VBench's princeton-vl RAFT (`vbench/third_party/RAFT`), `model(a, b, iters=20,
    test_mode=True)` on a replicate-padded pair (dynamic degree: one pass per sampled frame, each
    frame encoded in it; videval encodes each frame once and reuses it for the next pair, and its
    pass is one frame's encoding plus the pair's flow);
  * AMT-S: VBench's `third_party/amt` AMT-S, `forward(..., scale_factor=1.0, eval=True)` on a pair
    padded to 16, then `tensor2img` (motion smoothness: one pass per two frames);
  * MUSIQ: pyiqa's `MUSIQ` (as VBench builds it, one output) on one frame in [0, 1] (imaging
    quality: one pass per frame).
Both sides run on the CPU in float32 with the same number of threads (torch.set_num_threads; candle
uses one rayon thread per core). Each side's first pass is a warm-up and is dropped; the table
gives the median of the rest, passes per second, and the ratio (PyTorch time / videval time: above
1 means videval is faster).
"""
import argparse
import importlib
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def timed(fn, passes):
    times = []
    with torch.no_grad():
        for _ in range(passes + 1):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def pad(x, divisor):
    h, w = x.shape[-2:]
    ph, pw = (divisor - h % divisor) % divisor, (divisor - w % divisor) % divisor
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], mode="replicate")


def reference(network, w, h):
    torch.manual_seed(0)
    a, b = torch.rand(1, 3, h, w) * 255, torch.rand(1, 3, h, w) * 255
    if network == "raft":
        from easydict import EasyDict
        from vbench.third_party.RAFT.core.raft import RAFT

        model = RAFT(EasyDict({"small": False, "mixed_precision": False, "alternate_corr": False})).eval()
        pa, pb = pad(a, 8), pad(b, 8)
        return lambda: model(pa, pb, iters=20, test_mode=True)
    if network == "amt":
        model = importlib.import_module("vbench.third_party.amt.networks.AMT-S").Model(
            corr_radius=3, corr_lvls=4, num_flows=3).eval()
        embt = torch.tensor(0.5).view(1, 1, 1, 1)

        def amt():
            x0, x1 = pad(a / 255.0, 16), pad(b / 255.0, 16)
            mid = model(x0, x1, embt, scale_factor=1.0, eval=True)["imgt_pred"]
            return (mid * 255.0).clamp(0, 255).to(torch.uint8)
        return amt
    if network == "musiq":
        from pyiqa.archs.musiq_arch import MUSIQ

        model = MUSIQ(pretrained=False).eval()
        model.training = False
        x = a / 255.0
        return lambda: model(x)
    raise ValueError(network)


def ours(binary, network, w, h, passes):
    out = subprocess.run([binary, network, str(w), str(h), str(passes + 1)], check=True, capture_output=True,
                         text=True).stdout.split("\n")
    times = [float(line.split()[-1]) for line in out if line.strip()]
    return statistics.median(times[1:])


WHAT = {"raft": "sampled frame (pair flow, 20 updates)", "amt": "interpolated frame (2 video frames)",
        "musiq": "frame"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="512x288")
    ap.add_argument("--passes", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--networks", default="raft,amt,musiq")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "examples", "network_speed"))
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads, {w}x{h}, median of {a.passes} passes after one warm-up")
    print(f"{'network':8} {'per pass':40} {'PyTorch s':>10} {'videval s':>10} {'PyTorch /s':>11} {'videval /s':>11} {'ratio':>6}")
    for network in a.networks.split(","):
        ref = timed(reference(network, w, h), a.passes)
        own = ours(a.binary, network, w, h, a.passes)
        print(f"{network:8} {WHAT[network]:40} {ref:10.3f} {own:10.3f} {1 / ref:11.2f} {1 / own:11.2f} {ref / own:6.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
