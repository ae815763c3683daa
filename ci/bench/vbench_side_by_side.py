#!/usr/bin/env python3
"""VBench's own scoring code and videval side by side on the same videos and the same networks.

    pip install vbench==0.1.5 --no-deps; pip install torch torchvision transformers decord \
        opencv-python-headless openai-clip tqdm "setuptools<70"
    python3 ci/bench/vbench_side_by_side.py --dino PATH/TO/dino --videval target/release/videval WORK
    python3 ci/bench/vbench_side_by_side.py --dimensions dynamic_degree WORK   # no DINO needed

Not part of the tests (it takes minutes and needs torch). It writes, under WORK:
  * videos/{prompt}-{i}.mp4: H.264 clips from ffmpeg's test sources (--size, --frames, 8 fps);
  * nets/: full-size networks with the same random weights for both sides — DINO ViT-B/16
    (facebookresearch/dino's VisionTransformer, converted by convert_dino.py), CLIP ViT-B/32 (a
    Hugging Face CLIPModel) and OpenAI CLIP ViT-L/14 with a 768 → 1 head (converted by
    convert_aesthetic.py), RAFT raft_large (torchvision's initialisation, converted by
    convert_raft.py; VBench's own princeton-vl RAFT gets the same weights under its names) — only
    the networks the chosen dimensions need;
Then it times VBench 0.1.5's functions (temporal_flickering, subject_consistency,
background_consistency, laion_aesthetic, DynamicDegree.infer, motion_smoothness with AMT-S,
technical_quality with pyiqa's MUSIQ over the videos; networks already loaded, torch with
--threads threads; AMT-S and MUSIQ with random weights, converted by convert_amt.py and
convert_musiq.py)
and `videval run` on the imported suite of each dimension from a fresh store (process start,
plan, network loading and report included), then all four dimensions in one `videval run` (each
video decoded once), and prints each side's time, the ratio and the largest score difference.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "weights", "encoder"))
from register_weights import register  # noqa: E402

DIMENSIONS = ["temporal_flickering", "subject_consistency", "background_consistency", "aesthetic_quality",
              "dynamic_degree", "motion_smoothness", "imaging_quality"]
SOURCES = ["testsrc2", "mandelbrot", "life=mold=10:ratio=0.5", "cellauto=rule=110"]
PROMPTS = ["a test card pans", "a fractal zooms in", "cells grow and die", "an automaton unrolls"]


def make_videos(out, size, frames):
    os.makedirs(out, exist_ok=True)
    for k, (src, prompt) in enumerate(zip(SOURCES, PROMPTS)):
        for i in range(2):
            path = os.path.join(out, f"{prompt}-{i}.mp4")
            if os.path.exists(path):
                continue
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"{src}:size={size}:rate=8" if "=" in src else f"{src}=size={size}:rate=8",
                            "-ss", str(i), "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                            "-crf", "23", path], check=True)


def make_nets(a, nets, dims):
    torch.manual_seed(0)
    models = {}
    if "subject_consistency" in dims:
        sys.path.insert(0, a.dino)
        from functools import partial

        from vision_transformer import VisionTransformer

        dino = VisionTransformer(patch_size=16, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4, qkv_bias=True,
                                 norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)).eval()
        ckpt = os.path.join(a.work, "dino.pth")
        torch.save(dino.state_dict(), ckpt)
        subprocess.run([sys.executable, os.path.join(ROOT, "models/weights/encoder/convert_dino.py"), ckpt,
                        os.path.join(nets, "dino-vitb16")], check=True)
        models["dino"] = dino

    if "background_consistency" in dims:
        from transformers import CLIPConfig, CLIPModel

        clip = CLIPModel(CLIPConfig()).eval()  # ViT-B/32 sizes
        clip_dir = os.path.join(nets, "clip")
        os.makedirs(clip_dir, exist_ok=True)
        from convert_i3d import write_safetensors

        state = {k: (v.reshape(()) if k == "logit_scale" else v).numpy() for k, v in clip.state_dict().items()
                 if not k.endswith("position_ids")}
        write_safetensors(state, os.path.join(clip_dir, "model.safetensors"))
        with open(os.path.join(clip_dir, "config.json"), "w") as f:
            json.dump(clip.config.to_dict(), f)
        shutil.copy(os.path.join(ROOT, "models/tests/golden/tokenizer-wordlevel.json"),
                    os.path.join(clip_dir, "tokenizer.json"))
        register(clip_dir, "clip", "random weights (ci/bench/vbench_side_by_side.py)", "benchmark")
        models["clip"] = clip

    if "aesthetic_quality" in dims:
        from clip.model import CLIP

        big = CLIP(embed_dim=768, image_resolution=224, vision_layers=24, vision_width=1024, vision_patch_size=14,
                   context_length=77, vocab_size=49408, transformer_width=768, transformer_heads=12,
                   transformer_layers=12).eval()
        head = torch.nn.Linear(768, 1).eval()
        torch.save({k: v for k, v in big.state_dict().items() if k.startswith("visual.")},
                   os.path.join(a.work, "l14.pt"))
        torch.save(head.state_dict(), os.path.join(a.work, "head.pth"))
        subprocess.run([sys.executable, os.path.join(ROOT, "models/weights/encoder/convert_aesthetic.py"), "--clip",
                        os.path.join(a.work, "l14.pt"), "--head", os.path.join(a.work, "head.pth"),
                        os.path.join(nets, "clip-vit-l-14-laion")], check=True)
        models["big"], models["head"] = big, head

    if "dynamic_degree" in dims:
        from convert_raft import princeton_names
        from torchvision.models.optical_flow import raft_large

        tv = raft_large(weights=None, progress=False).eval()
        ckpt = os.path.join(a.work, "raft_large.pth")
        torch.save(tv.state_dict(), ckpt)
        subprocess.run([sys.executable, os.path.join(ROOT, "models/weights/encoder/convert_raft.py"), ckpt,
                        os.path.join(nets, "raft-things")], check=True)
        names = princeton_names({k for k in tv.state_dict() if not k.endswith("num_batches_tracked")})
        state = {"module." + names[k]: v for k, v in tv.state_dict().items() if k in names}
        state.update({k.replace(".downsample.1.", ".norm3."): v for k, v in state.items() if ".downsample.1." in k})
        models["raft"] = os.path.join(a.work, "raft-things.pth")
        torch.save(state, models["raft"])

    if "motion_smoothness" in dims:
        import importlib

        amt = importlib.import_module("vbench.third_party.amt.networks.AMT-S").Model(
            corr_radius=3, corr_lvls=4, num_flows=3).eval()
        models["amt"] = os.path.join(a.work, "amt-s.pth")
        torch.save({"state_dict": amt.state_dict()}, models["amt"])
        subprocess.run([sys.executable, os.path.join(ROOT, "models/weights/encoder/convert_amt.py"), models["amt"],
                        os.path.join(nets, "amt-s")], check=True)

    if "imaging_quality" in dims:
        from pyiqa.archs.musiq_arch import MUSIQ

        musiq = MUSIQ(pretrained=False).eval()
        musiq.training = False
        ckpt = os.path.join(a.work, "musiq_spaq.pth")
        torch.save(musiq.state_dict(), ckpt)
        subprocess.run([sys.executable, os.path.join(ROOT, "models/weights/encoder/convert_musiq.py"), ckpt,
                        os.path.join(nets, "musiq-spaq")], check=True)
        models["musiq"] = musiq
    return models


def vbench_side(dims, video_list, m):
    # Each dimension's module imports only what it needs (openai-clip only for aesthetics, …).
    def temporal_flickering(*a):
        from vbench.temporal_flickering import temporal_flickering as f
        return f(*a)

    def subject_consistency(*a):
        from vbench.subject_consistency import subject_consistency as f
        return f(*a)

    def background_consistency(*a):
        from vbench.background_consistency import background_consistency as f
        return f(*a)

    def laion_aesthetic(*a):
        from vbench.aesthetic_quality import laion_aesthetic as f
        return f(*a)

    class HfClip:
        def encode_image(self, images):
            return m["clip"].visual_projection(m["clip"].vision_model(pixel_values=images).pooler_output)

    if "dynamic_degree" in dims:
        from easydict import EasyDict
        from vbench.dynamic_degree import DynamicDegree, dynamic_degree

        args = EasyDict({"model": m["raft"], "small": False, "mixed_precision": False, "alternate_corr": False})
        raft = DynamicDegree(args, "cpu")  # loaded before the clock starts, as the others are

    def dynamic():
        return dynamic_degree(raft, video_list)

    if "motion_smoothness" in dims:
        import vbench
        from vbench.motion_smoothness import MotionSmoothness, motion_smoothness

        cfg = os.path.join(os.path.dirname(vbench.__file__), "third_party", "amt", "cfgs", "AMT-S.yaml")
        smooth = MotionSmoothness(cfg, m["amt"], "cpu")

    def smoothness():
        return motion_smoothness(smooth, video_list)

    def imaging():
        from vbench.imaging_quality import technical_quality
        return technical_quality(m["musiq"], video_list, "cpu", imaging_quality_preprocessing_mode="longer")

    run = {
        "temporal_flickering": lambda: temporal_flickering(video_list),
        "subject_consistency": lambda: subject_consistency(m["dino"], video_list, "cpu", False),
        "background_consistency": lambda: background_consistency(HfClip(), None, video_list, "cpu", False),
        "aesthetic_quality": lambda: laion_aesthetic(m["head"], m["big"], video_list, "cpu"),
        "dynamic_degree": dynamic,
        "motion_smoothness": smoothness,
        "imaging_quality": imaging,
    }
    out = {}
    with torch.no_grad():
        for d in dims:
            t = time.perf_counter()
            score, _ = run[d]()
            out[d] = (time.perf_counter() - t, float(score))
    return out


def videval_side(a, dims):
    info = [{"prompt_en": p, "dimension": dims} for p in PROMPTS]
    with open(os.path.join(a.work, "info.json"), "w") as f:
        json.dump(info, f)
    suites = os.path.join(a.work, "suites")
    subprocess.run([a.videval, "suites", "import", "vbench", os.path.join(a.work, "info.json"), "--out", suites,
                    "--samples", "2"], check=True, capture_output=True)

    def run(names, tag):
        out = os.path.join(a.work, "runs", tag)
        shutil.rmtree(out, ignore_errors=True)
        store = os.path.join(a.work, "store-" + tag)
        shutil.rmtree(store, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run([a.videval, "run", "--suite", ",".join(os.path.join(suites, f"vbench_{d}.yaml") for d in names),
                        "--model", "dir:" + os.path.join(a.work, "videos"), "--weights", os.path.join(a.work, "nets"),
                        "--out", out, "--store", store], check=True, capture_output=True)
        took = time.perf_counter() - t
        r = json.load(open(os.path.join(out, "results.json")))
        return took, {x["dimension"]: x["raw"]["value"] for x in r["vbench"]["dimensions"]}

    res = {d: run([d], d) for d in dims}
    res["all"] = run(dims, "all")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dino", help="a checkout of facebookresearch/dino (for subject_consistency)")
    ap.add_argument("--videval", default=os.path.join(ROOT, "target", "release", "videval"))
    ap.add_argument("--size", default="512x288")
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dimensions", default=",".join(DIMENSIONS))
    ap.add_argument("work")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dims = a.dimensions.split(",")
    os.makedirs(a.work, exist_ok=True)
    videos = os.path.join(a.work, "videos")
    make_videos(videos, a.size, a.frames)
    nets = os.path.join(a.work, "nets")
    os.makedirs(nets, exist_ok=True)  # `--weights` must name a folder, even when no network is asked for
    if "subject_consistency" in dims and not a.dino:
        sys.exit("subject_consistency needs --dino (a checkout of facebookresearch/dino)")
    models = make_nets(a, nets, dims)
    video_list = sorted(os.path.join(videos, f) for f in os.listdir(videos))
    ref = vbench_side(dims, video_list, models)
    ours = videval_side(a, dims)
    print(f"{len(video_list)} videos {a.size} x {a.frames} frames; torch {torch.__version__}, {a.threads} threads")
    print(f"{'dimension':<24} {'VBench s':>9} {'videval s':>10} {'speed':>7} {'|score diff|':>13}")
    for d in dims:
        (tv, sv), (to, so) = ref[d], ours[d]
        print(f"{d:<24} {tv:9.2f} {to:10.2f} {tv / to:6.2f}x {abs(sv - so[d]):13.2e}")
    total = sum(ref[d][0] for d in dims)
    ta, sa = ours["all"]
    worst = max(abs(ref[d][1] - sa[d]) for d in dims)
    print(f"{'all in one run':<24} {total:9.2f} {ta:10.2f} {total / ta:6.2f}x {worst:13.2e}")


if __name__ == "__main__":
    main()
