#!/usr/bin/env python3
"""Converts MUSIQ (pyiqa's architecture) to safetensors for VBench's imaging quality
(`vbench_imaging_quality`, `videval run --weights DIR`).

    pip install torch numpy
    python3 models/weights/encoder/convert_musiq.py musiq_spaq_ckpt-358bb6af.pth DIR/musiq-spaq

`musiq_spaq_ckpt-358bb6af.pth` is pyiqa's MUSIQ checkpoint trained on SPAQ (the file VBench
downloads into its cache for imaging quality): a state dict in pyiqa's names (`module.` prefixes
and a `params` / `state_dict` wrapper are accepted). Writes DIR/model.safetensors (float32,
pyiqa's names, which the Rust port reads: models/src/encoders/musiq.rs) and DIR/manifest.json
(sha256 of the file, checked at every load). Every name and shape is checked against MUSIQ with
one output (patch 32, hidden 384, MLP 1152, 14 blocks, 3 scales, a 10 × 10 hash grid); AVA's
10-class checkpoint is refused (VBench uses SPAQ's).

`--expected-names` prints the names the port reads.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from register_weights import check_tensors, convert_main  # noqa: E402

HIDDEN, MLP, LAYERS, GRID, SCALES, ROOT = 384, 1152, 14, 10, 3, 64


def expected_shapes():
    """pyiqa MUSIQ's float parameters (one output), name → shape."""
    shapes = {"conv_root.weight": [ROOT, 3, 7, 7], "gn_root.weight": [ROOT], "gn_root.bias": [ROOT]}
    for conv, gn, cout, cin, k in [("conv1", "gn1", ROOT, ROOT, 1), ("conv2", "gn2", ROOT, ROOT, 3),
                                   ("conv3", "gn3", 4 * ROOT, ROOT, 1), ("conv_proj", "gn_proj", 4 * ROOT, ROOT, 1)]:
        shapes[f"block1.{conv}.weight"] = [cout, cin, k, k]
        shapes[f"block1.{gn}.weight"] = [cout]
        shapes[f"block1.{gn}.bias"] = [cout]
    shapes["embedding.weight"] = [HIDDEN, 4 * ROOT * 8 * 8]
    shapes["embedding.bias"] = [HIDDEN]
    te = "transformer_encoder"
    shapes[f"{te}.cls"] = [1, 1, HIDDEN]
    shapes[f"{te}.posembed_input.position_emb"] = [1, GRID * GRID, HIDDEN]
    shapes[f"{te}.scaleembed_input.scale_emb"] = [SCALES, HIDDEN]
    shapes[f"{te}.encoder_norm.weight"] = [HIDDEN]
    shapes[f"{te}.encoder_norm.bias"] = [HIDDEN]
    for i in range(LAYERS):
        b = f"{te}.transformer.encoderblock_{i}"
        for n in ["norm1", "norm2"]:
            shapes[f"{b}.{n}.weight"] = [HIDDEN]
            shapes[f"{b}.{n}.bias"] = [HIDDEN]
        for n in ["query", "key", "value", "out"]:
            shapes[f"{b}.attention.{n}.weight"] = [HIDDEN, HIDDEN]
            shapes[f"{b}.attention.{n}.bias"] = [HIDDEN]
        shapes[f"{b}.mlp.fc1.weight"] = [MLP, HIDDEN]
        shapes[f"{b}.mlp.fc1.bias"] = [MLP]
        shapes[f"{b}.mlp.fc2.weight"] = [HIDDEN, MLP]
        shapes[f"{b}.mlp.fc2.bias"] = [HIDDEN]
    shapes["head.weight"] = [1, HIDDEN]
    shapes["head.bias"] = [1]
    return shapes


def convert(state):
    for key in ("params", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    shapes = expected_shapes()
    tensors = {k.removeprefix("module."): v for k, v in state.items()}
    # pyiqa's AVA checkpoint ends in a 10-way softmax head: not the one VBench scores with.
    head = tensors.get("head.0.weight")
    if head is not None:
        return None, f"a {head.shape[0]}-class head (pyiqa's AVA checkpoint?); VBench's imaging quality uses the SPAQ checkpoint (one output)"
    return check_tensors(tensors, shapes, "MUSIQ")


def main():
    convert_main(__doc__, convert, "musiq-spaq", "MUSIQ", "pyiqa's licence (see chaofengc/IQA-PyTorch)", "musiq_spaq_ckpt-358bb6af.pth (pyiqa)", weights_only=False)


if __name__ == "__main__":
    if sys.argv[1:] == ["--expected-names"]:
        print("\n".join(sorted(expected_shapes())))
    else:
        main()
