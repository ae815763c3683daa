#!/usr/bin/env python3
"""Converts DINO ViT-B/16 (facebookresearch/dino) to safetensors for VBench's subject consistency
(`vbench_subject_consistency`, `videval run --weights DIR`).

    pip install torch numpy
    python3 models/weights/encoder/convert_dino.py dino_vitbase16_pretrain.pth DIR/dino-vitb16

`dino_vitbase16_pretrain.pth` is the backbone state dict DINO publishes (Apache-2.0; what
`torch.hub.load("facebookresearch/dino:main", "dino_vitb16")` loads and VBench uses). Writes
DIR/model.safetensors (float32, the state dict's names) and DIR/manifest.json (sha256 of the files,
checked at every load). The names and shapes are checked against the architecture the Rust port
reads (models/src/encoders/dino.rs): patch 16, width 768, 12 blocks, qkv bias, a 14x14 grid.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_i3d import write_safetensors  # noqa: E402
from register_weights import register  # noqa: E402

D, DEPTH = 768, 12
SHAPES = {"cls_token": [1, 1, D], "pos_embed": [1, 197, D], "patch_embed.proj.weight": [D, 3, 16, 16],
          "patch_embed.proj.bias": [D], "norm.weight": [D], "norm.bias": [D]}
for i in range(DEPTH):
    for n, s in [("norm1.weight", [D]), ("norm1.bias", [D]), ("attn.qkv.weight", [3 * D, D]), ("attn.qkv.bias", [3 * D]),
                 ("attn.proj.weight", [D, D]), ("attn.proj.bias", [D]), ("norm2.weight", [D]), ("norm2.bias", [D]),
                 ("mlp.fc1.weight", [4 * D, D]), ("mlp.fc1.bias", [4 * D]), ("mlp.fc2.weight", [D, 4 * D]),
                 ("mlp.fc2.bias", [D])]:
        SHAPES[f"blocks.{i}.{n}"] = s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("dir")
    a = ap.parse_args()
    import torch

    state = torch.load(a.checkpoint, map_location="cpu")
    state = state.get("teacher", state) if isinstance(state, dict) and "teacher" in state else state
    tensors = {k.removeprefix("module.").removeprefix("backbone."): v.float().numpy() for k, v in state.items()
               if not k.startswith("head.")}
    missing, extra = SHAPES.keys() - tensors.keys(), tensors.keys() - SHAPES.keys()
    if missing or extra:
        sys.exit(f"{a.checkpoint}: not DINO ViT-B/16: missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}")
    wrong = [k for k, s in SHAPES.items() if list(tensors[k].shape) != s]
    if wrong:
        sys.exit(f"{a.checkpoint}: unexpected shapes for {wrong[:5]}")
    os.makedirs(a.dir, exist_ok=True)
    write_safetensors(tensors, os.path.join(a.dir, "model.safetensors"))
    register(a.dir, "dino-vitb16", f"facebookresearch/dino {os.path.basename(a.checkpoint)}", "Apache-2.0")


if __name__ == "__main__":
    main()
