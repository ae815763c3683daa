#!/usr/bin/env python3
"""Converts OpenAI's CLIP checkpoint (the `ViT-B-32.pt` that `clip.load` downloads and VBench
caches as ~/.cache/vbench/clip_model/ViT-B-32.pt) to the Hugging Face layout videval's `clip`
network reads: VBench's background consistency and `clipscore --extractor clip`.

    pip install torch numpy
    python3 models/weights/encoder/convert_clip.py ViT-B-32.pt DIR/clip \
        [--vocab bpe_simple_vocab_16e6.txt.gz]

A Hugging Face folder (openai/clip-vit-base-patch32) needs no conversion: copy its config.json,
model.safetensors and tokenizer.json into DIR/clip and run register_weights.py DIR/clip clip.

`ViT-B-32.pt` is a TorchScript archive (or a plain state dict with OpenAI's names). `--vocab` is
the byte-pair vocabulary that ships with OpenAI's `clip` package (and open_clip); by default it
is taken from an installed `clip` or `open_clip` package. Writes, under DIR:
  * model.safetensors: both towers in Hugging Face's names, float32 (OpenAI's fp16 weights widen
    exactly, as CLIP does on the CPU);
  * config.json: `text_config`, `vision_config`, `projection_dim`;
  * tokenizer.json: Hugging Face's fast-tokenizer form of the vocabulary, built as transformers'
    CLIPConverter builds it (NFC, whitespace runs to one space, lower case; CLIP's word pattern;
    byte-level pieces; BPE with `</w>` word ends; `<|startoftext|>` … `<|endoftext|>` around);
  * manifest.json: sha256 of the three files, checked at every load.
Name mapping: the image tower as convert_aesthetic.py maps it; the text tower from OpenAI's
`clip/model.py` (CLIP) to Hugging Face's `modeling_clip.py` (CLIPTextTransformer):
token_embedding → text_model.embeddings.token_embedding, positional_embedding →
text_model.embeddings.position_embedding, transformer.resblocks.i → text_model.encoder.layers.i
(as in the image tower), ln_final → text_model.final_layer_norm, text_projection →
text_projection (transposed), logit_scale kept. OpenAI's text transformer has width/64 heads.

`--check-tokenizer` compares the written tokenizer with OpenAI's own (`clip.simple_tokenizer` or
open_clip's) on a list of prompts, one per line, and exits 1 on any difference.
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_aesthetic import load_openai, openai_tower, resblocks  # noqa: E402
from convert_i3d import write_safetensors  # noqa: E402
from register_weights import register  # noqa: E402

# CLIP's word pattern (OpenAI's simple_tokenizer, without its special-token alternatives, which the
# fast tokenizer handles as added tokens).
WORDS = r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"


def openai_text(state):
    """HF-named text-tower tensors (with the projection and logit scale) and the HF text config."""
    if "token_embedding.weight" not in state or "text_projection" not in state:
        sys.exit("no token_embedding.weight / text_projection: not a whole OpenAI CLIP checkpoint")
    vocab, width = state["token_embedding.weight"].shape
    blocks = [k for k in state if k.startswith("transformer.resblocks.")]
    layers = 1 + max(int(k.split(".")[2]) for k in blocks)
    out = {
        "text_model.embeddings.token_embedding.weight": state["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": state["positional_embedding"],
        "text_model.final_layer_norm.weight": state["ln_final.weight"],
        "text_model.final_layer_norm.bias": state["ln_final.bias"],
        "text_projection.weight": state["text_projection"].T,
    }
    if "logit_scale" in state:
        out["logit_scale"] = np.asarray(state["logit_scale"], dtype=np.float32).reshape(())
    out.update(resblocks(state, "transformer.resblocks.", "text_model.encoder.layers.", layers, width))
    config = {"vocab_size": int(vocab), "hidden_size": int(width),
              "intermediate_size": int(out["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0]),
              "num_hidden_layers": layers, "num_attention_heads": int(width) // 64,
              "max_position_embeddings": int(state["positional_embedding"].shape[0]), "hidden_act": "quick_gelu"}
    return out, config


def bytes_to_unicode():
    """GPT-2's reversible byte → printable character table (OpenAI's simple_tokenizer uses it)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tokenizer_json(vocab_path, vocab_size):
    """Hugging Face's tokenizer.json of OpenAI's BPE vocabulary, as simple_tokenizer builds it:
    the 256 byte characters, the same with `</w>`, one token per merge, then the two specials."""
    with gzip.open(vocab_path) as f:
        lines = f.read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:vocab_size - 512 - 2 + 1]]
    if len(merges) != vocab_size - 514 or any(len(m) != 2 for m in merges):
        sys.exit(f"--vocab {vocab_path}: {len(merges)} merges; this checkpoint's {vocab_size} tokens need "
                 f"{vocab_size - 514} (is it OpenAI's bpe_simple_vocab_16e6.txt.gz?)")
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    start, end = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    special = lambda i, t: {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,  # noqa: E731
                            "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(start, "<|startoftext|>"), special(end, "<|endoftext|>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": WORDS}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", end], "cls": ["<|startoftext|>", start],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [" ".join(m) for m in merges]},
    }


