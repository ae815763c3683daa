//! End-to-end runs of the CLI: sharding, resume after SIGKILL, determinism, the results files,
//! adapters and exit codes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use polars::prelude::*;
use videval_tests::{Sandbox, code, jsonl, text};

fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).expect("opening results.parquet");
    ParquetReader::new(file).finish().expect("polars reads results.parquet")
}

/// Count of `ok` generation records per unit over every shard of a run.
fn ok_records_per_unit(run: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir(run.join("shards")).unwrap() {
        for r in jsonl(&entry.unwrap().path().join("generations.jsonl")) {
            if r["status"] == "ok" {
                let key =
                    format!("{}/{}#{}", r["suite"].as_str().unwrap(), r["case_id"].as_str().unwrap(), r["seed_idx"]);
                *counts.entry(key).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[test]
fn three_concurrent_shards_merged_equal_one_shard_byte_for_byte() {
    let sb = Sandbox::new();
    let base = ["run", "--suite", "smoke,left_right", "--limit", "4"];
    // The three shards run at once, as the tasks of a Slurm array would, sharing one store.
    let children: Vec<_> = (0..3)
        .map(|k| {
            let k = k.to_string();
            let mut a = base.to_vec();
            a.extend(["--out", "runs/sharded", "--store", "store-a", "--num-shards", "3", "--shard", &k]);
            sb.command(&a)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawning a shard")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("a shard process");
        assert_eq!(code(&out), 0, "{}", text(&out));
        assert!(text(&out).contains("videval merge runs/sharded"), "{}", text(&out));
    }
    let out = sb.run(&["merge", "runs/sharded"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let mut a = base.to_vec();
    a.extend(["--out", "runs/whole", "--store", "store-b"]);
    let out = sb.run(&a);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Separate stores: the single-shard run generated everything itself.
    assert!(!text(&out).contains(" 0 generated"), "{}", text(&out));
    assert_eq!(sb.read("runs/sharded/results.json"), sb.read("runs/whole/results.json"));
    let (a, b) =
        (read_parquet(&sb.join("runs/sharded/results.parquet")), read_parquet(&sb.join("runs/whole/results.parquet")));
    assert!(a.equals(&b), "parquet tables differ");
    // Every unit appears exactly once across the three shards.
    let counts = ok_records_per_unit(&sb.join("runs/sharded"));
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let plan: serde_json::Value = serde_json::from_slice(&sb.read("runs/sharded/plan.json")).unwrap();
    assert_eq!(counts.len(), plan["units"].as_array().unwrap().len());
}

#[test]
fn same_inputs_give_byte_identical_results() {
    let sb = Sandbox::new();
    for run in ["one", "two"] {
        let out =
            sb.run(&["run", "--suite", "aspect", "--out", &format!("runs/{run}"), "--store", &format!("store-{run}")]);
        assert_eq!(code(&out), 0, "{}", text(&out));
    }
    assert_eq!(sb.read("runs/one/results.json"), sb.read("runs/two/results.json"));
    assert_eq!(sb.read("runs/one/results.parquet"), sb.read("runs/two/results.parquet"));
    // The manifests differ only in their timestamp.
    let strip = |p: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(&sb.read(p)).unwrap();
        v.as_object_mut().unwrap().remove("created_at");
        v
    };
    assert_eq!(strip("runs/one/manifest.json"), strip("runs/two/manifest.json"));
}

#[test]
fn results_parquet_has_the_documented_columns() {
    let sb = Sandbox::new();
    let out = sb.run(&["run", "--suite", "smoke", "--out", "runs/r"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let df = read_parquet(&sb.join("runs/r/results.parquet"));
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, videval::analyze::PARQUET_COLUMNS);
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/r/results.json")).unwrap();
    // One row per sample × measured value (metrics that apply, and the probes its case uses).
    let values: usize =
        results["samples"].as_array().unwrap().iter().map(|s| s["metrics"].as_object().unwrap().len()).sum();
    assert_eq!(df.height(), values);
    let metric = df.column("metric").unwrap().str().unwrap();
    assert!((0..metric.len()).any(|i| metric.get(i) == Some("probe:gravity")));
    let frames = df.column("value").unwrap().f64().unwrap();
    assert_eq!(frames.null_count(), 0);
    assert!(frames.into_no_null_iter().all(f64::is_finite));
    assert_honest_intervals(&results);
    let html = String::from_utf8(sb.read("runs/r/report.html")).unwrap();
    assert!(html.contains("temporal_diff") && html.contains("Suite smoke"));
}

/// Every interval in `results` brackets its estimate and has width; a missing one says why.
fn assert_honest_intervals(results: &serde_json::Value) -> usize {
    let mut absent = 0;
    for (_, s) in results["suites"].as_object().unwrap() {
        for table in ["metrics", "capabilities"] {
            for (name, m) in s[table].as_object().unwrap() {
                let est = m["point_estimate"].as_f64().unwrap();
                match m["confidence_interval"].as_object() {
                    Some(ci) => {
                        let (lo, hi) = (ci["lower_bound"].as_f64().unwrap(), ci["upper_bound"].as_f64().unwrap());
                        assert!(lo <= est && est <= hi && lo < hi, "{name}: {m}");
                    }
                    None => {
                        absent += 1;
                        assert!(m["interval_note"].as_str().unwrap().starts_with("n/a ("), "{name}: {m}");
                        assert!(!name.starts_with("probe:") && table == "metrics", "pass rates always have one: {m}");
                    }
                }
                if name.starts_with("probe:") || table == "capabilities" {
                    assert_eq!(m["method"], "clopper_pearson_cases", "{m}");
                }
            }
        }
    }
    absent
}

#[test]
fn one_and_two_case_suites_show_no_zero_width_interval_anywhere() {
    let sb = Sandbox::new();
    for (n, case_word) in [("1", "1 case;"), ("2", "2 cases;")] {
        let out = format!("runs/{n}");
        let o = sb.run(&["run", "--suite", "physics", "--limit", n, "--out", &out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let results: serde_json::Value = serde_json::from_slice(&sb.read(&format!("{out}/results.json"))).unwrap();
        assert_eq!(results["suites"]["physics"]["n"]["cases"], n.parse::<u64>().unwrap());
        assert!(assert_honest_intervals(&results) > 0, "the bootstrap metrics have no interval");
        let html = String::from_utf8(sb.read(&format!("{out}/report.html"))).unwrap();
        assert!(html.contains(&format!("n&#x2f;a ({case_word} an interval needs 5)")), "{n}: run report");
        let o = sb.run(&["report", &out, "--limitations"]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    // One case that passes everything is [2.5%, 100%] on the limitations page, not [100%, 100%].
    let page = String::from_utf8(sb.read("runs/1/limitations.html")).unwrap();
    assert!(!page.contains("[100%, 100%]") && !page.contains("[0%, 0%]"), "zero-width interval on the page");
}

#[test]
fn a_run_killed_mid_way_resumes_with_every_unit_exactly_once() {
    let sb = Sandbox::new();
    let bin = videval_tests::bin();
    // An external "model" that takes a moment per video: the synthetic renderer behind a sleep.
    let spec = format!(
        "adapter: command\nname: slow\ntimeout_s: 60\nargv: [sh, -c, 'sleep 0.15; exec \"$0\" \"$@\"', {bin}, synth, --prompt, '{{prompt}}', --seed, '{{seed}}', --frames, '{{frames}}', --width, '{{width}}', --height, '{{height}}', --fps, '{{fps}}', --out, '{{out}}']\n",
        bin = bin.display()
    );
    sb.write("slow.yaml", &spec);
    let args = ["run", "--suite", "physics", "--model", "slow.yaml", "--out", "runs/k", "--jobs", "2"];
    let mut child =
        sb.command(&args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let log = sb.join("runs/k/shards/0-of-1/generations.jsonl");
    let start = Instant::now();
    while jsonl(&log).len() < 6 {
        assert!(start.elapsed() < Duration::from_secs(60), "the run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = ok_records_per_unit(&sb.join("runs/k"));
    let total = 24;
    assert!(before.len() < total, "the run finished before it could be killed");
    let (rc, v) = sb.run_json(&args);
    assert_eq!(rc, 0, "{v}");
    let c = &v["counts"];
    assert_eq!(c["done_before"].as_u64().unwrap() as usize, before.len(), "{v}");
    assert_eq!(c["units"].as_u64().unwrap() as usize, total);
    let after = ok_records_per_unit(&sb.join("runs/k"));
    assert_eq!(after.len(), total);
    assert!(after.values().all(|&n| n == 1), "{after:?}");
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/k/results.json")).unwrap();
    assert_eq!(results["complete"], true);
    // Scores too: one per (unit, metric) after the restart.
    let scores = jsonl(&sb.join("runs/k/shards/0-of-1/scores.jsonl"));
    let mut per = BTreeMap::new();
    for s in &scores {
        *per.entry(format!("{}{}{}{}", s["case_id"], s["seed_idx"], s["metric"], s["score_key"])).or_insert(0) += 1;
    }
    // Three metrics per unit plus the probes of its case, each recorded exactly once.
    assert!(per.len() >= total * 4, "{} score records", per.len());
    assert!(per.values().all(|&n| n == 1), "{per:?}");
}

/// Every mode of the smoke suite through a command generator: its image case asks for `{out}`
/// ending `.png`, which `videval synth` wrote as one picture (it refused the extension before,
/// and two of sixteen units failed).
#[test]
fn a_command_generator_makes_every_mode_of_the_smoke_suite() {
    let sb = Sandbox::new();
    let spec = format!(
        "adapter: command\nname: cmd\ntimeout_s: 60\nargv: [{bin}, synth, --prompt, '{{prompt}}', --seed, '{{seed}}', --frames, '{{frames}}', --width, '{{width}}', --height, '{{height}}', --fps, '{{fps}}', --out, '{{out}}']\n",
        bin = videval_tests::bin().display()
    );
    sb.write("cmd.yaml", &spec);
    let (rc, v) = sb.run_json(&["run", "--suite", "smoke", "--model", "cmd.yaml", "--out", "runs/c"]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["counts"]["generation_errors"], 0, "{v}");
    assert_eq!(v["counts"]["generated"], v["counts"]["units"], "{v}");
    // A .png is one picture: a video asked for under that name is refused, naming the file.
    let o = sb.run(&["synth", "--prompt", "a red ball", "--frames", "3", "--out", "still.png"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("still.png") && text(&o).contains("one picture"), "{}", text(&o));
    let o = sb.run(&["synth", "--prompt", "a red ball", "--frames", "1", "--width", "24", "--out", "still.png"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(sb.read("still.png").starts_with(b"\x89PNG"), "not a PNG");
}

#[test]
fn a_restart_redoes_nothing_and_a_new_run_reuses_the_store() {
    let sb = Sandbox::new();
    let (rc, first) = sb.run_json(&["run", "--suite", "camera", "--out", "runs/a"]);
    assert_eq!(rc, 0);
    assert_eq!(first["counts"]["generated"], 20);
    let (_, again) = sb.run_json(&["run", "--suite", "camera", "--out", "runs/a"]);
    assert_eq!(again["counts"]["done_before"], 20);
    assert_eq!(again["counts"]["generated"], 0);
    assert_eq!(again["counts"]["scored"], 0);
    let (_, other) = sb.run_json(&["run", "--suite", "camera", "--out", "runs/b"]);
    assert_eq!(other["counts"]["reused"], 20);
    assert_eq!(other["counts"]["scores_reused"], first["counts"]["scored"]);
    assert_eq!(other["counts"]["scored"], 0);
    assert_eq!(sb.read("runs/a/results.json"), sb.read("runs/b/results.json"));
}

/// One store reached by two spellings of its path (`store` and `../store` from a subfolder) is
/// one store: a resume through the other spelling stamped its entries as a folder's videos, and
/// every later run generated each unit again (twice) and reused nothing.
#[test]
fn a_store_reached_by_another_spelling_is_the_same_store() {
    let sb = Sandbox::new();
    let args = ["run", "--suite", "smoke", "--limit", "2", "--json"];
    let o = sb.run(&[&args[..], &["--store", "store", "--out", "runs/a"]].concat());
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::create_dir_all(sb.join("sub")).unwrap();
    let o = sb
        .command(&[&args[..], &["--store", "../store", "--out", "../runs/a"]].concat())
        .current_dir(sb.join("sub"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = sb.run(&[&args[..], &["--store", "store", "--out", "runs/b"]].concat());
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["counts"]["generated"].as_u64(), v["counts"]["reused"].clone()),
        (Some(0), v["counts"]["units"].clone()),
        "{v}"
    );
}

/// A folder's video replaced after the run is not shown beside numbers that are not its own, and
/// the report says so (one clip fewer, without a word).
#[test]
fn a_report_says_which_videos_changed_since_they_were_scored() {
    let sb = Sandbox::new();
    let (_, plan) = sb.run_json(&["plan", "--suite", "smoke", "--limit", "2"]);
    let units = plan["plan"]["units"].as_array().unwrap().clone();
    std::fs::create_dir_all(sb.join("vids")).unwrap();
    let clip = |name: &str, seed: &str| {
        let o = sb.run(&["synth", "--prompt", "a red ball", "--seed", seed, "--frames", "6", "--out", name]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    };
    let names: Vec<String> =
        units.iter().map(|u| format!("vids/{}-{}.mp4", u["prompt"].as_str().unwrap(), u["seed_idx"])).collect();
    for n in &names {
        clip(n, "1");
    }
    let o = sb.run(&["run", "--suite", "smoke", "--limit", "2", "--model", "dir:vids", "--out", "runs/v"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    clip(&names[0], "2");
    let o = sb.run(&["report", "runs/v", "-o", "runs/v/again.html"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("1 of the run's videos changed since they were scored"), "{}", text(&o));
}

/// `bundled:PATH` is that folder or nothing: a path that is not there is refused, not taken as
/// the committed checkpoint of the same name (it ran tiny-l-v2 without a word).
/// A model that cannot make a case's mode is refused before any work, naming the cases: the
/// synthetic renderer failed each conditioned unit as the model's failure (exit 4) after
/// generating the rest.
#[test]
fn a_model_without_a_cases_mode_is_refused_before_any_work() {
    let sb = Sandbox::new();
    let o = sb.run(&["run", "--suite", "capabilities", "--model", "synthetic", "--out", "runs/s"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("capabilities/i2v-bounce: adapter synthetic does not support mode i2v"), "{}", text(&o));
    assert!(!sb.join("runs/s").exists(), "work was done before the refusal");
    // Nor are jobs written that every task would refuse.
    let o = sb.run(&[
        "plan",
        "--suite",
        "capabilities",
        "--model",
        "synthetic",
        "--num-shards",
        "2",
        "--emit",
        "slurm",
        "--emit-dir",
        "jobs",
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(!sb.join("jobs").exists());
    // The cases it can make run.
    let (rc, v) = sb.run_json(&[
        "run",
        "--suite",
        "capabilities",
        "--model",
        "synthetic",
        "--cases",
        "still-image,source-roll",
        "--out",
        "runs/t",
    ]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["counts"]["generation_errors"], 0, "{v}");
    // The bundled generator holds clips of 1 + 4k frames: a 6-frame clip lost a frame without a
    // word, and an 18-frame edit failed every unit saying its lengths must match.
    sb.write(
        "clips.yaml",
        "schema: 1\nsuite: clips\nversion: 1\ndefaults: {seeds: {per_case: 1}, generation: {frames: 17, width: 32, height: 32}}\n\
         cases:\n  - id: src\n    prompt: a red ball\n    generation: {frames: 21}\n    \
         scene: {objects: [{id: ball, shape: circle, color: red, size: 0.2, pos: [0.5, 0.5]}]}\n  \
         - id: six\n    mode: extend-forward\n    prompt: the red ball\n    input: {video: {scene_of: src, frames: [0, 5]}}\n  \
         - id: five\n    mode: extend-forward\n    prompt: the red ball\n    input: {video: {scene_of: src, frames: [0, 4]}}\n  \
         - id: edit18\n    mode: edit\n    prompt: the blue ball\n    generation: {frames: 18}\n    input: {video: {scene_of: src, frames: [0, 17]}, strength: 0.5}\n  \
         - id: rate\n    mode: extend-forward\n    prompt: the red ball\n    generation: {fps: 24}\n    input: {video: {scene_of: src, frames: [0, 4]}}\n  \
         - id: early\n    mode: extend-backward\n    prompt: the red ball\n    input: {video: {scene_of: src, frames: [0, 4]}}\n  \
         - id: mkv\n    mode: extend-forward\n    prompt: the red ball\n    input: {video: {path: six.mkv}}\n  \
         - id: tight\n    mode: interpolate\n    prompt: the red ball\n    generation: {frames: 5}\n    input: {video: {scene_of: src, frame: 0}, video2: {scene_of: src, frame: 20}}\n  \
         - id: file\n    mode: i2v\n    prompt: the ball\n    input: {image: {path: still.png}}\n",
    );
    let o = sb.run(&["synth", "--prompt", "a red ball", "--frames", "1", "--width", "32", "--out", "still.png"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // A Matroska file states no frame count: its frames are counted as the decoder shows them.
    let o = sb.run(&["synth", "--prompt", "a red ball", "--frames", "6", "--width", "32", "--out", "six.mkv"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = sb.run(&[
        "run",
        "--suite",
        "clips.yaml",
        "--model",
        "bundled",
        "--out",
        "runs/b",
        "--cases",
        "six,five,edit18,tight,rate,mkv",
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(
        text(&o).contains(
            "clips/six, clips/mkv: input.video holds 6 frames; the bundled generator holds clips of 1 + 4k frames (…, 5, 9, …)"
        ),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("clips/edit18: input.video holds 18 frames"), "{}", text(&o));
    assert!(text(&o).contains("clips/rate: input.video is 8.000 fps and the case asks for 24 fps"), "{}", text(&o));
    assert!(text(&o).contains("clips/tight: input.video and input.video2 hold 1 + 1 frames, and the bundled generator needs room between them: ask for at least 9 frames"), "{}", text(&o));
    assert!(!text(&o).contains("clips/five"), "{}", text(&o));
    assert!(!sb.join("runs/b").exists(), "work was done before the refusal");
    // The world continues scenes, never a file.
    let o = sb.run(&["run", "--suite", "clips.yaml", "--model", "world", "--out", "runs/w"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("clips/file: input.image is a file"), "{}", text(&o));
    assert!(text(&o).contains("clips/early: mode extend-backward: input.video ends at frame 4"), "{}", text(&o));
    // A Matroska clip cut short is the suite's bad input, said before any work (it passed its
    // header, and failed each unit as the model's failure).
    let o = sb.run(&["synth", "--prompt", "a red ball", "--frames", "40", "--width", "32", "--out", "long.mkv"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let bytes = sb.read("long.mkv");
    std::fs::write(sb.join("cut.mkv"), &bytes[..bytes.len() / 2]).unwrap();
    sb.write(
        "cut.yaml",
        "schema: 1\nsuite: cut\nversion: 1\ndefaults: {seeds: {per_case: 1}, generation: {frames: 17, width: 32, height: 32}}\n\
         cases:\n  - id: c\n    mode: extend-forward\n    prompt: the red ball\n    input: {video: {path: cut.mkv}}\n",
    );
    let o = sb.run(&["run", "--suite", "cut.yaml", "--model", "bundled", "--out", "runs/cut"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("cut.mkv: file is truncated"), "{}", text(&o));
    assert!(!text(&o).contains("clips/six"), "{}", text(&o));
}

#[test]
fn a_bundled_checkpoint_path_that_is_not_there_is_refused() {
    let sb = Sandbox::new();
    let o = sb.run(&["plan", "--suite", "smoke", "--limit", "1", "--model", "bundled:/no/such/place/tiny-l-v2"]);
    assert!(code(&o) == 3 && text(&o).contains("not a checkpoint folder"), "{}", text(&o));
    let o = sb.run(&["plan", "--suite", "smoke", "--limit", "1", "--model", "bundled:tiny-l-v2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

/// `score` after a `generate` killed part way scores what was generated and says the shard is
/// not finished (exit 3, no `shard_done.json`): it exited 0 and marked the shard done, and only
/// `merge` found the missing units.
#[test]
fn score_after_a_partial_generate_leaves_the_shard_unfinished() {
    let sb = Sandbox::new();
    let args = |stage: &'static str| [stage, "--suite", "smoke", "--limit", "3", "--out", "runs/p"];
    let o = sb.run(&args("generate"));
    assert_eq!(code(&o), 0, "{}", text(&o));
    let records = sb.join("runs/p/shards/0-of-1/generations.jsonl");
    let text_now = std::fs::read_to_string(&records).unwrap();
    let first: String = text_now.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&records, first).unwrap();
    let o = sb.run(&args("score"));
    assert!(code(&o) == 3 && text(&o).contains("units have no generation yet"), "{}", text(&o));
    assert!(!sb.join("runs/p/shards/0-of-1/shard_done.json").exists());
    let o = sb.run(&args("generate"));
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = sb.run(&args("score"));
    assert_eq!(code(&o), 0, "{}", text(&o));
}

/// A store moved (or mounted elsewhere) between a run's stages: the run resumes from the videos
/// where they are now, and its report finds them by hash. It refused ("videos changed after this
/// run folder recorded them: cannot read"), and the report left out every clip without a word.
#[test]
fn a_run_resumes_and_reports_from_its_store_moved_elsewhere() {
    let sb = Sandbox::new();
    let generate = ["generate", "--suite", "smoke", "--limit", "3", "--store", "s1", "--out", "runs/m"];
    let o = sb.run(&generate);
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::rename(sb.join("s1"), sb.join("s2")).unwrap();
    // Resumed without naming the store where it is now: said so, before any work (it was "videos
    // changed … measure into another --out", and `score` failed every measurement, exit 4).
    for stage in ["run", "score"] {
        let o = sb.run(&[stage, "--suite", "smoke", "--limit", "3", "--store", "elsewhere", "--out", "runs/m"]);
        assert!(code(&o) == 3 && text(&o).contains("give --store where that store is now"), "{stage}: {}", text(&o));
    }
    let o = sb.run(&["run", "--suite", "smoke", "--limit", "3", "--store", "s2", "--out", "runs/m"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = sb.run(&["run", "--suite", "smoke", "--limit", "3", "--store", "fresh", "--out", "runs/fresh"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(sb.read("runs/m/results.json"), sb.read("runs/fresh/results.json"));
    let clips = |page: &str| String::from_utf8(sb.read(page)).unwrap().matches("data:video").count();
    let shown = clips("runs/fresh/report.html");
    assert!(shown > 0 && clips("runs/m/report.html") == shown);
    let o = sb.run(&["report", "runs/m", "--store", "s2", "-o", "runs/m/again.html"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(clips("runs/m/again.html"), shown);
    let o = sb.run(&["merge", "runs/m", "--store", "s2"]);
    assert!(code(&o) == 0 && !text(&o).contains("warning"), "{}", text(&o));
    assert_eq!(clips("runs/m/report.html"), shown);
    // Nowhere to be found: the page is written without them, and says so.
    let o = sb.run(&["report", "runs/m", "--store", "gone", "-o", "runs/m/without.html"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("warning: 6 of the run's videos are not where it recorded them"), "{}", text(&o));
    assert_eq!(clips("runs/m/without.html"), 0);
    // On the page too (a CI artifact missing every clip read as complete).
    let page = String::from_utf8(sb.read("runs/m/without.html")).unwrap();
    assert!(
        page.contains("<th>Media</th>") && page.contains("6 of the run&#x27;s videos are not where it recorded them")
    );
    assert!(!String::from_utf8(sb.read("runs/m/again.html")).unwrap().contains("<th>Media</th>"));
    // A page of examples counts its own videos (it said "1 of the run's videos" for all gone).
    let o = sb.run(&["report", "runs/m", "--limitations", "--store", "gone", "-o", "runs/m/lim.html"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let page = String::from_utf8(sb.read("runs/m/lim.html")).unwrap();
    assert!(page.contains("videos this page shows are not where it recorded them"), "{}", text(&o));
    // A page path under a file is refused before any clip is made (each was encoded, then exit 3).
    let o = sb.run(&["report", "runs/m", "-o", "runs/m/results.json/page.html"]);
    assert!(code(&o) == 3 && text(&o).contains("is a file, where a folder is expected"), "{}", text(&o));
    assert!(!text(&o).contains("warning"), "{}", text(&o));
}

#[test]
fn merge_lists_missing_shards_and_units() {
    let sb = Sandbox::new();
    for k in ["0", "1"] {
        let out = sb.run(&["run", "--suite", "smoke", "--out", "runs/p", "--num-shards", "3", "--shard", k]);
        assert_eq!(code(&out), 0, "{}", text(&out));
    }
    let out = sb.run(&["merge", "runs/p"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("shard 2-of-3 never started"), "{t}");
    assert!(t.contains("units have no record: smoke/"), "{t}");
    let (rc, v) = sb.run_json(&["merge", "runs/p", "--allow-partial"]);
    assert_eq!(rc, 0);
    assert_eq!(v["merged"]["complete"], false);
    let html = String::from_utf8(sb.read("runs/p/report.html")).unwrap();
    assert!(html.contains("PARTIAL RESULTS"));
    // A shard whose shard_done.json was cut short is said to be unreadable, not still running.
    sb.write("runs/p/shards/1-of-3/shard_done.json", "{\"plan_ha");
    let out = sb.run(&["merge", "runs/p"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("shard 1-of-3: its shard_done.json cannot be read"), "{}", text(&out));
}

/// Shards scored through different weights of one network are refused by merge: they merged
/// as complete, one estimate of two encoders' numbers (a shard run with another
/// VIDEVAL_WEIGHTS). Here the world encoder's last weight differs in the second shard's copy.
#[test]
fn shards_scored_through_different_weights_are_not_merged() {
    let sb = Sandbox::new();
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/weights");
    let copy = sb.join("w2");
    assert!(std::process::Command::new("cp").arg("-r").arg(&weights).arg(&copy).status().unwrap().success());
    let model = copy.join("encoder/world/model.safetensors");
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&model, &bytes).unwrap();
    let manifest = copy.join("manifest.json");
    let old = videval::hash::sha256_file(&weights.join("encoder/world/model.safetensors")).unwrap();
    let new = videval::hash::sha256_file(&model).unwrap();
    let text_of = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text_of.replace(videval::hash::digits(&old), videval::hash::digits(&new))).unwrap();
    let run = |k: &str| {
        sb.command(&["run", "--suite", "smoke", "--limit", "2", "--out", "runs/w", "--num-shards", "2", "--shard", k])
    };
    let out = run("0").output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = run("1").env("VIDEVAL_WEIGHTS", &copy).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = sb.run(&["merge", "runs/w"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("was scored in 2 ways") && text(&out).contains("same --weights"), "{}", text(&out));
    assert!(text(&out).contains(videval::hash::digits(&new)), "the copy's weights loaded: {}", text(&out));
}

#[test]
fn shard_index_comes_from_the_scheduler_environment() {
    let sb = Sandbox::new();
    let out = sb
        .command(&["run", "--suite", "smoke", "--out", "runs/e", "--num-shards", "2"])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(sb.join("runs/e/shards/1-of-2/shard_done.json").is_file());
    let out = sb
        .command(&["run", "--suite", "smoke", "--out", "runs/f", "--num-shards", "2"])
        .env("JOB_COMPLETION_INDEX", "0")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(sb.join("runs/f/shards/0-of-2/shard_done.json").is_file());
    // N is always explicit: an index without a count is refused from the flag; from the
    // environment (an array task running a whole plan of its own) it is said, and an index out
    // of range names where it came from.
    let out = sb.run(&["run", "--suite", "smoke", "--shard", "1"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let out = sb.command(&["plan", "--suite", "smoke"]).env("SLURM_ARRAY_TASK_ID", "3").output().unwrap();
    assert!(code(&out) == 0 && text(&out).contains("this task runs the whole plan"), "{}", text(&out));
    // `plan` shows every shard's units, so a count alone is enough for it (and an index is not).
    let out = sb.run(&["plan", "--suite", "smoke", "--num-shards", "3"]);
    assert!(code(&out) == 0 && text(&out).contains("shard 2-of-3:"), "{}", text(&out));
    let out = sb.run(&["run", "--suite", "smoke", "--num-shards", "3"]);
    assert!(code(&out) == 3 && text(&out).contains("--num-shards needs --shard K"), "{}", text(&out));
    for (env, args, want) in [
        ("5", &["--num-shards", "2"][..], "SLURM_ARRAY_TASK_ID=5 is not a shard of 0..2"),
        ("0", &["--num-shards", "4294967295"][..], "at most 100000 shards"),
    ] {
        let out =
            sb.command(&["plan", "--suite", "smoke"]).args(args).env("SLURM_ARRAY_TASK_ID", env).output().unwrap();
        assert!(code(&out) == 3 && text(&out).contains(want), "{want}: {}", text(&out));
    }
    let out = sb.run(&[
        "plan",
        "--suite",
        "smoke",
        "--limit",
        "1",
        "--num-shards",
        "50",
        "--emit",
        "slurm",
        "--emit-dir",
        "j",
    ]);
    assert!(code(&out) == 3 && text(&out).contains("would have nothing to do"), "{}", text(&out));
}

#[test]
fn dir_adapter_matches_vbench_names_and_reports_missing_videos() {
    let sb = Sandbox::new();
    let (_, plan) = sb.run_json(&["plan", "--suite", "smoke"]);
    let units = plan["plan"]["units"].as_array().unwrap().clone();
    std::fs::create_dir_all(sb.join("videos")).unwrap();
    // Every unit but the last gets a video named "{prompt}-{seed_idx}.mp4" (one frame for the
    // image case: a clip where a picture was asked for is that unit's failure).
    for u in &units[..units.len() - 1] {
        let name = format!("videos/{}-{}.mp4", u["prompt"].as_str().unwrap(), u["seed_idx"]);
        let frames = if u["case_id"] == "capability-image" { "1" } else { "5" };
        let out = sb.run(&[
            "synth",
            "--prompt",
            u["prompt"].as_str().unwrap(),
            "--seed",
            "1",
            "--frames",
            frames,
            "--width",
            "32",
            "--height",
            "32",
            "--out",
            &name,
        ]);
        assert_eq!(code(&out), 0, "{}", text(&out));
    }
    // The last one's name differs in letter case only: still missing, with a hint naming it.
    let last = &units[units.len() - 1];
    let upper = last["prompt"].as_str().unwrap().to_uppercase();
    std::fs::copy(
        sb.join("videos").read_dir().unwrap().next().unwrap().unwrap().path(),
        sb.join(&format!("videos/{upper}-{}.mp4", last["seed_idx"])),
    )
    .unwrap();
    let out = sb.run(&["run", "--suite", "smoke", "--model", "dir:videos", "--out", "runs/d"]);
    assert_eq!(code(&out), 4, "a missing video is a model failure: {}", text(&out));
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/d/results.json")).unwrap();
    let failed: Vec<&serde_json::Value> =
        results["samples"].as_array().unwrap().iter().filter(|s| s["status"] == "error").collect();
    assert_eq!(failed.len(), 1);
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("no video for case") && error.contains("differs from it only in letter case"), "{error}");
    // A space a tool left before the index (or doubled) is named too.
    let spaced = format!("videos/{}  -{}.mp4", last["prompt"].as_str().unwrap(), last["seed_idx"]);
    std::fs::rename(sb.join(&format!("videos/{upper}-{}.mp4", last["seed_idx"])), sb.join(&spaced)).unwrap();
    let out = sb.run(&["run", "--suite", "smoke", "--model", "dir:videos", "--out", "runs/d-spaced"]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let gens = std::fs::read_to_string(sb.join("runs/d-spaced/shards/0-of-1/generations.jsonl")).unwrap();
    assert!(gens.contains("differs from it in its spaces"), "{gens}");
    std::fs::rename(sb.join(&spaced), sb.join(&format!("videos/{upper}-{}.mp4", last["seed_idx"]))).unwrap();
    // The pooled mean of what was found: five frames a clip, one for the image case's pictures.
    let made = &units[..units.len() - 1];
    let frames: f64 = made.iter().map(|u| if u["case_id"] == "capability-image" { 1.0 } else { 5.0 }).sum();
    let estimate = results["suites"]["smoke"]["metrics"]["frame_count"]["point_estimate"].as_f64().unwrap();
    assert!((estimate - frames / made.len() as f64).abs() < 1e-9, "{estimate}");
}

/// A suite `name` of one case, "a red ball", one seed, scoring frame_count.
fn ball_suite(name: &str) -> String {
    format!(
        "schema: 1\nsuite: {name}\nversion: 1\ndefaults: {{seeds: {{per_case: 1, base: 1}}}}\nmetrics: [frame_count]\ncases: [{{id: ball, prompt: a red ball}}]\n"
    )
}

/// The frame count `dir:videos` gives suite `name` (its [`ball_suite`]), the run exiting 0.
fn frames_found(sb: &Sandbox, name: &str) -> serde_json::Value {
    sb.write(&format!("{name}.yaml"), &ball_suite(name));
    let out =
        sb.run(&["run", "--suite", &format!("{name}.yaml"), "--model", "dir:videos", "--out", &format!("runs/{name}")]);
    assert_eq!(code(&out), 0, "{name}: {}", text(&out));
    let results: serde_json::Value = serde_json::from_slice(&sb.read(&format!("runs/{name}/results.json"))).unwrap();
    results["suites"][name]["metrics"]["frame_count"]["point_estimate"].clone()
}

/// A 16×16 clip of "a red ball" (seed 1) with `frames` frames at `out`.
fn synth_ball(sb: &Sandbox, out: &str, frames: &str) {
    let args =
        ["synth", "--prompt", "a red ball", "--seed", "1", "--frames", frames, "--width", "16", "--height", "16"];
    let o = sb.run(&[&args[..], &["--out", out]].concat());
    assert_eq!(code(&o), 0, "{}", text(&o));
}

/// One video serving several suites (a VBench folder serving several dimensions) is scored in one
/// decode for all of them: each measure once, every record of the pass carrying the same share of
/// its time. It was decoded once per suite.
#[test]
fn a_video_several_suites_read_is_scored_in_one_decode() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.join("videos")).unwrap();
    synth_ball(&sb, "videos/a red ball-0.mp4", "6");
    for (name, metrics) in [("one", "frame_count, temporal_flicker"), ("two", "frame_count, dynamic_degree")] {
        sb.write(&format!("{name}.yaml"), &ball_suite(name).replace("[frame_count]", &format!("[{metrics}]")));
    }
    let out =
        sb.run(&["run", "--suite", "one.yaml,two.yaml", "--model", "dir:videos", "--out", "runs/both", "-j", "1"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Off a terminal each stage says its progress on a line (a CI log said nothing): two units
    // generated, one video scored.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("generate: 2/2 units (") && err.contains("score: 1/1 videos ("), "{err}");
    let scores = jsonl(&sb.join("runs/both/shards/0-of-1/scores.jsonl"));
    assert_eq!(scores.len(), 4, "{scores:?}");
    let shares: std::collections::BTreeSet<String> = scores.iter().map(|r| r["wall_s"].to_string()).collect();
    assert!(scores.iter().all(|r| r["cached"] == false) && shares.len() == 1, "{scores:?}");
    let count = |suite: &str| {
        scores.iter().find(|r| r["suite"] == suite && r["metric"] == "frame_count").map(|r| r["value"].clone())
    };
    assert_eq!((count("one"), count("two")), (Some(6.0.into()), Some(6.0.into())));
    // Its report media are made once and shown by both suites' samples (they were decoded and
    // encoded once per suite).
    let o = sb.command(&["report", "runs/both"]).env("VIDEVAL_REPORT_INLINE_BYTES", "0").output().unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let files: Vec<String> = std::fs::read_dir(sb.join("runs/both/report_media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mp4") || n.ends_with(".png"))
        .collect();
    assert_eq!(files.len(), 2, "one clip and one filmstrip: {files:?}");
    let page = String::from_utf8(sb.read("runs/both/report.html")).unwrap();
    let clip = files.iter().find(|n| n.ends_with(".mp4")).unwrap();
    assert_eq!(page.matches(clip.as_str()).count(), 2, "both suites' samples show the clip");
    // The video replaced after `generate` (same size and time, other bytes): every unit holding
    // it fails, its cached numbers too (another unit's were reported beside the error).
    sb.write("three.yaml", &ball_suite("three").replace("[frame_count]", "[frame_count, temporal_diff]"));
    let args = ["--suite", "one.yaml,three.yaml", "--model", "dir:videos", "--out", "runs/swap", "-j", "1"];
    assert_eq!(code(&sb.run(&[&["generate"][..], &args].concat())), 0);
    let path = sb.join("videos/a red ball-0.mp4");
    let when = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let k = bytes.len() - 20;
    bytes[k] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
    let o = sb.run(&[&["score"][..], &args].concat());
    assert_eq!(code(&o), 4, "{}", text(&o));
    let scores = jsonl(&sb.join("runs/swap/shards/0-of-1/scores.jsonl"));
    assert!(!scores.is_empty() && scores.iter().all(|r| r["status"] == "error"), "{scores:?}");
}

/// VBench's per-dimension layout (`videos/<dimension>/{prompt}-{i}.mp4`): a video in a subfolder
/// is found; the same prompt sampled for two dimensions is told apart by the subfolder named after
/// the suite's dimension, and is an error naming both files for a suite that matches neither.
#[test]
fn dir_adapter_finds_vbench_videos_in_per_dimension_subfolders() {
    let sb = Sandbox::new();
    let synth = |out: &str, frames: &str| synth_ball(&sb, out, frames);
    std::fs::create_dir_all(sb.join("videos/alpha")).unwrap();
    std::fs::create_dir_all(sb.join("videos/beta")).unwrap();
    synth("videos/alpha/a red ball-0.mp4", "4");
    synth("videos/beta/a red ball-0.mp4", "6");
    let suite = ball_suite;
    for (name, frames) in [("vbench_alpha", 4.0), ("beta", 6.0)] {
        assert_eq!(frames_found(&sb, name), frames, "{name}");
    }
    sb.write("gamma.yaml", &suite("gamma"));
    let out = sb.run(&["run", "--suite", "gamma.yaml", "--model", "dir:videos", "--out", "runs/gamma"]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let gens = std::fs::read_to_string(sb.join("runs/gamma/shards/0-of-1/generations.jsonl")).unwrap();
    assert!(
        gens.contains("2 videos named")
            && gens.contains("alpha/a red ball-0.mp4")
            && gens.contains("beta/a red ball-0.mp4"),
        "{gens}"
    );
    // Only one of them left: found wherever it is.
    std::fs::remove_file(sb.join("videos/beta/a red ball-0.mp4")).unwrap();
    let out = sb.run(&["run", "--suite", "gamma.yaml", "--model", "dir:videos", "--out", "runs/gamma2"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Two cases of one suite with one prompt would get the same video by name, counted twice:
    // the plan is refused before any work, naming both cases (each unit failed, exit 4, after
    // the rest were scored).
    sb.write(
        "twins.yaml",
        "schema: 1\nsuite: twins\nversion: 1\ndefaults: {seeds: {per_case: 2, base: 1}}\nmetrics: [frame_count]\ncases: [{id: a, prompt: a red ball}, {id: b, prompt: a red ball}, {id: c, prompt: a blue ball}]\n",
    );
    for cmd in ["run", "generate"] {
        let out = sb.run(&[cmd, "--suite", "twins.yaml", "--model", "dir:videos", "--out", "runs/twins"]);
        assert_eq!(code(&out), 3, "{}", text(&out));
        let says = text(&out);
        assert!(
            says.contains("twins/a, twins/b: these cases of suite twins have one prompt (\"a red ball\")"),
            "{says}"
        );
        assert!(!says.contains("twins/c") && says.matches("twins/a").count() == 1, "{says}");
        assert!(says.contains("(counted twice) at seed_idx 0, 1;"), "{says}");
        assert!(!sb.join("runs/twins/shards").exists(), "{cmd}");
    }
    sb.write(
        "twins.yaml",
        "schema: 1\nsuite: twins\nversion: 1\ndefaults: {seeds: {per_case: 1, base: 1}}\nmetrics: [frame_count]\ncases: [{id: a, prompt: a red ball}, {id: b, prompt: a red ball}]\n",
    );
    // Only one of them asked for, or the other given its own file by a mapping row: nothing is
    // counted twice, so nothing is refused.
    let out =
        sb.run(&["run", "--suite", "twins.yaml", "--cases", "a", "--model", "dir:videos", "--out", "runs/twin-a"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    std::fs::copy(sb.join("videos/alpha/a red ball-0.mp4"), sb.join("videos/b.mp4")).unwrap();
    sb.write("videos/mapping.csv", "file,case_id,seed_idx\nb.mp4,b,0\n");
    let out = sb.run(&["run", "--suite", "twins.yaml", "--model", "dir:videos", "--out", "runs/twins-mapped"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
}

/// VBench's own layout keeps videos by the prompt suite they were sampled for, not by dimension
/// (aesthetic quality reads `overall_consistency/`), often with a resolution folder below
/// (`overall_consistency/512x512/`); a prompt sampled for two prompt suites was an error for
/// both (VBench's real info file has two such prompts).
#[test]
fn dir_adapter_finds_vbench_videos_in_its_prompt_suite_folders() {
    let sb = Sandbox::new();
    for (folder, frames) in [("overall_consistency", "4"), ("appearance_style", "6")] {
        std::fs::create_dir_all(sb.join(&format!("videos/{folder}/512x512"))).unwrap();
        synth_ball(&sb, &format!("videos/{folder}/512x512/a red ball-0.mp4"), frames);
    }
    for (name, frames) in
        [("vbench_aesthetic_quality", 4.0), ("vbench_appearance_style", 6.0), ("overall_consistency", 4.0)]
    {
        assert_eq!(frames_found(&sb, name), frames, "{name}");
    }
    // A dimension whose folder holds neither is an error naming both files and its folder: the
    // same prompt's video sampled for another dimension is not this one's (it was taken when
    // it was the only one).
    sb.write("vbench_dynamic_degree.yaml", &ball_suite("vbench_dynamic_degree"));
    let out = sb.run(&["run", "--suite", "vbench_dynamic_degree.yaml", "--model", "dir:videos", "--out", "runs/dd"]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let gens = std::fs::read_to_string(sb.join("runs/dd/shards/0-of-1/generations.jsonl")).unwrap();
    assert!(gens.contains("only under the folder of another VBench dimension"), "{gens}");
    assert!(
        gens.contains("appearance_style/512x512/a red ball-0.mp4") && gens.contains("from subject_consistency/"),
        "{gens}"
    );
    std::fs::remove_dir_all(sb.join("videos/overall_consistency")).unwrap();
    // Dimension folders linked to one another (a lab links `imaging_quality` to
    // `overall_consistency`): the folder is walked once, under one name, and is every
    // linked dimension's own.
    std::fs::create_dir_all(sb.join("linked/overall_consistency")).unwrap();
    synth_ball(&sb, "linked/overall_consistency/a red ball-0.mp4", "5");
    std::os::unix::fs::symlink("overall_consistency", sb.join("linked/aesthetic_quality")).unwrap();
    std::os::unix::fs::symlink("overall_consistency", sb.join("linked/imaging_quality")).unwrap();
    sb.write("vbench_imaging_quality.yaml", &ball_suite("vbench_imaging_quality"));
    let out = sb.run(&[
        "run",
        "--suite",
        "vbench_aesthetic_quality.yaml,vbench_imaging_quality.yaml,overall_consistency.yaml",
        "--model",
        "dir:linked",
        "--out",
        "runs/linked",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Left only under appearance_style/, aesthetic quality's video is missing, as VBench has it.
    let out = sb.run(&[
        "run",
        "--suite",
        "vbench_aesthetic_quality.yaml",
        "--model",
        "dir:videos",
        "--out",
        "runs/aq-missing",
    ]);
    assert_eq!(code(&out), 4, "{}", text(&out));
}

/// Image units read pictures: by VBench's name (`{prompt}-{i}.png`) or a mapping row; a
/// picture never stands in for a video unit's output. They were refused ("expected … .mp4",
/// "does not end in a video extension") with the picture beside the name.
#[test]
fn dir_adapter_reads_pictures_for_image_units() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.join("p")).unwrap();
    for (colour, file) in [("red", "p/a red square-0.png"), ("blue", "p/blue.jpg"), ("green", "p/a green ball-0.png")] {
        let ok = std::process::Command::new("ffmpeg")
            .current_dir(sb.path())
            .args(["-v", "error", "-f", "lavfi", "-i", &format!("color=c={colour}:s=96x64"), "-frames:v", "1", file])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg {file}");
    }
    let ok = std::process::Command::new("ffmpeg")
        .current_dir(sb.path())
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=s=96x64:r=8:d=0.75", "p/a yellow square-0.mkv"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg");
    sb.write("p/mapping.csv", "file,case_id,seed_idx\nblue.jpg,still-b,0\n");
    sb.write(
        "stills.yaml",
        "schema: 1\nsuite: stills\nversion: 1\ndefaults: {generation: {width: 96, height: 64}, seeds: {per_case: 1}}\n\
         metrics: [frame_count, aspect_ratio]\ncases:\n  - {id: still-a, mode: image, prompt: a red square}\n  \
         - {id: still-b, mode: image, prompt: a blue square}\n  - {id: clip, prompt: a green ball}\n  \
         - {id: still-c, mode: image, prompt: a yellow square}\n",
    );
    let out = sb.run(&["run", "--suite", "stills.yaml", "--model", "dir:p", "--out", "runs/p"]);
    assert_eq!(code(&out), 4, "the video unit has no video: {}", text(&out));
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/p/results.json")).unwrap();
    for s in results["samples"].as_array().unwrap() {
        if s["case_id"] == "clip" {
            assert_ne!(s["status"], "ok", "a picture stood in for a video: {s}");
            assert!(s["error"].as_str().unwrap().contains("a green ball-0.mp4"), "{s}");
        } else if s["case_id"] == "still-c" {
            // A clip where a picture was asked for is the unit's failure (it was scored, frame_count 6).
            assert_ne!(s["status"], "ok", "{s}");
            assert!(s["error"].as_str().unwrap().contains("more than one frame"), "{s}");
        } else {
            assert_eq!((s["status"].as_str(), s["metrics"]["frame_count"].as_f64()), (Some("ok"), Some(1.0)), "{s}");
            assert_eq!(s["metrics"]["aspect_ratio"].as_f64(), Some(1.5), "{s}");
        }
    }
}

/// Two folders of one name whose files have the same names and sizes are one model to the plan
/// (identity is names and sizes, so copies on other machines are the same model): the second
/// run into a shared store reads its own files, never the first's (it was served them).
#[test]
fn dir_adapter_reads_its_own_files_where_another_folder_looks_the_same() {
    let sb = Sandbox::new();
    for (colour, dir) in [("red", "A/out"), ("blue", "B/out")] {
        std::fs::create_dir_all(sb.join(dir)).unwrap();
        let ok = std::process::Command::new("ffmpeg")
            .current_dir(sb.path())
            .args(["-v", "error", "-f", "lavfi", "-i", &format!("color=c={colour}:s=96x64"), "-frames:v", "1"])
            .args(["-compression_level", "0", &format!("{dir}/a square-0.png")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg");
    }
    assert_eq!(sb.read("A/out/a square-0.png").len(), sb.read("B/out/a square-0.png").len());
    sb.write(
        "s.yaml",
        "schema: 1\nsuite: s\nversion: 1\ndefaults: {generation: {width: 96, height: 64}, seeds: {per_case: 1}}\n\
         metrics: [frame_count]\ncases: [{id: a, mode: image, prompt: a square}]\n",
    );
    for (dir, run) in [("A/out", "runs/a"), ("B/out", "runs/b")] {
        let out =
            sb.run(&["run", "--suite", "s.yaml", "--model", &format!("dir:{dir}"), "--out", run, "--store", "st"]);
        assert_eq!(code(&out), 0, "{}", text(&out));
    }
    let path = |run: &str| jsonl(&sb.join(&format!("{run}/shards/0-of-1/generations.jsonl")))[0]["video_path"].clone();
    assert!(path("runs/b").as_str().unwrap().ends_with("B/out/a square-0.png"), "{}", path("runs/b"));
    assert_ne!(path("runs/a"), path("runs/b"));
}

#[test]
fn dir_adapter_reads_an_explicit_mapping() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.join("v")).unwrap();
    for (i, f) in ["a.mp4", "b.mp4"].iter().enumerate() {
        let out = sb.run(&[
            "synth",
            "--prompt",
            "red ball moves left",
            "--seed",
            &i.to_string(),
            "--frames",
            "4",
            "--width",
            "16",
            "--height",
            "16",
            "--out",
            &format!("v/{f}"),
        ]);
        assert_eq!(code(&out), 0);
    }
    sb.write("v/mapping.csv", "file,case_id,seed_idx\na.mp4,physics-drop,0\nb.mp4,physics-drop,1\n");
    let out = sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "dir:v", "--out", "runs/m"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // A file's time is not what it holds: touched (or copied without its times), the folder is
    // the same model and the run resumes (it was another plan, refused for the same --out).
    let file = std::fs::File::options().append(true).open(sb.join("v/a.mp4")).unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(3600)).unwrap();
    drop(file);
    let out = sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "dir:v", "--out", "runs/m"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    sb.write("v/mapping.csv", "file,case_id\nmissing.mp4,physics-drop\n");
    let out = sb.run(&["run", "--suite", "smoke", "--model", "dir:v", "--out", "runs/n"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("line 2: file \"missing.mp4\": no such file in v"), "{}", text(&out));
    // A folder, or a link to nothing, where a video is named is said as what it is.
    std::fs::create_dir_all(sb.join("v/dir.mp4")).unwrap();
    std::os::unix::fs::symlink("nowhere.mp4", sb.join("v/gone.mp4")).unwrap();
    for (file, says) in [("dir.mp4", "a folder; expected a video file"), ("gone.mp4", "a link that leads nowhere")] {
        sb.write("v/mapping.csv", &format!("file,case_id\n{file},physics-drop\n"));
        let out = sb.run(&["run", "--suite", "smoke", "--model", "dir:v", "--out", "runs/n"]);
        assert_eq!(code(&out), 3, "{}", text(&out));
        assert!(text(&out).contains(&format!("line 2: file \"{file}\": {says}")), "{}", text(&out));
    }
    std::fs::remove_dir(sb.join("v/dir.mp4")).unwrap();
    std::fs::remove_file(sb.join("v/gone.mp4")).unwrap();
    // A file that is there but not named as a video says so.
    sb.write("v/notes.txt", "x");
    sb.write("v/mapping.csv", "file,case_id\nnotes.txt,physics-drop\n");
    let out = sb.run(&["run", "--suite", "smoke", "--model", "dir:v", "--out", "runs/o"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("file \"notes.txt\": does not end in a video extension (mp4"), "{}", text(&out));
    // An empty mapping, or one with a header only, maps nothing: said, not taken as no mapping
    // (every video was looked for by its VBench name instead).
    for (body, want) in [("", "line 1: empty"), ("file,case_id\n", "line 1: a header and no rows")] {
        sb.write("v/mapping.csv", body);
        let out = sb.run(&["run", "--suite", "smoke", "--model", "dir:v", "--out", "runs/o2"]);
        assert_eq!(code(&out), 3, "{}", text(&out));
        assert!(text(&out).contains(want), "{}", text(&out));
    }
    // A row names its file on purpose: `./`, a hidden or deep folder are fine; leaving the
    // folder is not. A BOM and quoted cells are read; an unknown column (a misspelt seed_idx
    // would map every row to seed 0) and a unit mapped twice are errors naming the lines.
    std::fs::create_dir_all(sb.join("v/.hidden/1/2/3")).unwrap();
    std::fs::copy(sb.join("v/b.mp4"), sb.join("v/.hidden/1/2/3/b, deep.mp4")).unwrap();
    sb.write(
        "v/mapping.csv",
        "\u{feff}file,case_id,seed_idx\r\n./a.mp4,physics-drop,0\r\n\".hidden/1/2/3/b, deep.mp4\",physics-drop,1\r\n",
    );
    let out = sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "dir:v", "--out", "runs/p"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let shas = |run: &str| {
        let r: serde_json::Value = serde_json::from_slice(&sb.read(&format!("{run}/results.json"))).unwrap();
        r["samples"].as_array().unwrap().iter().map(|s| s["video_sha256"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(shas("runs/m"), shas("runs/p"), "the same two videos, reached by other paths");
    // As Python's csv module writes them: a name with spaces at its ends left unquoted (and
    // found as written), a prompt column whose quoted cell spans lines.
    std::fs::copy(sb.join("v/a.mp4"), sb.join("v/ lead a.mp4")).unwrap();
    sb.write(
        "v/mapping.csv",
        "file,case_id,seed_idx,prompt\r\n lead a.mp4,physics-drop,0,\"a red ball\nmoves left\"\r\n\".hidden/1/2/3/b, deep.mp4\",physics-drop,1,x\r\n",
    );
    let out = sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "dir:v", "--out", "runs/q"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(shas("runs/m"), shas("runs/q"));
    for (mapping, want) in [
        ("file,case_id\n../a.mp4,physics-drop\n", "line 2: file \"../a.mp4\": leaves the folder"),
        ("file,case_id\n/etc/passwd,physics-drop\n", "leaves the folder"),
        ("file,case_id,seed\na.mp4,physics-drop,0\n", "line 1: header: \"seed\" is not a column this file has"),
        ("file,case_id,note\na.mp4,physics-drop,x\nb.mp4,physics-drop,y\n", "line 2 and line 3 both map case"),
        (
            "file,case_id\na.mp4,physics-drop\n\nb.mp4,physics-drop\n",
            "line 2 and line 4 both map case \"physics-drop\" seed 0",
        ),
    ] {
        sb.write("v/mapping.csv", mapping);
        let out =
            sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "dir:v", "--out", "runs/q"]);
        assert_eq!(code(&out), 3, "{mapping}: {}", text(&out));
        assert!(text(&out).contains(want), "{mapping}: {}", text(&out));
    }
}

/// A folder's video replaced by another of the same size is hashed again (its old score is never
/// reused); a FIFO or a broken link named as a video fails its unit, not the run (and a FIFO
/// never blocks it); an upper-case extension is found; a prompt too long to be a file name says so.
#[test]
fn dir_adapter_never_reuses_a_changed_file_and_fails_only_the_unit_of_an_unreadable_one() {
    let sb = Sandbox::new();
    let long = "a very long prompt ".repeat(14);
    sb.write(
        "s.yaml",
        &format!(
            "schema: 1\nsuite: s\nversion: 1\ndefaults:\n  seeds: {{per_case: 1}}\nmetrics: [temporal_flicker]\ncases:\n  - {{id: a, prompt: a cat}}\n  - {{id: b, prompt: a dog}}\n  - {{id: c, prompt: \"{}\"}}\n  - {{id: d, prompt: fifo}}\n  - {{id: e, prompt: broken}}\n",
            long.trim()
        ),
    );
    std::fs::create_dir_all(sb.join("v")).unwrap();
    let raw = |source: &str, out: &str| {
        let ok = std::process::Command::new("ffmpeg")
            .current_dir(sb.path())
            .args([
                "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", "1", "-c:v", "rawvideo", "-pix_fmt", "bgr24",
                out,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg {source}");
    };
    raw("testsrc=size=64x64:rate=8", "moving.avi");
    raw("color=c=blue:size=64x64:rate=8", "still.avi");
    assert_eq!(
        std::fs::metadata(sb.join("moving.avi")).unwrap().len(),
        std::fs::metadata(sb.join("still.avi")).unwrap().len()
    );
    std::fs::copy(sb.join("moving.avi"), sb.join("v/a cat-0.avi")).unwrap();
    std::fs::copy(sb.join("still.avi"), sb.join("v/a dog-0.MP4")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(sb.join("v/fifo-0.mp4")).status().unwrap().success());
    std::os::unix::fs::symlink(sb.join("nowhere.mp4"), sb.join("v/broken-0.mp4")).unwrap();
    let run = |out: &str, store: &str| {
        let o = sb.run(&["run", "--suite", "s.yaml", "--model", "dir:v", "--store", store, "--out", out]);
        assert_eq!(code(&o), 4, "{}", text(&o));
        let r: serde_json::Value = serde_json::from_slice(&sb.read(&format!("{out}/results.json"))).unwrap();
        let by_case: BTreeMap<String, serde_json::Value> = r["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["case_id"].as_str().unwrap().to_string(), s.clone()))
            .collect();
        by_case
    };
    let first = run("runs/1", "store");
    assert_eq!(first["b"]["status"], "ok", "{}", first["b"]);
    let error = |c: &str| first[c]["error"].as_str().unwrap_or_default().to_string();
    assert!(error("c").contains("cannot exist") && error("c").contains("over the 255"), "{}", error("c"));
    for c in ["d", "e"] {
        assert!(error(c).contains("cannot read: not a regular file"), "{c}: {}", error(c));
    }
    std::fs::copy(sb.join("still.avi"), sb.join("v/a cat-0.avi")).unwrap();
    // Replaced by a file of the same size, the plan is the same: a rerun into the same folder
    // (or its default one) reported the old video's numbers as done. Now it says what changed.
    // Only the content counts: a copy with new modification times resumes.
    let o = sb.run(&["run", "--suite", "s.yaml", "--model", "dir:v", "--store", "store", "--out", "runs/1"]);
    assert!(
        code(&o) == 3 && text(&o).contains("1 video(s) changed after this run folder recorded them"),
        "{}",
        text(&o)
    );
    std::fs::copy(sb.join("moving.avi"), sb.join("v/a cat-0.avi")).unwrap();
    let o = sb.run(&["run", "--suite", "s.yaml", "--model", "dir:v", "--store", "store", "--out", "runs/1"]);
    assert!(code(&o) == 4 && !text(&o).contains("changed after"), "{}", text(&o));
    std::fs::copy(sb.join("still.avi"), sb.join("v/a cat-0.avi")).unwrap();
    // The first run's report shows no picture of the replaced video (beside numbers that are not
    // its own), and still shows the others.
    let o = sb.command(&["report", "runs/1"]).env("VIDEVAL_REPORT_INLINE_BYTES", "0").output().unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(sb.join("runs/1/report_media/s__b__0.mp4").is_file(), "the unchanged video is shown");
    assert!(!sb.join("runs/1/report_media/s__a__0.mp4").exists(), "the replaced video is not");
    // A report page is an .html file: never one of the run's own files, nor a folder.
    for (out, why) in [("runs/1/results.json", "ending in .html"), ("runs/1", "a folder")] {
        let o = sb.run(&["report", "runs/1", "-o", out]);
        assert!(code(&o) == 3 && text(&o).contains(why), "{out}: {}", text(&o));
    }
    let o = sb.command(&["report", "runs/1"]).env("VIDEVAL_REPORT_INLINE_BYTES", "8MiB").output().unwrap();
    assert!(code(&o) == 3 && text(&o).contains("VIDEVAL_REPORT_INLINE_BYTES"), "{}", text(&o));
    let (again, fresh) = (run("runs/2", "store"), run("runs/3", "fresh-store"));
    assert_ne!(again["a"]["video_sha256"], first["a"]["video_sha256"]);
    assert_eq!(again["a"]["video_sha256"], fresh["a"]["video_sha256"]);
    assert_eq!(again["a"]["metrics"], fresh["a"]["metrics"]);
    assert_eq!(again["a"]["metrics"], again["b"]["metrics"], "the same still video");
}

/// What labs' folders hold: a VBench layout assembled from a linked dimension folder, macOS's
/// `._` metadata files beside every video (not videos), an empty and a damaged video (the unit's
/// failed generation, as a command's would be), a video too deep to be searched (named in the
/// unit's error), and mapping rows that match no unit (named in a warning: their units fell
/// back to VBench's names without a word).
#[test]
fn dir_adapter_follows_linked_folders_and_names_what_it_passed_over() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        "schema: 1\nsuite: s\nversion: 1\ndefaults: {seeds: {per_case: 1}}\nmetrics: [frame_count]\ncases: [{id: a, prompt: linked}, {id: b, prompt: empty}, {id: c, prompt: damaged}, {id: d, prompt: deep}, {id: e, prompt: renamed}, {id: f, prompt: .hack}]\n",
    );
    for dir in ["real/s", "v/1/2/3/4"] {
        std::fs::create_dir_all(sb.join(dir)).unwrap();
    }
    synth_ball(&sb, "real/s/linked-0.mp4", "4");
    std::os::unix::fs::symlink(sb.join("real/s"), sb.join("v/s")).unwrap();
    // A video given VBench's name by a link to it (the file is reached twice: both names count),
    // and a prompt that starts with a dot (a name, not a hidden file to leave out).
    std::os::unix::fs::symlink(sb.join("real/s/linked-0.mp4"), sb.join("v/renamed-0.mp4")).unwrap();
    std::fs::copy(sb.join("real/s/linked-0.mp4"), sb.join("v/.hack-0.mp4")).unwrap();
    sb.write("v/._linked-0.mp4", "\0\x05\x16\x07\0\x02\0\0Mac OS X        ");
    sb.write("v/empty-0.mp4", "");
    sb.write("v/damaged-0.mp4", "not a video at all");
    std::fs::copy(sb.join("real/s/linked-0.mp4"), sb.join("v/1/2/3/4/deep-0.mp4")).unwrap();
    sb.write("v/mapping.csv", "file,case_id,seed_idx\ns/linked-0.mp4,A,0\n");
    let out = sb.run(&["run", "--suite", "s.yaml", "--model", "dir:v", "--out", "runs/1"]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(
        text(&out)
            .contains("line 2 (case \"A\" seed 0): no case \"A\" here, but \"a\" differs from it only in letter case"),
        "{}",
        text(&out)
    );
    let r: serde_json::Value = serde_json::from_slice(&sb.read("runs/1/results.json")).unwrap();
    let by_case: BTreeMap<&str, &serde_json::Value> =
        r["samples"].as_array().unwrap().iter().map(|s| (s["case_id"].as_str().unwrap(), s)).collect();
    for case in ["a", "e", "f"] {
        assert_eq!(by_case[case]["status"], "ok", "{}", by_case[case]);
        assert_eq!(by_case[case]["metrics"]["frame_count"], 4.0);
    }
    let error = |c: &str| by_case[c]["error"].as_str().unwrap_or_default().to_string();
    assert!(error("b").contains("an empty file (0 bytes)"), "{}", error("b"));
    assert!(error("c").contains("damaged-0.mp4") && error("c").contains("not a readable video"), "{}", error("c"));
    assert!(error("d").contains("not searched: 1/2/3/4/ (deeper than 3 folders)"), "{}", error("d"));
    assert_eq!(r["suites"]["s"]["n"]["failed_generations"], 3, "{}", r["suites"]["s"]["n"]);
}

/// A command's program that is not there is a bad spec (exit 3), found before the first unit
/// (every unit used to fail, exit 4, with a "complete" run of errors); and the script a spec
/// names is part of the model: edited, its videos are made again, not reused from the store.
#[test]
fn command_adapter_checks_its_program_and_hashes_the_files_it_names() {
    let sb = Sandbox::new();
    let bin = videval_tests::bin();
    let run_drop = |model: &str, out: &str| {
        sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", model, "--out", out])
    };
    let executable = |name: &str| {
        let mut perm = std::fs::metadata(sb.join(name)).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(sb.join(name), perm).unwrap();
    };
    let write_gen = |frames: &str| {
        sb.write(
            "gen.sh",
            &format!(
                "#!/bin/sh\n[ -n \"$3\" ] && echo made >> \"$3\"\nexec '{}' synth --prompt \"$1\" --frames {frames} --width 16 --height 16 --out \"$2\"\n",
                bin.display()
            ),
        );
        executable("gen.sh");
    };
    write_gen("4");
    sb.write("m.yaml", "adapter: command\nargv: [./gen.sh, \"{prompt}\", \"{out}\"]\n");
    let frames_of = |model: &str, out: &str| {
        let o = run_drop(model, out);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let r: serde_json::Value = serde_json::from_slice(&sb.read(&format!("{out}/results.json"))).unwrap();
        r["samples"][0]["metrics"]["frame_count"].clone()
    };
    let frames = |out: &str| frames_of("m.yaml", out);
    assert_eq!(frames("runs/a"), 4.0);
    // The case asks for 17 frames of 32×32: the record says how the video differs from that.
    let gens = jsonl(&sb.join("runs/a/shards/0-of-1/generations.jsonl"));
    let off = gens[0]["off_request"].as_str().unwrap_or_default().to_string();
    assert!(off.contains("4 frames (17 asked)") && off.contains("16x16 (32x32 asked)"), "{gens:?}");
    // … and so do the results, the report and `merge` (only the generation records said it).
    let r: serde_json::Value = serde_json::from_slice(&sb.read("runs/a/results.json")).unwrap();
    let samples = r["samples"].as_array().unwrap();
    assert!(samples.iter().all(|s| s["off_request"] == off.as_str()), "{samples:?}");
    let page = String::from_utf8(sb.read("runs/a/report.html")).unwrap();
    let n = samples.len();
    assert!(
        page.contains(&format!("{n} video(s) not as their unit asked"))
            && page.contains(&format!("not as asked: {off}"))
    );
    let o = sb.run(&["merge", "runs/a"]);
    assert!(text(&o).contains(&format!("note: {n} video(s) differ from what their unit asked for")), "{}", text(&o));
    write_gen("6");
    assert_eq!(frames("runs/b"), 6.0, "the edited script's videos, not the store's");
    // Behind a wrapper (`env VAR=1 sh gen.sh`), the script the interpreter runs is the model too.
    sb.write("wrapped.yaml", "adapter: command\nargv: [env, X=1, sh, gen.sh, \"{prompt}\", \"{out}\"]\n");
    assert_eq!(frames_of("wrapped.yaml", "runs/w1"), 6.0);
    write_gen("5");
    assert_eq!(frames_of("wrapped.yaml", "runs/w2"), 5.0, "the edited script's videos behind env, not the store's");
    // A file the generator writes, named in argv (its log), is not the model: the run made with
    // it resumes into its folder (hashing every file argv named gave a new plan each time).
    sb.write("logged.yaml", "adapter: command\nargv: [./gen.sh, \"{prompt}\", \"{out}\", gen.log]\n");
    for _ in 0..2 {
        let o = run_drop("logged.yaml", "runs/log");
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    assert!(sb.join("gen.log").is_file());
    // Not executable or not there: each said before any unit, exit 3.
    for (argv0, want) in [
        ("./gen.txt", "not executable"),
        ("./missing.sh", "No such file"),
        ("videval-no-such-program", "no such program on the PATH"),
    ] {
        sb.write("gen.txt", "x");
        sb.write("bad.yaml", &format!("adapter: command\nargv: [{argv0}, \"{{out}}\"]\n"));
        let out = format!("runs/bad-{}", argv0.trim_start_matches("./"));
        let o = run_drop("bad.yaml", &out);
        assert!(code(&o) == 3 && text(&o).contains(want), "{argv0}: {}", text(&o));
        // …before the run folder is bound to a plan that holds the program as absent: once
        // written, the same command was refused as another plan.
        assert!(!sb.join(&out).exists(), "{argv0}: {out} made");
    }
    // What the program needs to start is there too: the interpreter its #! line names, and the
    // script an interpreter is given (each failed every unit as "cannot start … No such file").
    sb.write("shebang.sh", "#!/opt/videval-no-such/python\nprint(1)\n");
    executable("shebang.sh");
    for (argv, want) in [
        ("./shebang.sh", "its #! line names \"/opt/videval-no-such/python\", which is not there"),
        ("sh, nothere.sh", "argv[1] \"nothere.sh\": the script sh runs is not there"),
    ] {
        sb.write("start.yaml", &format!("adapter: command\nargv: [{argv}, \"{{out}}\"]\n"));
        let o = run_drop("start.yaml", &format!("runs/start-{}", argv.len()));
        assert!(code(&o) == 3 && text(&o).contains(want), "{argv}: {}", text(&o));
    }
}

/// What a program leaves at `{out}` is stored as it was when the program exited, in a file of its
/// own: a program that rewrote its cache file in place and hard-linked it to `{out}` made every
/// stored video the last case's (one inode, 6 of 8 scores failed as "no longer the video
/// generated"). A script saved with Windows line ends is refused before any unit.
#[test]
fn a_command_output_is_stored_as_a_file_of_its_own() {
    let sb = Sandbox::new();
    sb.write(
        "two.yaml",
        "schema: 1\nsuite: two\nversion: 1\nmetrics: [frame_count]\ndefaults:\n  generation: {width: 32, height: 32, frames: 9, fps: 8}\n  seeds: {per_case: 1}\ncases:\n  - {id: red, prompt: red}\n  - {id: blue, prompt: blue}\n",
    );
    sb.write(
        "m.yaml",
        "adapter: command\nargv: [sh, -c, 'ffmpeg -v error -y -f lavfi -i color=c=$1:s=32x32:r=8 -frames:v 9 -pix_fmt yuv420p -f mp4 cache.mp4 && ln -f cache.mp4 \"$0\"', '{out}', '{prompt}']\n",
    );
    let o =
        sb.run(&["run", "--suite", "two.yaml", "--model", "m.yaml", "--out", "runs/two", "--store", "st", "-j", "1"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!text(&o).contains("changed since"), "{}", text(&o));
    let mut sums = std::collections::BTreeSet::new();
    for dir in std::fs::read_dir(sb.join("st/videos")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let f = f.unwrap().path();
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(&f).unwrap().nlink(), 1, "{}", f.display());
            sums.insert(std::fs::read(&f).unwrap());
        }
    }
    assert_eq!(sums.len(), 2, "the two cases' videos");
    std::fs::write(sb.join("crlf.sh"), "#!/bin/sh\r\necho hi\r\n").unwrap();
    std::fs::set_permissions(sb.join("crlf.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    sb.write("crlf.yaml", "adapter: command\nargv: [./crlf.sh, '{out}']\n");
    let o = sb.run(&["run", "--suite", "two.yaml", "--model", "crlf.yaml", "--out", "runs/crlf", "--store", "st"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("its #! line ends in a carriage return (Windows line ends)"), "{}", text(&o));
}

/// An image unit's `{out}` ends in .png (image libraries choose the format by the name; `.mp4`
/// made PIL's `save` fail every image unit).
#[test]
fn a_command_writes_an_image_unit_to_a_png_name() {
    let sb = Sandbox::new();
    sb.write(
        "img.yaml",
        "schema: 1\nsuite: img\nversion: 1\nmetrics: [frame_count]\ndefaults:\n  generation: {width: 32, height: 32}\n  seeds: {per_case: 1}\ncases:\n  - id: still\n    mode: image\n    prompt: a red ball\n",
    );
    sb.write(
        "m.yaml",
        "adapter: command\nargv: [sh, -c, 'case \"$0\" in *.png) exec ffmpeg -v error -f lavfi -i color=c=red:s=32x32 -frames:v 1 \"$0\";; *) echo \"not a png name: $0\" >&2; exit 9;; esac', '{out}']\n",
    );
    let o = sb.run(&["run", "--suite", "img.yaml", "--model", "m.yaml", "--out", "runs/img"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // A clip written where the picture belongs is the unit's failure, said of what the command
    // wrote (it was refused at scoring, named by the store's copy), the store never named.
    sb.write(
        "clip.yaml",
        "adapter: command\nargv: [sh, -c, 'exec ffmpeg -v error -f lavfi -i color=c=red:s=32x32 -frames:v 3 -f apng \"$0\"', '{out}']\n",
    );
    let o = sb.run(&["run", "--suite", "img.yaml", "--model", "clip.yaml", "--out", "runs/clip", "--store", "st"]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    let results = String::from_utf8(sb.read("runs/clip/results.json")).unwrap();
    assert!(results.contains("wrote a video of 3 frames, where mode image asks for a picture"), "{results}");
    assert!(!results.contains(&sb.join("st").display().to_string()), "{results}");
}

/// Runs the smoke case physics-drop with the command model `spec` (written as `name`), expects
/// exit 4 (its generations failed), and returns the time taken and every record's error.
fn failing_run(sb: &Sandbox, name: &str, spec: &str) -> (Duration, Vec<String>) {
    sb.write(name, spec);
    let out_dir = format!("runs/{}", name.trim_end_matches(".yaml"));
    let start = Instant::now();
    let out = sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", name, "--out", &out_dir]);
    let took = start.elapsed();
    assert_eq!(code(&out), 4, "{}", text(&out));
    let errors: Vec<String> = jsonl(&sb.join(&format!("{out_dir}/shards/0-of-1/generations.jsonl")))
        .iter()
        .map(|r| r["error"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!errors.is_empty(), "{name}: no generation was recorded");
    (took, errors)
}

#[test]
fn command_adapter_captures_stderr_and_enforces_the_timeout() {
    let sb = Sandbox::new();
    let (_, errors) =
        failing_run(&sb, "fail.yaml", "adapter: command\nargv: [sh, -c, 'echo model exploded >&2; exit 7', '{out}']\n");
    assert!(errors.iter().all(|e| e.contains("model exploded")), "{errors:?}");
    // A program that says its output could not be written for a full disk (an atomic writer
    // removed its partial file, so the disk has room again) stops the run as the disk's failure,
    // exit 5, not the model's (exit 4); a full disk elsewhere (a cache) is the unit's failure.
    sb.write(
        "full.yaml",
        "adapter: command\nargv: [sh, -c, 'echo \"error: $1: writing the trailer failed: No space left on device\" >&2; exit 3', x, '{out}']\n",
    );
    let out =
        sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "full.yaml", "--out", "runs/full"]);
    assert_eq!(code(&out), 5, "{}", text(&out));
    assert!(text(&out).contains("the program reports a full disk: the disk, not the model"), "{}", text(&out));
    let (_, errors) = failing_run(
        &sb,
        "cache.yaml",
        "adapter: command\nargv: [sh, -c, 'echo \"warning: /dev/shm/cache: [Errno 28] No space left on device\" >&2; echo out of memory >&2; exit 1', x, '{out}']\n",
    );
    assert!(errors.iter().all(|e| e.contains("out of memory")), "{errors:?}");
    // The same warning from a program that exits 0 without a video: the adapter's words around
    // it name the output ("wrote no video at {out}; stderr: …"), the program's do not.
    let (_, errors) = failing_run(
        &sb,
        "cache0.yaml",
        "adapter: command\nargv: [sh, -c, 'echo \"warning: /dev/shm/cache: [Errno 28] No space left on device\" >&2; exit 0', x, '{out}']\n",
    );
    assert!(errors.iter().all(|e| e.contains("wrote no video at {out}")), "{errors:?}");
    // Limits far from what waiting would take, so a slow machine cannot fail these checks.
    let spec = "adapter: command\ntimeout_s: 0.3\nargv: [sh, -c, 'sleep 300', x, '{out}']\n";
    let (took, errors) = failing_run(&sb, "slow.yaml", spec);
    assert!(took < Duration::from_secs(120), "the timeout did not stop the program");
    assert!(errors.iter().all(|e| e.contains("timed out")), "{errors:?}");
    // A program that leaves a child holding stderr open, and a chatty one: the run neither waits
    // for the child (the process group is killed) nor holds 30 MB of stderr (only its tail).
    let spec = "adapter: command\nargv: [sh, -c, 'sleep 300 & head -c 30000000 /dev/zero | tr \"\\\\0\" x >&2; echo END-OF-LOG >&2; exit 3', x, '{out}']\n";
    let (took, errors) = failing_run(&sb, "chatty.yaml", spec);
    assert!(took < Duration::from_secs(150), "waited for the program's leftover child");
    for e in &errors {
        assert!(e.contains("END-OF-LOG") && e.len() < 5_000, "{} bytes: {}", e.len(), &e[..200.min(e.len())]);
    }
    let spec = "adapter: command\ntimeout_s: 0.3\nargv: [sh, -c, 'sleep 300 & sleep 300', x, '{out}']\n";
    let (took, errors) = failing_run(&sb, "orphan.yaml", spec);
    assert!(took < Duration::from_secs(150), "the timeout did not stop the process group");
    assert!(errors.iter().all(|e| e.contains("killed with its process group")), "{errors:?}");
    // The spec's environment reaches the program (and only it: a spec's LD_LIBRARY_PATH broke
    // the stub that starts it), PATH included, over a variable videval was started with.
    sb.write(
        "env.yaml",
        "adapter: command\nenv: {GEN_NOTE: 'a=b c', PATH: '/usr/bin:/bin'}\nargv: [sh, -c, 'printf %s \"$GEN_NOTE\" > note.txt; exit 1', x, '{out}']\n",
    );
    let out = sb
        .command(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "env.yaml", "--out", "runs/e"])
        .env("GEN_NOTE", "outer")
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert_eq!(String::from_utf8(sb.read("note.txt")).unwrap(), "a=b c");
    // An executable that is neither a #! script nor a program is not run by a shell (exec's path
    // search did that); an environment name holding '=' is refused with the spec.
    sb.write("noshebang", "echo ran > ran.txt\n");
    let mut perm = std::fs::metadata(sb.join("noshebang")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(sb.join("noshebang"), perm).unwrap();
    let (_, errors) = failing_run(&sb, "ns.yaml", "adapter: command\nargv: [./noshebang, '{out}']\n");
    assert!(errors.iter().all(|e| e.contains("Exec format error")), "{errors:?}");
    assert!(!sb.join("ran.txt").exists(), "run by a shell");
    sb.write("badenv.yaml", "adapter: command\nenv: {'A=B': x}\nargv: [true, '{out}']\n");
    let out =
        sb.run(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "badenv.yaml", "--out", "runs/be"]);
    assert!(code(&out) == 3 && text(&out).contains("a name must be non-empty without '='"), "{}", text(&out));
    // Prompts are passed as one argument each, never interpreted by a shell.
    sb.write(
        "echo.yaml",
        "adapter: command\nargv: [sh, -c, 'printf %s \"$1\" > prompt.txt; exit 1', x, '{prompt}', '{out}']\n",
    );
    let prompt = "$(touch pwned); `touch pwned2`";
    sb.write("inj.yaml", &format!("schema: 1\nsuite: inj\nversion: 1\nmetrics: [frame_count]\ncases: [{{id: a, prompt: \"{prompt}\", seeds: {{per_case: 1}}}}]\n"));
    let out = sb.run(&["run", "--suite", "inj.yaml", "--model", "echo.yaml", "--out", "runs/i"]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert_eq!(String::from_utf8(sb.read("prompt.txt")).unwrap(), prompt);
    assert!(!sb.join("pwned").exists() && !sb.join("pwned2").exists());
    // What the command writes must be a video file of its own: text, a folder or a link is that
    // unit's failure. A child that left the process group (setsid) and holds stderr open is not
    // waited for.
    for (name, script, want) in [
        ("text.yaml", "setsid sleep 30 & echo hello > \"$1\"", "wrote no readable video"),
        ("folder.yaml", "mkdir \"$1\"", "made a folder, not a video file"),
        ("link.yaml", "ln -s /etc/passwd \"$1\"", "wrote a link, not a video file"),
        // A picture is no one-frame video (its frame rate FFmpeg's 25 for pictures).
        (
            "picture.yaml",
            "ffmpeg -v error -f lavfi -i color=red:s=32x32 -frames:v 1 -update 1 -f image2 -c:v png \"$1\"",
            "wrote a picture (png), where mode t2v asks for a video",
        ),
    ] {
        let spec = format!("adapter: command\nargv: [sh, -c, '{script}', x, '{{out}}']\n");
        let (took, errors) = failing_run(&sb, name, &spec);
        assert!(took < Duration::from_secs(100), "{name}: waited for the escaped child");
        assert!(errors.iter().all(|e| e.contains(want)), "{name}: {errors:?}");
    }
    // A clip where a picture was asked is that unit's failure too (it was kept under the
    // store's picture name and refused at scoring); a one-frame clip is a picture.
    for (frames, want) in [(3, Some("wrote a video of 3 frames, where mode image asks for a picture")), (1, None)] {
        sb.write(
            "clip.yaml",
            &format!("adapter: command\nargv: [ffmpeg, -v, error, -y, -f, lavfi, -i, 'color=red:s=32x32:r=8', -frames:v, '{frames}', -c:v, ffv1, -f, matroska, '{{out}}']\n"),
        );
        let dir = format!("runs/img{frames}");
        let out = sb.run(&[
            "run",
            "--suite",
            "capabilities",
            "--cases",
            "still-image",
            "--model",
            "clip.yaml",
            "--out",
            &dir,
        ]);
        let records = jsonl(&sb.join(&format!("{dir}/shards/0-of-1/generations.jsonl")));
        let errors: Vec<&str> = records.iter().filter_map(|r| r["error"].as_str()).collect();
        match want {
            Some(want) => assert!(
                code(&out) == 4 && !errors.is_empty() && errors.iter().all(|e| e.contains(want)),
                "{}",
                text(&out)
            ),
            None => assert!(errors.is_empty(), "{errors:?}: {}", text(&out)),
        }
    }
}

/// A conditioning image the suite makes (a scene's first frame) reaches the command as a PNG,
/// the frame pixel for pixel, and a made clip as a video; both are removed once the command is
/// done. `{input_image}` was a one-frame Matroska file (PIL, imread and diffusers refuse it),
/// and the made files stayed in the store's tmp/ until the next run.
#[test]
fn a_command_gets_a_made_conditioning_image_as_a_png() {
    let sb = Sandbox::new();
    sb.write(
        "cond.yaml",
        "schema: 1\nsuite: cond\nversion: 1\ndefaults: {seeds: {per_case: 1}, generation: {frames: 5, width: 32, height: 32}}\n\
         metrics: [frame_count]\ncases:\n  - id: src\n    prompt: a red ball\n    \
         scene: {objects: [{id: ball, shape: circle, color: red, size: 0.2, pos: [0.5, 0.5]}]}\n  \
         - id: i2v\n    mode: i2v\n    prompt: the red ball\n    input: {image: {scene_of: src, frame: 0}}\n  \
         - id: ext\n    mode: extend-forward\n    prompt: the red ball\n    input: {video: {scene_of: src, frames: [0, 3]}}\n",
    );
    sb.write(
        "keep.yaml",
        "adapter: command\nargv: [sh, -c, 'cp \"$1\" \"$3.image\"; cp \"$2\" \"$3.video\"; echo \"inputs $1 $2\" >&2; echo \"in $(dirname \"$1\") as $(basename \"$1\")\" >&2; exit 1', x, '{input_image}', '{input_video}', '{case_id}', '{out}']\n",
    );
    let out = sb.run(&[
        "run",
        "--suite",
        "cond.yaml",
        "--cases",
        "i2v,ext",
        "--model",
        "keep.yaml",
        "--out",
        "runs/k",
        "--store",
        "st",
    ]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let png = sb.read("i2v.image");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {:?}", &png[..8.min(png.len())]);
    std::fs::rename(sb.join("i2v.image"), sb.join("i2v.png")).unwrap();
    let (rc, v) = sb.run_json(&["video", "info", "i2v.png"]);
    assert_eq!((rc, v["info"]["width"].as_u64(), v["info"]["height"].as_u64()), (0, Some(32), Some(32)), "{v}");
    let mkv = sb.read("ext.video");
    assert!(mkv.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]), "not Matroska");
    let left: Vec<_> = std::fs::read_dir(sb.join("st/tmp"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|n| !n.contains("input-")), "left behind: {left:?}");
    // A file named as it is is passed by its absolute path, as `{out}` is: relative, a program
    // that changed folder lost it, and "-top.png" read as an option.
    let o = sb.run(&["synth", "--prompt", "a red ball", "--frames", "1", "--width", "32", "--out=-top.png"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    sb.write(
        "file.yaml",
        "schema: 1\nsuite: file\nversion: 1\ndefaults: {seeds: {per_case: 1}, generation: {frames: 5, width: 32, height: 32}}\n\
         metrics: [frame_count]\ncases:\n  - id: i2v\n    mode: i2v\n    prompt: the red ball\n    input: {image: {path: -top.png}}\n",
    );
    sb.write(
        "seen.yaml",
        "adapter: command\nargv: [sh, -c, 'printf %s \"$1\" > seen.txt; exit 1', x, '{input_image}', '{out}']\n",
    );
    let o = sb.run(&["run", "--suite", "file.yaml", "--model", "seen.yaml", "--out", "runs/f", "--store", "st"]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    let seen = String::from_utf8(sb.read("seen.txt")).unwrap();
    assert_eq!(Path::new(&seen), sb.join("-top.png").canonicalize().unwrap().as_path(), "{seen}");
    // Its stderr names the made files by their placeholders, the same from any store or run.
    let results = String::from_utf8(sb.read("runs/k/results.json")).unwrap();
    assert!(results.contains("inputs {input_image}"), "{results}");
    assert!(results.contains("in <store>/tmp as {input_image}"), "{results}");
    assert!(results.contains("inputs  {input_video}"), "{results}");
    assert!(!results.contains("/st/tmp/"), "{results}");
}

/// A stored video's error names it inside the store (`<store>/videos/…`), so one failed unit
/// reads the same from every store folder: two stores gave two results.json.
#[test]
fn a_stored_videos_error_does_not_name_the_store_folder() {
    let sb = Sandbox::new();
    let mut errors = Vec::new();
    for store in ["one", "two"] {
        let args = ["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "synthetic", "--store", store];
        let (rc, v) = sb.run_json(&[&args[..], &["--out", &format!("runs/{store}-a")]].concat());
        assert_eq!(rc, 0, "{v}");
        // Damaged in place, keeping its size.
        let mut damaged = 0;
        for shard in std::fs::read_dir(sb.join(store).join("videos")).unwrap().flatten() {
            for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
                let n = std::fs::metadata(f.path()).unwrap().len() as usize;
                std::fs::write(f.path(), vec![7u8; n]).unwrap();
                damaged += 1;
            }
        }
        assert!(damaged > 0);
        // Scored again, not served from the score cache.
        std::fs::remove_dir_all(sb.join(store).join("scores")).unwrap();
        let (rc, v) = sb.run_json(&[&args[..], &["--out", &format!("runs/{store}-b")]].concat());
        assert_ne!(rc, 0, "{v}");
        let results: serde_json::Value =
            serde_json::from_slice(&sb.read(&format!("runs/{store}-b/results.json"))).unwrap();
        let text = results["samples"].to_string();
        assert!(text.contains("<store>/videos/") && text.contains("is damaged"), "{text}");
        assert!(!text.contains(&sb.join(store).display().to_string()), "{text}");
        errors.push(text);
    }
    assert_eq!(errors[0], errors[1]);
}

/// Stopping videval (SIGTERM, or Ctrl-C's SIGINT) stops the generator command it is waiting for:
/// in its own process group, the command would not get the terminal's signal and would run on.
#[test]
fn stopping_videval_stops_the_generator_command() {
    let sb = Sandbox::new();
    sb.write("slow.yaml", "adapter: command\nargv: [sh, -c, 'echo $$ > gen.pid; sleep 300', x, '{out}']\n");
    // Starts `cmd` (videval running slow.yaml) and waits for the generator to write its pid.
    let started = |mut cmd: std::process::Command| {
        let _ = std::fs::remove_file(sb.join("gen.pid"));
        let child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let start = Instant::now();
        while !sb.join("gen.pid").exists() {
            assert!(start.elapsed() < Duration::from_secs(120), "the generator never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        (child, String::from_utf8(sb.read("gen.pid")).unwrap().trim().to_string())
    };
    let signal = |child: &std::process::Child, sig: &str| {
        let ok = std::process::Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig}");
    };
    let alive = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
    };
    let args = ["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "slow.yaml", "--out"];
    let mut plain = sb.command(&args);
    plain.arg("runs/s");
    let (mut child, pid) = started(plain);
    assert!(alive(&pid));
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15), "{status:?}");
    let start = Instant::now();
    while alive(&pid) {
        assert!(start.elapsed() < Duration::from_secs(10), "the generator {pid} runs on after videval stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Started ignoring SIGHUP (nohup), it keeps ignoring it.
    let mut nohup = std::process::Command::new("sh");
    nohup
        .current_dir(sb.path())
        .args(["-c", "trap '' HUP; exec \"$0\" \"$@\"", videval_tests::bin().to_str().unwrap()])
        .args(args)
        .arg("runs/h")
        .env("VIDEVAL_MODEL", "synthetic");
    let (mut child, _) = started(nohup);
    signal(&child, "-HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "a SIGHUP it was started ignoring stopped it");
    signal(&child, "-TERM");
    assert_eq!(child.wait().unwrap().code(), Some(128 + 15));
    // Killed outright (SIGKILL, the OOM killer), videval cannot stop the command; the kernel does
    // (it ran on, holding what it held, beside the rerun's).
    sb.write("slow2.yaml", "adapter: command\nargv: [sh, -c, 'echo $$ > gen.pid; exec sleep 300', x, '{out}']\n");
    let mut killed =
        sb.command(&["run", "--suite", "smoke", "--cases", "physics-drop", "--model", "slow2.yaml", "--out"]);
    killed.arg("runs/k");
    let (mut child, pid) = started(killed);
    signal(&child, "-KILL");
    child.wait().unwrap();
    let start = Instant::now();
    while alive(&pid) {
        assert!(start.elapsed() < Duration::from_secs(10), "the generator {pid} runs on after videval was killed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn exit_codes_follow_the_table() {
    let sb = Sandbox::new();
    assert_eq!(code(&sb.run(&["run", "--suite", "nosuch"])), 3);
    assert_eq!(code(&sb.run(&["run", "--frobnicate"])), 3);
    assert_eq!(code(&sb.run(&["merge", "runs/none"])), 3, "a missing run directory is bad input, as the table says");
    assert_eq!(code(&sb.run(&["--help"])), 0);
    let help = text(&sb.run(&["--help"]));
    assert!(help.contains("4  model failure"), "{help}");
    // Running a different plan into an existing run directory is refused.
    assert_eq!(code(&sb.run(&["run", "--suite", "smoke", "--limit", "1", "--out", "runs/x"])), 0);
    let out = sb.run(&["run", "--suite", "smoke", "--limit", "2", "--out", "runs/x"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("holds plan"), "{}", text(&out));
    // Values at the edges: the largest seed (its scenes' seeds overflowed: a panic, 101), a
    // sampling rate that made a frame count overflow; each an answer from the table.
    let (c, v) = sb.run_json(&["selftest", "--per-family", "1", "--seed", "18446744073709551615"]);
    assert!(c == 0 || c == 1, "{c}: {v}");
    let (c, v) = sb.run_json(&["selftest", "--per-family", "100000000"]);
    assert!(c == 3 && v["error"].as_str().unwrap().contains("at most 100000"), "{c}: {v}");
    assert_eq!(code(&sb.run(&["synth", "--prompt", "a red ball", "--frames", "4", "--out", "a.mp4"])), 0);
    let (c, v) = sb.run_json(&["video", "convert", "a.mp4", "b.mkv", "--frames", "fps:1e300"]);
    assert!(c == 3 && v["error"].as_str().unwrap().contains("at most fps:1000"), "{c}: {v}");
    // A usage error in --json says all of what is wrong (it kept "…were not provided:" only).
    let (c, v) = sb.run_json(&["compare"]);
    assert!(c == 3 && v["error"].as_str().unwrap().contains("<BASELINE>"), "{c}: {v}");
}

#[test]
fn emitted_jobs_ask_their_scheduler_for_the_resources_named() {
    let sb = Sandbox::new();
    let plan = |kind: &str, dir: &str, extra: &[&str]| {
        let mut argv = vec!["plan", "--suite", "smoke", "--num-shards", "2", "--emit", kind, "--emit-dir", dir];
        argv.extend_from_slice(extra);
        sb.run(&argv)
    };
    let emit = |kind: &str, dir: &str, extra: &[&str]| {
        let o = plan(kind, dir, extra);
        assert_eq!(code(&o), 0, "{}", text(&o));
    };
    // Nothing named: the schedulers' defaults, and Slurm's four hours.
    emit("slurm", "s0", &[]);
    let script = String::from_utf8(sb.read("s0/run.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --time=04:00:00\n#SBATCH --output="), "{script}");
    emit("k8s", "k0", &[]);
    let job = String::from_utf8(sb.read("k0/job.yaml")).unwrap();
    assert!(!job.contains("resources:") && !job.contains("activeDeadlineSeconds"), "{job}");
    // -j asks for its CPUs (a task had the scheduler's one CPU while its threads took every core).
    let named = ["-j", "3", "--task-memory", "1.5GiB", "--task-gpus", "2", "--task-time", "1-02:03:04"];
    emit("slurm", "s1", &named);
    let script = String::from_utf8(sb.read("s1/run.sbatch")).unwrap();
    for line in [
        "#SBATCH --time=1-02:03:04\n",
        "#SBATCH --cpus-per-task=3\n",
        "#SBATCH --mem=1536M\n",
        "#SBATCH --gres=gpu:2\n",
        "--jobs=3",
    ] {
        assert!(script.contains(line), "{line} missing from\n{script}");
    }
    emit("k8s", "k1", &named);
    let job = String::from_utf8(sb.read("k1/job.yaml")).unwrap();
    // Both documents are YAML, and the pod asks for what was named.
    let docs: Vec<serde_json::Value> = job
        .split("\n---\n")
        .map(|d| videval::yaml::to_json(&videval::yaml::parse("job.yaml", d).unwrap_or_else(|e| panic!("{e}\n{d}"))))
        .collect();
    assert_eq!(docs.len(), 2, "{job}");
    let pod = &docs[0]["spec"]["template"]["spec"];
    assert_eq!(pod["activeDeadlineSeconds"], 93_784, "{job}");
    let resources = &pod["containers"][0]["resources"];
    assert_eq!(resources["requests"]["cpu"], "3", "{job}");
    assert_eq!(resources["requests"]["memory"], "1536Mi", "{job}");
    assert_eq!(resources["limits"]["memory"], "1536Mi", "{job}");
    assert_eq!(resources["limits"]["nvidia.com/gpu"], 2, "{job}");
    // An eviction or preemption does not spend a shard's retries.
    let rules = docs[0]["spec"]["podFailurePolicy"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["action"] == "Ignore" && r["onPodConditions"][0]["type"] == "DisruptionTarget"));
    // Other spellings of a time, and what is refused.
    emit("slurm", "s2", &["--task-time", "90m"]);
    assert!(String::from_utf8(sb.read("s2/run.sbatch")).unwrap().contains("#SBATCH --time=01:30:00\n"));
    for bad in ["0s", "4x", "1:60:00", "h", "400d", "-5m"] {
        let o = plan("slurm", "sx", &[&format!("--task-time={bad}")]);
        assert!(code(&o) == 3 && text(&o).contains("--task-time"), "{bad}: {}", text(&o));
    }
    // A number without a unit is bytes: Slurm's megabytes asked for 63 KiB. Terabytes are sizes.
    let o = plan("slurm", "sm", &["--task-memory", "64000"]);
    assert!(code(&o) == 3 && text(&o).contains("under the 64 MiB"), "{}", text(&o));
    emit("slurm", "s3", &["--task-memory", "2TiB"]);
    assert!(String::from_utf8(sb.read("s3/run.sbatch")).unwrap().contains("#SBATCH --mem=2097152M\n"));
    // Resources without --emit ask nothing of anyone: refused.
    let o = sb.run(&["plan", "--suite", "smoke", "--task-gpus", "1"]);
    assert!(code(&o) == 3 && text(&o).contains("--emit"), "{}", text(&o));
}

#[test]
fn emitted_slurm_scripts_run_the_shards_and_merge() {
    let sb = Sandbox::new();
    // `plan --suite smoke ARGS…`, as most checks below run it.
    let plan_smoke = |args: &[&str]| {
        let mut argv = vec!["plan", "--suite", "smoke"];
        argv.extend_from_slice(args);
        sb.run(&argv)
    };
    let out = plan_smoke(&["--num-shards", "3", "--out", "runs/s", "--emit", "slurm", "--emit-dir", "jobs"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let script = String::from_utf8(sb.read("jobs/run.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-2%3") && script.contains("--requeue"), "{script}");
    assert!(String::from_utf8(sb.read("jobs/submit.sh")).unwrap().contains("--dependency=afterany"));
    // Play the scheduler: every array task with its index, then the merge job.
    let array = |script: &str, tasks: u32| {
        for k in 0..tasks {
            let o = std::process::Command::new("bash")
                .arg(script)
                .current_dir(sb.path())
                .env("SLURM_ARRAY_TASK_ID", k.to_string())
                .output()
                .unwrap();
            assert!(o.status.success(), "{script} task {k}: {}", text(&o));
        }
    };
    array("jobs/run.sbatch", 3);
    let o = std::process::Command::new("bash").arg("jobs/merge.sbatch").current_dir(sb.path()).output().unwrap();
    assert!(o.status.success(), "merge: {}", text(&o));
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/s/results.json")).unwrap();
    assert_eq!(results["complete"], true);
    let out = plan_smoke(&["--num-shards", "3", "--emit", "k8s", "--emit-dir", "k8s"]);
    assert_eq!(code(&out), 0);
    let job = String::from_utf8(sb.read("k8s/job.yaml")).unwrap();
    for needle in [
        "completionMode: Indexed",
        "backoffLimitPerIndex: 2",
        "values: [3]",
        "completions: 3",
        "\"--num-shards=3\"",
        // The pods' paths: the run folder and the store on the shared volume.
        "\"--store=/runs/store\"",
        "\"--out=/runs/",
        "\"merge\",\"--\",\"/runs/",
    ] {
        assert!(job.contains(needle), "{needle} missing from\n{job}");
    }
    // A networks folder named by the environment reaches the jobs as --weights, as the flag does
    // (the pods never see this shell's environment).
    std::fs::create_dir_all(sb.join("nets")).unwrap();
    let o = sb
        .command(&["plan", "--suite", "smoke", "--num-shards", "2", "--emit", "slurm", "--emit-dir", "jnets"])
        .env("VIDEVAL_NETWORKS", sb.join("nets"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let script = String::from_utf8(sb.read("jnets/run.sbatch")).unwrap();
    assert!(script.contains(&format!("--weights={}", sb.join("nets").display())), "{script}");
    // Without --out the jobs write to the folder `plan` names (theirs was spelt otherwise:
    // runs/bundled-tiny-l-v2-… for `plan`'s runs/bundled_tiny-l-v2-…).
    let said = text(&plan_smoke(&[]));
    let dir = said.lines().find_map(|l| l.strip_prefix("run dir: ")).unwrap_or_else(|| panic!("{said}"));
    assert!(script.contains(&format!("--out={}", sb.join(dir).display())), "{dir} not in\n{script}");
    let o = plan_smoke(&["--num-shards", "3", "--emit", "k8s", "--emit-dir", "k8s0", "--image", " "]);
    assert!(code(&o) == 3 && text(&o).contains("--image: empty"), "{}", text(&o));
    // A folder of videos named relative to here is named absolute in the jobs (they run in their
    // own folder); a '%' Slurm would read as a pattern in the log path is refused.
    std::fs::create_dir_all(sb.join("vids")).unwrap();
    let o = plan_smoke(&[
        "--model",
        "dir:vids",
        "--num-shards",
        "2",
        "--out",
        "runs/v",
        "--emit",
        "slurm",
        "--emit-dir",
        "jv",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let script = String::from_utf8(sb.read("jv/run.sbatch")).unwrap();
    assert!(script.contains(&format!("dir:{}", sb.join("vids").display())), "{script}");
    let o = plan_smoke(&["--num-shards", "2", "--out", "runs/p%jx", "--emit", "slurm", "--emit-dir", "jp"]);
    assert!(code(&o) == 3 && text(&o).contains("'%'"), "{}", text(&o));
    // A '#' is a comment to Slurm's #SBATCH parser: the logs went to the path cut there.
    let o = plan_smoke(&["--num-shards", "2", "--out", "runs/exp#3", "--emit", "slurm", "--emit-dir", "jh"]);
    assert!(code(&o) == 3 && text(&o).contains("'#'"), "{}", text(&o));
    // The jobs run where `plan` ran, so a command spec's script is found and hashed as planned
    // (they ran in the job files' folder: another plan, and every unit failed); a bundled suite's
    // name stays a name even beside a folder of that name; a case id starting with '-' is the
    // flag's value; a folder holding a comma is refused for --suite.
    std::fs::create_dir_all(sb.join("smoke")).unwrap();
    sb.write("gen.sh", "cp \"$2\" \"$1\"\n");
    sb.write("cmd.yaml", "adapter: command\nargv: [sh, gen.sh, '{out}', src.mkv]\n");
    let o = sb.run(&[
        "synth",
        "--prompt",
        "a red ball",
        "--frames",
        "4",
        "--width",
        "16",
        "--height",
        "16",
        "--out",
        "src.mkv",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let (rc, planned) = sb.run_json(&["plan", "--suite", "smoke", "--model", "cmd.yaml", "--cases", "physics-drop"]);
    assert_eq!(rc, 0, "{planned}");
    let o = plan_smoke(&[
        "--model",
        "cmd.yaml",
        "--cases",
        "physics-drop",
        "--num-shards",
        "1",
        "--out",
        "runs/c",
        "--emit",
        "slurm",
        "--emit-dir",
        "jc",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let script = String::from_utf8(sb.read("jc/run.sbatch")).unwrap();
    assert!(script.contains("--suite=smoke ") && script.contains("--cases=physics-drop"), "{script}");
    let elsewhere = tempfile::tempdir().unwrap();
    let o = std::process::Command::new("bash")
        .arg(sb.join("jc/run.sbatch"))
        .current_dir(elsewhere.path())
        .env("SLURM_ARRAY_TASK_ID", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "run.sbatch from elsewhere: {}", text(&o));
    let plan: serde_json::Value = serde_json::from_slice(&sb.read("runs/c/plan.json")).unwrap();
    assert_eq!(plan["plan_hash"], planned["plan"]["plan_hash"], "the jobs ran the plan `plan` made");
    std::fs::create_dir_all(sb.join("a,b")).unwrap();
    sb.write("a,b/s.yaml", &String::from_utf8(sb.read("cmd.yaml")).unwrap());
    let o = sb.run(&["plan", "--suite", "a,b/s.yaml", "--num-shards", "1", "--emit", "slurm", "--emit-dir", "jcomma"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    // No task at a time is no run; a run folder and a store of one name are one folder to pods.
    let o = plan_smoke(&["--num-shards", "2", "--emit", "slurm", "--emit-dir", "jt", "--throttle", "0"]);
    assert!(code(&o) == 3 && text(&o).contains("--throttle 0"), "{}", text(&o));
    let o = plan_smoke(&[
        "--num-shards",
        "2",
        "--emit",
        "k8s",
        "--emit-dir",
        "jk",
        "--out",
        "x/results",
        "--store",
        "y/results",
    ]);
    assert!(code(&o) == 3 && text(&o).contains("both map to /runs/results"), "{}", text(&o));
    // A long model name still gives Kubernetes names of at most 63 characters (a 37-character
    // name made the merge Job's 64), lowercase, a letter or digit at each end.
    sb.write(
        "long.yaml",
        "adapter: command\nname: _Stable-Video-Diffusion img2vid XT 1.1 (our fine-tune, v7)_\nargv: [gen, \"{out}\"]\n",
    );
    let out = plan_smoke(&["--model", "long.yaml", "--num-shards", "2", "--emit", "k8s", "--emit-dir", "k8s-long"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let job = String::from_utf8(sb.read("k8s-long/job.yaml")).unwrap();
    let names: Vec<&str> = job.lines().filter_map(|l| l.trim().strip_prefix("name: videval-")).collect();
    assert_eq!(names.len(), 2, "{job}");
    for n in names {
        let full = format!("videval-{n}");
        let ok = full.len() <= 63
            && full.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && full.ends_with(|c: char| c.is_ascii_alphanumeric());
        assert!(ok && full.starts_with("videval-stable-video-diffusion-img2vid-x"), "{full}");
    }
    // A 300-character model name gives a run folder the file system takes (it was refused as
    // too long, exit 5).
    sb.write(
        "l300.yaml",
        &format!("adapter: command\nname: {}\nargv: [sh, -c, 'exit 1', x, \"{{out}}\"]\n", "m".repeat(300)),
    );
    let out = sb.run(&["run", "--suite", "smoke", "--model", "l300.yaml", "--limit", "1"]);
    assert_eq!(code(&out), 4, "every unit fails: {}", text(&out));
    let runs: Vec<String> = std::fs::read_dir(sb.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(runs.iter().any(|r| r.starts_with(&"m".repeat(96)) && r.len() == 96 + 13), "{runs:?}");
    // Values land quoted for where they go: a newline in the image cannot add YAML keys, a quote
    // in a suite path cannot break the manifest, `$(…)` in a path is never run by the scripts;
    // a run folder Slurm's #SBATCH lines cannot hold is refused.
    sb.write(
        "we\"ird $(touch pwned).yaml",
        "schema: 1\nsuite: w\nversion: 1\nmetrics: [frame_count]\ncases: [{id: a, prompt: x}]\n",
    );
    let image = "busybox\n          securityContext: {privileged: true}";
    let suite = "we\"ird $(touch pwned).yaml";
    let o = sb.run(&[
        "plan",
        "--suite",
        suite,
        "--num-shards",
        "2",
        "--emit",
        "k8s",
        "--emit-dir",
        "k8s2",
        "--image",
        image,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let job = String::from_utf8(sb.read("k8s2/job.yaml")).unwrap();
    assert!(!job.contains("\n          securityContext") && job.contains("busybox\\n"), "{job}");
    assert!(job.contains("we\\\"ird"), "{job}");
    // Kubernetes would expand `$(touch pwned)` from the container's environment (and read `$$`
    // as `$`): each `$` is written `$$`, which it reads back as the path.
    assert!(job.contains("ird $$(touch pwned).yaml") && !job.contains("ird $(touch"), "{job}");
    let o = sb.run(&[
        "plan",
        "--suite",
        suite,
        "--num-shards",
        "2",
        "--out",
        "runs/w",
        "--emit",
        "slurm",
        "--emit-dir",
        "j2",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    array("j2/run.sbatch", 2);
    assert!(!sb.join("pwned").exists());
    let o = plan_smoke(&["--num-shards", "2", "--out", "runs/a b", "--emit", "slurm", "--emit-dir", "j3"]);
    assert!(code(&o) == 3 && text(&o).contains("#SBATCH lines cannot hold"), "{}", text(&o));
    assert_eq!(code(&plan_smoke(&["--emit", "slurm", "--emit-dir", "x"])), 3, "N must be explicit");
}

/// A sweep's spec is checked before any of its runs (hours for a real ladder): a misspelt target,
/// a suite it does not run, a checkpoint without the val_loss a target needs, compute that is not
/// a positive number, a name that would leave the output folder, a missing model spec or
/// `--previous` file — each refused at once, and nothing is run or written.
#[test]
fn a_sweep_spec_is_checked_before_anything_runs() {
    let sb = Sandbox::new();
    sb.write("m.yaml", "adapter: synthetic\n");
    let head = "schema: 1\nname: s\nsuites: [smoke]\nlimit: 1\n";
    let ok = "checkpoints:\n  - {name: a, model: m.yaml, flops: 1.0e12, val_loss: 1.0}\n  - {name: b, model: m.yaml, flops: 4.0e12, val_loss: 0.9}\n";
    for (body, want) in [
        (format!("targets: [bogus]\n{ok}"), "target \"bogus\": expected val_loss or SUITE/METRIC"),
        (format!("targets: [physics/warping_error]\n{ok}"), "the sweep runs no suite \"physics\""),
        (format!("targets: [smoke/warping_eror]\n{ok}"), "suite smoke does not score warping_eror"),
        (
            "targets: [val_loss]\ncheckpoints:\n  - {name: a, model: m.yaml, flops: 1.0e12}\n".to_string(),
            "checkpoint a has no val_loss",
        ),
        (
            "targets: [val_loss]\ncheckpoints:\n  - {name: a, model: m.yaml, flops: .nan, val_loss: 1.0}\n".into(),
            "flops NaN: expected a positive number from 1e-12 to 1e40",
        ),
        (
            // Beyond what the fits hold in f64 (1e305 wrote a scaling.json of nulls).
            "targets: [val_loss]\ncheckpoints:\n  - {name: a, model: m.yaml, flops: 1.0e305, val_loss: 1.0}\n".into(),
            "flops 1e305: expected a positive number from 1e-12 to 1e40",
        ),
        (
            "targets: [val_loss]\ncheckpoints:\n  - {name: ../../out, model: m.yaml, flops: 1.0, val_loss: 1.0}\n"
                .into(),
            "checkpoint name \"../../out\"",
        ),
        (
            // A folder name the file system refuses (it failed after the other checkpoints ran).
            format!(
                "targets: [val_loss]\ncheckpoints:\n  - {{name: {}, model: m.yaml, flops: 1.0, val_loss: 1.0}}\n",
                "c".repeat(300)
            ),
            "or empty, at most 128 bytes",
        ),
        (
            "targets: [val_loss]\ncheckpoints:\n  - {name: a, model: gone.yaml, flops: 1.0, val_loss: 1.0}\n".into(),
            "gone.yaml: no such file",
        ),
        (
            "targets: [smoke/frame_count]\ncheckpoints:\n  - {name: a, model: \"dir:nowhere\", flops: 1.0}\n".into(),
            "nowhere is not a folder (paths are read from the spec's folder)",
        ),
        (
            // A model string that names no model was found when its turn came.
            "targets: [smoke/frame_count]\ncheckpoints:\n  - {name: a, model: dir, flops: 1.0}\n".into(),
            "checkpoint a: model dir: adapter dir needs path",
        ),
    ] {
        sb.write("sweep.yaml", &format!("{head}{body}"));
        let o = sb.run(&["sweep", "sweep.yaml", "--out", "sw"]);
        assert!(code(&o) == 3 && text(&o).contains(want), "{want}: {}", text(&o));
        assert!(!sb.join("sw").exists(), "{want}: nothing written");
    }
    sb.write("sweep.yaml", &format!("{head}targets: [val_loss]\n{ok}"));
    let o = sb.run(&["sweep", "sweep.yaml", "--out", "sw", "--previous", "nowhere/scaling.json"]);
    assert!(code(&o) == 3 && text(&o).contains("no such file"), "{}", text(&o));
    assert!(!sb.join("sw").exists());
    // A night where no checkpoint ran (their folders hold no video) keeps the last night that
    // measured something: written over, the next night had nothing to compare and passed.
    std::fs::create_dir_all(sb.join("empty")).unwrap();
    sb.write(
        "sweep.yaml",
        &format!(
            "{head}targets: [smoke/frame_count]\ncheckpoints:\n  - {{name: a, model: \"dir:empty\", flops: 1.0}}\n"
        ),
    );
    sb.write("sw/scaling.json", "last night");
    let o = sb.run(&["sweep", "sweep.yaml", "--out", "sw"]);
    assert!(code(&o) == 4 && text(&o).contains("no checkpoint ran tonight"), "{}", text(&o));
    assert_eq!(sb.read("sw/scaling.json"), b"last night");
}

/// One checkpoint whose run fails does not lose the night: the others run, the fits are made
/// without it, the pages are written and name it, and the sweep exits 4 (it stopped at the
/// failure, with no scaling.json, leaving last night's pages in place). The spec's paths are
/// read from its folder, wherever the sweep is started.
#[test]
fn a_failing_checkpoint_is_left_out_and_the_night_is_written() {
    let sb = Sandbox::new();
    sb.write("night/ok.yaml", "adapter: synthetic\n");
    sb.write("night/bad.yaml", "adapter: command\nargv: [sh, -c, 'echo broken >&2; exit 3', x, '{out}']\n");
    // Each with its size and validation loss for L(N, D), which must leave the failed one out too.
    let ckpt = |name: &str, model: &str, flops: f64| {
        format!(
            "  - {{name: {name}, model: {model}, flops: {flops:e}, params: {:e}, samples: 1e6, val_loss: {}}}\n",
            flops / 6e6,
            1.0 + 1e6 / flops
        )
    };
    let spec = format!(
        "schema: 1\nname: n\nsuites: [smoke]\nlimit: 1\ntargets: [smoke/temporal_flicker, val_loss]\ncheckpoints:\n{}{}{}{}",
        ckpt("a", "ok.yaml", 1e12),
        ckpt("b", "bad.yaml", 2e12),
        ckpt("c", "ok.yaml", 4e12),
        ckpt("d", "ok.yaml", 8e12)
    );
    sb.write("night/sweep.yaml", &spec);
    let o = sb.run(&["sweep", "night/sweep.yaml", "--out", "sw"]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(text(&o).contains("FAILED  checkpoint b: its run ended with exit code 4"), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&sb.read("sw/scaling.json")).unwrap();
    let points: Vec<&str> =
        v["fits"][0]["points"].as_array().unwrap().iter().map(|p| p["checkpoint"].as_str().unwrap()).collect();
    assert_eq!(points, ["a", "c", "d"], "{v}");
    let nd: Vec<&str> = v["nd"]["points"].as_array().unwrap().iter().map(|p| p[0].as_str().unwrap()).collect();
    assert_eq!(nd, ["a", "c", "d"], "{v}");
    let html = String::from_utf8(sb.read("sw/scaling.html")).unwrap();
    assert!(html.contains("Failed checkpoints") && html.contains("checkpoint b"), "the page names it");
    // A second sweep into the folder while one runs is refused at once (an overlapping nightly
    // job ran beside the first, and each failed the checkpoints the other held).
    let lock = std::fs::OpenOptions::new().write(true).open(sb.join("sw/.lock")).unwrap();
    lock.lock().unwrap();
    let o = sb.run(&["sweep", "night/sweep.yaml", "--out", "sw"]);
    assert!(code(&o) == 3 && text(&o).contains("another videval is running a sweep into this folder"), "{}", text(&o));
    drop(lock);
    // A killed writer's half-written page is swept by the next sweep.
    let host = {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let ns: String = std::fs::read_link("/proc/self/ns/pid")
            .unwrap()
            .to_string_lossy()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let part = format!("{}-{ns}", name.trim());
        part.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect::<String>()
    };
    let leftover = sb.join(&format!("sw/.scaling.html.{host}.4194303.0.tmp"));
    std::fs::write(&leftover, "half a page").unwrap();
    let o = sb.run(&["sweep", "night/sweep.yaml", "--out", "sw"]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(!leftover.exists(), "the killed writer's page is still there");
}

/// Damage around a run: a stored video changed since it was generated is never scored as the
/// original (its numbers would be cached under the original's hash); a store moved elsewhere is
/// reused, not regenerated; a second process on a running shard, or a run with another shard
/// count, is refused before any work; a merge of records cut short or edited is not complete.
#[test]
fn a_damaged_store_or_run_folder_is_never_merged_as_whole() {
    let sb = Sandbox::new();
    let run = |out: &str, store: &str, extra: &[&str]| {
        let o = sb
            .command(&["run", "--suite", "smoke", "--limit", "2", "--store", store, "--out", out])
            .args(extra)
            .output()
            .unwrap();
        (code(&o), text(&o))
    };
    let results =
        |out: &str| -> serde_json::Value { serde_json::from_slice(&sb.read(&format!("{out}/results.json"))).unwrap() };
    assert_eq!(run("runs/1", "s", &[]).0, 0);
    let reference = results("runs/1");
    let sample = &reference["samples"][0];
    let digits = sample["video_sha256"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let stored = std::fs::read_dir(sb.join("s/videos").join(&digits[..2]))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_stem().is_some_and(|s| s.to_string_lossy() == digits))
        .unwrap();
    let good = std::fs::read(&stored).unwrap();
    // The same size, other bytes, no cached scores: the unit's measurements fail, naming why.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&stored, &bad).unwrap();
    std::fs::remove_dir_all(sb.join("s/scores")).unwrap();
    let (c, out) = run("runs/2", "s", &[]);
    assert_eq!(c, 4, "{out}");
    let r = results("runs/2");
    let hit = r["samples"].as_array().unwrap().iter().find(|s| s["video_sha256"] == sample["video_sha256"]).unwrap();
    let why = hit["metric_errors"].as_object().unwrap().values().next().unwrap().as_str().unwrap();
    assert!(why.contains("is damaged: it is no longer the video generated"), "{why}");
    // The store no longer offers the damaged copy: the next run generates the video again, the
    // good copy replaces the damaged one, and nothing wrong was cached (every run reused the
    // damaged copy, and failed, for ever).
    assert_eq!(run("runs/3", "s", &[]).0, 0);
    assert_eq!(results("runs/3")["samples"], reference["samples"]);
    assert_eq!(std::fs::read(&stored).unwrap(), good);
    // Cut short: generated again, and the good copy replaces the damaged one.
    std::fs::write(&stored, &good[..good.len() / 3]).unwrap();
    assert_eq!(run("runs/4", "s", &[]).0, 0);
    assert_eq!(std::fs::read(&stored).unwrap(), good);
    // Moved: every video is found in the store where it is now.
    std::fs::rename(sb.join("s"), sb.join("moved")).unwrap();
    let (c, out) = run("runs/5", "moved", &["--json"]);
    assert_eq!(c, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out[..out.rfind('}').unwrap() + 1]).unwrap();
    assert_eq!((v["counts"]["generated"].as_u64(), v["counts"]["reused"].as_u64()), (Some(0), Some(4)), "{v}");
    // A shard another process holds; another shard count.
    std::fs::create_dir_all(sb.join("runs/1/shards/0-of-1")).unwrap();
    let lock = std::fs::File::create(sb.join("runs/1/shards/0-of-1/.lock")).unwrap();
    lock.lock().unwrap();
    let (c, out) = run("runs/1", "moved", &[]);
    assert!(c == 3 && out.contains("another videval is running this shard"), "{out}");
    drop(lock);
    let (c, out) = run("runs/1", "moved", &["--shard", "0", "--num-shards", "2"]);
    assert!(c == 3 && out.contains("split into 1 shard(s)"), "{out}");
    // A value edited after the shard finished (the same records, one number changed): not
    // merged as complete. Only the count of records was checked, and the edit was merged.
    let scores = sb.join("runs/1/shards/0-of-1/scores.jsonl");
    let text_ = std::fs::read_to_string(&scores).unwrap();
    let at = text_.find("\"value\":").unwrap() + "\"value\":".len();
    std::fs::write(&scores, format!("{}1234.5,{}", &text_[..at], &text_[at..][text_[at..].find(',').unwrap() + 1..]))
        .unwrap();
    let o = sb.run(&["merge", "runs/1"]);
    assert!(code(&o) == 3 && text(&o).contains("changed after it finished"), "{}", text(&o));
    std::fs::write(&scores, &text_).unwrap();
    assert_eq!(code(&sb.run(&["merge", "runs/1"])), 0);
    // Records cut short after the shard finished: not merged as complete.
    let half: Vec<&str> = text_.lines().take(text_.lines().count() / 2).collect();
    std::fs::write(&scores, half.join("\n") + "\n").unwrap();
    let o = sb.run(&["merge", "runs/1"]);
    assert!(code(&o) == 3 && text(&o).contains("shard_done.json counted"), "{}", text(&o));
    let o = sb.run(&["merge", "runs/1", "--allow-partial"]);
    assert!(text(&o).contains("PARTIAL"), "{}", text(&o));
    assert_eq!(results("runs/1")["complete"], false);
    // A record saying ok without a value.
    let mut rec: serde_json::Value = half
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["status"] == "ok")
        .expect("an ok record");
    rec["value"] = serde_json::Value::Null;
    std::fs::write(&scores, format!("{rec}\n")).unwrap();
    let o = sb.run(&["merge", "runs/1", "--allow-partial"]);
    assert!(code(&o) == 3 && text(&o).contains("status ok without a finite value"), "{}", text(&o));
}

/// A disk that fills while a video is written stops the run with exit 5, naming the file and
/// the disk: it was recorded as the model's failure (exit 4), and `compare` failed the model's
/// gate on it. A rerun with room finishes, with the results of a run that never failed. The
/// file-size limit (`ulimit -f`, SIGXFSZ ignored so that writes fail with EFBIG) stands in for
/// the full disk: the store's videos are larger than the limit.
#[test]
fn a_full_disk_stops_the_run_and_a_rerun_with_room_finishes() {
    let sb = Sandbox::new();
    let args = ["run", "--suite", "smoke", "--limit", "2", "--store", "s", "--out", "runs/full"];
    let o = std::process::Command::new("sh")
        .current_dir(sb.path())
        .args(["-c", "trap '' XFSZ; ulimit -f 16; exec \"$@\"", "sh"])
        .arg(videval_tests::bin())
        .args(args)
        .env("VIDEVAL_MODEL", "synthetic")
        .output()
        .unwrap();
    assert_eq!(code(&o), 5, "{}", text(&o));
    assert!(text(&o).contains("File too large (the disk, not the video)"), "{}", text(&o));
    let records = jsonl(&sb.join("runs/full/shards/0-of-1/generations.jsonl"));
    assert!(records.iter().all(|r| r["status"] == "ok"), "no unit blamed on the model: {records:?}");
    let o = sb.run(&args);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = sb.run(&["run", "--suite", "smoke", "--limit", "2", "--store", "clean", "--out", "runs/clean"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(sb.read("runs/full/results.json"), sb.read("runs/clean/results.json"));
}

/// The inline budget goes to every case's filmstrip before any clip (a VBench-size page spent
/// most of it on clips it only links to and sent 70% of its filmstrips to files).
#[test]
fn filmstrips_are_inlined_before_clips() {
    let sb = Sandbox::new();
    let o = sb.run(&["run", "--suite", "smoke", "--limit", "6", "--out", "runs/r"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let report = |budget: &str, out: &str| {
        let o = sb
            .command(&["report", "runs/r", "--out", out])
            .env("VIDEVAL_REPORT_INLINE_BYTES", budget)
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", text(&o));
    };
    report("0", "runs/r/files.html");
    let media = sb.join("runs/r/files_media");
    let size = |ext: &str| -> u64 {
        std::fs::read_dir(&media)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum()
    };
    let (strips, clips) = (size("png"), size("mp4"));
    assert!(strips > 0 && clips > 0, "{strips} {clips}");
    report(&strips.to_string(), "runs/r/strips.html");
    let html = String::from_utf8(sb.read("runs/r/strips.html")).unwrap();
    let posters = html.matches("class=\"poster\"").count();
    assert!(
        posters > 0 && html.matches("src=\"data:image&#x2f;png;base64,").count() == posters,
        "every filmstrip inline"
    );
    assert!(!html.contains("data:video"), "no clip inline: the budget was the filmstrips'");
}

/// A conditioning path spelt with `./` names the same file, so the same generation: the store
/// made the video again for `./in/x.png` beside `in/x.png`.
#[test]
fn a_conditioning_path_spelt_two_ways_is_one_generation() {
    let sb = Sandbox::new();
    let o = sb.run(&["synth", "--prompt", "a red ball", "--frames", "1", "--width", "32", "--out", "in/x.png"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let key = |path: &str| {
        sb.write(
            "s.yaml",
            &format!(
                "schema: 1\nsuite: s\nversion: 1\ndefaults: {{seeds: {{per_case: 1}}, generation: {{frames: 5, width: 32, height: 32}}}}\ncases:\n  - id: a\n    mode: i2v\n    prompt: the ball\n    input: {{image: {{path: {path}}}}}\n"
            ),
        );
        let (rc, v) = sb.run_json(&["plan", "--suite", "s.yaml", "--model", "bundled"]);
        assert_eq!(rc, 0, "{v}");
        v["plan"]["units"][0]["gen_key"].as_str().unwrap().to_string()
    };
    assert_eq!(key("in/x.png"), key("./in/x.png"));
    assert_eq!(key("in/x.png"), key("in//x.png"));
}
