#!/usr/bin/env python3
"""VBench's own scoring code on committed videos and small networks, for tests/tests/vbench.rs.

    pip install vbench==0.1.5 --no-deps; pip install torch torchvision transformers decord \
        opencv-python-headless openai-clip tqdm "setuptools<70"
    python3 tests/tests/golden/vbench_parity.py --dino PATH/TO/dino tests/fixtures/vbench
    python3 tests/tests/golden/vbench_parity.py --only aesthetic_quality tests/fixtures/vbench

Measured with vbench 0.1.5, torch 2.15, torchvision 0.29, transformers 5.25, decord 0.6.
`--dino` is a checkout of facebookresearch/dino (its `vision_transformer.py` is imported from
there, as VBench loads `dino_vitb16` through torch.hub; never copied here).

The videos are FIXTURES/videos/{prompt}-{i}.mp4 (committed; made by `videval synth`). This
script writes, under FIXTURES/nets, the two networks both sides use, with formula weights (the
formula of models/tests/golden/encoders_golden.py; the files are committed, so the Rust test
only reads them):
  * dino-vitb16: DINO's VisionTransformer at a small size (patch 16, width 32, 1 block, 2 heads,
    a 4x4 position grid), `model.safetensors` + `config.json` + `manifest.json`;
  * clip: a small Hugging Face CLIP (vision: width 32, 1 layer, image 224, patch 32; quick GELU),
    `config.json` + `model.safetensors` + the word-level `tokenizer.json` + `manifest.json`;
  * clip-vit-l-14-laion: a small OpenAI CLIP (`clip.model.CLIP`: image tower width 128, 1 block
    of 2 heads, patch 14 at 224, 16-d projection) and a 16 → 1 aesthetic head, converted by
    models/weights/encoder/convert_aesthetic.py from OpenAI's names (so the conversion is tested
    too).
Then it runs VBench's own functions — `temporal_flickering.temporal_flickering` (OpenCV decode),
`subject_consistency.subject_consistency` with the DINO model, `background_consistency.
background_consistency` with an `encode_image` that calls the Hugging Face CLIP and
`aesthetic_quality.laion_aesthetic` with the OpenAI CLIP and the head (decord decode and VBench's
transforms) — and writes FIXTURES/vbench_parity.json with every per-video score and each
dimension's score. `--only DIM,...` regenerates those dimensions' networks and scores and keeps
the others' in the file.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "tests", "golden"))
sys.path.insert(0, os.path.join(ROOT, "models", "weights", "encoder"))
from encoders_golden import fill  # noqa: E402
from convert_i3d import write_safetensors  # noqa: E402
from register_weights import register  # noqa: E402

DINO = {"patch_size": 16, "embed_dim": 32, "depth": 1, "num_heads": 2, "mlp_ratio": 4, "img_size": 64}
CLIP = {
    "text_config": {"vocab_size": 1000, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                    "num_attention_heads": 2, "max_position_embeddings": 77},
    "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                      "num_attention_heads": 2, "image_size": 224, "patch_size": 32},
    "projection_dim": 16,
}
# The small OpenAI CLIP of the aesthetic predictor (OpenAI's tower has width / 64 heads).
AESTHETIC = {"width": 128, "layers": 1, "patch": 14, "projection": 16}
DIMENSIONS = ["temporal_flickering", "subject_consistency", "background_consistency", "aesthetic_quality",
              "dynamic_degree", "static_filter", "flow_score", "motion_smoothness", "imaging_quality",
              "warping_error"]


def manifest(folder, name, files):
    sums = []
    for f in files:
        data = open(os.path.join(folder, f), "rb").read()
        sums.append({"path": f, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    m = {"schema": "videval/weights-manifest/v1", "entries": [{"name": name, "dir": ".", "files": sums,
         "source": "formula weights (tests/tests/golden/vbench_parity.py)", "licence": "test fixture",
         "obtain": "python3 tests/tests/golden/vbench_parity.py --dino DINO FIXTURES"}]}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dino")
    ap.add_argument("--only", default=",".join(DIMENSIONS))
    ap.add_argument("fixtures")
    a = ap.parse_args()
    only = a.only.split(",")
    videos = os.path.join(a.fixtures, "videos")
    video_list = sorted(os.path.join(videos, f) for f in os.listdir(videos) if f.endswith(".mp4"))
    golden = os.path.join(a.fixtures, "vbench_parity.json")
    out = json.load(open(golden)) if os.path.exists(golden) else {}
    out.update({"vbench": "0.1.5", "torch": torch.__version__})
    scores = {}
    if set(only) & {"temporal_flickering", "subject_consistency", "background_consistency"}:
        scores.update(dino_clip(a, video_list))
    if "aesthetic_quality" in only:
        scores["aesthetic_quality"] = aesthetic(a, video_list)
    pairs = {}
    flow = os.path.join(a.fixtures, "flow")
    flow_list = sorted(os.path.join(flow, f) for f in os.listdir(flow) if f.endswith(".mp4"))
    if "dynamic_degree" in only:
        scores["dynamic_degree"], p = dynamic_degree(flow_list)
        pairs.update(p)
    if "static_filter" in only:
        scores["static_filter"], p = static_filter(flow_list)
        pairs.update(p)
    if "flow_score" in only:
        scores["flow_score"], p = flow_score(flow_list)
        pairs.update(p)
    if "motion_smoothness" in only:
        scores["motion_smoothness"], p = motion_smoothness(flow_list)
        pairs.update(p)
    if "warping_error" in only:
        warp = os.path.join(a.fixtures, "warp")
        scores["warping_error"], p = warping_error(
            sorted(os.path.join(warp, f) for f in os.listdir(warp) if f.endswith(".mp4")))
        pairs.update(p)
    if "imaging_quality" in only:
        quality = os.path.join(a.fixtures, "quality")
        scores["imaging_quality"] = imaging_quality(
            sorted(os.path.join(quality, f) for f in os.listdir(quality) if f.endswith(".mp4")))
    for name in only:
        score, per_video = scores[name]
        out[name] = {"score": float(score),
                     "videos": {os.path.basename(v["video_path"]): float(v["video_results"]) for v in per_video}}
        if name in pairs:
            out[name]["pairs"] = pairs[name]
    with open(golden, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: v["score"] for k, v in out.items() if isinstance(v, dict)}))


def aesthetic(a, video_list):
    """VBench's laion_aesthetic with a small OpenAI CLIP and head, both converted for videval."""
    from clip.model import CLIP as OpenAiClip
    from convert_aesthetic import openai_tower, write
    from vbench.aesthetic_quality import laion_aesthetic

    clip = OpenAiClip(embed_dim=AESTHETIC["projection"], image_resolution=224, vision_layers=AESTHETIC["layers"],
                      vision_width=AESTHETIC["width"], vision_patch_size=AESTHETIC["patch"], context_length=77,
                      vocab_size=1000, transformer_width=32, transformer_heads=2, transformer_layers=1).eval()
    fill(clip)
    head = torch.nn.Linear(AESTHETIC["projection"], 1).eval()
    fill(head)
    out_dir = os.path.join(a.fixtures, "nets", "clip-vit-l-14-laion")
    tower, config = openai_tower({k: v.numpy() for k, v in clip.state_dict().items()})
    write(out_dir, tower, config, {k: v.numpy() for k, v in head.state_dict().items()})
    register(out_dir, "clip-vit-l-14-laion", "formula weights (tests/tests/golden/vbench_parity.py)", "test fixture")
    with torch.no_grad():
        return laion_aesthetic(head, clip, video_list, "cpu")


