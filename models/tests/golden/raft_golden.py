#!/usr/bin/env python3
"""Golden outputs of RAFT (torchvision's `raft_large`, the architecture of princeton-vl's RAFT that
VBench's dynamic degree runs with `raft-things.pth`), for models/tests/encoder_parity.rs.

    pip install torch torchvision numpy
    python3 models/tests/golden/raft_golden.py models/tests/golden

No weights are downloaded: every parameter and input comes from the formula of encoders_golden.py
(same folder), which the Rust test evaluates identically. The network runs in float64 on the CPU,
eval mode, 20 flow updates (VBench's `iters=20`). Each case is one frame pair given as RGB in
[0, 255] (127.5 · (u + 1)), run the way VBench's `DynamicDegree.infer` runs RAFT: replicate-padded
to a multiple of 8 by its `InputPadder` ('sintel' mode: the padding split evenly, the odd pixel
after), scaled to [-1, 1] by 2 · (x / 255) − 1 (the first lines of princeton-vl's `RAFT.forward`;
torchvision's model expects that scaling done), then the upsampled flow of the last update.
Written per case, after 1, 2, 3 and 20 updates: every `stride`-th value of the upsampled padded flow
[2, H, W] (row-major), its sum and its sum of absolute values; and VBench's per-pair score (`DynamicDegree.get_score`: the mean of the largest 5% of flow magnitudes over the
padded frame).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoders_golden import fill, formula_input  # noqa: E402

ITERS = 20
# The updates whose flow is written.
CHECKED = [1, 2, 3, ITERS]
# (name, height, width): a real-sized pair divisible by 8, and one padded unevenly on both axes.
CASES = [("raft-wide", 256, 448), ("raft-odd", 130, 203)]


def pad(x):
    """VBench's InputPadder (mode 'sintel')."""
    ht, wd = x.shape[-2:]
    pad_ht = (((ht // 8) + 1) * 8 - ht) % 8
    pad_wd = (((wd // 8) + 1) * 8 - wd) % 8
    return F.pad(x, [pad_wd // 2, pad_wd - pad_wd // 2, pad_ht // 2, pad_ht - pad_ht // 2], mode="replicate")


def vbench_score(flow):
    """VBench's DynamicDegree.get_score on a [2, H, W] flow."""
    f = flow.permute(1, 2, 0).numpy()
    rad = np.sqrt(np.square(f[:, :, 0]) + np.square(f[:, :, 1]))
    h, w = rad.shape
    cut = int(h * w * 0.05)
    return float(np.mean(abs(np.sort(-rad.flatten()))[:cut]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    args = ap.parse_args()
    import torchvision.models.optical_flow.raft as tv_raft
    from torchvision.models.optical_flow import raft_large

    # torchvision makes its coordinate grids float32 (whole numbers, exact in any float type) and
    # its neighbourhood offsets in the default dtype: both in float64 run the model in double.
    torch.set_default_dtype(torch.float64)
    grid = tv_raft.make_coords_grid
    tv_raft.make_coords_grid = lambda *a, **k: grid(*a, **k).double()
    model = raft_large(weights=None, progress=False).double().eval()
    names = fill(model)
    outputs = {}
    with torch.no_grad():
        for name, h, w in CASES:
            rgb = 127.5 * (formula_input(name, (2, 3, h, w)) + 1.0)
            x = 2.0 * (pad(rgb) / 255.0) - 1.0
            flows = model(x[0:1], x[1:2], num_flow_updates=ITERS)
            cases = {}
            # torchvision returns the upsampled flow of every update: the early ones sample the
            # correlation pyramid inside the frame (random weights soon push the flow off it).
            for updates in CHECKED:
                flow = flows[updates - 1][0]
                flat = flow.flatten()
                stride = max(1, flat.numel() // 2000)
                cases[str(updates)] = {"stride": stride, "flow": flat[::stride].tolist(), "sum": float(flat.sum()),
                                       "abs_sum": float(flat.abs().sum())}
            outputs[name] = {"height": h, "width": w, "padded": list(flows[-1].shape[-2:]), "updates": cases,
                             "vbench_score": vbench_score(flows[-1][0])}
    with open(os.path.join(args.out_dir, "raft.json"), "w") as f:
        json.dump({"iters": ITERS, "torch": torch.__version__, "parameters": names, "outputs": outputs}, f)


if __name__ == "__main__":
    main()
