//! `videval compare`: paired comparisons and the regression gate's exit codes.

use videval_tests::{Sandbox, code, text};

#[test]
fn a_real_regression_fails_the_gate_and_self_comparison_passes() {
    let sb = Sandbox::new();
    for (model, out) in [("world", "runs/oracle"), ("synthetic", "runs/disc")] {
        let o = sb.run(&["run", "--suite", "left_right", "--model", model, "--out", out]);
        assert!(code(&o) == 0, "{}", text(&o));
    }
    // The disc generator cannot place two objects: sign-correct positions regress.
    let (rc, v) = sb.run_json(&["compare", "runs/oracle", "runs/disc"]);
    assert_eq!(rc, 1, "{v}");
    let row = v["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "probe:position").unwrap();
    assert_eq!(row["verdict"], "regressed", "{row}");
    // Every case lost its position check alike: a difference with no spread has no interval
    // (never a zero-width one), and the verdict stands on the difference itself.
    assert!(row["delta"].as_f64().unwrap() < 0.0 && row["p_adj"].as_f64().unwrap() < 0.05, "{row}");
    assert!(
        row["ci"][1].as_f64().is_some_and(|hi| hi < 0.0)
            || (row["ci"].is_null() && row["ci_note"].as_str().unwrap().contains("cases equal")),
        "{row}"
    );
    assert_eq!(v["unpaired"], 0);
    // Every seed written is one a JSON reader holds exactly (53 bits; 60-bit seeds were rounded
    // by JavaScript's, and a row's draws could not be made again from its seed).
    let exact = |s: &serde_json::Value| s.as_u64().is_some_and(|s| s < 1 << 53);
    let rows = v["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| r.get("seed").is_none_or(exact)) && rows.iter().any(|r| r.get("seed").is_some()),
        "{v}"
    );
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/disc/results.json")).unwrap();
    let seeds: Vec<&serde_json::Value> = results["suites"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|s| s["metrics"].as_object().unwrap().values())
        .filter_map(|m| m.get("rng_seed"))
        .collect();
    assert!(!seeds.is_empty() && seeds.iter().all(|s| exact(s)), "{seeds:?}");
    let junit = String::from_utf8(sb.read("runs/disc/compare/oracle.junit.xml")).unwrap();
    assert!(junit.contains("name=\"probe:position\"><failure"), "{junit}");
    let html = String::from_utf8(sb.read("runs/disc/compare/oracle.html")).unwrap();
    assert!(html.contains("Gate: FAIL") && html.contains("class=\"chip regressed\"") && html.contains("<circle"));
    assert!(
        html.contains("Largest paired drops") && html.contains("data:image&#x2f;png;base64,"),
        "side-by-side filmstrips"
    );
    // Each drop names what got worse, metric by metric (it was one sum in mixed units).
    assert!(html.contains("worse: probe:position 1.000 → 0.000"), "the gallery names the metric");
    let md = String::from_utf8(sb.read("runs/disc/compare/oracle.md")).unwrap();
    assert!(md.contains("| left_right | probe:position |") && md.contains("REGRESSED"));
    // The other way round it is an improvement, and a run against itself changes nothing.
    let (rc, v) = sb.run_json(&["compare", "runs/disc", "runs/oracle"]);
    let row = v["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "probe:position").unwrap();
    assert_eq!(row["verdict"], "improved", "{row}");
    assert_eq!(rc, if v["rows"].as_array().unwrap().iter().any(|r| r["verdict"] == "regressed") { 1 } else { 0 });
    let (rc, v) = sb.run_json(&["compare", "runs/oracle", "runs/oracle"]);
    assert_eq!(rc, 0);
    assert!(v["rows"].as_array().unwrap().iter().all(|r| r["delta"] == 0.0 && r["verdict"] != "regressed"));

    // A policy gating only motion passes (position is reported, not gated)…
    sb.write("motion.yaml", "metrics: [probe:motion]\nalpha: 0.05\n");
    let (rc, v) = sb.run_json(&["compare", "runs/oracle", "runs/disc", "--gate", "motion.yaml"]);
    assert_eq!(rc, 0, "{v}");
    let row = v["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "probe:position").unwrap();
    assert_eq!(row["verdict"], "reported");
    // …a non-inferiority gate on position with a 0.5 margin fails: the CI is far below −0.5…
    sb.write("ni.yaml", "metrics: [probe:position]\nmargins: {probe:position: 0.5}\nmode: non_inferiority\n");
    let (rc, v) = sb.run_json(&["compare", "runs/oracle", "runs/disc", "--gate", "ni.yaml"]);
    assert_eq!(rc, 1, "{v}");
    assert_eq!(v["mode"], "non_inferiority");
    // It is "not shown" (non-inferior) in every output, with why.
    let row = v["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "probe:position").unwrap();
    assert_eq!(row["verdict"], "not_shown", "{row}");
    assert!(row["why"].as_str().unwrap().starts_with("not shown non-inferior: "), "{row}");
    assert!(v["headline"].as_str().unwrap().contains("not shown non-inferior"), "{v}");
    let md = String::from_utf8(sb.read("runs/disc/compare/oracle.md")).unwrap();
    assert!(md.contains("NOT SHOWN non-inferior"), "{md}");
    let html = String::from_utf8(sb.read("runs/disc/compare/oracle.html")).unwrap();
    assert!(html.contains("chip not_shown"), "html");
    // …and a misspelt policy is a located error.
    sb.write("bad.yaml", "metrics: [probe:motion]\nmargin: 0.1\n");
    let out = sb.run(&["compare", "runs/oracle", "runs/disc", "--gate", "bad.yaml"]);
    assert_eq!(code(&out), 3);
    assert!(text(&out).contains("bad.yaml:2:1: margin: unknown field"), "{}", text(&out));
    // …and an empty one says it is empty.
    sb.write("empty.yaml", "# the gate, to be written\n");
    let out = sb.run(&["compare", "runs/oracle", "runs/disc", "--gate", "empty.yaml"]);
    assert_eq!(code(&out), 3);
    assert!(text(&out).contains("empty.yaml: empty (no YAML document"), "{}", text(&out));
}

#[test]
fn incomparable_or_partial_runs_are_refused() {
    let sb = Sandbox::new();
    assert_eq!(code(&sb.run(&["run", "--suite", "smoke", "--out", "runs/a"])), 0);
    assert_eq!(code(&sb.run(&["run", "--suite", "aspect", "--out", "runs/b"])), 0);
    let out = sb.run(&["compare", "runs/a", "runs/b"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("suite smoke is only in the baseline"));
    // Told to, it compares anyway and says so.
    let (rc, v) = sb.run_json(&["compare", "runs/a", "runs/b", "--allow-mismatch"]);
    assert_eq!(rc, 0);
    assert!(!v["mismatch"].as_array().unwrap().is_empty());
    for k in ["0", "1"] {
        sb.run(&["run", "--suite", "smoke", "--out", "runs/p", "--num-shards", "3", "--shard", k]);
    }
    sb.run(&["merge", "runs/p", "--allow-partial"]);
    let out = sb.run(&["compare", "runs/a", "runs/p"]);
    assert_eq!(code(&out), 3);
    assert!(text(&out).contains("partial"), "{}", text(&out));
}

/// A baseline written before a metric was renamed (`subject_consistency`, now
/// `world_subject_consistency`) still pairs with a new run under the new id; a suite that names
/// the old id is told the new one.
#[test]
fn a_baseline_with_a_renamed_metric_id_still_pairs() {
    let sb = Sandbox::new();
    assert_eq!(code(&sb.run(&["run", "--suite", "smoke", "--out", "runs/a"])), 0);
    let results = String::from_utf8(sb.read("runs/a/results.json")).unwrap();
    assert!(results.contains("\"world_subject_consistency\""));
    sb.write("runs/old/results.json", &results.replace("\"world_subject_consistency\"", "\"subject_consistency\""));
    let (rc, v) = sb.run_json(&["compare", "runs/old", "runs/a"]);
    assert_eq!(rc, 0, "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["metric"] == "world_subject_consistency"), "{v}");
    assert!(!rows.iter().any(|r| r["metric"] == "subject_consistency"), "{v}");
    // A gate policy written with the old id gates the metric under its new one.
    sb.write("gate.yaml", "metrics: [subject_consistency]\n");
    let (rc, v) = sb.run_json(&["compare", "runs/old", "runs/a", "--gate", "gate.yaml"]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(
        v["gated_rows"].as_u64(),
        Some(rows.iter().filter(|r| r["metric"] == "world_subject_consistency").count() as u64),
        "{v}"
    );
    sb.write(
        "old.yaml",
        "schema: 1\nsuite: t\nversion: 1\nmetrics: [frame_count, subject_consistency]\ncases: [{id: a, prompt: p}]\n",
    );
    let out = sb.run(&["suites", "lint", "old.yaml"]);
    assert_ne!(code(&out), 0);
    assert!(
        text(&out).contains("metric \"subject_consistency\" was renamed to \"world_subject_consistency\""),
        "{}",
        text(&out)
    );
}

#[test]
fn limitations_report_lists_capabilities_failures_and_examples() {
    let sb = Sandbox::new();
    assert_eq!(code(&sb.run(&["run", "--suite", "physics", "--out", "runs/disc"])), 0);
    let out = sb.run(&["report", "runs/disc", "--limitations"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let html = String::from_utf8(sb.read("runs/disc/limitations.html")).unwrap();
    assert!(html.contains("Pass rate by capability") && html.contains("<strong>physics</strong>"));
    // The disc generator moves at constant speed: gravity fails, and the taxonomy says how — by
    // the probe's own kind, with one reason quoted whole.
    assert!(html.contains("<td>gravity</td><td>wrong acceleration direction</td>"), "{html}");
    assert!(html.contains("h&#x2f;s² does not point down") && !html.contains("acceleration # h"), "{html}");
    assert!(html.contains("class=\"example\"") && html.contains("<img"));
}

/// A capability none of whose checks could be made is said to be not measurable, with why: it
/// vanished from results.json, and the page said no case was tagged and no check failed. Cases
/// grouped into clusters are counted as "N (in K clusters)".
#[test]
fn a_capability_never_measured_is_said_and_clusters_are_counted() {
    let sb = Sandbox::new();
    let args =
        ["run", "--suite", "photoreal", "--cases", "ball-behind-post", "--model", "synthetic", "--out", "runs/p"];
    assert_eq!(code(&sb.run(&args)), 0);
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/p/results.json")).unwrap();
    let u = &results["suites"]["photoreal"]["unmeasured_capabilities"]["coherence"];
    assert!(u["reason"].as_str().is_some_and(|r| r.contains("never hidden")), "{results}");
    assert!(results["suites"]["photoreal"]["capabilities"].get("coherence").is_none());
    assert_eq!(code(&sb.run(&["report", "runs/p", "--limitations"])), 0);
    let html = String::from_utf8(sb.read("runs/p/limitations.html")).unwrap();
    assert!(html.contains("<strong>coherence</strong>") && html.contains("not measurable"), "{html}");
    assert!(!html.contains("No case of the run"), "{html}");
    // A page of a hand-picked subset says so, with what the numbers come from.
    assert!(html.contains("only the cases ball-behind-post (--cases)"), "{html}");
    assert!(html.contains(results["model"]["digest"].as_str().unwrap()) && html.contains("photoreal v1"), "{html}");
    let run = String::from_utf8(sb.read("runs/p/report.html")).unwrap();
    assert!(run.contains("no check measured on 2 sample(s)"), "run report");
    assert!(run.contains("only the cases ball-behind-post (--cases)"), "run report");
    // Runs `suite` on the world into `out` and renders its limitations page: results and page.
    let world_page = |suite: &str, out: &str| {
        assert_eq!(code(&sb.run(&["run", "--suite", suite, "--model", "world", "--out", out])), 0);
        assert_eq!(code(&sb.run(&["report", out, "--limitations"])), 0);
        let results: serde_json::Value = serde_json::from_slice(&sb.read(&format!("{out}/results.json"))).unwrap();
        (results, String::from_utf8(sb.read(&format!("{out}/limitations.html"))).unwrap())
    };
    // Twenty cases in five clusters.
    let cases: String = (0..20)
        .map(|k| {
            format!(
                "  - id: c{k}\n    cluster: g{}\n    prompt: a red ball falls\n    capabilities: [physics.gravity]\n    scene: {{objects: [{{id: b, shape: circle, color: red, size: 0.2, pos: [0.5, 0.2]}}], gravity: 2.0, floor: true}}\n    expect: [{{probe: gravity, object: {{color: red}}, direction: down}}]\n",
                k % 5
            )
        })
        .collect();
    sb.write(
        "clu.yaml",
        &format!("schema: 1\nsuite: clu\nversion: 1\ndefaults: {{seeds: {{per_case: 1}}, generation: {{frames: 9, width: 32, height: 32}}}}\ncases:\n{cases}"),
    );
    let (_, html) = world_page("clu.yaml", "runs/c");
    assert!(html.contains("20 (in 5 clusters)"), "{html}");
    // A family of several tags shows each under it: the capabilities suite (every case tagged
    // `capabilities.<mode>`) read as one row.
    let (results, html) = world_page("capabilities", "runs/m");
    let tags = results["suites"]["capabilities"]["capability_tags"].as_object().unwrap();
    assert_eq!(tags.len(), 7, "{tags:?}");
    assert_eq!(tags["capabilities.extend"]["n_clusters"], 2);
    assert!(html.contains("↳ capabilities.i2v"), "{html}");
    // A tag none of whose checks could be made is said under its family (it vanished, and its
    // family read as having one tag).
    sb.write(
        "d.yaml",
        r#"schema: 1
suite: d
version: 1
defaults: {seeds: {per_case: 1}, generation: {frames: 17, width: 64, height: 64}}
cases:
  - id: a
    prompt: a red ball moves right
    capabilities: [coherence.motion]
    scene: {objects: [{id: ball, shape: circle, color: red, size: 0.2, pos: [0.2, 0.5], vel: [0.5, 0]}]}
    expect:
      - {probe: motion, object: {color: red}, direction: right}
  - id: b
    prompt: a blue ball stays
    capabilities: [coherence.permanence]
    scene: {objects: [{id: ball, shape: circle, color: blue, size: 0.2, pos: [0.5, 0.5]}]}
    expect:
      - {probe: permanence, object: {color: blue}}
"#,
    );
    let (results, html) = world_page("d.yaml", "runs/d");
    let s = &results["suites"]["d"];
    assert!(s["capability_tags"]["coherence.motion"].is_object(), "{s}");
    assert!(
        s["unmeasured_capabilities"]["coherence.permanence"]["reason"].as_str().unwrap().contains("never hidden"),
        "{s}"
    );
    assert!(html.contains("↳ coherence.permanence</td>\n<td class=\"num\">not measurable"), "{html}");
    // A tag without a dot is its family, not a tag of it (its cases were the family's three).
    sb.write(
        "c.yaml",
        r#"schema: 1
suite: c
version: 1
defaults: {seeds: {per_case: 1}, generation: {frames: 17, width: 64, height: 64}}
cases:
  - id: a
    prompt: a red ball moves right
    capabilities: [motion]
    scene: {objects: [{id: ball, shape: circle, color: red, size: 0.2, pos: [0.2, 0.5], vel: [0.5, 0]}]}
    expect:
      - {probe: motion, object: {color: red}, direction: right}
  - id: b
    prompt: a blue ball moves right
    capabilities: [motion.fast]
    scene: {objects: [{id: ball, shape: circle, color: blue, size: 0.2, pos: [0.2, 0.5], vel: [0.5, 0]}]}
    expect:
      - {probe: motion, object: {color: blue}, direction: right}
  - id: c
    prompt: a green ball moves right
    capabilities: [motion.fast]
    scene: {objects: [{id: ball, shape: circle, color: green, size: 0.2, pos: [0.2, 0.5], vel: [0.5, 0]}]}
    expect:
      - {probe: motion, object: {color: green}, direction: right}
"#,
    );
    let (results, _) = world_page("c.yaml", "runs/cc");
    let s = &results["suites"]["c"];
    assert_eq!(s["capabilities"]["motion"]["n_clusters"], 3, "{s}");
    assert!(s.get("capability_tags").is_none(), "{s}");
}

#[test]
fn a_weaker_bundled_checkpoint_fails_the_temporal_quality_gate() {
    // The default checkpoint against the smallest, least-trained one, same suites and seeds.
    let sb = Sandbox::new();
    for (model, out) in [("bundled", "runs/base"), ("bundled:tiny-s", "runs/cand")] {
        let o = sb.run(&["run", "--suite", "smoke,physics", "--model", model, "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/gate/temporal-quality.yaml");
    let (rc, v) = sb.run_json(&["compare", "runs/base", "runs/cand", "--gate", policy]);
    assert_eq!((rc, v["decision"].as_str()), (1, Some("fail")), "{v}");
    let rows = v["rows"].as_array().unwrap();
    let row = |suite: &str, metric: &str| rows.iter().find(|r| r["suite"] == suite && r["metric"] == metric).unwrap();
    // The default checkpoint is far enough ahead that eight smoke cases show it too.
    for suite in ["physics", "smoke"] {
        for m in ["motion_smoothness", "temporal_flicker", "warping_error"] {
            let r = row(suite, m);
            assert_eq!(r["verdict"], "regressed", "{r}");
            assert!(r["p_adj"].as_f64().unwrap() < 0.05 && r["ci"][1].as_f64().unwrap() < 0.0, "{r}");
        }
    }
    // Ungated metrics are reported, never gated; throughput is said with both runs' numbers.
    assert_eq!(row("physics", "probe:gravity")["verdict"], "reported");
    let said: Vec<&str> = v["not_compared"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert!(
        said.iter().any(|n| n.starts_with("throughput: not gated") && n.contains("latency p50") && n.contains("MFU")),
        "{v}"
    );
    let md = String::from_utf8(sb.read("runs/cand/compare/base.md")).unwrap();
    assert!(md.starts_with("# videval compare: FAIL") && md.contains("| physics | warping_error |"), "{md}");
    let junit = String::from_utf8(sb.read("runs/cand/compare/base.junit.xml")).unwrap();
    assert_eq!(junit.matches("<failure").count(), 6, "{junit}");
    let html = String::from_utf8(sb.read("runs/cand/compare/base.html")).unwrap();
    assert!(html.contains("Gate: FAIL"));
    // Two smoke cases cannot show even this difference (two clusters: a sign-flip p is at least
    // 0.25): underpowered, with the cases needed, and the gate does not fail on it.
    for (model, out) in [("bundled", "runs/base2"), ("bundled:tiny-s", "runs/cand2")] {
        let o = sb.run(&["run", "--suite", "smoke", "--limit", "2", "--model", model, "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let (rc, v) = sb.run_json(&["compare", "runs/base2", "runs/cand2", "--gate", policy]);
    assert_eq!((rc, v["decision"].as_str()), (0, Some("pass")), "{v}");
    let rows = v["rows"].as_array().unwrap();
    for m in ["motion_smoothness", "temporal_flicker", "warping_error"] {
        let s = rows.iter().find(|r| r["suite"] == "smoke" && r["metric"] == m).unwrap();
        assert_eq!(s["verdict"], "underpowered", "{s}");
        assert!(s["cases_needed"].as_u64().unwrap() > 2, "{s}");
    }
    // The pass says it cannot have seen a regression, in every output.
    let headline = "PASS — underpowered: 3 of 3 gated rows cannot detect a regression of the margin; ~";
    assert!(v["headline"].as_str().unwrap().starts_with(headline), "{v}");
    assert_eq!((v["gated_rows"].as_u64(), v["underpowered_rows"].as_u64()), (Some(3), Some(3)), "{v}");
    assert!(v["cases_needed"].as_u64().unwrap() >= 5, "{v}");
    let md = String::from_utf8(sb.read("runs/cand2/compare/base2.md")).unwrap();
    assert!(md.contains("underpowered (needs ~"), "{md}");
    assert!(md.starts_with(&format!("# videval compare: {headline}")), "{md}");
    // Two cases: no interval in the table, never a zero-width one.
    assert!(md.contains("n/a (2 cases; an interval needs 5)"), "{md}");
    let html = String::from_utf8(sb.read("runs/cand2/compare/base2.html")).unwrap();
    assert!(html.contains(&format!("Gate: {headline}")) && html.contains("banner pass caveat"));
    let junit = String::from_utf8(sb.read("runs/cand2/compare/base2.junit.xml")).unwrap();
    assert_eq!(junit.matches("<skipped message=\"underpowered: 2 cases decide nothing").count(), 3, "{junit}");
    assert!(junit.contains("skipped=\"3\"") && junit.contains(headline), "{junit}");
    // --fail-on-inconclusive turns the same comparison into exit 2.
    let (rc, v) = sb.run_json(&["compare", "runs/base2", "runs/cand2", "--gate", policy, "--fail-on-inconclusive"]);
    assert_eq!((rc, v["decision"].as_str()), (2, Some("inconclusive")), "{v}");
    assert!(v["headline"].as_str().unwrap().starts_with("INCONCLUSIVE — 3 of 3 gated rows"), "{v}");
    // The baseline against itself passes the same gate.
    let (rc, v) = sb.run_json(&["compare", "runs/base", "runs/base", "--gate", policy]);
    assert_eq!(rc, 0, "{v}");
}

/// A candidate that errors where the baseline measured (an unreadable video, a failed
/// generation) fails the gate, naming what was lost: fewer samples compared is never a pass.
#[test]
fn candidate_errors_where_the_baseline_measured_fail_the_gate() {
    let sb = Sandbox::new();
    let (_, plan) = sb.run_json(&["plan", "--suite", "smoke", "--cases", "physics-drop,cause-collision"]);
    let units = plan["plan"]["units"].as_array().unwrap().clone();
    std::fs::create_dir_all(sb.join("base")).unwrap();
    for u in &units {
        let prompt = u["prompt"].as_str().unwrap();
        let name = format!("base/{prompt}-{}.mp4", u["seed_idx"]);
        let o = sb.run(&[
            "synth", "--prompt", prompt, "--seed", "1", "--frames", "6", "--width", "32", "--height", "32", "--out",
            &name,
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let first = format!("{}-{}.mp4", units[0]["prompt"].as_str().unwrap(), units[0]["seed_idx"]);
    let copy = |to: &str| {
        std::fs::create_dir_all(sb.join(to)).unwrap();
        for e in std::fs::read_dir(sb.join("base")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), sb.join(to).join(e.file_name())).unwrap();
        }
    };
    // One video unreadable; in another folder, one missing (its generation fails).
    copy("broken");
    std::fs::write(sb.join("broken").join(&first), b"not a video").unwrap();
    copy("missing");
    std::fs::remove_file(sb.join("missing").join(&first)).unwrap();
    let cases = "physics-drop,cause-collision";
    for (dir, expect) in [("base", 0), ("broken", 4), ("missing", 4)] {
        let o = sb.run(&[
            "run",
            "--suite",
            "smoke",
            "--cases",
            cases,
            "--model",
            &format!("dir:{dir}"),
            "--out",
            &format!("runs/{dir}"),
        ]);
        assert_eq!(code(&o), expect, "{dir}: {}", text(&o));
    }
    let (rc, v) = sb.run_json(&["compare", "runs/base", "runs/missing"]);
    assert_eq!(rc, 1, "{v}");
    assert!(v["lost"][0]["example"].as_str().unwrap().contains("no video for case"), "{v}");
    // The headline says how many videos are behind the measurements lost (one per metric).
    assert!(v["headline"].as_str().unwrap().contains("(1 of its videos failed to generate)"), "{v}");
    let (rc, v) = sb.run_json(&["compare", "runs/base", "runs/broken"]);
    assert_eq!(rc, 1, "{v}");
    assert!(v["headline"].as_str().unwrap().contains("the candidate errored on"), "{v}");
    let lost = v["lost"].as_array().unwrap();
    assert!(!lost.is_empty() && lost.iter().all(|l| l["samples"] == 1), "{v}");
    assert!(lost[0]["example"].as_str().unwrap().contains(&first), "{v}");
    let junit = String::from_utf8(sb.read("runs/broken/compare/base.junit.xml")).unwrap();
    assert!(junit.contains("(candidate errors)\"><failure"), "{junit}");
    let html = String::from_utf8(sb.read("runs/broken/compare/base.html")).unwrap();
    assert!(html.contains("The candidate errored where the baseline measured"), "html");
    // The other way round nothing was lost, and a run against itself passes.
    let (rc, v) = sb.run_json(&["compare", "runs/broken", "runs/base"]);
    assert_eq!((rc, v["lost"].as_array().map(Vec::len)), (0, Some(0)), "{v}");
    // ... but the samples the baseline failed on are said not to be compared (nothing said it).
    let said = v["not_compared"].to_string();
    assert!(said.contains("smoke: 1 sample(s) the baseline's run failed on are not compared"), "{v}");
    let (rc, _) = sb.run_json(&["compare", "runs/base", "runs/base"]);
    assert_eq!(rc, 0);
    // A suite whose metrics are all neutral gates nothing; a candidate that made no video where
    // the baseline made one still fails (it passed: "nothing gated").
    sb.write(
        "neutral.yaml",
        "schema: 1\nsuite: neutral\nversion: 1\ndefaults: {seeds: {per_case: 1}, generation: {frames: 4, width: 32, height: 32}}\nmetrics: [frame_count]\ncases: [{id: a, prompt: a red ball}, {id: b, prompt: a blue box}]\n",
    );
    std::fs::create_dir_all(sb.join("empty")).unwrap();
    for (model, out, expect) in [("synthetic", "runs/nb", 0), ("dir:empty", "runs/nc", 4)] {
        let o = sb.run(&["run", "--suite", "neutral.yaml", "--model", model, "--out", out]);
        assert_eq!(code(&o), expect, "{model}: {}", text(&o));
    }
    let (rc, v) = sb.run_json(&["compare", "runs/nb", "runs/nc"]);
    assert_eq!(rc, 1, "{v}");
    assert_eq!(
        (v["lost"][0]["metric"].as_str(), v["lost"][0]["samples"].as_u64()),
        (Some("generation"), Some(2)),
        "{v}"
    );
    // Nothing gated is no pass either: with --fail-on-inconclusive it is exit 2.
    let (rc, v) = sb.run_json(&["compare", "runs/nb", "runs/nb", "--fail-on-inconclusive"]);
    assert_eq!(rc, 2, "{v}");
    assert!(v["headline"].as_str().unwrap().starts_with("INCONCLUSIVE — nothing gated"), "{v}");
}

/// A probe the baseline measured and the candidate's videos give it nothing to check (the world
/// hides the ball behind the wall; the synthetic model draws no wall) is not measurable on the
/// candidate: the gate is inconclusive. The row was dropped, and the gate passed ("nothing
/// gated") even with --fail-on-inconclusive and a policy naming the probe.
#[test]
fn a_probe_the_candidate_gives_nothing_to_check_is_not_a_pass() {
    let sb = Sandbox::new();
    sb.write(
        "perm.yaml",
        "schema: 1\nsuite: perm\nversion: 1\ndefaults:\n  generation: {frames: 17, width: 32, height: 32, steps: 10}\n  \
         seeds: {per_case: 1}\nmetrics: [frame_count]\ncases:\n  - id: \"occl-{{ i }}\"\n    matrix: {i: [1, 2, 3, 4, 5, 6]}\n    \
         prompt: \"a yellow ball rolls right behind a gray wall and comes out the other side\"\n    scene:\n      \
         objects: [{id: ball, shape: circle, color: yellow, size: 0.16, pos: [0.1, 0.5], vel: [0.45, 0]}]\n      \
         occluders: [{pos: [0.5, 0.5], size: [0.2, 0.6], color: gray}]\n    expect:\n      - {probe: permanence, object: {color: yellow}}\n",
    );
    sb.write("gate.yaml", "metrics: [probe:permanence]\n");
    for (model, out) in [("world", "runs/w"), ("synthetic", "runs/s")] {
        let o = sb.run(&["run", "--suite", "perm.yaml", "--model", model, "--out", out]);
        assert_eq!(code(&o), 0, "{model}: {}", text(&o));
    }
    let (rc, v) = sb.run_json(&["compare", "runs/w", "runs/s", "--gate", "gate.yaml", "--fail-on-inconclusive"]);
    assert_eq!(rc, 2, "{v}");
    let u = &v["unmeasured"][0];
    assert_eq!((u["metric"].as_str(), u["samples"].as_u64()), (Some("probe:permanence"), Some(6)), "{v}");
    assert!(v["headline"].as_str().unwrap().starts_with("INCONCLUSIVE"), "{v}");
}

/// Gates that would gate nothing, or something else than they say, are refused: a margin that
/// is not a finite number, a policy naming a metric the baseline never measured (a typo) or a
/// neutral one, a gated metric the candidate's run does not have; the policy's alpha is the one
/// the minimum detectable effect uses; judgments are checked before any output is written.
#[test]
fn gates_that_would_gate_nothing_are_refused() {
    let sb = Sandbox::new();
    for (model, out) in [("world", "runs/oracle"), ("synthetic", "runs/disc")] {
        let o = sb.run(&["run", "--suite", "left_right", "--model", model, "--out", out]);
        assert!(code(&o) == 0, "{}", text(&o));
    }
    for margin in ["nan", "inf", "-0.01"] {
        let o = sb.run(&["compare", "runs/oracle", "runs/disc", "--margin", margin]);
        assert_eq!(code(&o), 3, "{margin}: {}", text(&o));
        assert!(text(&o).contains("--margin finite and non-negative"), "{}", text(&o));
    }
    let results: serde_json::Value = serde_json::from_slice(&sb.read("runs/oracle/results.json")).unwrap();
    let metrics = results["suites"]["left_right"]["metrics"].as_object().unwrap();
    let neutral = metrics.iter().find(|(_, m)| m["direction"] == "neutral").map(|(k, _)| k.clone()).unwrap();
    for (policy, want) in [
        ("metrics: [probe:positon]\n", "metrics: \"probe:positon\": no metric of that name exists"),
        (&format!("metrics: [{neutral}]\n") as &str, "it is neutral (reported, never gated)"),
        ("margins: {probe:positon: 0.1}\n", "margins: \"probe:positon\""),
    ] {
        sb.write("p.yaml", policy);
        let o = sb.run(&["compare", "runs/oracle", "runs/disc", "--gate", "p.yaml"]);
        assert_eq!(code(&o), 3, "{policy}: {}", text(&o));
        assert!(text(&o).contains(want) && text(&o).contains("probe:position"), "{policy}: {}", text(&o));
    }
    // The same alpha, in the policy or on the command line, gives the same rows.
    sb.write("a.yaml", "metrics: [probe:position, probe:motion]\nalpha: 0.001\n");
    sb.write("b.yaml", "metrics: [probe:position, probe:motion]\n");
    let (_, a) = sb.run_json(&["compare", "runs/oracle", "runs/disc", "--gate", "a.yaml"]);
    let (_, b) = sb.run_json(&["compare", "runs/oracle", "runs/disc", "--gate", "b.yaml", "--alpha", "0.001"]);
    assert!(a["rows"].as_array().is_some_and(|r| !r.is_empty()), "{a}");
    assert_eq!(a["rows"], b["rows"]);
    // A gated metric the candidate's run of the same suite lacks entirely, with no error: not
    // measurable, so the gate is inconclusive (never a pass or a fail), and exit 2 when asked.
    let mut cand = results.clone();
    cand["suites"]["left_right"]["metrics"].as_object_mut().unwrap().remove("probe:position");
    for s in cand["samples"].as_array_mut().unwrap() {
        s["metrics"].as_object_mut().unwrap().remove("probe:position");
    }
    std::fs::create_dir_all(sb.join("runs/partial")).unwrap();
    sb.write("runs/partial/results.json", &cand.to_string());
    let (rc, v) = sb.run_json(&["compare", "runs/oracle", "runs/partial", "--fail-on-inconclusive"]);
    assert_eq!((rc, v["decision"].as_str()), (2, Some("inconclusive")), "{v}");
    assert!(v["headline"].as_str().unwrap().starts_with("INCONCLUSIVE — the candidate could not measure"), "{v}");
    let unmeasured = v["unmeasured"].as_array().unwrap();
    assert!(
        unmeasured
            .iter()
            .any(|l| l["metric"] == "probe:position" && l["example"] == "the candidate's run did not measure it"),
        "{v}"
    );
    assert_eq!(v["lost"].as_array().map(Vec::len), Some(0), "{v}");
    let md = String::from_utf8(sb.read("runs/partial/compare/oracle.md")).unwrap();
    assert!(md.contains("**Not measurable in the candidate's run:** ` left_right/probe:position"), "{md}");
    // JUnit shows it as skipped (neither a pass nor a failure), the page names it.
    let junit = String::from_utf8(sb.read("runs/partial/compare/oracle.junit.xml")).unwrap();
    assert!(junit.contains("name=\"probe:position (not measurable)\"><skipped"), "{junit}");
    let html = String::from_utf8(sb.read("runs/partial/compare/oracle.html")).unwrap();
    assert!(html.contains("Not measurable in the candidate's run"), "html");
    // A candidate run on a subset of the plan (`--cases`, `--limit`: the suite hash is the same)
    // is a mismatch: its missing samples were skipped, and a candidate sharing no sample with
    // the baseline passed with "nothing gated".
    let mut subset = results.clone();
    let first_case = subset["samples"][0]["case_id"].as_str().unwrap().to_string();
    subset["samples"].as_array_mut().unwrap().retain(|s| s["case_id"] == first_case.as_str());
    std::fs::create_dir_all(sb.join("runs/subset")).unwrap();
    sb.write("runs/subset/results.json", &subset.to_string());
    let o = sb.run(&["compare", "runs/oracle", "runs/subset"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("sample(s) only in the baseline's plan (first: left_right/"), "{}", text(&o));
    let (rc, v) = sb.run_json(&["compare", "runs/oracle", "runs/subset", "--allow-mismatch"]);
    assert_eq!(rc, 0, "{v}");
    assert!(v["mismatch"][0].as_str().unwrap().contains("only in the baseline's plan"), "{v}");
    // Of another suite version, it is a mismatch.
    cand["suites"]["left_right"]["content_hash"] = "sha256:other".into();
    sb.write("runs/partial/results.json", &cand.to_string());
    let o = sb.run(&["compare", "runs/oracle", "runs/partial"]);
    assert!(code(&o) == 3 && text(&o).contains("content hash"), "{}", text(&o));
    // Judgments naming samples the runs do not have: refused before anything is written.
    sb.write(
        "j.csv",
        "rater,suite,case_id,seed_idx,left,right,choice\nann,left_right,no-such-case,0,oracle,disc,left\n",
    );
    std::fs::remove_dir_all(sb.join("runs/disc/compare")).unwrap();
    let o = sb.run(&["compare", "runs/oracle", "runs/disc", "--judgments", "j.csv"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("has no such sample"), "{}", text(&o));
    assert!(!sb.join("runs/disc/compare").exists(), "nothing written");
    // Results of a schema this videval does not know are refused, not read as if they were.
    let mut future = results.clone();
    future["schema"] = "videval/results/v9".into();
    std::fs::create_dir_all(sb.join("runs/future")).unwrap();
    sb.write("runs/future/results.json", &future.to_string());
    let o = sb.run(&["compare", "runs/oracle", "runs/future"]);
    assert!(code(&o) == 3 && text(&o).contains("a newer videval wrote it?"), "{}", text(&o));
    // Values so large that their differences overflow: an infinite or NaN difference made every
    // comparison false, and a run that lost probe:position everywhere passed. Now refused.
    let mut huge = results.clone();
    for s in huge["samples"].as_array_mut().unwrap() {
        if s["metrics"].get("probe:position").is_some() {
            s["metrics"]["probe:position"] = 1e308.into();
        }
    }
    std::fs::create_dir_all(sb.join("runs/huge")).unwrap();
    sb.write("runs/huge/results.json", &huge.to_string());
    sb.write("runs/huge/manifest.json", &String::from_utf8(sb.read("runs/oracle/manifest.json")).unwrap());
    let o = sb.run(&["compare", "runs/huge", "runs/disc"]);
    assert!(code(&o) == 3 && text(&o).contains("left_right/probe:position: the values are too large"), "{}", text(&o));
    // Outputs are named by appending to the baseline folder's name, dots and all: `model-1.5`
    // gave model-1.json, which a `model-1.6` baseline overwrote.
    std::fs::create_dir_all(sb.join("runs/model-1.5")).unwrap();
    for f in ["results.json", "manifest.json"] {
        std::fs::copy(sb.join("runs/oracle").join(f), sb.join("runs/model-1.5").join(f)).unwrap();
    }
    let o = sb.run(&["compare", "runs/model-1.5", "runs/disc"]);
    assert!(text(&o).contains("runs/disc/compare/model-1.5.{json,md,junit.xml,html}"), "{}", text(&o));
    for ext in ["json", "md", "junit.xml", "html"] {
        assert!(sb.join(&format!("runs/disc/compare/model-1.5.{ext}")).is_file(), "{ext}");
    }
}

/// A metric no sample measured (its network's weights not given) is in results.json with why,
/// on the report page, and on the comparison as not compared: it vanished from all three, and
/// the gate passed on what remained without a word.
#[test]
fn a_metric_measured_on_no_sample_is_said_everywhere() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        "schema: 1\nsuite: s\nversion: 1\ndefaults: {generation: {frames: 4, width: 16, height: 16}, seeds: {per_case: 1}}\nmetrics: [frame_count, vbench_aesthetic_quality]\ncases: [{id: a, prompt: a red ball}, {id: b, prompt: a blue ball}]\n",
    );
    for out in ["runs/a", "runs/b"] {
        let o = sb
            .command(&["run", "--suite", "s.yaml", "--model", "synthetic", "--out", out])
            .env_remove("VIDEVAL_WEIGHTS")
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let r: serde_json::Value = serde_json::from_slice(&sb.read("runs/a/results.json")).unwrap();
    let u = &r["suites"]["s"]["unmeasured"]["vbench_aesthetic_quality"];
    assert_eq!(u["not_applicable"], 2, "{r}");
    assert!(u["reason"].as_str().unwrap().contains("clip-vit-l-14-laion"), "{u}");
    assert!(r["suites"]["s"]["metrics"].get("vbench_aesthetic_quality").is_none());
    let html = String::from_utf8(sb.read("runs/a/report.html")).unwrap();
    assert!(html.contains("<code>vbench_aesthetic_quality</code></td><td colspan=\"4\""), "a row of its own");
    let (_, v) = sb.run_json(&["compare", "runs/a", "runs/b"]);
    let said = v["not_compared"].as_array().unwrap();
    assert!(
        said.len() == 1 && said[0].as_str().unwrap().starts_with("s/vbench_aesthetic_quality: measured in neither run"),
        "{v}"
    );
}

/// The suite names its conditioning files, not what they hold: two runs whose start image was
/// replaced under the same name are not comparable (they were paired and passed), and the same
/// picture again is.
#[test]
fn runs_conditioned_on_different_pictures_are_not_compared() {
    let sb = Sandbox::new();
    let picture = |colour: &str| {
        let ok = std::process::Command::new("ffmpeg")
            .current_dir(sb.path())
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                &format!("color=c={colour}:s=32x32"),
                "-frames:v",
                "1",
                "img.png",
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg");
    };
    sb.write(
        "s.yaml",
        "schema: 1\nsuite: cond\nversion: 1\nmetrics: [frame_count, temporal_diff]\ndefaults:\n  generation: {frames: 9, fps: 8, width: 32, height: 32, steps: 2}\n  seeds: {per_case: 1}\ncases:\n  - id: c\n    prompt: a red ball\n    mode: i2v\n    input: {image: {path: img.png}}\n  - id: t\n    prompt: a red ball\n",
    );
    let run = |out: &str| {
        let o = sb.run(&["run", "--suite", "s.yaml", "--model", "bundled", "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    };
    picture("red");
    run("runs/a");
    run("runs/same");
    picture("blue");
    run("runs/b");
    let (rc, v) = sb.run_json(&["compare", "runs/a", "runs/same"]);
    assert_eq!(rc, 0, "{v}");
    assert!(v["mismatch"].as_array().unwrap().is_empty(), "{v}");
    let out = sb.run(&["compare", "runs/a", "runs/b"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        text(&out)
            .contains("suite cond: the conditioning files (images, videos) of 1 case(s) hold different content: c"),
        "{}",
        text(&out)
    );
}

/// A candidate of frozen frames is "improved" on every temporal-quality metric (they reward
/// stillness): the gate fails it on its motion instead (it passed), unless the policy says a
/// calmer model is meant (`motion_guard: false`). A policy's alpha and --alpha that disagree are
/// refused; non-inferiority without margins is refused (it failed a run against itself).
#[test]
fn a_frozen_candidate_fails_on_its_motion() {
    let sb = Sandbox::new();
    let ids: Vec<String> = (0..8).map(|k| format!("c{k}")).collect();
    let cases: String =
        ids.iter().map(|id| format!("  - {{id: {id}, prompt: \"a red ball rolls right {id}\"}}\n")).collect();
    sb.write(
        "s.yaml",
        &format!("schema: 1\nsuite: m\nversion: 1\nmetrics: [dynamic_degree, temporal_flicker]\ndefaults:\n  generation: {{frames: 12, fps: 8, width: 64, height: 64}}\n  seeds: {{per_case: 1}}\ncases:\n{cases}"),
    );
    std::fs::create_dir_all(sb.join("moving")).unwrap();
    std::fs::create_dir_all(sb.join("frozen")).unwrap();
    for (k, id) in ids.iter().enumerate() {
        let prompt = format!("a red ball rolls right {id}");
        let clip = format!("moving/{prompt}-0.mp4");
        let o = sb.run(&["synth", "--prompt", &prompt, "--seed", &k.to_string(), "--frames", "12", "--out", &clip]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let ok = std::process::Command::new("ffmpeg")
            .current_dir(sb.path())
            .args([
                "-v",
                "error",
                "-i",
                &clip,
                "-vf",
                "select=eq(n\\,0),loop=loop=11:size=1:start=0,setpts=N/8/TB",
                "-r",
                "8",
            ])
            .arg(format!("frozen/{prompt}-0.mp4"))
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg");
    }
    for (dir, out) in [("moving", "runs/moving"), ("frozen", "runs/frozen")] {
        let o = sb.run(&["run", "--suite", "s.yaml", "--model", &format!("dir:{dir}"), "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let (rc, v) = sb.run_json(&["compare", "runs/moving", "runs/frozen"]);
    assert_eq!(rc, 1, "{v}");
    assert!(v["headline"].as_str().unwrap().contains("nearly frozen beside the baseline's"), "{v}");
    assert!(
        v["stilled"][0]["suite"] == "m"
            && v["stilled"][0]["frozen"] == true
            && v["stilled"][0]["reason"].as_str().unwrap().starts_with("m: dynamic_degree"),
        "{v}"
    );
    // The JUnit file a CI shows fails too (it said "0 failures").
    let junit = String::from_utf8(sb.read("runs/frozen/compare/moving.junit.xml")).unwrap();
    assert!(junit.contains("name=\"dynamic_degree (motion guard)\"><failure"), "{junit}");
    assert!(!junit.contains("failures=\"0\""), "{junit}");
    sb.write("calm.yaml", "motion_guard: false\nalpha: 0.05\n");
    let (rc, v) = sb.run_json(&["compare", "runs/moving", "runs/frozen", "--gate", "calm.yaml"]);
    assert!(rc != 1 || !v["headline"].as_str().unwrap().contains("frozen"), "{v}");
    assert!(v["stilled"].as_array().unwrap().is_empty(), "{v}");
    let o = sb.run(&["compare", "runs/moving", "runs/frozen", "--gate", "calm.yaml", "--alpha", "0.01"]);
    assert!(code(&o) == 3 && text(&o).contains("disagree"), "{}", text(&o));
    // A suite that measures no motion cannot guard: said among what was not compared.
    let still_only = String::from_utf8(sb.read("s.yaml"))
        .unwrap()
        .replace("suite: m\n", "suite: n\n")
        .replace("[dynamic_degree, temporal_flicker]", "[temporal_flicker]");
    sb.write("n.yaml", &still_only);
    for (dir, out) in [("moving", "runs/nm"), ("frozen", "runs/nf")] {
        let o = sb.run(&["run", "--suite", "n.yaml", "--model", &format!("dir:{dir}"), "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let (_, v) = sb.run_json(&["compare", "runs/nm", "runs/nf"]);
    assert!(
        v["not_compared"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("n/motion: the suite measures no dynamic_degree")),
        "{v}"
    );
    sb.write("ni.yaml", "mode: non_inferiority\n");
    let o = sb.run(&["compare", "runs/moving", "runs/moving", "--gate", "ni.yaml"]);
    assert!(code(&o) == 3 && text(&o).contains("needs a margin above 0"), "{}", text(&o));
}

/// A suite that groups its cases into clusters is judged on clusters, and says so: "2 cases
/// decide nothing" was written of 4 cases in 2 clusters.
#[test]
fn underpowered_rows_count_clusters_where_cases_are_grouped() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        "schema: 1\nsuite: grouped\nversion: 1\nmetrics: [temporal_flicker]\ndefaults: {seeds: {per_case: 1}}\ncases:\n  - {id: a, prompt: \"a red ball rolls left\", cluster: g1}\n  - {id: b, prompt: \"a red ball rolls right\", cluster: g1}\n  - {id: c, prompt: \"a blue ball rolls left\", cluster: g2}\n  - {id: d, prompt: \"a blue ball rolls right\", cluster: g2}\n",
    );
    for out in ["runs/a", "runs/b"] {
        let o = sb.run(&["run", "--suite", "s.yaml", "--model", "synthetic", "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let (rc, v) = sb.run_json(&["compare", "runs/a", "runs/b"]);
    assert_eq!(rc, 0, "{v}");
    let row = &v["rows"][0];
    assert_eq!((row["clusters"].as_u64(), row["cases"].as_u64()), (Some(2), Some(4)), "{row}");
    let why = row["why"].as_str().unwrap();
    assert!(
        why.starts_with("underpowered: 2 clusters (4 cases) decide nothing") && why.contains("clusters needed"),
        "{why}"
    );
    assert!(v["headline"].as_str().unwrap().ends_with("clusters needed"), "{v}");
    // An infinite MDE says so (null alone was also what a row not gated gave).
    assert_eq!(row["mde"], serde_json::Value::Null);
    assert!(row["mde_note"].as_str().unwrap().starts_with("infinite"), "{row}");
    // --json names the files it wrote, and they are there.
    for kind in ["json", "md", "junit", "html"] {
        let path = v["written"][kind].as_str().unwrap_or_default();
        assert!(path.starts_with("runs/b/compare/a.") && sb.join(path).is_file(), "{kind}: {v}");
    }
}
