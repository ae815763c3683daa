#!/usr/bin/env python3
"""Golden outputs of VBench's frame transforms, for metrics/tests/vbench_preprocess.rs.

    python3 metrics/tests/golden/vbench_preprocess.py metrics/tests/golden

Needs torch and torchvision (measured with torch 2.15, torchvision 0.29). VBench
(vbench/utils.py) decodes frames to uint8 and `load_video` turns them into a float32 tensor
(`torch.Tensor(frames)`), which its transforms then resize as floats — no rounding back to 8 bits,
no clamping of bicubic overshoot: for background consistency and aesthetic quality
`Resize(224, interpolation=BICUBIC, antialias=False)` then `CenterCrop(224)`; for subject
consistency `Resize(224, antialias=False)` (bilinear, no crop). Then /255 and mean/std, which the
Rust side tests separately. This script applies the same torchvision calls to formula frames as
float32 tensors at a small size (short side 32, so the outputs fit in the file; values to 1e-3) and
at the real size (224, a 1280x720 frame, kept as per-row sums), and writes the float results.

The formula, which the Rust test evaluates identically: frame k of size w x h has value
(3·x² + 7·y + 50·c + x·y + 13·k) mod 256 at column x, row y, channel c (RGB).
"""
import argparse
import json
import os

import torch
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Resize


def frame(w, h, k):
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    planes = [(3 * x * x + 7 * y + 50 * c + x * y + 13 * k) % 256 for c in range(3)]
    # uint8 values as VBench's load_video hands them on: a float32 tensor.
    return torch.stack(planes).to(torch.uint8).to(torch.float32)  # (3, h, w)


def transforms(n):
    return {
        "clip": Compose([Resize(n, interpolation=InterpolationMode.BICUBIC, antialias=False), CenterCrop(n)]),
        "dino": Compose([Resize(n, antialias=False)]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    args = ap.parse_args()
    sizes = [(57, 40), (61, 35), (31, 48), (32, 32), (20, 15), (45, 33), (100, 37)]
    cases = []
    for name, t in transforms(32).items():
        for k, (w, h) in enumerate(sizes):
            out = t(frame(w, h, k).unsqueeze(0))[0]  # (3, oh, ow), float32
            hwc = out.permute(1, 2, 0).contiguous()
            cases.append({"transform": name, "short": 32, "frame": k, "w": w, "h": h,
                          "out_w": hwc.shape[1], "out_h": hwc.shape[0],
                          "rgb": [round(v, 3) for v in hwc.flatten().tolist()]})
    for name, t in transforms(224).items():
        out = t(frame(1280, 720, 3).unsqueeze(0))[0].permute(1, 2, 0).contiguous()
        cases.append({"transform": name, "short": 224, "frame": 3, "w": 1280, "h": 720,
                      "out_w": out.shape[1], "out_h": out.shape[0],
                      "row_sums": out.to(torch.float64).sum(dim=(1, 2)).tolist()})
    meta = {"torch": torch.__version__, "torchvision": __import__("torchvision").__version__}
    with open(os.path.join(args.out_dir, "vbench_preprocess.json"), "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