def dino_clip(a, video_list):
    if not a.dino:
        sys.exit("--dino PATH (a checkout of facebookresearch/dino) is needed for subject consistency")
    sys.path.insert(0, a.dino)
    from functools import partial

    from vision_transformer import VisionTransformer
    from transformers import CLIPConfig, CLIPModel

    nets = os.path.join(a.fixtures, "nets")
    dino_dir, clip_dir = os.path.join(nets, "dino-vitb16"), os.path.join(nets, "clip")
    os.makedirs(dino_dir, exist_ok=True)
    os.makedirs(clip_dir, exist_ok=True)

    dino = VisionTransformer(img_size=[DINO["img_size"]], patch_size=DINO["patch_size"], embed_dim=DINO["embed_dim"],
                             depth=DINO["depth"], num_heads=DINO["num_heads"], mlp_ratio=DINO["mlp_ratio"],
                             qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)).eval()
    fill(dino)
    write_safetensors({k: v.numpy() for k, v in dino.state_dict().items()}, os.path.join(dino_dir, "model.safetensors"))
    with open(os.path.join(dino_dir, "config.json"), "w") as f:
        json.dump(DINO, f)
    manifest(dino_dir, "dino-vitb16", ["model.safetensors", "config.json"])

    clip = CLIPModel(CLIPConfig(text_config=CLIP["text_config"], vision_config=CLIP["vision_config"],
                                projection_dim=CLIP["projection_dim"])).eval()
    fill(clip)
    # HF checkpoints store logit_scale as a scalar (shape []), as the Rust CLIP reads it.
    state = {k: (v.reshape(()) if k == "logit_scale" else v).numpy() for k, v in clip.state_dict().items()
             if not k.endswith("position_ids")}
    write_safetensors(state, os.path.join(clip_dir, "model.safetensors"))
    with open(os.path.join(clip_dir, "config.json"), "w") as f:
        json.dump(CLIP, f)
    shutil.copy(os.path.join(ROOT, "models", "tests", "golden", "tokenizer-wordlevel.json"),
                os.path.join(clip_dir, "tokenizer.json"))
    register(clip_dir, "clip", "formula weights (tests/tests/golden/vbench_parity.py)", "test fixture")

    from vbench.background_consistency import background_consistency
    from vbench.subject_consistency import subject_consistency
    from vbench.temporal_flickering import temporal_flickering

    class HfClip:
        def encode_image(self, images):
            # CLIP's image features: the projected pooled class token (OpenAI's encode_image).
            return clip.visual_projection(clip.vision_model(pixel_values=images).pooler_output)

    with torch.no_grad():
        return {
            "temporal_flickering": temporal_flickering(video_list),
            "subject_consistency": subject_consistency(dino, video_list, "cpu", False),
            "background_consistency": background_consistency(HfClip(), None, video_list, "cpu", False),
        }


