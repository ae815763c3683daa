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
Imaging quality's `preprocess_mode="longer"` (`Resize((int(s·h), int(s·w)), antialias=False)`,
s = n / max(h, w), only when the longer side exceeds n) likewise at n = 32 and at n = 512 on a
1920x1080 frame.

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
    # Imaging quality ('longer' mode): the longer side to n when larger, each side int(s · side).
    for k, (w, h) in enumerate(sizes):
        img = frame(w, h, k).unsqueeze(0)
        if max(h, w) > 32:
            s = 32.0 / max(h, w)
            img = Resize(size=(int(s * h), int(s * w)), antialias=False)(img)
        hwc = img[0].permute(1, 2, 0).contiguous()
        cases.append({"transform": "musiq", "long": 32, "frame": k, "w": w, "h": h,
                      "out_w": hwc.shape[1], "out_h": hwc.shape[0],
                      "rgb": [round(v, 3) for v in hwc.flatten().tolist()]})
    s = 512.0 / 1920
    out = Resize(size=(int(s * 1080), int(s * 1920)), antialias=False)(frame(1920, 1080, 5).unsqueeze(0))[0]
    out = out.permute(1, 2, 0).contiguous()
    cases.append({"transform": "musiq", "long": 512, "frame": 5, "w": 1920, "h": 1080,
                  "out_w": out.shape[1], "out_h": out.shape[0],
                  "row_sums": out.to(torch.float64).sum(dim=(1, 2)).tolist()})
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
