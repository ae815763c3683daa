#!/usr/bin/env python3
"""Converts RAFT (raft_large / RAFT-things) to safetensors for VBench's dynamic degree
(`vbench_dynamic_degree`, `videval run --weights DIR`).

    pip install torch numpy
    python3 models/weights/encoder/convert_raft.py raft-things.pth DIR/raft-things

`raft-things.pth` is princeton-vl/RAFT's FlyingThings checkpoint (BSD-3-Clause; the file VBench
downloads into its cache for dynamic degree), a `DataParallel` state dict (`module.` prefixes).
A torchvision `raft_large` state dict (e.g. `raft_large_C_T_V2-1bb1363a.pth`) is accepted too.
Writes DIR/model.safetensors (float32, torchvision's names, which the Rust port reads:
models/src/encoders/raft.rs) and DIR/manifest.json (sha256 of the file, checked at every load).
princeton-vl's names are mapped one to one (`fnet` → `feature_encoder`, `cnet` →
`context_encoder`, `update_block.encoder` → `update_block.motion_encoder`, `gru` →
`recurrent_block`, `mask` → `mask_predictor`; its `norm3` duplicates `downsample.1` and is
dropped); every name and shape is checked against the architecture.

`--expected-names` prints the names the port reads; `princeton_names()` maps them back to
princeton-vl's (tests/tests/golden/vbench_parity.py hands VBench's own RAFT formula weights so).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from register_weights import check_tensors, convert_main  # noqa: E402

BN = ["weight", "bias", "running_mean", "running_var"]


def expected_shapes():
    """torchvision raft_large's float parameters and buffers, name → shape."""
    shapes = {}

    def conv(name, cout, cin, kh, kw=None):
        shapes[f"{name}.weight"] = [cout, cin, kh, kw or kh]
        shapes[f"{name}.bias"] = [cout]

    for enc, batch in [("feature_encoder", False), ("context_encoder", True)]:
        def conv_norm(name, cout, cin, k):
            conv(f"{enc}.{name}.0", cout, cin, k)
            if batch:
                for b in BN:
                    shapes[f"{enc}.{name}.1.{b}"] = [cout]

        conv_norm("convnormrelu", 64, 3, 7)
        chans = [64, 64, 96, 128]
        for layer in range(1, 4):
            cin, cout = chans[layer - 1], chans[layer]
            for block in range(2):
                bin_ = cin if block == 0 else cout
                conv_norm(f"layer{layer}.{block}.convnormrelu1", cout, bin_, 3)
                conv_norm(f"layer{layer}.{block}.convnormrelu2", cout, cout, 3)
                if block == 0 and layer > 1:
                    conv_norm(f"layer{layer}.{block}.downsample", cout, bin_, 1)
        conv(f"{enc}.conv", 256, 128, 1)
    me = "update_block.motion_encoder"
    conv(f"{me}.convcorr1.0", 256, 4 * 81, 1)
    conv(f"{me}.convcorr2.0", 192, 256, 3)
    conv(f"{me}.convflow1.0", 128, 2, 7)
    conv(f"{me}.convflow2.0", 64, 128, 3)
    conv(f"{me}.conv.0", 126, 256, 3)
    for gru, (kh, kw) in [("convgru1", (1, 5)), ("convgru2", (5, 1))]:
        for g in ["convz", "convr", "convq"]:
            conv(f"update_block.recurrent_block.{gru}.{g}", 128, 384, kh, kw)
    conv("update_block.flow_head.conv1", 256, 128, 3)
    conv("update_block.flow_head.conv2", 2, 256, 3)
    conv("mask_predictor.convrelu.0", 256, 128, 3)
    conv("mask_predictor.conv", 576, 256, 1)
    return shapes


# princeton-vl name (after `module.`) → torchvision name; None drops it.
RULES = [
    (r"^fnet\.", "feature_encoder."),
    (r"^cnet\.", "context_encoder."),
    (r"^(\w+_encoder)\.conv1\.", r"\1.convnormrelu.0."),
    (r"^(\w+_encoder)\.norm1\.", r"\1.convnormrelu.1."),
    (r"^(\w+_encoder)\.conv2\.", r"\1.conv."),
    (r"^(\w+_encoder\.layer\d\.\d)\.conv(\d)\.", r"\1.convnormrelu\2.0."),
    (r"^(\w+_encoder\.layer\d\.\d)\.norm([12])\.", r"\1.convnormrelu\2.1."),
    (r"^update_block\.encoder\.convc(\d)\.", r"update_block.motion_encoder.convcorr\1.0."),
    (r"^update_block\.encoder\.convf(\d)\.", r"update_block.motion_encoder.convflow\1.0."),
    (r"^update_block\.encoder\.conv\.", "update_block.motion_encoder.conv.0."),
    (r"^update_block\.gru\.conv([zrq])(\d)\.", r"update_block.recurrent_block.convgru\2.conv\1."),
    (r"^update_block\.mask\.0\.", "mask_predictor.convrelu.0."),
    (r"^update_block\.mask\.2\.", "mask_predictor.conv."),
]


def torchvision_name(name):
    name = name.removeprefix("module.")
    if re.search(r"\.norm3\.|num_batches_tracked$", name):
        return None
    for pattern, repl in RULES:
        name = re.sub(pattern, repl, name)
    return name


def princeton_names(shapes):
    """torchvision name → princeton-vl name, for the names the port reads (inverse of the rules)."""
    out = {}
    for tv in shapes:
        n = tv
        n = re.sub(r"^feature_encoder\.", "fnet.", n)
        n = re.sub(r"^context_encoder\.", "cnet.", n)
        n = re.sub(r"^(\wnet)\.convnormrelu\.0\.", r"\1.conv1.", n)
        n = re.sub(r"^(\wnet)\.convnormrelu\.1\.", r"\1.norm1.", n)
        n = re.sub(r"^(\wnet)\.conv\.", r"\1.conv2.", n)
        n = re.sub(r"^(\wnet\.layer\d\.\d)\.convnormrelu(\d)\.0\.", r"\1.conv\2.", n)
        n = re.sub(r"^(\wnet\.layer\d\.\d)\.convnormrelu(\d)\.1\.", r"\1.norm\2.", n)
        n = re.sub(r"^update_block\.motion_encoder\.convcorr(\d)\.0\.", r"update_block.encoder.convc\1.", n)
        n = re.sub(r"^update_block\.motion_encoder\.convflow(\d)\.0\.", r"update_block.encoder.convf\1.", n)
        n = re.sub(r"^update_block\.motion_encoder\.conv\.0\.", "update_block.encoder.conv.", n)
        n = re.sub(r"^update_block\.recurrent_block\.convgru(\d)\.conv([zrq])\.", r"update_block.gru.conv\2\1.", n)
        n = re.sub(r"^mask_predictor\.convrelu\.0\.", "update_block.mask.0.", n)
        n = re.sub(r"^mask_predictor\.conv\.", "update_block.mask.2.", n)
        out[tv] = n
    return out


def convert(state):
    shapes = expected_shapes()
    tensors = {}
    for k, v in state.items():
        name = torchvision_name(k)
        if name is not None:
            tensors[name] = v
    return check_tensors(tensors, shapes, "RAFT raft_large / RAFT-things")


def main():
    convert_main(__doc__, convert, "raft-things", "RAFT", "BSD-3-Clause", "raft-things.pth (princeton-vl) or a torchvision raft_large state dict")


if __name__ == "__main__":
    if sys.argv[1:] == ["--expected-names"]:
        print("\n".join(sorted(expected_shapes())))
    else:
        main()