FLOW_HEAD_OUT = "update_block.flow_head.conv2."


def raft_checkpoint(tmp, flow_scale=1.0 / 32.0):
    """torchvision raft_large with formula weights (the flow head's output convolution ×
    `flow_scale`, 1/32 unless said), saved under princeton-vl's names as VBench loads them; the
    path."""
    from convert_raft import princeton_names
    from torchvision.models.optical_flow import raft_large

    tv = raft_large(weights=None, progress=False).double().eval()
    fill(tv)
    # The plain formula drives the flow hundreds of pixels off the frame, where 20 updates
    # amplify float32 rounding (scores 0.4% apart between float32 and float64): the flow head's
    # last convolution scaled by 1/32 (exact) keeps it on the frame and the comparison well posed.
    with torch.no_grad():
        for n, p in tv.named_parameters():
            if n.startswith(FLOW_HEAD_OUT):
                p.mul_(flow_scale)
    names = princeton_names({k for k in tv.state_dict() if not k.endswith("num_batches_tracked")})
    state = {"module." + names[k]: v.float() for k, v in tv.state_dict().items() if k in names}
    # princeton-vl registers each strided block's batch norm twice (norm3 and downsample.1).
    state.update({k.replace(".downsample.1.", ".norm3."): v for k, v in state.items() if ".downsample.1." in k})
    path = os.path.join(tmp, "raft-things.pth")
    torch.save(state, path)
    return path


def recording(model, attr):
    """Wraps model.get_score and model.infer so every pair's score is kept per video."""
    pairs, current = {}, []
    score, infer = model.get_score, getattr(model, attr)

    def recorded(img, flo):
        s = score(img, flo)
        current.append(float(s))
        return s

    def per_video(path, *rest, **kw):
        current.clear()
        out = infer(path, *rest, **kw)
        pairs[os.path.basename(path)] = {"pairs": list(current), "threshold": model.params["thres"],
                                         "count_num": model.params["count_num"]}
        return out

    model.get_score = recorded
    setattr(model, attr, per_video)
    return pairs


def dynamic_degree(video_list):
    """VBench's own DynamicDegree (its princeton-vl RAFT, float32, CPU) with torchvision raft_large
    formula weights (raft_checkpoint) renamed to princeton-vl's names by convert_raft.princeton_names
    (so the converter's mapping is tested too); every pair's score (`get_score`) is recorded as well.
    The weights are not committed (about 21 MB): the Rust test makes the same ones from the
    formula."""
    import tempfile

    from easydict import EasyDict
    from vbench.dynamic_degree import DynamicDegree, dynamic_degree as vbench_dynamic_degree

    with tempfile.TemporaryDirectory() as tmp:
        args = EasyDict({"model": raft_checkpoint(tmp), "small": False, "mixed_precision": False,
                         "alternate_corr": False})
        dynamic = DynamicDegree(args, "cpu")
    pairs = recording(dynamic, "infer")
    result = vbench_dynamic_degree(dynamic, video_list)
    return result, {"dynamic_degree": pairs}


