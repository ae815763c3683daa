#!/usr/bin/env python3
"""Golden outputs of AMT-S (the frame interpolation network VBench's motion smoothness runs with
`amt-s.pth`), for models/tests/encoder_parity.rs.

    pip install torch numpy omegaconf && pip install --no-deps vbench==0.1.5
    python3 models/tests/golden/amt_golden.py models/tests/golden

The reference is the AMT-S code VBench ships (`vbench/third_party/amt/networks/AMT-S.py`, built
with `cfgs/AMT-S.yaml`'s parameters: corr_radius 3, corr_lvls 4, num_flows 3), imported from the
installed package, never copied here. No weights are downloaded: every parameter and input comes
from the formula of encoders_golden.py (same folder), which the Rust test evaluates identically;
the layers in TAMED are then scaled by 1/32 (see there).

Each case is one frame pair in [0, 1] ((u + 1) / 2), run the way VBench's
`MotionSmoothness.motion_score` runs AMT on the CPU: replicate-padded to multiples of 16 by AMT's
`InputPadder`, the middle frame (embt = 0.5, scale_factor 1) predicted, the padding cropped. Written
per case: every `stride`-th value of the cropped middle frame [3, H, W] (row-major), its sum and sum
of absolute values, the fraction of values the final clamp pins to 0 or 1, and the quantised frame
VBench compares (`tensor2img`: ×255, clipped, truncated to uint8) as its byte sum.

Run twice: in float64 (the reference's few float32 casts — `.float()` on the correlation lookup and
on √C — made no-ops so that the whole network runs in double) and in float32 as VBench runs it.
"""
import argparse
import importlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoders_golden import fill, formula_input  # noqa: E402

# The layers that emit flows, blend masks, residuals and feature corrections, ×1/32 after the
# formula (an exact power of two): with the plain formula every layer doubles the variance, the
# flows reach thousands of pixels and 99.99% of the middle frame is clamped to 0 or 1, which
# would leave nothing to compare. Tamed, the full-size flows average ~5 px and under 1% is clamped.
TAMED = ("decoder1.convblock.2.", "decoder2.convblock.2.", "decoder3.convblock.2.", "decoder4.convblock.2.",
         "comb_block.2.", ".flow_head.2.", ".feat_head.2.")
TAME = 1.0 / 32.0


def tame(model):
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if any(t in "." + name for t in TAMED):
                p.mul_(TAME)

CASES = [("amt-wide", 128, 224), ("amt-odd", 130, 203)]


def run(model, rgb, dtype):
    from vbench.third_party.amt.utils.utils import InputPadder

    x = rgb.to(dtype)
    padder = InputPadder(x.shape, 16)
    a, b = padder.pad(x[0:1], x[1:2])
    embt = torch.tensor(0.5, dtype=dtype).view(1, 1, 1, 1)
    with torch.no_grad():
        mid = model(a, b, embt, scale_factor=1.0, eval=True)["imgt_pred"]
    return padder.unpad(mid)[0], list(a.shape[-2:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    args = ap.parse_args()
    amt = importlib.import_module("vbench.third_party.amt.networks.AMT-S")
    params = dict(corr_radius=3, corr_lvls=4, num_flows=3)
    outputs = {}
    names = None
    for dtype in (torch.float64, torch.float32):
        model = amt.Model(**params).to(dtype).eval()
        names = fill(model)
        tame(model)
        as_float = torch.Tensor.float
        if dtype == torch.float64:
            # Keep the run in double: the reference casts the correlation lookup and √C to float32.
            torch.Tensor.float = lambda t, *a, **k: t
            torch.set_default_dtype(torch.float64)
        try:
            for name, h, w in CASES:
                rgb = (formula_input(name, (2, 3, h, w)) + 1.0) / 2.0
                mid, padded = run(model, rgb, dtype)
                mid = mid.double()
                flat = mid.flatten()
                stride = max(1, flat.numel() // 2000)
                clamped = float(((flat <= 0.0) | (flat >= 1.0)).double().mean())
                quantised = (mid.float() * 255.0).permute(1, 2, 0).numpy().clip(0, 255).astype(np.uint8)
                key = "float64" if dtype == torch.float64 else "float32"
                case = outputs.setdefault(name, {"height": h, "width": w, "padded": padded})
                case[key] = {"stride": stride, "middle": flat[::stride].tolist(), "sum": float(flat.sum()),
                             "abs_sum": float(flat.abs().sum()), "clamped": clamped,
                             "byte_sum": int(quantised.astype(np.int64).sum())}
        finally:
            torch.Tensor.float = as_float
            torch.set_default_dtype(torch.float32)
    with open(os.path.join(args.out_dir, "amt.json"), "w") as f:
        json.dump({"torch": torch.__version__, "tamed": list(TAMED), "tame": TAME, "parameters": names,
                   "outputs": outputs}, f)


if __name__ == "__main__":
    main()
