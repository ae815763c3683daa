#!/usr/bin/env python3
"""Golden outputs of MUSIQ (pyiqa's architecture, which VBench's imaging quality loads with the
SPAQ checkpoint), for models/tests/encoder_parity.rs.

    pip install torch numpy requests && pip install --no-deps pyiqa==0.1.16
    python3 models/tests/golden/musiq_golden.py models/tests/golden

The reference is `pyiqa.archs.musiq_arch.MUSIQ` as VBench builds it (`MUSIQ(pretrained_model_path=
...)`: patch 32, hidden 384, 14 blocks, one output; here `pretrained=False`, so nothing is
downloaded), imported from the installed package, never copied here. Every parameter and input
comes from the formula of encoders_golden.py (same folder), which the Rust test evaluates
identically. The network runs in float64 on the CPU in eval mode (its own multi-scale patching:
bicubic resizes to longer sides 224 and 384 plus the image as it is, padded patch lists, the
attention mask). Each case is a batch of images in [0, 1] ((u + 1) / 2); written per case: the
scores (`forward`) and the class token after the encoder's final norm (what the head reads).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoders_golden import fill, formula_input  # noqa: E402

# (name, batch, height, width): VBench's size for 16:9 videos after its longer-side-512 resize,
# and a small image (every scale upsampled, padded unevenly).
CASES = [("musiq-vbench", 1, 288, 512), ("musiq-odd", 2, 75, 130)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    args = ap.parse_args()
    from pyiqa.archs.musiq_arch import MUSIQ

    torch.set_default_dtype(torch.float64)
    model = MUSIQ(pretrained=False).double().eval()
    model.training = False
    names = fill(model)
    captured = {}
    model.transformer_encoder.register_forward_hook(lambda m, i, o: captured.__setitem__("cls", o[:, 0]))
    outputs = {}
    with torch.no_grad():
        for name, b, h, w in CASES:
            x = (formula_input(name, (b, 3, h, w)) + 1.0) / 2.0
            scores = model(x)
            outputs[name] = {"shape": [b, 3, h, w], "scores": scores.flatten().tolist(),
                             "features": captured["cls"].flatten().tolist()}
    with open(os.path.join(args.out_dir, "musiq.json"), "w") as f:
        json.dump({"torch": torch.__version__, "parameters": names, "outputs": outputs}, f)
    print({k: v["scores"] for k, v in outputs.items()})


if __name__ == "__main__":
    main()