def static_filter(video_list):
    """VBench's own StaticFilter (`vbench/cli/static_filter.py`, run on the CPU) with the same
    weights: whether each video is static, and every pair's score (the consecutive pairs, then
    first → last and last → first). The dimension score is the fraction of static videos."""
    import tempfile

    import vbench.cli.static_filter as sf
    from easydict import EasyDict

    sf.DEVICE = "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        args = EasyDict({"model": raft_checkpoint(tmp), "small": False, "mixed_precision": False,
                         "alternate_corr": False})
        model = sf.StaticFilter(args, "cpu")
    pairs = recording(model, "infer")
    per_video = [{"video_path": p, "video_results": float(model.infer(p))} for p in video_list]
    score = sum(v["video_results"] for v in per_video) / len(per_video)
    return (score, per_video), {"static_filter": pairs}


def princeton_raft(flow_scale=1.0 / 32.0):
    """VBench's copy of princeton-vl's RAFT (the code EvalCrafter ships too) in eval mode, loaded
    with raft_checkpoint's formula weights as `DataParallel` checkpoints are loaded."""
    import tempfile

    from easydict import EasyDict
    from vbench.third_party.RAFT.core.raft import RAFT

    with tempfile.TemporaryDirectory() as tmp:
        state = torch.load(raft_checkpoint(tmp, flow_scale), map_location="cpu")
    model = RAFT(EasyDict({"small": False, "mixed_precision": False, "alternate_corr": False}))
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    return model.eval()


def opencv_frames(path):
    """Every frame of a video as OpenCV decodes it, RGB (EvalCrafter's decoding)."""
    import cv2

    cap, frames = cv2.VideoCapture(path), []
    while cap.isOpened():
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return frames


def flow_score(video_list):
    """EvalCrafter's flow score (`metrics/RAFT/optical_flow_scores.py`, `calculate_flow_score`,
    restated here: EvalCrafter is not a package) with the princeton-vl RAFT EvalCrafter also
    ships, here VBench's copy of it, and the same weights: OpenCV-decoded RGB frames, every
    consecutive pair replicate-padded by InputPadder, 20 updates, each pair's mean flow magnitude,
    the mean over pairs. The dimension score is the mean over videos."""
    import numpy as np
    from vbench.third_party.RAFT.core.utils_core.utils import InputPadder

    model = princeton_raft()
    pairs, per_video = {}, []
    with torch.no_grad():
        for path in video_list:
            frames = opencv_frames(path)
            means = []
            for a, b in zip(frames[:-1], frames[1:]):
                a = torch.tensor(a).permute(2, 0, 1).float().unsqueeze(0)
                b = torch.tensor(b).permute(2, 0, 1).float().unsqueeze(0)
                a, b = InputPadder(a.shape).pad(a, b)
                _, flow_up = model(a, b, iters=20, test_mode=True)
                means.append(torch.norm(flow_up.squeeze(0), dim=0).mean().item())
            pairs[os.path.basename(path)] = {"pairs": means}
            per_video.append({"video_path": path, "video_results": float(np.mean(means))})
    score = sum(v["video_results"] for v in per_video) / len(per_video)
    return (score, per_video), {"flow_score": pairs}