def installed_vocab():
    """bpe_simple_vocab_16e6.txt.gz of an installed `clip` or `open_clip` package, if any."""
    import importlib.util

    for package in ("clip", "open_clip"):
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            for d in spec.submodule_search_locations:
                path = os.path.join(d, "bpe_simple_vocab_16e6.txt.gz")
                if os.path.isfile(path):
                    return path
    return None


def check_tokenizer(tokenizer_path, vocab_path, prompts_path):
    """Token ids of every prompt from the written tokenizer.json (Hugging Face `tokenizers`)
    against OpenAI's simple tokenizer on the same vocabulary; the number of prompts that differ.
    The prompt goes to tokenizer.json cleaned as OpenAI's tokenizer cleans it (ftfy, HTML
    entities, whitespace, lower case), as videval does before encoding (its Rust port of that
    cleaning, models/src/encoders/clip_text.rs, is tested against it on its own corpus)."""
    from tokenizers import Tokenizer

    try:
        from clip.simple_tokenizer import SimpleTokenizer, basic_clean, whitespace_clean
    except ImportError:
        from open_clip.tokenizer import SimpleTokenizer, basic_clean, whitespace_clean
    ours, openai = Tokenizer.from_file(tokenizer_path), SimpleTokenizer(vocab_path)
    # OpenAI's package names the specials <|startoftext|> / <|endoftext|>, open_clip's
    # <start_of_text> / <end_of_text>; both give them the last two ids.
    start, end = len(openai.encoder) - 2, len(openai.encoder) - 1
    with open(prompts_path, encoding="utf-8") as f:
        prompts = [p for p in f.read().split("\n") if p]
    bad = 0
    for p in prompts:
        want = [start] + openai.encode(p) + [end]
        got = ours.encode(whitespace_clean(basic_clean(p)).lower()).ids
        if got != want:
            bad += 1
            print(f"differs: {p!r}\n  tokenizer.json {got}\n  OpenAI         {want}")
    print(f"{len(prompts) - bad} of {len(prompts)} prompts tokenized as OpenAI's simple tokenizer does")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", help="OpenAI's ViT-B-32.pt (TorchScript) or a state dict with OpenAI's names")
    ap.add_argument("dir")
    ap.add_argument("--vocab", help="bpe_simple_vocab_16e6.txt.gz (default: from an installed clip or open_clip)")
    ap.add_argument("--check-tokenizer", metavar="PROMPTS", help="a file of prompts, one per line")
    a = ap.parse_args()
    vocab_path = a.vocab or installed_vocab()
    if vocab_path is None:
        sys.exit("--vocab: give OpenAI's bpe_simple_vocab_16e6.txt.gz (it ships with the clip and open_clip packages)")
    state = load_openai(a.checkpoint)
    if "visual.conv1.weight" not in state:
        sys.exit(f"{a.checkpoint}: no visual.conv1.weight: not an OpenAI CLIP ViT checkpoint (ResNet CLIPs are not supported)")
    image, image_config = openai_tower(state)
    text, text_config = openai_text(state)
    if image_config["projection_dim"] != text["text_projection.weight"].shape[0]:
        sys.exit(f"{a.checkpoint}: the image and text projections disagree in size")
    config = {"text_config": text_config, "vision_config": image_config["vision_config"],
              "projection_dim": image_config["projection_dim"]}
    tokenizer = tokenizer_json(vocab_path, text_config["vocab_size"])
    os.makedirs(a.dir, exist_ok=True)
    write_safetensors({**image, **text}, os.path.join(a.dir, "model.safetensors"))
    for name, value in (("config.json", config), ("tokenizer.json", tokenizer)):
        tmp = os.path.join(a.dir, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=None if name == "tokenizer.json" else 1)
        os.replace(tmp, os.path.join(a.dir, name))
    register(a.dir, "clip", f"OpenAI CLIP {os.path.basename(a.checkpoint)}", "MIT")
    if a.check_tokenizer and check_tokenizer(os.path.join(a.dir, "tokenizer.json"), vocab_path, a.check_tokenizer):
        sys.exit(1)


if __name__ == "__main__":
    main()
