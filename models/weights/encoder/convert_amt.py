#!/usr/bin/env python3
"""Converts AMT-S to safetensors for VBench's motion smoothness (`vbench_motion_smoothness`,
`videval run --weights DIR`).

    pip install torch numpy
    python3 models/weights/encoder/convert_amt.py amt-s.pth DIR/amt-s

`amt-s.pth` is MCG-NKU/AMT's AMT-S checkpoint (the file VBench downloads into its cache for
motion smoothness): a dict whose `state_dict` holds the network's parameters (a bare state dict
is accepted too). Writes DIR/model.safetensors (float32, the reference's own names, which the Rust
port reads: models/src/encoders/amt.rs) and DIR/manifest.json (sha256 of the file, checked at
every load). Every name and shape is checked against AMT-S (`corr_radius 3, corr_lvls 4,
num_flows 3`); its instance norms have no parameters.

`--expected-names` prints the names the port reads.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from register_weights import check_tensors, convert_main  # noqa: E402

CHANNELS = [20, 32, 44, 56]
SKIP = 20
FLOWS = 3


def expected_shapes():
    """AMT-S's float parameters, name → shape."""
    shapes = {}

    def conv(name, cout, cin, k):
        shapes[f"{name}.weight"] = [cout, cin, k, k]
        shapes[f"{name}.bias"] = [cout]

    def convrelu(name, cout, cin):
        conv(f"{name}.0", cout, cin, 3)
        shapes[f"{name}.1.weight"] = [cout]

    def resblock(name, c):
        for i, width in [(1, c), (2, SKIP), (3, c), (4, SKIP)]:
            convrelu(f"{name}.conv{i}", width, width)
        conv(f"{name}.conv5", c, c, 3)
        shapes[f"{name}.prelu.weight"] = [c]

    def decoder(name, cin, c, cout):
        convrelu(f"{name}.convblock.0", c, cin)
        resblock(f"{name}.convblock.1", c)
        shapes[f"{name}.convblock.2.weight"] = [c, cout, 4, 4]  # transposed: [cin, cout, kh, kw]
        shapes[f"{name}.convblock.2.bias"] = [cout]

    conv("feat_encoder.conv1", 32, 3, 7)
    cin = 32
    for layer, planes in enumerate([32, 64, 96], 1):
        for block in range(2):
            b = f"feat_encoder.layer{layer}.{block}"
            bin_ = cin if block == 0 else planes
            conv(f"{b}.conv1", planes // 4, bin_, 1)
            conv(f"{b}.conv2", planes // 4, planes // 4, 3)
            conv(f"{b}.conv3", planes, planes // 4, 1)
            if block == 0 and layer > 1:
                conv(f"{b}.downsample.0", planes, bin_, 1)
        cin = planes
    conv("feat_encoder.conv2", 84, 96, 1)
    prev = 3
    for i, c in enumerate(CHANNELS, 1):
        convrelu(f"encoder.pyramid{i}.0", c, prev)
        convrelu(f"encoder.pyramid{i}.1", c, c)
        prev = c
    c1, c2, c3, c4 = CHANNELS
    decoder("decoder4", 2 * c4 + 1, 2 * c4, c3 + 4)
    decoder("decoder3", 3 * c3 + 4, 3 * c3, c2 + 4)
    decoder("decoder2", 3 * c2 + 4, 3 * c2, c1 + 4)
    decoder("decoder1", 3 * c1 + 4, 3 * c1, 8 * FLOWS)
    planes = 4 * 7 * 7
    for name, cdim in [("update4", c3), ("update3", c2), ("update2", c1)]:
        conv(f"{name}.convc1", 64, 2 * planes, 1)
        conv(f"{name}.convf1", 40, 4, 7)
        conv(f"{name}.convf2", 20, 40, 3)
        conv(f"{name}.conv", 68, 84, 3)
        conv(f"{name}.gru.0", 76, 68 + 4 + cdim, 3)
        conv(f"{name}.gru.2", 76, 76, 3)
        conv(f"{name}.feat_head.0", 76, 76, 3)
        conv(f"{name}.feat_head.2", cdim, 76, 3)
        conv(f"{name}.flow_head.0", 76, 76, 3)
        conv(f"{name}.flow_head.2", 4, 76, 3)
    conv("comb_block.0", 6 * FLOWS, 3 * FLOWS, 3)
    shapes["comb_block.1.weight"] = [6 * FLOWS]
    conv("comb_block.2", 3, 6 * FLOWS, 3)
    return shapes


def convert(state):
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    shapes = expected_shapes()
    tensors = {k.removeprefix("module."): v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    return check_tensors(tensors, shapes, "AMT-S")


def main():
    convert_main(__doc__, convert, "amt-s", "AMT-S", "MCG-NKU/AMT's licence (see its repository)", "amt-s.pth (MCG-NKU/AMT)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--expected-names"]:
        print("\n".join(sorted(expected_shapes())))
    else:
        main()