def motion_smoothness(video_list):
    """VBench's own MotionSmoothness (`vbench/motion_smoothness.py`, CPU: no rescaling; OpenCV
    decode) with AMT-S (its `third_party/amt`, built from its `cfgs/AMT-S.yaml`) holding tamed
    formula weights (models/tests/golden/amt_golden.py's `tame`: the plain formula saturates the
    interpolated frames), saved as `{"state_dict": …}` as VBench loads `amt-s.pth`; every predicted
    frame's difference from the real one (`get_diff`) is recorded per video. The weights are not
    committed: the Rust test makes the same ones from the formula."""
    import importlib
    import tempfile

    import vbench
    from amt_golden import tame
    from vbench.motion_smoothness import MotionSmoothness, motion_smoothness as vbench_motion_smoothness

    cfg = os.path.join(os.path.dirname(vbench.__file__), "third_party", "amt", "cfgs", "AMT-S.yaml")
    model = importlib.import_module("vbench.third_party.amt.networks.AMT-S").Model(
        corr_radius=3, corr_lvls=4, num_flows=3)
    fill(model)
    tame(model)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "amt-s.pth")
        torch.save({"state_dict": {k: v.float() for k, v in model.state_dict().items()}}, ckpt)
        motion = MotionSmoothness(cfg, ckpt, "cpu")
    pairs, current = {}, []
    diff, score = motion.get_diff, motion.motion_score

    def recorded(a, b):
        d = diff(a, b)
        current.append(float(d))
        return d

    def per_video(path):
        current.clear()
        out = score(path)
        pairs[os.path.basename(path)] = {"pairs": list(current)}
        return out

    motion.get_diff, motion.motion_score = recorded, per_video
    result = vbench_motion_smoothness(motion, video_list)
    return result, {"motion_smoothness": pairs}


def resample2d(img, flow):
    """flownet2's `Resample2d` (kernel size 1: CUDA only, so restated here in torch): each output
    pixel samples `img` at its position plus `flow`, alpha = xf − ⌊xf⌋ and beta from the unclamped
    position, the four neighbours' indices clamped to the frame, weights in double, each term
    added to a float32 sum in the kernel's order."""
    _, c, h, w = img.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    xf, yf = xs + flow[0, 0], ys + flow[0, 1]
    x0, y0 = torch.floor(xf), torch.floor(yf)
    alpha, beta = (xf - x0).double(), (yf - y0).double()
    xl, xr = x0.long().clamp(0, w - 1), (x0 + 1).long().clamp(0, w - 1)
    yt, yb = y0.long().clamp(0, h - 1), (y0 + 1).long().clamp(0, h - 1)
    src = img[0]
    out = ((1.0 - alpha) * (1.0 - beta) * src[:, yt, xl].double()).float()
    out = out + (alpha * (1.0 - beta) * src[:, yt, xr].double()).float()
    out = out + ((1.0 - alpha) * beta * src[:, yb, xl].double()).float()
    out = out + (alpha * beta * src[:, yb, xr].double()).float()
    return out.unsqueeze(0)


def detect_occlusion(fw_flow, bw_flow, img):
    """fast_blind_video_consistency's `detect_occlusion` as EvalCrafter's warp_utils has it
    (restated: that module imports the CUDA Resample2d at load), on numpy [H, W, 2] float32
    flows; returns the occlusion mask (float64) and `img` warped by `bw_flow`."""
    import numpy as np

    fw_t = torch.from_numpy(np.ascontiguousarray(fw_flow.transpose(2, 0, 1)))[None]
    bw_t = torch.from_numpy(np.ascontiguousarray(bw_flow.transpose(2, 0, 1)))[None]
    fw_flow_w = resample2d(fw_t, bw_t)[0].numpy().transpose(1, 2, 0)
    warp_img = resample2d(img, bw_t)
    fb_flow_sum = fw_flow_w + bw_flow
    fb_flow_mag = fb_flow_sum[:, :, 0] ** 2 + fb_flow_sum[:, :, 1] ** 2
    fw_flow_w_mag = fw_flow_w[:, :, 0] ** 2 + fw_flow_w[:, :, 1] ** 2
    bw_flow_mag = bw_flow[:, :, 0] ** 2 + bw_flow[:, :, 1] ** 2
    mask1 = fb_flow_mag > 0.01 * (fw_flow_w_mag + bw_flow_mag) + 0.5
    h, w = bw_flow.shape[:2]
    fx_du, fx_dv, fy_du, fy_dv = (np.zeros((h, w)) for _ in range(4))
    fx, fy = bw_flow[:, :, 0], bw_flow[:, :, 1]
    fx_du[:, :-1] = fx[:, :-1] - fx[:, 1:]
    fx_dv[:-1, :] = fx[:-1, :] - fx[1:, :]
    fy_du[:, :-1] = fy[:, :-1] - fy[:, 1:]
    fy_dv[:-1, :] = fy[:-1, :] - fy[1:, :]
    mask2 = (fx_du ** 2 + fx_dv ** 2) + (fy_du ** 2 + fy_dv ** 2) > 0.01 * bw_flow_mag + 0.002
    occlusion = np.zeros((h, w))
    occlusion[np.logical_or(mask1, mask2)] = 1
    return occlusion, warp_img


