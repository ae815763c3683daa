#!/usr/bin/env python3
"""Golden outputs of DINO's ViT (facebookresearch/dino), for models/tests/encoder_parity.rs.

    python3 models/tests/golden/dino_golden.py --dino PATH/TO/dino models/tests/golden

Needs torch, and a checkout of https://github.com/facebookresearch/dino (its
`vision_transformer.py` is the reference, imported from the path given, never copied here; VBench
loads `dino_vitb16` from the same file through torch.hub). Weights and inputs come from the
formula of encoders_golden.py (same folder), evaluated identically by the Rust test. The network is
DINO's `VisionTransformer` at a small size (patch 16, width 32, 2 blocks, 2 heads, qkv bias,
LayerNorm eps 1e-6, trained size 64 → a 4x4 position grid), run in float64 on the CPU, eval mode.
Its forward returns the class token after the final norm, as VBench uses it. Three inputs: a
square 64x64 image (no position interpolation), 48x80 and 50x70 (the position grid is resized
bicubically with DINO's +0.1 scale offset; the convolution drops the remainder of 50 and 70).
"""
import argparse
import json
import os
import sys
from functools import partial

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoders_golden import fill, formula_input  # noqa: E402

CONFIG = {"patch_size": 16, "embed_dim": 32, "depth": 2, "num_heads": 2, "mlp_ratio": 4, "img_size": 64}
INPUTS = [("dino-square", [1, 3, 64, 64]), ("dino-wide", [1, 3, 48, 80]), ("dino-odd", [1, 3, 50, 70])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dino", required=True, help="a checkout of facebookresearch/dino")
    ap.add_argument("out_dir")
    args = ap.parse_args()
    sys.path.insert(0, args.dino)
    from vision_transformer import VisionTransformer

    c = CONFIG
    model = VisionTransformer(
        img_size=[c["img_size"]], patch_size=c["patch_size"], embed_dim=c["embed_dim"], depth=c["depth"],
        num_heads=c["num_heads"], mlp_ratio=c["mlp_ratio"], qkv_bias=True,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
    ).double().eval()
    names = fill(model)
    outputs = {}
    with torch.no_grad():
        for name, shape in INPUTS:
            outputs[name] = {"shape": shape, "features": model(formula_input(name, shape))[0].tolist()}
    with open(os.path.join(args.out_dir, "dino.json"), "w") as f:
        json.dump({"config": c, "torch": torch.__version__, "parameters": names, "outputs": outputs}, f)


if __name__ == "__main__":
    main()
