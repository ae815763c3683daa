//! VBench end to end: import a VBench-format prompt list, run a folder of VBench-named videos
//! (`{prompt}-{i}.mp4`) through the imported suites, and check results.json's `vbench` block:
//! temporal flickering equals VBench's formula computed here from frames decoded by the ffmpeg
//! command-line tool (≤ 1e-4), normalised with VBench's constants, and every quality dimension
//! videval does not score is listed as skipped with its reason.

use serde_json::{Value, json};
use videval_tests::{Sandbox, code, text};

/// VBench's temporal flickering of one video: (255 − mean over consecutive frame pairs of the
/// mean absolute difference) / 255, on frames at native size.
fn vbench_flicker(path: &std::path::Path, w: usize, h: usize) -> f64 {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg (ci/setup.sh installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let frames: Vec<&[u8]> = out.stdout.chunks_exact(w * h * 3).collect();
    assert!(frames.len() >= 2);
    let mae: Vec<f64> = frames
        .windows(2)
        .map(|p| p[0].iter().zip(p[1]).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / (w * h * 3) as f64)
        .collect();
    (255.0 - mae.iter().sum::<f64>() / mae.len() as f64) / 255.0
}

#[test]
fn a_vbench_named_folder_runs_through_imported_suites_with_vbench_numbers() {
    let sb = Sandbox::new();
    let flicker = [
        "In a still frame, a stop sign",
        "a toilet, frozen in time",
        "A tranquil tableau of alley",
        "a \"quoted\" teapot: still, 東京",
        "A beautiful coastal beach in spring, waves lapping on sand by Hokusai, in the style of Ukiyo",
        "a laptop, frozen in time",
    ];
    let mut info: Vec<Value> =
        flicker.iter().map(|p| json!({"prompt_en": p, "dimension": ["temporal_flickering"]})).collect();
    info.push(json!({"prompt_en": "a person riding a bike", "dimension": ["subject_consistency", "dynamic_degree", "background_consistency", "aesthetic_quality", "motion_smoothness", "imaging_quality"]}));
    info.push(json!({"prompt_en": "a drone shot of a city, pan left", "dimension": ["temporal_style"],
                     "auxiliary_info": {"camera_motion": {"camera_motion": "pan left"}}}));
    sb.write("VBench_full_info.json", &serde_json::to_string_pretty(&info).unwrap());

    let o = sb.run(&["suites", "import", "vbench", "VBench_full_info.json", "--out", "suites", "--samples", "2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    for d in ["temporal_flickering", "subject_consistency", "dynamic_degree", "temporal_style"] {
        let o = sb.run(&["suites", "lint", &format!("suites/vbench_{d}.yaml")]);
        assert_eq!(code(&o), 0, "vbench_{d}: {}", text(&o));
    }
    let style = String::from_utf8(sb.read("suites/vbench_temporal_style.yaml")).unwrap();
    assert!(style.contains("{probe: camera, motion: pan_left}"), "camera motion becomes an expectation:\n{style}");
    let flick = String::from_utf8(sb.read("suites/vbench_temporal_flickering.yaml")).unwrap();
    assert!(!flick.contains("expect:"), "nothing is invented where no probe can check");

    // VBench's folder: {prompt}-{i}.mp4, two samples per prompt (the synthetic renderer's clips).
    std::fs::create_dir_all(sb.join("videos")).unwrap();
    let mut expected = Vec::new();
    for (k, p) in flicker.iter().chain(["a person riding a bike"].iter()).enumerate() {
        for i in 0..2 {
            let out = format!("videos/{p}-{i}.mp4");
            let o = sb.run(&[
                "synth",
                "--prompt",
                p,
                "--seed",
                &(10 * k + i).to_string(),
                "--out",
                &out,
                "--frames",
                "9",
                "--width",
                "48",
                "--height",
                "32",
            ]);
            assert_eq!(code(&o), 0, "{}", text(&o));
            if k < flicker.len() {
                expected.push(vbench_flicker(&sb.join(&out), 48, 32));
            }
        }
    }
    // `run` of the folder through suites, into `out`.
    let run_folder = |suites: &str, out: &str, extra: &[&str]| {
        sb.command(&["run", "--suite", suites, "--model", "dir:videos", "--out", out]).args(extra).output().unwrap()
    };
    let o = run_folder(
        "suites/vbench_temporal_flickering.yaml,suites/vbench_subject_consistency.yaml,suites/vbench_background_consistency.yaml,suites/vbench_aesthetic_quality.yaml,suites/vbench_dynamic_degree.yaml,suites/vbench_motion_smoothness.yaml,suites/vbench_imaging_quality.yaml",
        "runs/vb",
        &[],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_slice(&sb.read("runs/vb/results.json")).unwrap();
    let block = &r["vbench"];
    let dims = block["dimensions"].as_array().unwrap();
    assert_eq!(dims.len(), 1, "{block}");
    let tf = &dims[0];
    assert_eq!(
        (tf["dimension"].as_str(), tf["prompts"].as_u64(), tf["videos"].as_u64()),
        (Some("temporal_flickering"), Some(6), Some(12))
    );
    let want = expected.iter().sum::<f64>() / expected.len() as f64;
    let got = tf["raw"]["value"].as_f64().unwrap();
    assert!((got - want).abs() <= 1e-4, "videval {got} vs VBench's formula {want}");
    let norm = tf["normalised"]["value"].as_f64().unwrap();
    assert!((norm - (got - 0.6293) / (1.0 - 0.6293)).abs() < 1e-12);
    let [lo, hi] = [tf["raw"]["ci"][0].as_f64().unwrap(), tf["raw"]["ci"][1].as_f64().unwrap()];
    assert!(lo <= got && got <= hi && lo < hi, "an interval over 6 prompts: {tf}");
    let q = &block["quality_score"];
    assert!((q["value"].as_f64().unwrap() - norm).abs() < 1e-12, "one quality dimension present: {q}");
    assert!(q["note"].as_str().unwrap().contains("1 of the 7"));
    let skipped: Vec<(&str, &str)> = block["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["dimension"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    for d in [
        "subject_consistency",
        "background_consistency",
        "motion_smoothness",
        "dynamic_degree",
        "aesthetic_quality",
        "imaging_quality",
    ] {
        let reason =
            skipped.iter().find(|s| s.0 == d).unwrap_or_else(|| panic!("{d} not listed as skipped: {skipped:?}")).1;
        assert!(reason.starts_with("needs "), "{d}: {reason}");
        // … and said where the run ends: exit 0 alone let it pass unnoticed.
        assert!(text(&o).contains(&format!("VBench dimension not scored: {d}: needs ")), "{d}: {}", text(&o));
    }
    assert!(!text(&o).contains("not scored: temporal_flickering"), "{}", text(&o));
    // The scores themselves are said where the run ends (only what was not scored was).
    assert!(
        text(&o).contains("VBench temporal_flickering: ") && text(&o).contains("VBench Quality Score: "),
        "{}",
        text(&o)
    );
    // The report shows the VBench table.
    let html = String::from_utf8(sb.read("runs/vb/report.html")).unwrap();
    assert!(
        html.contains("VBench dimensions") && html.contains("temporal_flickering") && html.contains("needs DINO"),
        "no VBench table"
    );
    // Two samples a prompt are not VBench's protocol: said in the block, the page and the output.
    let caveat = "vbench_temporal_flickering: 2 sample(s) per prompt, where VBench reads 5";
    assert!(block["caveats"].as_array().unwrap().iter().any(|c| c == caveat), "{block}");
    assert!(text(&o).contains(&format!("VBench caveat: {caveat}")) && html.contains("Not VBench's protocol"));
    // A dimension's interval is its own: the same videos give the same one whatever other suites
    // the run holds (one random stream through every dimension shifted it).
    let o = run_folder("suites/vbench_temporal_flickering.yaml", "runs/tf", &[]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let alone: Value = serde_json::from_slice(&sb.read("runs/tf/results.json")).unwrap();
    assert_eq!(alone["vbench"]["dimensions"][0]["raw"], tf["raw"]);
    // A subset of the prompts is said too.
    let o = run_folder("suites/vbench_temporal_flickering.yaml", "runs/lim", &["--limit", "2"]);
    assert!(
        text(&o).contains("VBench caveat: vbench_temporal_flickering: 2 of its 6 prompts (--limit or --cases)"),
        "{}",
        text(&o)
    );
    // A limit above the suite's size narrows nothing, and says nothing (sweeps pass one).
    let o = run_folder("suites/vbench_temporal_flickering.yaml", "runs/all", &["--limit", "10"]);
    assert!(code(&o) == 0 && !text(&o).contains("prompts (--limit"), "{}", text(&o));
    // A video missing from the folder leaves its prompt fewer samples: said as a caveat too (the
    // planned samples were counted, and the score read as complete).
    std::fs::remove_file(sb.join(&format!("videos/{}-1.mp4", flicker[0]))).unwrap();
    let o = run_folder("suites/vbench_temporal_flickering.yaml", "runs/gone", &[]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    let gone: Value = serde_json::from_slice(&sb.read("runs/gone/results.json")).unwrap();
    let caveats = gone["vbench"]["caveats"].to_string();
    assert!(
        caveats.contains("vbench_temporal_flickering: 1 to 2 sample(s) per prompt, where VBench reads 5"),
        "{caveats}"
    );
}

#[test]
fn temporal_flickering_of_a_bt709_video_sees_the_colours_vbench_sees() {
    // HD cameras and video generators tag BT.709; OpenCV (VBench's reader for this dimension)
    // and the ffmpeg CLI follow the tag. Read as BT.601, this clip's score was 1.0e-4 off.
    let sb = Sandbox::new();
    let path = sb.join("m709.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "mandelbrot=size=320x180:rate=8", "-frames:v", "24"])
        .args(["-vf", "scale=out_color_matrix=bt709,format=yuv420p", "-colorspace", "bt709", "-c:v", "libx264"])
        .arg(&path)
        .status()
        .expect("ffmpeg (ci/setup.sh installs it)");
    assert!(made.success());
    let (c, v) = sb.run_json(&["video", "score", &path.display().to_string(), "--metrics", "temporal_flicker"]);
    assert_eq!(c, 0, "{v}");
    let got = v["metrics"][0]["value"].as_f64().unwrap_or_else(|| panic!("{v}"));
    let want = vbench_flicker(&path, 320, 180);
    assert!((got - want).abs() <= 1e-6, "videval {got}, VBench's formula on the CLI's frames {want}");
}

#[test]
fn a_malformed_info_file_is_a_located_error() {
    let sb = Sandbox::new();
    for (content, needle) in [
        ("{\"prompt_en\": 1}", "expected a list"),
        ("[{\"dimension\": [\"color\"]}]", "[0]: missing prompt_en"),
        ("[{\"prompt_en\": \"a\", \"dimension\": [\"colour\"]}]", "[0].dimension[0]: unknown dimension \"colour\""),
        // One of VBench's, spelt otherwise, is named as VBench writes it (not a VBench-2.0 one).
        (
            "[{\"prompt_en\": \"a\", \"dimension\": [\"Subject_Consistency\"]}]",
            "unknown dimension \"Subject_Consistency\" (VBench writes it \"subject_consistency\")",
        ),
        ("[{\"prompt_en\": \"a\", \"dimension\": [\"Camera_Motion\"]}]", "(a VBench-2.0 dimension: not supported"),
        ("[{\"prompt_en\": \"a\", \"dimension\": [\"color\"]},\n  oops]", "line 2"),
        ("[{\"prompt_en\": \"a\", \"dimension\": []}]", "[0].dimension (\"a\"): empty"),
        ("[]", "no prompt for any dimension: nothing to import"),
        // Python's json writes a lone surrogate for a string holding half a character.
        ("[{\"prompt_en\": \"a \\ud800 cat\", \"dimension\": [\"color\"]}]", "escape without its other half"),
        (
            "[{\"prompt_en\": \"a\", \"dimension\": [\"color\"], \"auxiliary_info\": {\"color\": {\"color\": \"red\"}}},\n\
             {\"prompt_en\": \"a\", \"dimension\": [\"color\"], \"auxiliary_info\": {\"color\": {\"color\": \"blue\"}}}]",
            "listed twice for color with different auxiliary_info",
        ),
    ] {
        sb.write("bad.json", content);
        let o = sb.run(&["suites", "import", "vbench", "bad.json", "--out", "s"]);
        assert_eq!(code(&o), 3, "{}", text(&o));
        assert!(text(&o).contains("bad.json") && text(&o).contains(needle), "{needle}: {}", text(&o));
    }
    sb.write("ok.json", "[{\"prompt_en\": \"a\", \"dimension\": [\"color\"]}]");
    let o = sb.run(&["suites", "import", "vbench", "ok.json", "--out", "s", "--dimension", "colour"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    // Every target is checked before any is written: a folder where one suite goes stops the
    // import with nothing written, and the input itself is never a target.
    sb.write("two.json", "[{\"prompt_en\": \"a\", \"dimension\": [\"color\", \"scene\"]}]");
    std::fs::create_dir_all(sb.join("t/vbench_scene.yaml")).unwrap();
    let o = sb.run(&["suites", "import", "vbench", "two.json", "--out", "t"]);
    assert!(code(&o) == 3 && text(&o).contains("not a regular file"), "{}", text(&o));
    assert!(!sb.join("t/vbench_color.yaml").exists(), "a suite was written before the refusal");
    std::fs::create_dir_all(sb.join("u")).unwrap();
    sb.write("u/vbench_color.yaml", "[{\"prompt_en\": \"a\", \"dimension\": [\"color\"]}]");
    let o = sb.run(&["suites", "import", "vbench", "u/vbench_color.yaml", "--out", "u"]);
    assert!(code(&o) == 3 && text(&o).contains("that is the file being imported"), "{}", text(&o));
    // Nothing for the dimension asked, samples a suite cannot hold, a file as the folder: refused.
    for (args, needle) in [
        (&["--dimension", "scene"][..], "no prompt for scene"),
        (&["--samples", "5000"][..], "expected 1..=1000 samples per prompt"),
    ] {
        let o = sb.command(&["suites", "import", "vbench", "ok.json", "--out", "s"]).args(args).output().unwrap();
        assert_eq!(code(&o), 3, "{}", text(&o));
        assert!(text(&o).contains(needle), "{needle}: {}", text(&o));
    }
    let o = sb.run(&["suites", "import", "vbench", "ok.json", "--out", "ok.json"]);
    assert!(code(&o) == 3 && text(&o).contains("a file, where the folder"), "{}", text(&o));
    // A prompt no suite can hold is refused before any file is written (a NUL was imported, exit
    // 0, and the suite then failed to load; an error in a later dimension left earlier files).
    sb.write(
        "nul.json",
        "[{\"prompt_en\": \"fine\", \"dimension\": [\"color\"]}, {\"prompt_en\": \"nul\\u0000here\", \"dimension\": [\"scene\"]}]",
    );
    let o = sb.run(&["suites", "import", "vbench", "nul.json", "--out", "nul"]);
    assert!(
        code(&o) == 3 && text(&o).contains("the prompt \"nul\\0here\" cannot be a suite's case: holds a NUL"),
        "{}",
        text(&o)
    );
    assert!(!sb.join("nul").exists(), "nothing written");
    // Names are trimmed: `--dimension "color, scene"`.
    let o = sb.run(&["suites", "import", "vbench", "nul.json", "--out", "trim", "--dimension", "color, object_class"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(sb.join("trim/vbench_color.yaml").is_file());
    // Camera labels the probe does not check are said, not silently dropped.
    sb.write(
        "cam.json",
        "[{\"prompt_en\": \"a\", \"dimension\": [\"temporal_style\"], \"auxiliary_info\": {\"camera_motion\": {\"camera_motion\": \"orbit\"}}}]",
    );
    let (c, v) = sb.run_json(&["suites", "import", "vbench", "cam.json", "--out", "s"]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v[0]["expectations"], 0);
    assert!(v[0]["unchecked"][0].as_str().unwrap().contains("orbit"), "{v}");
}

/// videval against VBench's own scoring code (the `vbench` package, 0.1.5) on committed videos and
/// committed small networks with formula weights (`tests/fixtures/vbench`, written with the
/// goldens by `tests/tests/golden/vbench_parity.py`): every per-video score and each dimension's
/// score of temporal flickering, subject consistency (DINO), background consistency (CLIP) and
/// aesthetic quality (an OpenAI CLIP converted by `convert_aesthetic.py`, and a LAION-style head)
/// within 1e-6 (measured: at most 8e-8; the acceptance is 1e-4, and 1e-6 is also 1e-4 relative
/// to aesthetic quality's small formula-weight scores, about 0.015). VBench decodes with OpenCV and
/// decord, videval with its own decoder.
#[test]
fn videval_matches_vbenchs_own_scoring_code() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vbench");
    let golden: Value = serde_json::from_slice(&std::fs::read(fixtures.join("vbench_parity.json")).unwrap()).unwrap();
    let sb = Sandbox::new();
    let prompts = ["a red ball rolls on the floor", "a quiet street, still camera", "waves on a beach"];
    let dims = ["temporal_flickering", "subject_consistency", "background_consistency", "aesthetic_quality"];
    let info: Vec<Value> = prompts.iter().map(|p| json!({"prompt_en": p, "dimension": dims})).collect();
    sb.write("info.json", &serde_json::to_string(&info).unwrap());
    let o = sb.run(&["suites", "import", "vbench", "info.json", "--out", "suites", "--samples", "2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let suites: Vec<String> = dims.iter().map(|d| format!("suites/vbench_{d}.yaml")).collect();
    let videos = format!("dir:{}", fixtures.join("videos").display());
    let nets = fixtures.join("nets").display().to_string();
    let o = sb.run(&["run", "--suite", &suites.join(","), "--model", &videos, "--weights", &nets, "--out", "runs/p"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_slice(&sb.read("runs/p/results.json")).unwrap();
    let metric = |d: &str| match d {
        "temporal_flickering" => "temporal_flicker",
        "subject_consistency" => "vbench_subject_consistency",
        "aesthetic_quality" => "vbench_aesthetic_quality",
        _ => "vbench_background_consistency",
    };
    for d in dims {
        let mut worst: f64 = 0.0;
        for s in r["samples"].as_array().unwrap().iter().filter(|s| s["suite"] == format!("vbench_{d}")) {
            let file = format!("{}-{}.mp4", s["prompt"].as_str().unwrap(), s["seed_idx"]);
            let want = golden[d]["videos"][&file].as_f64().unwrap_or_else(|| panic!("{d}: no golden for {file}"));
            let got = s["metrics"][metric(d)].as_f64().unwrap_or_else(|| panic!("{d} {file}: {s}"));
            assert!((got - want).abs() <= 1e-6, "{d} {file}: videval {got}, VBench {want}");
            worst = worst.max((got - want).abs());
        }
        let dim = r["vbench"]["dimensions"].as_array().unwrap().iter().find(|x| x["dimension"] == d).unwrap().clone();
        let (got, want) = (dim["raw"]["value"].as_f64().unwrap(), golden[d]["score"].as_f64().unwrap());
        assert!((got - want).abs() <= 1e-6, "{d}: videval {got}, VBench {want}");
        worst = worst.max((got - want).abs());
        eprintln!("{d}: largest difference from VBench's own code {worst:.2e}");
    }
    let quality = &r["vbench"]["quality_score"];
    assert!(quality["note"].as_str().unwrap().starts_with("over 4 of the 7 quality dimensions"), "{quality}");

    // The aesthetic network is listed as present with its three files; without it the metric is
    // not measurable, saying what it needs — never a number from another recipe.
    let (c, listed) = sb.run_json(&["weights", "list", "--weights", &nets]);
    assert_eq!(c, 0, "{listed}");
    let row = listed.as_array().unwrap().iter().find(|r| r["id"] == "clip-vit-l-14-laion").unwrap().clone();
    assert_eq!((row["status"].as_str(), row["implemented"].as_bool()), (Some("present"), Some(true)), "{row}");
    // `VIDEVAL_WEIGHTS` naming the networks folder does as `--weights` does, and does not hide
    // the project's own weights: FVD-W still loads the world encoder.
    let file = fixtures.join("videos/waves on a beach-0.mp4").display().to_string();
    let with_env = |args: &[&str]| {
        let o = sb.command(args).env_remove("VIDEVAL_NETWORKS").env("VIDEVAL_WEIGHTS", &nets).output().unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        (code(&o), v)
    };
    let (c, listed) = with_env(&["weights", "list", "--json"]);
    let row = listed.as_array().unwrap().iter().find(|r| r["id"] == "clip-vit-l-14-laion").unwrap().clone();
    assert_eq!((c, row["status"].as_str()), (0, Some("present")), "{row}");
    let (c, scored) = with_env(&["video", "score", &file, "--metrics", "vbench_aesthetic_quality", "--json"]);
    assert!(c == 0 && scored["metrics"][0]["value"].is_number(), "{scored}");
    let videos_dir = fixtures.join("videos").display().to_string();
    let (c, fvd) = with_env(&["fvd", &videos_dir, &videos_dir, "--jackknife-groups", "0", "--json"]);
    assert_eq!(c, 0, "{fvd}");
    assert!(fvd["value"].as_f64().is_some_and(|f| f.abs() < 1e-3), "{fvd}");
    let (c, none) = sb.run_json(&["video", "score", &file, "--metrics", "vbench_aesthetic_quality"]);
    assert_eq!(c, 0, "not measurable is not an error: {none}");
    let why = none["metrics"][0]["not_applicable"].as_str().unwrap_or_default();
    assert!(why.starts_with("needs CLIP ViT-L/14 + LAION aesthetic head weights"), "{none}");
}

/// The per-pair scores a flow metric's detail lists (`…; per pair (…): a, b, c`).
fn pair_scores(detail: &str) -> Vec<f64> {
    detail.rsplit("): ").next().unwrap().split(", ").map(|v| v.parse().unwrap()).collect()
}

/// The largest relative difference between the per-pair scores `detail` lists and the
/// reference's (`want["pairs"]`), after checking there are as many and that each reference value
/// is positive and each of ours finite (a NaN ratio would vanish in `max`).
fn worst_pair_difference(detail: &str, want: &Value, what: &str) -> f64 {
    let ours = pair_scores(detail);
    let want: Vec<f64> = want["pairs"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(ours.len(), want.len(), "{what}: pairs compared ({detail})");
    ours.iter().zip(&want).fold(0.0, |worst: f64, (a, b)| {
        assert!(*b > 0.0 && a.is_finite(), "{what}: {a} vs {b}");
        worst.max((a - b).abs() / b)
    })
}

/// RAFT (`raft_large`) with the formula weights both sides use (`metrics::formula::parameter`, as
/// `tests/tests/golden/vbench_parity.py` fills torchvision's model before renaming it for VBench;
/// the flow head's output convolution × 1/32, which keeps the flow on the frame: the plain formula
/// sends it hundreds of pixels off, where 20 updates amplify float32 rounding to 0.4%), written as
/// `dir/model.safetensors` with its manifest: about 21 MB, so made here, not committed.
fn write_formula_raft(dir: &std::path::Path) {
    write_formula_raft_scaled(dir, 1.0 / 32.0);
}

/// [`write_formula_raft`] with the flow head's output convolution × `flow_scale`.
fn write_formula_raft_scaled(dir: &std::path::Path, flow_scale: f64) {
    let scale = move |name: &str| if name.starts_with("update_block.flow_head.conv2.") { flow_scale } else { 1.0 };
    let build = |vb| drop(videval_models::encoders::raft::Raft::new(vb).unwrap());
    write_formula_network(dir, "raft-things", 154, scale, build);
}

/// AMT-S with the tamed formula weights both sides use (the formula, then the layers
/// `models/tests/golden/amt_golden.py` lists in `TAMED` × 1/32, as `vbench_parity.py` fills VBench's
/// AMT-S), written as `dir/model.safetensors` with its manifest: made here, not committed.
fn write_formula_amt(dir: &std::path::Path) {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/tests/golden/amt.json");
    let golden: Value = serde_json::from_slice(&std::fs::read(golden).unwrap()).unwrap();
    let tamed: Vec<String> =
        golden["tamed"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    let factor = golden["tame"].as_f64().unwrap();
    let scale = move |name: &str| {
        let dotted = format!(".{name}");
        if tamed.iter().any(|t| dotted.contains(t.as_str())) { factor } else { 1.0 }
    };
    let build = |vb| drop(videval_models::encoders::amt::Amt::new(vb).unwrap());
    write_formula_network(dir, "amt-s", 213, scale, build);
}

/// MUSIQ with the formula weights both sides use, written as `dir/model.safetensors` with its
/// manifest: about 110 MB, so made here, not committed.
fn write_formula_musiq(dir: &std::path::Path) {
    let build = |vb| drop(videval_models::encoders::musiq::Musiq::new(vb).unwrap());
    write_formula_network(dir, "musiq-spaq", 248, |_| 1.0, build);
}

/// A network's formula weights (each tensor × `scale(name)`), as `build` reads them, written as
/// `dir/model.safetensors` with a manifest entry `id`; `count` tensors expected.
fn write_formula_network(
    dir: &std::path::Path,
    id: &str,
    count: usize,
    scale: impl Fn(&str) -> f64 + Send + Sync + 'static,
    build: impl FnOnce(candle_nn::VarBuilder<'static>),
) {
    use candle_core::{DType, Device, Shape, Tensor};
    use candle_nn::var_builder::SimpleBackend;
    use std::sync::{Arc, Mutex};
    type Made = Arc<Mutex<Vec<(String, Tensor)>>>;
    type Scale = Box<dyn Fn(&str) -> f64 + Send + Sync>;
    struct Formula(Made, Scale);
    impl SimpleBackend for Formula {
        fn get(
            &self,
            s: Shape,
            name: &str,
            _: candle_nn::Init,
            dtype: DType,
            dev: &Device,
        ) -> candle_core::Result<Tensor> {
            let mut values = videval_metrics::formula::parameter(name, s.dims());
            let k = (self.1)(name);
            values.iter_mut().for_each(|v| *v *= k);
            let t = Tensor::from_vec(values, s, dev)?.to_dtype(DType::F32)?;
            self.0.lock().unwrap().push((name.to_string(), t.clone()));
            t.to_dtype(dtype)
        }
        fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
            candle_core::bail!("{name}: shape unknown to the formula backend")
        }
        fn contains_tensor(&self, _: &str) -> bool {
            true
        }
    }
    let made: Made = Arc::default();
    let formula = Formula(Arc::clone(&made), Box::new(scale));
    build(candle_nn::VarBuilder::from_backend(Box::new(formula), DType::F32, Device::Cpu));
    let tensors: std::collections::HashMap<String, Tensor> = made.lock().unwrap().drain(..).collect();
    assert_eq!(tensors.len(), count, "{id}'s float parameters and buffers");
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("model.safetensors");
    candle_core::safetensors::save(&tensors, &file).unwrap();
    let (sha256, bytes) = videval_models::encoders::manifest::sha256_file(&file).unwrap();
    let manifest = json!({"schema": "videval/weights-manifest/v1", "entries": [{"name": id, "dir": ".",
        "files": [{"path": "model.safetensors", "sha256": sha256, "bytes": bytes}],
        "source": "formula weights (tests/tests/vbench.rs)", "licence": "test fixture", "obtain": "made by the test"}]});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

/// VBench's motion smoothness against VBench's own code (`vbench.motion_smoothness.
/// MotionSmoothness` on the CPU, its AMT-S in float32 with tamed formula weights, goldens by
/// `tests/tests/golden/vbench_parity.py --only motion_smoothness`) on the committed flow videos
/// (17 and 25 frames; 170 × 130 padded unevenly to 176 × 144): every predicted frame's difference
/// and every per-video score within 1e-4 relative, the same frames compared, and the dimension
/// score of the `vbench` block; listed by `weights list`, not measurable without the weights.
#[test]
fn amt_motion_smoothness_matches_vbench() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vbench");
    let golden: Value = serde_json::from_slice(&std::fs::read(fixtures.join("vbench_parity.json")).unwrap()).unwrap();
    let golden = &golden["motion_smoothness"];
    let sb = Sandbox::new();
    write_formula_amt(&sb.join("nets/amt-s"));
    let prompts = ["a red ball rolls on the floor", "a quiet street, still camera", "waves on a beach"];
    let info: Vec<Value> =
        prompts.iter().map(|p| json!({"prompt_en": p, "dimension": ["motion_smoothness"]})).collect();
    sb.write("info.json", &serde_json::to_string(&info).unwrap());
    let o = sb.run(&["suites", "import", "vbench", "info.json", "--out", "suites", "--samples", "1"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let videos = format!("dir:{}", fixtures.join("flow").display());
    let nets = sb.join("nets").display().to_string();
    let suite = "suites/vbench_motion_smoothness.yaml";
    let o = sb.run(&["run", "--suite", suite, "--model", &videos, "--weights", &nets, "--out", "runs/m"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_slice(&sb.read("runs/m/results.json")).unwrap();
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    let (mut worst_frame, mut worst_video): (f64, f64) = (0.0, 0.0);
    for s in samples {
        let file = format!("{}-{}.mp4", s["prompt"].as_str().unwrap(), s["seed_idx"]);
        let metric = "vbench_motion_smoothness";
        let got = s["metrics"][metric].as_f64().unwrap_or_else(|| panic!("{file}: {s}"));
        let want = golden["videos"][&file].as_f64().unwrap();
        // A NaN ratio would vanish in max: every reference value must be a positive number.
        assert!(want > 0.0 && got.is_finite(), "{file}: {got} vs {want}");
        worst_video = worst_video.max((got - want).abs() / want);
        let detail = s["details"][metric].as_str().unwrap();
        worst_frame = worst_frame.max(worst_pair_difference(detail, &golden["pairs"][&file], &file));
    }
    eprintln!(
        "motion_smoothness: largest relative difference from VBench's own code: per frame {worst_frame:.2e}, per video {worst_video:.2e}"
    );
    assert!(worst_frame <= 1e-4 && worst_video <= 1e-4, "frames {worst_frame}, videos {worst_video}");
    let dim = r["vbench"]["dimensions"].as_array().unwrap().iter().find(|x| x["dimension"] == "motion_smoothness");
    let raw = dim.unwrap_or_else(|| panic!("{}", r["vbench"]))["raw"]["value"].as_f64().unwrap();
    let want = golden["score"].as_f64().unwrap();
    assert!((raw - want).abs() <= 1e-4 * want, "dimension {raw} vs VBench {want}");

    let (c, listed) = sb.run_json(&["weights", "list", "--weights", &nets]);
    assert_eq!(c, 0, "{listed}");
    let row = listed.as_array().unwrap().iter().find(|r| r["id"] == "amt-s").unwrap().clone();
    assert_eq!((row["status"].as_str(), row["implemented"].as_bool()), (Some("present"), Some(true)), "{row}");
    let file = fixtures.join("flow/waves on a beach-0.mp4").display().to_string();
    let (c, none) = sb.run_json(&["video", "score", &file, "--metrics", "vbench_motion_smoothness"]);
    assert_eq!(c, 0, "not measurable is not an error: {none}");
    let why = none["metrics"][0]["not_applicable"].as_str().unwrap_or_default();
    assert!(why.starts_with("needs AMT-S weights"), "{none}");
    // Frames too small for AMT-S's correlation pyramid (VBench's own code fails on them): not
    // measurable, said so.
    let o = sb
        .run(&["synth", "--prompt", "a ball", "--out", "tiny.mp4", "--frames", "5", "--width", "32", "--height", "32"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let tiny = sb.join("tiny.mp4").display().to_string();
    let (c, out) = sb.run_json(&["video", "score", &tiny, "--metrics", "vbench_motion_smoothness", "--weights", &nets]);
    assert_eq!(c, 0, "{out}");
    let why = out["metrics"][0]["not_applicable"].as_str().unwrap_or_default();
    assert!(why.starts_with("needs frames of at least 49 px a side for AMT-S"), "{out}");
}

/// VBench's dynamic degree and its temporal-flickering static filter against VBench's own code,
/// and EvalCrafter's flow score against its recipe on the same network
/// (`vbench.dynamic_degree.DynamicDegree` and `vbench.cli.static_filter.StaticFilter`, its
/// princeton-vl RAFT in float32 with the formula weights, goldens by
/// `tests/tests/golden/vbench_parity.py`) on committed videos of at least 128 px a side, one of
/// them at 24 fps (dynamic degree samples every third frame; padded unevenly: 170 × 130): every
/// pair's score within 1e-4 relative (the static filter's closing first ↔ last pairs included),
/// the same pairs, every per-video verdict and the dimension score equal. Formula weights move
/// every pair past both thresholds (about 13 px against 3 and 1.5), so every video is "dynamic"
/// and none "static": the per-pair scores carry the comparison (the thresholds, rounding and the
/// first-five-static protocol are tested in their own files), and temporal flickering under the
/// static filter says it kept no video.
#[test]
fn raft_metrics_match_vbench_and_evalcrafter() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vbench");
    let golden: Value = serde_json::from_slice(&std::fs::read(fixtures.join("vbench_parity.json")).unwrap()).unwrap();
    let sb = Sandbox::new();
    write_formula_raft(&sb.join("nets/raft-things"));
    let prompts = ["a red ball rolls on the floor", "a quiet street, still camera", "waves on a beach"];
    let dims = ["dynamic_degree", "temporal_flickering"];
    let info: Vec<Value> = prompts.iter().map(|p| json!({"prompt_en": p, "dimension": dims})).collect();
    sb.write("info.json", &serde_json::to_string(&info).unwrap());
    let o = sb.run(&[
        "suites",
        "import",
        "vbench",
        "info.json",
        "--out",
        "suites",
        "--samples",
        "1",
        "--static-filter",
        "--static-samples",
        "1",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let videos = format!("dir:{}", fixtures.join("flow").display());
    let nets = sb.join("nets").display().to_string();
    let suites = "suites/vbench_dynamic_degree.yaml,suites/vbench_temporal_flickering.yaml";
    let o = sb.run(&["run", "--suite", suites, "--model", &videos, "--weights", &nets, "--out", "runs/d"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_slice(&sb.read("runs/d/results.json")).unwrap();
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 6);
    for (dim, suite, metric) in [
        ("dynamic_degree", "vbench_dynamic_degree", "vbench_dynamic_degree"),
        ("static_filter", "vbench_temporal_flickering", "vbench_static"),
    ] {
        let golden = &golden[dim];
        let mut worst: f64 = 0.0;
        for s in samples.iter().filter(|s| s["suite"] == suite) {
            let file = format!("{}-{}.mp4", s["prompt"].as_str().unwrap(), s["seed_idx"]);
            let got = s["metrics"][metric].as_f64().unwrap_or_else(|| panic!("{file}: {s}"));
            assert_eq!(got, golden["videos"][&file].as_f64().unwrap(), "{dim} {file}");
            let detail = s["details"][metric].as_str().unwrap();
            let rel = worst_pair_difference(detail, &golden["pairs"][&file], &format!("{dim} {file}"));
            assert!(rel <= 1e-4, "{dim} {file}: pair scores {rel:.2e} from VBench's ({detail})");
            worst = worst.max(rel);
        }
        eprintln!("{dim}: largest relative pair-score difference from VBench's own code {worst:.2e}");
    }
    let dim = r["vbench"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["dimension"] == "dynamic_degree")
        .unwrap()
        .clone();
    assert_eq!(dim["raw"]["value"].as_f64(), golden["dynamic_degree"]["score"].as_f64(), "{dim}");
    assert_eq!(dim["weight"].as_f64(), Some(0.5), "{dim}");
    // EvalCrafter's flow score on the same RAFT, through `video score` (one video, one decode).
    let mut worst: f64 = 0.0;
    for file in golden["flow_score"]["videos"].as_object().unwrap().keys() {
        let path = fixtures.join("flow").join(file).display().to_string();
        let (c, out) = sb.run_json(&["video", "score", &path, "--metrics", "raft_flow_score", "--weights", &nets]);
        assert_eq!(c, 0, "{out}");
        let row = &out["metrics"][0];
        let (got, want) = (row["value"].as_f64().unwrap(), golden["flow_score"]["videos"][file].as_f64().unwrap());
        assert!((got - want).abs() <= 1e-4 * want, "{file}: flow score {got}, EvalCrafter's recipe {want}");
        let detail = row["detail"].as_str().unwrap();
        worst = worst.max(worst_pair_difference(detail, &golden["flow_score"]["pairs"][file], file));
    }
    assert!(worst <= 1e-4, "flow score pairs: {worst}");
    eprintln!("flow_score: largest relative pair-score difference from EvalCrafter's recipe {worst:.2e}");

    // No video is static: temporal flickering is not scored on the other videos instead.
    let skipped = r["vbench"]["skipped"].as_array().unwrap();
    let tf = skipped.iter().find(|s| s["dimension"] == "temporal_flickering").unwrap_or_else(|| panic!("{skipped:?}"));
    assert!(tf["reason"].as_str().unwrap().starts_with("VBench's static filter kept no video"), "{tf}");
    // The suite's own row is over every video: it says it is not VBench's protocol (it read as
    // VBench's, over flickering videos too).
    let row = &r["suites"]["vbench_temporal_flickering"]["metrics"]["temporal_flicker"];
    assert!(row["description"].as_str().unwrap().contains("not VBench's protocol"), "{row}");
    let other = &r["suites"]["vbench_dynamic_degree"]["metrics"];
    assert!(!other.to_string().contains("not VBench's protocol"), "{other}");

    // Listed as present; without it the metric is not measurable and says what it needs.
    let (c, listed) = sb.run_json(&["weights", "list", "--weights", &nets]);
    assert_eq!(c, 0, "{listed}");
    let row = listed.as_array().unwrap().iter().find(|r| r["id"] == "raft-things").unwrap().clone();
    assert_eq!((row["status"].as_str(), row["implemented"].as_bool()), (Some("present"), Some(true)), "{row}");
    let file = fixtures.join("flow/waves on a beach-0.mp4").display().to_string();
    let (c, none) = sb.run_json(&["video", "score", &file, "--metrics", "vbench_dynamic_degree"]);
    assert_eq!(c, 0, "not measurable is not an error: {none}");
    let why = none["metrics"][0]["not_applicable"].as_str().unwrap_or_default();
    assert!(why.starts_with("needs RAFT-things weights"), "{none}");
    // Frames too small for RAFT's pyramid are not measurable either.
    let small = fixtures.join("videos/waves on a beach-0.mp4").display().to_string();
    let (c, tiny) = sb.run_json(&["video", "score", &small, "--metrics", "vbench_dynamic_degree", "--weights", &nets]);
    assert_eq!(c, 0, "{tiny}");
    let why = tiny["metrics"][0]["not_applicable"].as_str().unwrap_or_default();
    assert!(why.starts_with("needs frames of at least 121 px"), "{tiny}");
}

/// VBench's imaging quality against VBench's own code (`vbench.imaging_quality.technical_quality`,
/// preprocess mode 'longer', decord decode; pyiqa's MUSIQ built as VBench builds it, with formula
/// weights; goldens by `tests/tests/golden/vbench_parity.py --only imaging_quality`) on committed
/// H.264 videos of 640 × 360 (the longer side brought down to 512) and 200 × 120 (every MUSIQ scale
/// upsampled): each per-video score (VBench's mean of frame scores, here / 100) and the
/// dimension score within 1e-4 relative; listed by `weights list`, not measurable without the
/// weights.
#[test]
fn musiq_imaging_quality_matches_vbench() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vbench");
    let golden: Value = serde_json::from_slice(&std::fs::read(fixtures.join("vbench_parity.json")).unwrap()).unwrap();
    let golden = &golden["imaging_quality"];
    let sb = Sandbox::new();
    write_formula_musiq(&sb.join("nets/musiq-spaq"));
    let prompts = ["a test pattern, wide", "a test pattern, small"];
    let info: Vec<Value> = prompts.iter().map(|p| json!({"prompt_en": p, "dimension": ["imaging_quality"]})).collect();
    sb.write("info.json", &serde_json::to_string(&info).unwrap());
    let o = sb.run(&["suites", "import", "vbench", "info.json", "--out", "suites", "--samples", "1"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let videos = format!("dir:{}", fixtures.join("quality").display());
    let nets = sb.join("nets").display().to_string();
    let o = sb.run(&[
        "run",
        "--suite",
        "suites/vbench_imaging_quality.yaml",
        "--model",
        &videos,
        "--weights",
        &nets,
        "--out",
        "runs/q",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_slice(&sb.read("runs/q/results.json")).unwrap();
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    let mut worst: f64 = 0.0;
    for s in samples {
        let file = format!("{}-{}.mp4", s["prompt"].as_str().unwrap(), s["seed_idx"]);
        let got = s["metrics"]["vbench_imaging_quality"].as_f64().unwrap_or_else(|| panic!("{file}: {s}"));
        // VBench keeps per-video results on MUSIQ's scale and divides the dimension by 100.
        let want = golden["videos"][&file].as_f64().unwrap() / 100.0;
        // A NaN ratio would vanish in max.
        assert!(want != 0.0 && got.is_finite(), "{file}: {got} vs {want}");
        worst = worst.max((got - want).abs() / want.abs());
    }
    eprintln!("imaging_quality: largest relative per-video difference from VBench's own code {worst:.2e}");
    assert!(worst <= 1e-4, "per-video {worst}");
    let dim = r["vbench"]["dimensions"].as_array().unwrap().iter().find(|x| x["dimension"] == "imaging_quality");
    let raw = dim.unwrap_or_else(|| panic!("{}", r["vbench"]))["raw"]["value"].as_f64().unwrap();
    let want = golden["score"].as_f64().unwrap();
    assert!((raw - want).abs() <= 1e-4 * want.abs(), "dimension {raw} vs VBench {want}");

    let (c, listed) = sb.run_json(&["weights", "list", "--weights", &nets]);
    assert_eq!(c, 0, "{listed}");
    let row = listed.as_array().unwrap().iter().find(|r| r["id"] == "musiq-spaq").unwrap().clone();
    assert_eq!((row["status"].as_str(), row["implemented"].as_bool()), (Some("present"), Some(true)), "{row}");
    let file = fixtures.join("quality/a test pattern, small-0.mp4").display().to_string();
    let (c, none) = sb.run_json(&["video", "score", &file, "--metrics", "vbench_imaging_quality"]);
    assert_eq!(c, 0, "not measurable is not an error: {none}");
    let why = none["metrics"][0]["not_applicable"].as_str().unwrap_or_default();
    assert!(why.starts_with("needs MUSIQ (SPAQ) weights"), "{none}");
}

/// Every VBench quality dimension computable in one run, on random (formula) weights for all six
/// networks (the committed small DINO, CLIP and aesthetic fixtures; RAFT, AMT-S and MUSIQ made
/// here): six prompts of synthetic videos at 160 × 128. The `vbench` block scores all seven
/// quality dimensions (none skipped), every number is finite, every interval is ordered around
/// its value, and the Quality Score covers all seven with its interval. On formula weights RAFT
/// sees every video move, so dynamic degree is 1 for every prompt: no interval, and the note
/// says why (the Quality Score's joint draws keep theirs: its other dimensions vary).
#[test]
fn the_quality_score_covers_all_seven_dimensions_on_random_weights() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vbench");
    let sb = Sandbox::new();
    for net in ["dino-vitb16", "clip", "clip-vit-l-14-laion"] {
        let to = sb.join(&format!("nets/{net}"));
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(fixtures.join("nets").join(net)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
        }
    }
    write_formula_raft(&sb.join("nets/raft-things"));
    write_formula_amt(&sb.join("nets/amt-s"));
    write_formula_musiq(&sb.join("nets/musiq-spaq"));
    let quality = [
        "subject_consistency",
        "background_consistency",
        "temporal_flickering",
        "motion_smoothness",
        "dynamic_degree",
        "aesthetic_quality",
        "imaging_quality",
    ];
    let prompts = [
        "a red ball rolls on the floor",
        "a blue cube slides left",
        "a yellow ball bounces",
        "two balls collide",
        "a green cube falls",
        "a ball rolls behind a wall",
    ];
    let info: Vec<Value> = prompts.iter().map(|p| json!({"prompt_en": p, "dimension": quality})).collect();
    sb.write("info.json", &serde_json::to_string(&info).unwrap());
    let o = sb.run(&["suites", "import", "vbench", "info.json", "--out", "suites", "--samples", "1"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::create_dir_all(sb.join("videos")).unwrap();
    for (k, p) in prompts.iter().enumerate() {
        let out = format!("videos/{p}-0.mp4");
        let seed = k.to_string();
        let args = ["synth", "--prompt", p, "--seed", &seed, "--out", &out, "--frames", "5", "--fps", "8"];
        let o = sb.run(&[&args[..], &["--width", "160", "--height", "128"]].concat());
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let suites: Vec<String> = quality.iter().map(|d| format!("suites/vbench_{d}.yaml")).collect();
    let nets = sb.join("nets").display().to_string();
    let o = sb.run(&[
        "run",
        "--suite",
        &suites.join(","),
        "--model",
        "dir:videos",
        "--weights",
        &nets,
        "--out",
        "runs/all",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_slice(&sb.read("runs/all/results.json")).unwrap();
    let block = &r["vbench"];
    let dims = block["dimensions"].as_array().unwrap();
    let scored: Vec<&str> = dims.iter().map(|d| d["dimension"].as_str().unwrap()).collect();
    for q in quality {
        assert!(scored.contains(&q), "{q} not scored: {block}");
    }
    let skipped = block["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().all(|s| !quality.contains(&s["dimension"].as_str().unwrap())),
        "a quality dimension skipped: {skipped:?}"
    );
    let ordered = |score: &Value, what: &str| {
        let v = score["value"].as_f64().unwrap_or_else(|| panic!("{what}: {score}"));
        assert!(v.is_finite(), "{what}: {score}");
        let ci = score["ci"].as_array().unwrap_or_else(|| panic!("{what} has no interval: {score}"));
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(lo.is_finite() && hi.is_finite() && lo <= v && v <= hi && lo < hi, "{what}: {score}");
    };
    for d in dims {
        let name = d["dimension"].as_str().unwrap();
        assert_eq!(d["prompts"].as_u64(), Some(6), "{d}");
        if name == "dynamic_degree" && d["raw"]["value"] == 1.0 {
            assert!(d["raw"]["ci"].is_null() && d["raw"]["note"] == "n/a (all 6 prompts equal)", "{d}");
            continue;
        }
        ordered(&d["raw"], name);
        ordered(&d["normalised"], name);
    }
    let q = &block["quality_score"];
    ordered(q, "quality score");
    assert!(q["note"].as_str().unwrap().contains("7 of the 7"), "{q}");
    eprintln!("quality score {} {}", q["value"], q["ci"]);
}

/// EvalCrafter's warping error against its recipe (`compute_video_warping_error` restated by
/// `tests/tests/golden/vbench_parity.py --only warping_error` on VBench's princeton-vl RAFT, with
/// flownet2's Resample2d and fast_blind_video_consistency's `detect_occlusion` restated in torch
/// and numpy: EvalCrafter is not a package and its warping is a CUDA extension) on committed
/// 320 × 256 and 330 × 258 videos (halved unevenly to 165 × 129): every pair's error and every
/// per-video score within 1e-4 relative. The RAFT weights are the formula's with the flow head's
/// output × 2^-10: flows of a fraction of a pixel, so that the occlusion and motion-boundary masks
/// keep about 84% of the pixels (with 1/32 every pixel is occluded and every error is 0). Frames
/// under 242 px a side are not measurable (RAFT runs on them halved).
#[test]
fn raft_warping_error_matches_evalcrafter() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vbench");
    let golden: Value = serde_json::from_slice(&std::fs::read(fixtures.join("vbench_parity.json")).unwrap()).unwrap();
    let golden = &golden["warping_error"];
    let sb = Sandbox::new();
    write_formula_raft_scaled(&sb.join("nets/raft-things"), 1.0 / 1024.0);
    let nets = sb.join("nets").display().to_string();
    let (mut worst_pair, mut worst_video): (f64, f64) = (0.0, 0.0);
    for file in golden["videos"].as_object().unwrap().keys() {
        let path = fixtures.join("warp").join(file).display().to_string();
        let (c, out) = sb.run_json(&["video", "score", &path, "--metrics", "raft_warping_error", "--weights", &nets]);
        assert_eq!(c, 0, "{out}");
        let row = &out["metrics"][0];
        let got = row["value"].as_f64().unwrap_or_else(|| panic!("{file}: {out}"));
        let want = golden["videos"][file].as_f64().unwrap();
        // A NaN ratio would vanish in max: every reference value must be a positive number.
        assert!(want > 0.0 && got.is_finite(), "{file}: {got} vs {want}");
        worst_video = worst_video.max((got - want).abs() / want);
        let detail = row["detail"].as_str().unwrap();
        worst_pair = worst_pair.max(worst_pair_difference(detail, &golden["pairs"][file], file));
    }
    eprintln!(
        "raft_warping_error: largest relative difference from EvalCrafter's recipe: pair {worst_pair:.2e}, video {worst_video:.2e}"
    );
    assert!(worst_pair <= 1e-4 && worst_video <= 1e-4, "pairs {worst_pair}, videos {worst_video}");
    let small = fixtures.join("flow/waves on a beach-0.mp4").display().to_string();
    let (c, out) = sb.run_json(&["video", "score", &small, "--metrics", "raft_warping_error", "--weights", &nets]);
    assert_eq!(c, 0, "not measurable is not an error: {out}");
    let why = out["metrics"][0]["not_applicable"].as_str().unwrap_or_default();
    assert!(why.starts_with("needs frames of at least 242 px"), "{out}");
}

/// Re-registers every file of `dir`'s manifest entry (as register_weights.py does), so that a
/// deliberately broken network passes its checksum and reaches the loader.
fn reregister(dir: &std::path::Path) {
    let path = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for f in m["entries"][0]["files"].as_array_mut().unwrap() {
        let file = dir.join(f["path"].as_str().unwrap());
        let sha = videval::hash::sha256_file(&file).unwrap();
        f["sha256"] = sha.trim_start_matches("sha256:").into();
        f["bytes"] = std::fs::metadata(&file).unwrap().len().into();
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// A network folder that is not what it says is refused before a number is computed from it:
/// a manifest that checks another folder than the one read, a CLIP without its class embedding
/// (candle made one up: the score changed run to run), a config that would divide by zero or
/// disagrees with the weights' depth, integer weights (read as floats: a DINO scored 0), a file
/// read but not in the manifest, a FIFO (it hung). A network left out of the folder is not
/// measurable, as when no folder is given — never an error.
#[test]
fn a_network_folder_that_is_not_what_it_says_is_refused() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vbench");
    let video = fixtures.join("videos/waves on a beach-0.mp4").display().to_string();
    let sb = Sandbox::new();
    let fresh = |name: &str| {
        let root = sb.join(name);
        let o = std::process::Command::new("cp").arg("-r").arg(fixtures.join("nets")).arg(&root).status().unwrap();
        assert!(o.success());
        root
    };
    let score = |root: &std::path::Path, metric: &str| {
        let o = sb.run(&[
            "video",
            "score",
            &video,
            "--metrics",
            metric,
            "--weights",
            &root.display().to_string(),
            "--json",
        ]);
        (code(&o), text(&o))
    };
    let bytes_replace = |file: &std::path::Path, from: &[u8], to: &[u8]| {
        let b = std::fs::read(file).unwrap();
        let at = b.windows(from.len()).position(|w| w == from).expect("the bytes to replace");
        let mut out = b.clone();
        out.splice(at..at + from.len(), to.iter().copied());
        std::fs::write(file, out).unwrap();
    };
    let clip = "vbench_background_consistency";
    let dino = "vbench_subject_consistency";

    let r = fresh("dir");
    let m = r.join("clip/manifest.json");
    std::fs::write(&m, std::fs::read_to_string(&m).unwrap().replace("\"dir\": \".\"", "\"dir\": \"sub\"")).unwrap();
    let (c, out) = score(&r, clip);
    assert!(c == 3 && out.contains("read from its own folder; the dir must be"), "{out}");

    let r = fresh("class");
    bytes_replace(&r.join("clip/model.safetensors"), b"embeddings.class_embedding", b"embeddings.class_embeddinX");
    reregister(&r.join("clip"));
    let (c, out) = score(&r, clip);
    assert!(c == 3 && out.contains("no vision_model.embeddings.class_embedding"), "{out}");

    for (from, to, want) in [
        ("\"patch_size\": 16", "\"patch_size\": 0", "patch_size 0 is not in"),
        ("\"num_heads\": 2", "\"num_heads\": 0", "num_heads 0 is not in"),
        ("\"depth\": 1", "\"depth\": 2", "1 blocks, but the config's depth is 2"),
    ] {
        let r = fresh("cfg");
        let cfg = r.join("dino-vitb16/config.json");
        std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace(from, to)).unwrap();
        reregister(&r.join("dino-vitb16"));
        let (c, out) = score(&r, dino);
        assert!(c == 3 && out.contains(want), "{want}: {out}");
        std::fs::remove_dir_all(&r).unwrap();
    }

    let r = fresh("int");
    let st = r.join("dino-vitb16/model.safetensors");
    bytes_replace(&st, b"\"F32\"", b"\"I32\"");
    reregister(&r.join("dino-vitb16"));
    let (c, out) = score(&r, dino);
    assert!(c == 3 && out.contains("is I32; a network's weights are floating point"), "{out}");

    let r = fresh("unlisted");
    let m = r.join("dino-vitb16/manifest.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    v["entries"][0]["files"].as_array_mut().unwrap().retain(|f| f["path"] != "config.json");
    std::fs::write(&m, v.to_string()).unwrap();
    let (c, out) = score(&r, dino);
    assert!(c == 3 && out.contains("config.json is in the folder, and read, but not in the manifest"), "{out}");

    let r = fresh("fifo");
    std::fs::remove_file(r.join("dino-vitb16/model.safetensors")).unwrap();
    assert!(
        std::process::Command::new("mkfifo").arg(r.join("dino-vitb16/model.safetensors")).status().unwrap().success()
    );
    let o = sb.run(&["weights", "list", "--weights", &r.display().to_string(), "--json"]);
    assert!(code(&o) == 0 && text(&o).contains("not a regular file"), "{}", text(&o));
    let (c, out) = score(&r, dino);
    assert!(c == 3 && out.contains("not a regular file"), "{out}");

    // Integer buffers a Hugging Face checkpoint carries and no network reads (position ids)
    // are left out, not refused: openai/clip-vit-base-patch32 as downloaded loads.
    let r = fresh("hf");
    let (c, plain) = score(&r, clip);
    assert_eq!(c, 0, "{plain}");
    let st = r.join("clip/model.safetensors");
    let mut tensors = candle_core::safetensors::load(&st, &candle_core::Device::Cpu).unwrap();
    for tower in ["vision_model", "text_model"] {
        let ids = candle_core::Tensor::arange(0i64, 5, &candle_core::Device::Cpu).unwrap().unsqueeze(0).unwrap();
        tensors.insert(format!("{tower}.embeddings.position_ids"), ids);
    }
    candle_core::safetensors::save(&tensors, &st).unwrap();
    reregister(&r.join("clip"));
    let (c, with_ids) = score(&r, clip);
    assert_eq!(c, 0, "{with_ids}");
    let value = |out: &str| serde_json::from_str::<Value>(out).unwrap()["metrics"][0]["value"].clone();
    assert!(value(&plain).is_f64(), "a score, not 'not measurable': {plain}");
    assert_eq!(value(&with_ids), value(&plain));

    // Weights holding a NaN give NaN features: an error, never a consistency of 0.
    let r = fresh("nan");
    let st = r.join("dino-vitb16/model.safetensors");
    let mut tensors = candle_core::safetensors::load(&st, &candle_core::Device::Cpu).unwrap();
    let cls = tensors["cls_token"].clone();
    tensors.insert("cls_token".into(), (cls * f64::NAN).unwrap());
    candle_core::safetensors::save(&tensors, &st).unwrap();
    reregister(&r.join("dino-vitb16"));
    let (c, out) = score(&r, dino);
    assert!(c != 0 && out.contains("not a finite number"), "{out}");

    // Weights given but wrong stop `run` before anything is generated.
    sb.write(
        "dino.yaml",
        "schema: 1\nsuite: dino\nversion: 1\ndefaults: {generation: {width: 32, height: 32, frames: 4}}\n\
         metrics: [vbench_subject_consistency]\ncases: [{id: ball, prompt: a red ball}]\n",
    );
    let r = fresh("wrong");
    std::fs::write(r.join("dino-vitb16/config.json"), "{}").unwrap();
    let o = sb.run(&[
        "run",
        "--suite",
        "dino.yaml",
        "--model",
        "synthetic",
        "--weights",
        &r.display().to_string(),
        "--out",
        "runs/w",
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("metric vbench_subject_consistency") && text(&o).contains("sha256"), "{}", text(&o));
    assert!(!sb.join("runs/w/shards").exists(), "nothing generated");

    // No raft-things/ in the folder: not measurable, saying what it needs.
    let r = fresh("partial");
    let (c, out) = score(&r, "vbench_dynamic_degree");
    assert_eq!(c, 0, "{out}");
    assert!(out.contains("needs RAFT") && out.contains("has no raft-things/"), "{out}");
}

/// A score cached as not measurable for want of weights says this run's reason: a run given no
/// --weights reported "empty has no raft-things/" from an earlier run given an empty folder.
#[test]
fn a_cached_missing_network_says_this_runs_reason() {
    let sb = Sandbox::new();
    sb.write("info.json", "[{\"prompt_en\": \"a cat runs\", \"dimension\": [\"dynamic_degree\"]}]");
    let o = sb.run(&["suites", "import", "vbench", "info.json", "--out", "s", "--samples", "1"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::create_dir_all(sb.join("videos")).unwrap();
    let o = sb.run(&["synth", "--prompt", "a cat runs", "--frames", "9", "--out", "videos/a cat runs-0.mp4"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::create_dir_all(sb.join("empty")).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let o = sb
            .command(&["run", "--suite", "s/vbench_dynamic_degree.yaml", "--model", "dir:videos", "--out", out])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", text(&o));
        text(&o)
    };
    assert!(run("r1", &["--weights", "empty"]).contains("empty has no raft-things/"));
    let second = run("r2", &[]);
    assert!(
        second.contains("needs RAFT-things weights: give --weights DIR") && !second.contains("empty has no"),
        "{second}"
    );
}