# The warping error's RAFT: the flow head's output × 2^-10 instead of 1/32. With 1/32 the flows
# are ~13 px and never undo each other, so every pixel is occluded and every error is 0; with
# 2^-10 they are a fraction of a pixel and the masks keep some pixels and drop others.
WARP_FLOW_SCALE = 2.0 ** -10


def warping_error(video_list):
    """EvalCrafter's warping error (`metrics/RAFT/optical_flow_scores.py`,
    `compute_video_warping_error`, restated: EvalCrafter is not a package and its Resample2d is a
    CUDA extension) on VBench's princeton-vl RAFT with the same weights as dynamic degree:
    OpenCV-decoded RGB frames, every consecutive pair ÷255, bilinear ×0.5, InputPadder, forward
    and backward flow (20 updates; RAFT's own 2·(x/255) − 1 applied to the [0, 1] frames, as
    published), `detect_occlusion(bw_flow, fw_flow, img2)` (its arguments in EvalCrafter's
    order), the squared difference of the warped second frame and the first outside the mask,
    summed and divided by the visible pixels; the mean over pairs. The committed videos
    FIXTURES/warp/*.mp4 are 320x256 and 330x258 (halved unevenly)."""
    import numpy as np
    import torch.nn.functional as F
    from vbench.third_party.RAFT.core.utils_core.utils import InputPadder

    model = princeton_raft(WARP_FLOW_SCALE)
    pairs, per_video = {}, []
    with torch.no_grad():
        for path in video_list:
            frames = opencv_frames(path)
            errors, visible = [], []
            for a, b in zip(frames[:-1], frames[1:]):
                img1 = torch.from_numpy(a).permute(2, 0, 1).float().unsqueeze(0) / 255.0
                img2 = torch.from_numpy(b).permute(2, 0, 1).float().unsqueeze(0) / 255.0
                img1 = F.interpolate(img1, scale_factor=0.5, mode="bilinear", align_corners=False)
                img2 = F.interpolate(img2, scale_factor=0.5, mode="bilinear", align_corners=False)
                img1, img2 = InputPadder(img1.shape).pad(img1, img2)
                _, fw = model(img1, img2, iters=20, test_mode=True)
                _, bw = model(img2, img1, iters=20, test_mode=True)
                fw = fw[0].numpy().transpose(1, 2, 0)
                bw = bw[0].numpy().transpose(1, 2, 0)
                occ, warp_img2 = detect_occlusion(bw, fw, img2)
                noc = 1 - torch.tensor(occ).float()
                diff = (warp_img2 - img1) * noc
                n = torch.sum(noc)
                visible.append(float(n) / noc.numel())
                if n == 0:
                    n = diff.numel()
                errors.append(float(torch.sum(diff ** 2) / n))
            pairs[os.path.basename(path)] = {"pairs": errors, "visible": visible}
            per_video.append({"video_path": path, "video_results": float(np.mean(errors))})
    score = sum(v["video_results"] for v in per_video) / len(per_video)
    return (score, per_video), {"warping_error": pairs}


def imaging_quality(video_list):
    """VBench's own imaging quality (`imaging_quality.technical_quality`, preprocess mode 'longer',
    decord decode, CPU) with pyiqa's MUSIQ built as VBench builds it (`MUSIQ(pretrained_model_path=
    ...)`, one output) from a state dict of formula weights saved for it to load. The committed
    videos FIXTURES/quality/*.mp4 (ffmpeg testsrc2, H.264) are 640x360 (4 frames: VBench brings the
    longer side down to 512) and 200x120 (3 frames). The weights are not committed (about 110 MB):
    the Rust test makes the same ones from the formula."""
    import tempfile

    from pyiqa.archs.musiq_arch import MUSIQ
    from vbench.imaging_quality import technical_quality

    with tempfile.TemporaryDirectory() as tmp:
        reference = MUSIQ(pretrained=False)
        fill(reference)
        path = os.path.join(tmp, "musiq_spaq_ckpt.pth")
        torch.save(reference.state_dict(), path)
        model = MUSIQ(pretrained_model_path=path)
    model.training = False
    score, per_video = technical_quality(model, video_list, "cpu", imaging_quality_preprocessing_mode="longer")
    return score, per_video


if __name__ == "__main__":
    main()
