//! Malformed suites: every error names the file, line, column and field path, and says what was
//! expected. Each case is a distinct mistake a suite author makes.

use videval::suite::{Disk, load};
use videval_tests::Sandbox;

const HEAD: &str = "schema: 1\nsuite: t\nversion: 1\nmetrics: [frame_count]\n";

/// Loads `files[0]` after writing all `files`, and returns its error text.
fn errors(files: &[(&str, &str)]) -> (Sandbox, String) {
    let sb = Sandbox::new();
    for (name, text) in files {
        sb.write(name, text);
    }
    let main = sb.join(files[0].0);
    let err = load(&Disk, main.to_str().unwrap()).expect_err("the suite should be refused");
    let text = err.to_string();
    (sb, text)
}

/// Asserts one line of `text` is `{dir}/{file}:{line}:{col}: {path}: …{phrase}…`.
fn assert_error(sb: &Sandbox, text: &str, file: &str, line: usize, col: usize, path: &str, phrase: &str) {
    let at = if path.is_empty() { String::new() } else { format!("{path}: ") };
    let prefix = format!("{}:{line}:{col}: {at}", sb.join(file).display());
    assert!(
        text.lines().any(|l| l.starts_with(&prefix) && l.contains(phrase)),
        "expected a line starting with\n  {prefix}\ncontaining \"{phrase}\"; got:\n{text}"
    );
}

fn one(body: &str, line: usize, col: usize, path: &str, phrase: &str) {
    let text = format!("{HEAD}{body}");
    let (sb, err) = errors(&[("s.yaml", &text)]);
    assert_error(&sb, &err, "s.yaml", line, col, path, phrase);
}

#[test]
fn yaml_syntax_error() {
    let (sb, err) = errors(&[("s.yaml", "schema: 1\nsuite: [t\nversion: 1\n")]);
    let prefix = format!("{}:", sb.join("s.yaml").display());
    assert!(err.starts_with(&prefix) && err.contains("invalid YAML"), "{err}");
}

#[test]
fn unknown_top_level_key() {
    one(
        "descripton: x\ncases: [{id: a, prompt: p}]\n",
        5,
        1,
        "descripton",
        "unknown field `descripton`, expected one of",
    );
}

#[test]
fn unknown_case_key() {
    one("cases:\n  - id: a\n    promt: p\n", 7, 5, "cases[0].promt", "unknown field `promt`");
}

#[test]
fn wrong_type() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    seeds: {per_case: many}\n",
        8,
        23,
        "cases[0].seeds.per_case",
        "invalid type: string \"many\", expected u32",
    );
}

/// A default out of range is said once, where it is written, not at every case that took it.
#[test]
fn seeds_out_of_range_are_placed_where_they_are_written() {
    let text = format!(
        "{HEAD}defaults:\n  seeds: {{per_case: 0}}\ncases:\n  - {{id: a, prompt: p}}\n  - {{id: b, prompt: p}}\n"
    );
    let (sb, err) = errors(&[("s.yaml", &text)]);
    assert_error(&sb, &err, "s.yaml", 6, 21, "defaults.seeds.per_case", "expected 1..=1000 seeds per case, got 0");
    assert_eq!(err.matches("seeds per case").count(), 1, "{err}");
    one(
        "cases:\n  - id: a\n    prompt: p\n    seeds: {per_case: 1001}\n",
        8,
        23,
        "cases[0].seeds.per_case",
        "expected 1..=1000 seeds per case, got 1001",
    );
}

#[test]
fn duplicate_case_id() {
    one("cases:\n  - {id: a, prompt: p}\n  - {id: a, prompt: q}\n", 7, 10, "cases[1].id", "duplicate case id \"a\"");
}

/// A matrix whose id leaves out a variable says so once an id, names the variable, and counts
/// the ids past the third (a 100×100 matrix printed 9,900 identical lines); an empty prompt is
/// refused.
#[test]
fn a_matrix_id_missing_a_variable_and_an_empty_prompt() {
    let body = "cases:\n  - id: \"s-{{ a }}\"\n    prompt: \"p {{ a }} {{ b }}\"\n    matrix: {a: [1, 2, 3, 4, 5], b: [x, y, z]}\n  - {id: e, prompt: \"  \"}\n";
    let (sb, err) = errors(&[("s.yaml", &format!("{HEAD}{body}"))]);
    assert_error(&sb, &err, "s.yaml", 6, 9, "cases[0].id", "duplicate case id \"s-1\"");
    assert!(err.contains("and 1 more time(s)); its matrix rows differ in b: put them in the id"), "{err}");
    assert!(err.contains("cases[0].id: 2 more duplicate case ids from this entry"), "{err}");
    assert_eq!(err.matches("duplicate case id \"").count(), 3, "{err}");
    assert_error(&sb, &err, "s.yaml", 9, 21, "cases[1].prompt", "an empty prompt");
}

/// An included file's cases under the file's own `cases:` (or another include's) were replaced
/// without a word: a list is replaced, not added to. Refused, located.
#[test]
fn cases_in_an_included_file_are_not_silently_replaced() {
    let a = format!("{HEAD}include: [b.yaml]\ncases: [{{id: a, prompt: p}}]\n");
    let part = "cases: [{id: b, prompt: q}, {id: c, prompt: r}]\n";
    let (sb, err) = errors(&[("a.yaml", &a), ("b.yaml", part)]);
    assert_error(&sb, &err, "a.yaml", 6, 1, "cases", "would replace the 2 case(s) of the included file(s)");
    let a = format!("{HEAD}include: [b.yaml, c.yaml]\n");
    let (sb, err) = errors(&[("a.yaml", &a), ("b.yaml", part), ("c.yaml", "cases: [{id: d, prompt: s}]\n")]);
    assert_error(&sb, &err, "a.yaml", 5, 19, "include[1]", "its 1 case(s) would replace the 2");
    // Defaults in an include and cases in the file: the usual way, loaded.
    let sb = Sandbox::new();
    sb.write("d.yaml", "defaults: {seeds: {per_case: 1}}\n");
    sb.write("a.yaml", &format!("{HEAD}include: [d.yaml]\ncases: [{{id: a, prompt: p}}]\n"));
    assert!(load(&Disk, sb.join("a.yaml").to_str().unwrap()).is_ok());
}

#[test]
fn include_cycle() {
    let a = format!("{HEAD}include: [b.yaml]\ncases: [{{id: a, prompt: p}}]\n");
    let (sb, err) = errors(&[("a.yaml", &a), ("b.yaml", "include: [a.yaml]\n")]);
    assert_error(&sb, &err, "b.yaml", 1, 11, "include[0]", "include cycle");
    assert!(err.contains("a.yaml → ") && err.contains("b.yaml → "), "{err}");
}

/// A file included from many places is read and merged once: 40 files each including the next
/// twice loaded 2⁴⁰ times (it never finished); a chain deeper than the limit is a located error
/// (2,000 files overflowed the stack), and an include that names a FIFO is refused, not waited on.
#[test]
fn includes_are_read_once_and_bounded() {
    let sb = Sandbox::new();
    for k in 0..40 {
        sb.write(&format!("_f{k}.yaml"), &format!("include: [_f{}.yaml, _f{}.yaml]\n", k + 1, k + 1));
    }
    sb.write("_f40.yaml", "defaults: {seeds: {per_case: 2}}\n");
    sb.write("fan.yaml", &format!("{HEAD}include: [_f0.yaml]\ncases: [{{id: a, prompt: p}}]\n"));
    let suite = load(&Disk, sb.join("fan.yaml").to_str().unwrap()).expect("the fan-out loads");
    assert_eq!(suite.cases[0].seeds.per_case, 2);

    let n = videval::suite::load::MAX_INCLUDE_DEPTH + 10;
    for k in 0..n {
        sb.write(&format!("_d{k}.yaml"), &format!("include: [_d{}.yaml]\n", k + 1));
    }
    sb.write(&format!("_d{n}.yaml"), "defaults: {seeds: {per_case: 2}}\n");
    sb.write("deep.yaml", &format!("{HEAD}include: [_d0.yaml]\ncases: [{{id: a, prompt: p}}]\n"));
    let err = load(&Disk, sb.join("deep.yaml").to_str().unwrap()).expect_err("too deep").to_string();
    assert!(err.contains("includes nest deeper than 64 files"), "{err}");

    // Two includers of one missing file: each is told at its own include.
    sb.write("c2.yaml", "include: [gone.yaml]\n");
    sb.write("c3.yaml", "include: [gone.yaml]\n");
    sb.write("two.yaml", &format!("{HEAD}include: [c2.yaml, c3.yaml]\ncases: [{{id: a, prompt: p}}]\n"));
    let err = load(&Disk, sb.join("two.yaml").to_str().unwrap()).expect_err("missing").to_string();
    assert!(err.contains("c2.yaml:1:11") && err.contains("c3.yaml:1:11"), "{err}");

    let fifo = sb.join("pipe.yaml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    sb.write("p.yaml", &format!("{HEAD}include: [pipe.yaml]\ncases: [{{id: a, prompt: p}}]\n"));
    let err = load(&Disk, sb.join("p.yaml").to_str().unwrap()).expect_err("a FIFO").to_string();
    std::fs::remove_file(&fifo).unwrap();
    assert!(err.contains("cannot read included file") && err.contains("not a regular file"), "{err}");
}

/// A suite reached through a link to its folder reads `../x` where the link points, as the
/// system does (the `..` was collapsed by text, reading the file beside the link).
#[test]
fn a_linked_suite_folder_reads_its_own_parent() {
    let sb = Sandbox::new();
    sb.write("real/deep/suites/s.yaml", &format!("{HEAD}include: [../parts/_d.yaml]\ncases: [{{id: a, prompt: p}}]\n"));
    sb.write("real/deep/parts/_d.yaml", "defaults: {seeds: {per_case: 3}}\n");
    sb.write("work/parts/_d.yaml", "defaults: {seeds: {per_case: 7}}\n");
    std::os::unix::fs::symlink(sb.join("real/deep/suites"), sb.join("work/sl")).unwrap();
    let limits = videval::suite::load::Limits { include_outside: true, ..Default::default() };
    let suite = videval::suite::load::load_with(&Disk, sb.join("work/sl/s.yaml").to_str().unwrap(), &limits).unwrap();
    assert_eq!(suite.cases[0].seeds.per_case, 3, "read the linked folder's parent, not the link's");
}

#[test]
fn missing_include() {
    one("include: [nope.yaml]\ncases: [{id: a, prompt: p}]\n", 5, 11, "include[0]", "cannot read included file");
}

#[test]
fn unknown_probe() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    expect:\n      - {probe: gravty, object: {color: red}}\n",
        9,
        17,
        "cases[0].expect[0].probe",
        "unknown probe \"gravty\", expected one of gravity, bounce",
    );
}

#[test]
fn unknown_probe_parameter() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    expect:\n      - {probe: gravity, object: {color: red}, acel: 1}\n",
        9,
        48,
        "cases[0].expect[0].acel",
        "unknown field `acel`",
    );
}

/// An object that names neither colour nor shape is refused (it followed whatever was largest,
/// and passed `motion` on a still photo).
#[test]
fn an_object_naming_nothing() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    expect:\n      - {probe: motion, object: {}, direction: left}\n",
        9,
        10,
        "cases[0].expect[0]",
        "an object names its color, its shape or both",
    );
}

/// A colour the tracker cannot follow is refused where it is written: the check could never be
/// measured (it was n/a on every video).
#[test]
fn an_object_of_a_colour_the_tracker_cannot_follow() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    expect:\n      - {probe: framing, object: {color: white}}\n",
        9,
        35,
        "cases[0].expect[0].object",
        "white objects cannot be told from the background",
    );
}

#[test]
fn unknown_metric() {
    let text = "schema: 1\nsuite: t\nversion: 1\nmetrics: [frame_count, fvd_typo]\ncases: [{id: a, prompt: p}]\n";
    let (sb, err) = errors(&[("s.yaml", text)]);
    assert_error(&sb, &err, "s.yaml", 4, 24, "metrics[1]", "unknown metric \"fvd_typo\", expected one of frame_count");
}

#[test]
fn bad_template_variable() {
    one(
        "cases:\n  - id: \"c-{{ color }}\"\n    matrix: {color: [red, blue]}\n    prompt: \"a {{ colour }} ball\"\n",
        8,
        13,
        "cases[0].prompt",
        "template error",
    );
}

#[test]
fn missing_required_field() {
    one("cases:\n  - id: a\n    tags: [x]\n", 6, 5, "cases[0]", "missing field `prompt`");
}

#[test]
fn mode_without_its_input() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    mode: i2v\n",
        6,
        5,
        "cases[0].input.image",
        "mode i2v needs input.image",
    );
}

/// Expectations that no video made as the case asks can meet are the suite's mistake, said by
/// lint (each was a failure counted against the model on every video).
#[test]
fn expectations_the_case_rules_out() {
    let cases = [
        (
            "  - id: a\n    prompt: p\n    expect: [{probe: gravity, object: {color: red}, direction: left}]\n",
            "cases[0].expect[0].direction: gravity pulls up or down",
        ),
        (
            "  - id: a\n    prompt: p\n    expect: [{probe: position, object: {color: red}, relation: left_of, other: {color: red}}]\n",
            "cases[0].expect[0].other: object and other name the same object",
        ),
        (
            "  - id: a\n    prompt: p\n    expect: [{probe: parallax, near: {color: red}, far: {color: red}}]\n",
            "cases[0].expect[0].far: near and far name the same object",
        ),
        (
            "  - id: a\n    prompt: p\n    generation: {width: 36, height: 64}\n    expect: [{probe: aspect, ratio: \"16:9\"}]\n",
            "cases[0].expect[0].ratio: the case asks for 36x64",
        ),
        (
            "  - id: a\n    prompt: p\n    mode: image\n    expect: [{probe: motion, object: {color: red}, direction: left}]\n",
            "cases[0].expect[0]: probe motion reads motion over time, over at least 2 frames; the case generates 1",
        ),
        (
            "  - id: a\n    prompt: p\n    expect: [{probe: continuity, psnr: {min: 20}}]\n",
            "cases[0].expect[0]: probe continuity compares the output with the input its mode holds",
        ),
        (
            "  - id: a\n    prompt: p\n    generation: {frames: 2}\n    expect: [{probe: bounce, object: {color: red}}]\n",
            "cases[0].expect[0]: probe bounce reads motion over time, over at least 3 frames; the case generates 2",
        ),
        // After an item that does not parse, a later item is named by its own index.
        (
            "  - id: a\n    prompt: p\n    mode: image\n    expect: [{probe: nosuch}, {probe: motion, object: {color: red}, direction: left}]\n",
            "cases[0].expect[1]: probe motion reads motion over time, over at least 2 frames; the case generates 1",
        ),
        (
            "  - id: src\n    prompt: p\n  - id: a\n    prompt: p\n    mode: extend-forward\n    generation: {frames: 5}\n    input: {video: {scene_of: src, frames: [0, 16]}}\n",
            "cases[1].input: mode extend-forward holds the 17 frame(s) of input.video in its output, but the case asks for 5",
        ),
        // Holding every frame asked for leaves nothing to generate (every unit then failed
        // `continuity` as "nothing generated"); an edit holds every frame by design.
        (
            "  - id: src\n    prompt: p\n  - id: a\n    prompt: p\n    mode: extend-forward\n    generation: {frames: 5}\n    input: {video: {scene_of: src, frames: [0, 4]}}\n",
            "cases[1].input: mode extend-forward holds the 5 frame(s) of input.video in its output, but the case asks for 5: nothing is left to generate",
        ),
        (
            "  - id: src\n    prompt: p\n  - id: a\n    prompt: p\n    mode: i2v\n    generation: {frames: 1}\n    input: {image: {scene_of: src, frame: 0}}\n",
            "cases[1].input: mode i2v holds the 1 frame(s) of input.image in its output, but the case asks for 1: nothing is left to generate",
        ),
        (
            "  - id: a\n    prompt: p\n    mode: i2v\n    input: {image: {path: x.png, frames: [0, 3]}}\n",
            "cases[0].input.image.frames: an image is one frame",
        ),
        ("  - id: a\n    prompt: \"a\\0b\"\n", "cases[0].prompt: holds a NUL character"),
        (
            "  - id: a\n    prompt: p\n    capabilities: [physics.gravity, \".gravity\"]\n",
            "cases[0].capabilities[1]: \".gravity\": expected family.name",
        ),
        ("  - id: a\n    prompt: p\n    capabilities: [\"  \"]\n", "cases[0].capabilities[0]"),
        // A bound written as a bare number is told how a bound is written.
        (
            "  - id: a\n    prompt: p\n    expect: [{probe: motion, object: {color: red}, direction: left, speed: 0.3}]\n",
            "cases[0].expect[0].speed: invalid type: floating point `0.3`, expected a bound: {min: a}, {max: b}",
        ),
        // One capability in two letter cases is two strata and two families of the limitations
        // page.
        (
            "  - id: a\n    prompt: p\n    capabilities: [physics.gravity]\n  - id: b\n    prompt: q\n    capabilities: [motion.left, Physics.Gravity]\n",
            "cases[1].capabilities[1]: \"Physics.Gravity\" differs from \"physics.gravity\" (cases[0]) only in letter case",
        ),
        // Or in how an accent is encoded: "café" composed and decomposed look the same.
        (
            "  - id: a\n    prompt: p\n    capabilities: [caf\u{e9}.x]\n  - id: b\n    prompt: q\n    capabilities: [cafe\u{301}.x]\n",
            "cases[1].capabilities[0]: \"cafe\u{301}.x\" differs from \"caf\u{e9}.x\" (cases[0]) only in how its accents are encoded",
        ),
    ];
    for (body, phrase) in cases {
        let text = format!("{HEAD}defaults: {{generation: {{frames: 9, width: 64, height: 64}}}}\ncases:\n{body}");
        let (_sb, err) = errors(&[("s.yaml", &text)]);
        assert!(err.contains(phrase), "expected \"{phrase}\" in:\n{err}");
    }
}

/// A nested mapping's unknown field is offered that mapping's fields only (`include` and
/// `cases`, or a case's `expect` and `matrix`, were appended to every unknown-field error).
#[test]
fn nested_unknown_fields_are_offered_their_own_fields() {
    let text = format!(
        "{HEAD}defaults: {{generation: {{frame: 9}}}}\ncases:\n  - id: a\n    prompt: p\n    scene: {{objcts: []}}\n"
    );
    let (_sb, err) = errors(&[("s.yaml", &text)]);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("unknown field")).collect();
    assert!(lines.len() >= 2, "{err}");
    for l in lines {
        assert!(!l.contains("`cases`") && !l.contains("`matrix`"), "{l}");
    }
}

#[test]
fn unknown_mode() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    mode: video2video\n",
        8,
        11,
        "cases[0].mode",
        "unknown variant `video2video`",
    );
}

#[test]
fn unknown_schema_version() {
    let (sb, err) = errors(&[("s.yaml", "schema: 2\nsuite: t\nversion: 1\ncases: [{id: a, prompt: p}]\n")]);
    assert_error(&sb, &err, "s.yaml", 1, 9, "schema", "unknown schema version 2");
}

#[test]
fn empty_bound() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    expect:\n      - probe: gravity\n        object: {color: red}\n        r2: {min: 1, max: 0}\n",
        11,
        14,
        "cases[0].expect[0].r2",
        "empty range",
    );
}

#[test]
fn unknown_scene_field_and_colour() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    scene:\n      objects:\n        - {id: b, shape: circle, color: teal, size: 0.1, pos: [0.5, 0.5]}\n",
        10,
        41,
        "cases[0].scene.objects[0].color",
        "unknown variant `teal`",
    );
}

#[test]
fn scene_reference_to_unknown_object() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    scene:\n      objects: [{id: b, shape: circle, color: red, size: 0.1, pos: [0.5, 0.5]}]\n      events:\n        - {contact: [b, c], then: {object: b, set_color: blue}}\n",
        11,
        25,
        "cases[0].scene.events[0].contact[1]",
        "unknown object \"c\"",
    );
}

#[test]
fn scene_of_unknown_case() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    mode: i2v\n    input: {image: {scene_of: ghost, frame: 0}}\n",
        9,
        31,
        "cases[0].input.image.scene_of",
        "\"ghost\" is not a case of this suite with a scene",
    );
}

#[test]
fn duplicate_yaml_key() {
    one("cases: []\ncases: [{id: a, prompt: p}]\n", 6, 1, "", "duplicate key \"cases\"");
}

#[test]
fn bad_aspect_ratio() {
    one(
        "defaults:\n  generation: {aspect: 16x9}\ncases: [{id: a, prompt: p}]\n",
        6,
        24,
        "defaults.generation.aspect",
        "expected an aspect ratio like \"16:9\"",
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let text = format!("{HEAD}cases:\n  - id: a\n    promt: p\n  - id: b\n    prompt: q\n    mode: edit\n");
    let (sb, err) = errors(&[("s.yaml", &text)]);
    assert_error(&sb, &err, "s.yaml", 7, 5, "cases[0].promt", "unknown field");
    assert_error(&sb, &err, "s.yaml", 8, 5, "cases[1].input.video", "mode edit needs input.video");
    assert_error(&sb, &err, "s.yaml", 8, 5, "cases[1].input.strength", "mode edit needs input.strength");
}

#[test]
fn lint_exits_3_and_prints_every_error() {
    let sb = Sandbox::new();
    sb.write("suites/good.yaml", &format!("{HEAD}cases: [{{id: a, prompt: p}}]\n"));
    sb.write("suites/bad.yaml", &format!("{HEAD}cases: [{{id: a, promt: p}}]\n"));
    // A bundled suite is linted by its name; a name that is neither a file nor a bundled suite
    // says so.
    let out = sb.run(&["suites", "lint", "smoke"]);
    assert_eq!(videval_tests::code(&out), 0, "{}", videval_tests::text(&out));
    let out = sb.run(&["suites", "lint", "smok"]);
    assert_eq!(videval_tests::code(&out), 3, "{}", videval_tests::text(&out));
    assert!(videval_tests::text(&out).contains("smok: no such file or folder, nor a bundled suite (smoke"));
    // Such a name is one failed verdict among the others, in its place (it stopped the command,
    // and the files after it had none).
    let (rc, v) = sb.run_json(&["suites", "lint", "suites/bad.yaml", "smok", "suites/good.yaml"]);
    let files: Vec<(&str, bool)> =
        v["files"].as_array().unwrap().iter().map(|f| (f["file"].as_str().unwrap(), f["ok"] == true)).collect();
    assert_eq!((rc, files), (3, vec![("suites/bad.yaml", false), ("smok", false), ("suites/good.yaml", true)]), "{v}");
    assert!(v["files"][1]["errors"][0]["line"].is_null() && v["failed"] == 2, "{v}");
    // `suites show` prints JSON either way and takes --json as every command does (it refused
    // the flag, exit 3), so that its failure is JSON too.
    let (rc, v) = sb.run_json(&["suites", "show", "smoke"]);
    assert!(rc == 0 && v["cases"].as_array().is_some_and(|c| !c.is_empty()), "{v}");
    let (rc, v) = sb.run_json(&["suites", "show", "smok"]);
    assert!(rc == 3 && v["error"].as_str().unwrap().contains("unknown suite"), "{v}");
    // `suites list --json` gives whole content hashes (the table cuts them), the same as lint's,
    // and an invalid file with its first error.
    let (rc, listed) = sb.run_json(&["suites", "list"]);
    let (_, linted) = sb.run_json(&["suites", "lint"]);
    let hashes = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v[key].as_array().unwrap().iter().map(|s| s["content_hash"].as_str().unwrap().to_string()).collect()
    };
    assert!(rc == 0 && listed["invalid"] == 0, "{listed}");
    assert_eq!(hashes(&listed, "suites"), hashes(&linted, "files"));
    let (rc, v) = sb.run_json(&["suites", "list", "--dir", "suites"]);
    let bad = v["suites"].as_array().unwrap().iter().find(|s| s["invalid"] == true).unwrap();
    assert!(rc == 0 && v["invalid"] == 1 && bad["error"].as_str().unwrap().contains("promt"), "{v}");
    let out = sb.run(&["suites", "lint", "suites"]);
    assert_eq!(videval_tests::code(&out), 3, "{}", videval_tests::text(&out));
    let t = videval_tests::text(&out);
    assert!(t.contains("suites/bad.yaml:5:17: cases[0].promt: unknown field"), "{t}");
    // The fields offered include those the loader takes first (`expect`, `matrix`).
    assert!(t.contains("`scene`, `expect`, `matrix`"), "{t}");
    assert!(t.contains("ok    suites/good.yaml"), "{t}");
    // The errors are printed under their file's verdict on standard output (they were on
    // standard error, apart from the verdicts); only the summary is on standard error.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (fail, err) = (stdout.find("FAIL  suites/bad.yaml").unwrap(), stdout.find("bad.yaml:5:17:").unwrap());
    assert!(fail < err, "{stdout}");

    // A part other suites include (`_defaults.yaml`), named as a shell's `suites/*.yaml` names
    // it, is passed over, not a failure.
    sb.write("suites/_part.yaml", "defaults: {seeds: {per_case: 1}}\n");
    let out = sb.run(&["suites", "lint", "suites/_part.yaml", "suites/good.yaml"]);
    assert_eq!(videval_tests::code(&out), 0, "{}", videval_tests::text(&out));
    assert!(videval_tests::text(&out).contains("skip  suites/_part.yaml"), "{}", videval_tests::text(&out));
    // One that says it is a suite is linted as one.
    sb.write("suites/_mine.yaml", &format!("{HEAD}cases: [{{id: a, promt: p}}]\n"));
    let out = sb.run(&["suites", "lint", "suites/_mine.yaml"]);
    assert_eq!(videval_tests::code(&out), 3, "{}", videval_tests::text(&out));
    // A picture a case conditions on that is not there fails lint as it fails `plan` (lint
    // passed it).
    sb.write(
        "other/i2v.yaml",
        &format!("{HEAD}cases: [{{id: a, mode: i2v, prompt: p, input: {{image: {{path: frist.png}}}}}}]\n"),
    );
    let out = sb.run(&["suites", "lint", "other/i2v.yaml"]);
    let t = videval_tests::text(&out);
    assert_eq!(videval_tests::code(&out), 3, "{t}");
    assert!(t.contains("other/i2v.yaml:5:") && t.contains("cases[0].input.image: case a:"), "{t}");
    assert!(t.contains("frist.png: no such file"), "{t}");
    // Located in --json too: a CI annotation has a line to point at.
    let (_, v) = sb.run_json(&["suites", "lint", "other/i2v.yaml"]);
    let e = &v["files"][0]["errors"][0];
    assert_eq!((e["line"].as_u64(), e["field"].as_str()), (Some(5), Some("cases[0].input.image")), "{v}");
    // A matrix's case, at its entry's field (its id is rendered from the entry's template).
    sb.write(
        "other/m.yaml",
        &format!(
            "{HEAD}cases:\n  - {{id: x, prompt: p}}\n  - id: \"m-{{{{ c }}}}-end\"\n    matrix: {{c: [a, b]}}\n    mode: i2v\n    prompt: p\n    input: {{image: {{path: \"miss-{{{{ c }}}}.png\"}}}}\n"
        ),
    );
    let (_, v) = sb.run_json(&["suites", "lint", "other/m.yaml"]);
    let errors = v["files"][0]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{v}");
    for e in errors {
        assert_eq!((e["line"].as_u64(), e["field"].as_str()), (Some(11), Some("cases[1].input.image")), "{v}");
    }

    // With --json: every file's verdict and its located errors, exit 3, one JSON document.
    let out = sb.run(&["suites", "lint", "suites", "--json"]);
    assert_eq!(videval_tests::code(&out), 3, "{}", videval_tests::text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], 1, "{v}");
    assert_eq!(v["exit_code"], 3, "{v}");
    let bad = v["files"].as_array().unwrap().iter().find(|f| f["file"] == "suites/bad.yaml").unwrap();
    assert_eq!(bad["ok"], false, "{v}");
    let e = &bad["errors"][0];
    assert_eq!((e["line"].as_u64(), e["column"].as_u64()), (Some(5), Some(17)), "{v}");
    assert_eq!(e["field"], "cases[0].promt", "{v}");
    assert!(e["message"].as_str().unwrap().contains("unknown field"), "{v}");
    let good = v["files"].as_array().unwrap().iter().find(|f| f["file"] == "suites/good.yaml").unwrap();
    assert_eq!((&good["ok"], &good["cases"]), (&serde_json::json!(true), &serde_json::json!(1)), "{v}");
}

/// Templates are bounded in steps and in output; expansion in nodes: each is refused where it is
/// written, at once, instead of running for minutes or filling memory.
#[test]
fn templates_and_expansions_that_would_run_away() {
    let start = std::time::Instant::now();
    one(
        "cases:\n  - id: a\n    prompt: \"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x\"\n",
        7,
        13,
        "cases[0].prompt",
        "fuel",
    );
    one(
        "cases:\n  - id: a\n    prompt: \"{{ 'x' * 20000000 }}\"\n",
        7,
        13,
        "cases[0].prompt",
        "may only multiply numbers",
    );
    one(
        "cases:\n  - id: a\n    prompt: \"{{ 'x' ~ range(20000)|join('x') }}\"\n",
        7,
        13,
        "cases[0].prompt",
        "over the 64 KiB",
    );
    let tags = vec!["t"; 40_000].join(",");
    let rows = (0..100).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    one(
        &format!("cases:\n  - id: \"c{{{{ a }}}}\"\n    matrix: {{a: [{rows}]}}\n    prompt: x\n    tags: [{tags}]\n"),
        6,
        5,
        "cases[0]",
        "brings the expanded cases to",
    );
    assert!(start.elapsed().as_secs() < 20, "refused at once: {:?}", start.elapsed());
    // A long matrix of small cases is no bomb: 2,500 rows load (its list is read once, not per row).
    let rows = (0..2500).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let text = format!("{HEAD}cases:\n  - id: \"c{{{{ i }}}}\"\n    matrix: {{i: [{rows}]}}\n    prompt: x\n");
    let sb = Sandbox::new();
    sb.write("long.yaml", &text);
    let suite = load(&Disk, sb.join("long.yaml").to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(suite.cases.len(), 2500);
}

/// A byte that is not UTF-8 is located: the line and column of the first one.
#[test]
fn a_byte_that_is_not_utf8_is_located() {
    let sb = Sandbox::new();
    std::fs::write(sb.join("s.yaml"), b"schema: 1\nsuite: t\ndescription: \"caf\xe9\"\n").unwrap();
    let err = load(&Disk, sb.join("s.yaml").to_str().unwrap()).expect_err("refused").to_string();
    assert!(err.contains("line 3, column 18: a byte that is not UTF-8"), "{err}");
}

/// Filters that multiply text refuse before building it: `indent(1e13)` aborted the process on
/// a 10 TB allocation, `join` with a long joiner built gigabytes, a loop built all its output
/// before the size check. What no size check stops in time is refused before rendering:
/// `{% set %}`, `with` or a loop over built text (a string doubled at every step), `*` on text or
/// lists (`['a'] * 30000000` took 775 MB), filters that allocate by their argument
/// (`[1]|batch(10**12)` aborted on 24 TB) or materialise, calls other than `range`. Each is a
/// located error, and loading stays small.
#[test]
fn templates_cannot_build_huge_text() {
    let long = "x".repeat(1000);
    for (template, phrase) in [
        ("{{ 'a\\nb'|indent(10000000000000) }}", "indent would build 30000000000003 bytes"),
        ("{{ range(100000)|join(c) }}", "join would build 99999000 bytes"),
        ("{{ c|replace('', c) }}", "replace would build 1002000 bytes"),
        ("{{ '%99999999s'|format(c) }}", "format would build"),
        ("{% for k in range(100000) %}{{ c }}{% endfor %}", "renders to over the 64 KiB"),
        ("{%- set a = 'xx' %}{{ a ~ a }}", "`{% set %}` is not allowed"),
        ("{{ (['a'] * 30000000)|length }}", "`*` and `**` may only multiply numbers"),
        ("{{ [1]|batch(1000000000000) }}", "the filter `batch` is not allowed"),
        ("{{ [1]|list }}", "the filter `list` is not allowed"),
        (
            "{% for b in [c ~ c] %}{% for d in [b ~ b] %}{{ d }}{% endfor %}{% endfor %}",
            "a `for` loop in a suite's template runs over",
        ),
        ("{% with b = c ~ c %}{{ b }}{% endwith %}", "only expressions, `if` and `for` are allowed"),
        ("{{ dict(a=1) }}", "the only function a suite's template may call is `range`"),
        ("{{ 'a'|indent(width=100000000000, first=true) }}", "indent would build 200000000001 bytes"),
        ("{{ n is divisibleby(0) }}", "the test `divisibleby` is not allowed"),
        (
            "{{ '%(a)s%(a)s%(a)s%(a)s%(a)s%(a)s%(a)s%(a)s%(a)s%(a)s'|format({'a': c ~ c ~ c ~ c ~ c ~ c ~ c}) }}",
            "format would build",
        ),
        ("{{ 'x' * 99999999 }}", "`*` and `**` may only multiply numbers"),
        ("{{ c * 3 }}", "`*` and `**` may only multiply numbers"),
        ("{% for s in ['a'] %}{{ s * 3 }}{% endfor %}", "`*` and `**` may only multiply numbers"),
    ] {
        let body = format!(
            "cases:\n  - id: \"a{{{{ n }}}}\"\n    matrix: {{n: [1], c: [{long}]}}\n    prompt: \"{template}\"\n"
        );
        one(&body, 8, 13, "cases[0].prompt", phrase);
    }
    // Concatenation is bounded by the matrix values' size and the number of expressions.
    let chain = vec!["c"; 1100].join(" ~ ");
    let body = format!(
        "cases:\n  - id: \"a{{{{ n }}}}\"\n    matrix: {{n: [1], c: [x]}}\n    prompt: \"{{{{ {chain} }}}}\"\n"
    );
    one(&body, 8, 13, "cases[0].prompt", "over 256 expressions in one field's template");
    // MiniJinja's parser recurses per operator: a long template is refused before it is read.
    let deep = format!("{{{{ {}n }}}}", "not ".repeat(5000));
    let body = format!("cases:\n  - id: \"a{{{{ n }}}}\"\n    matrix: {{n: [1]}}\n    prompt: \"{deep}\"\n");
    one(&body, 8, 13, "cases[0].prompt", "20007 bytes of template (outside {% raw %} blocks), over the 8 KiB");
    // Rendered text kept over many rows is bounded for the whole suite (380 fields of 64 KiB over
    // 10,000 rows asked for 240 GB).
    let fields = vec!["\"{{ '%60000s'|format(a) }}\""; 40].join(", ");
    let rows = (0..100).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let body =
        format!("cases:\n  - id: \"c{{{{ a }}}}\"\n    matrix: {{a: [{rows}]}}\n    prompt: x\n    tags: [{fields}]\n");
    let (_sb, err) = errors(&[("s.yaml", &format!("{HEAD}{body}"))]);
    assert!(err.contains("the suite's templates render to over 64 MiB in all"), "{}", &err[..err.len().min(400)]);
    let huge = "x".repeat(70_000);
    let body = format!(
        "cases:\n  - id: \"a{{{{ n }}}}\"\n    matrix: {{n: [1], c: [{huge}]}}\n    prompt: \"{{{{ c ~ c }}}}\"\n"
    );
    one(&body, 8, 13, "cases[0].prompt", "the matrix value of `c` is 70002 bytes");
}

/// Arithmetic on numbers still works: matrix numbers, `range` loop variables, `loop.index`,
/// number filters.
#[test]
fn templates_multiply_numbers() {
    let sb = Sandbox::new();
    let text = format!(
        "{HEAD}cases:\n  - id: \"a{{{{ i }}}}\"\n    matrix: {{i: [2], c: [red]}}\n    prompt: \"{{{{ c|upper }}}} {{{{ 0.5 * i }}}} {{{{ i ** 2 }}}} {{% for k in range(3) %}}{{{{ k * loop.index }}}}{{% endfor %}} {{{{ (c|length) * 2 }}}}\"\n"
    );
    sb.write("s.yaml", &text);
    let suite = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
    assert_eq!(suite.cases[0].prompt, "RED 1.0 4 026 6");
    // Loops over number literals multiply; lists of literals and variables, and filters of
    // variables, are looped over; a format's digits that are not widths are text.
    sb.write(
        "t.yaml",
        &format!(
            "{HEAD}cases:\n  - id: \"b{{{{ n }}}}\"\n    matrix: {{n: [12]}}\n    prompt: \"{{% for i in [1, 2] %}}{{{{ i * 10 }}}}{{% endfor %}} {{% for a, b in [['red', 1], ['blue', n]] %}}{{{{ a }}}}{{{{ b }}}}{{% endfor %}} {{% for w in n|string|split('1') %}}{{{{ w }}}}{{% endfor %}} {{{{ 'frame 100000 of %s'|format(n) }}}}\"\n"
        ),
    );
    let suite = load(&Disk, sb.join("t.yaml").to_str().unwrap()).unwrap();
    assert_eq!(suite.cases[0].prompt, "1020 red1blue12 2 frame 100000 of 12");
    // The largest of numbers, or a number's default, is a number too.
    sb.write(
        "u.yaml",
        &format!("{HEAD}cases:\n  - id: \"c{{{{ a }}}}\"\n    matrix: {{a: [1], b: [2]}}\n    prompt: \"{{{{ ([a, b]|max) * 2 }}}} {{{{ (a|default(1)) * 3 }}}}\"\n"),
    );
    assert_eq!(load(&Disk, sb.join("u.yaml").to_str().unwrap()).unwrap().cases[0].prompt, "4 3");
}

/// A templated string keeps its own spaces and a block scalar's newline, as a plain one does
/// ("  {{ c }}  " rendered "red"; a block's trailing newline was dropped); a field that is one
/// lone variable keeps the variable's type.
#[test]
fn templated_strings_keep_their_whitespace() {
    let sb = Sandbox::new();
    let text = format!(
        "{HEAD}cases:\n  - id: plain\n    prompt: |\n      a red ball\n      rolls right\n  - id: \"t-{{{{ c }}}}\"\n    matrix: {{c: [red]}}\n    prompt: |\n      a {{{{ c }}}} ball\n      rolls right\n  - id: \"p-{{{{ c }}}}\"\n    matrix: {{c: [red]}}\n    prompt: \"  {{{{ c }}}}  \"\n  - id: \"n-{{{{ n }}}}\"\n    matrix: {{n: [3]}}\n    prompt: x\n    seeds: {{per_case: \"{{{{ n }}}}\"}}\n"
    );
    sb.write("s.yaml", &text);
    let suite = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
    let prompts: Vec<&str> = suite.cases.iter().map(|c| c.prompt.as_str()).collect();
    assert_eq!(prompts, ["a red ball\nrolls right\n", "a red ball\nrolls right\n", "  red  ", "x"]);
    assert_eq!(suite.cases[3].seeds.per_case, 3);
}

/// A matrix number reads the same alone and inside text (`"{{ v }}"` gave 1 where `"x{{ v }}"`
/// gave x1.0), and an infinite one is a located error (a template saw "none").
#[test]
fn matrix_numbers_read_the_same_alone_and_in_text() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        &format!("{HEAD}cases:\n  - id: \"c-{{{{ v }}}}\"\n    matrix: {{v: [1.0, 0.5, 3]}}\n    prompt: \"{{{{ v }}}}\"\n    cluster: \"x{{{{ v }}}}\"\n"),
    );
    let suite = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
    let got: Vec<(&str, &str, &str)> =
        suite.cases.iter().map(|c| (c.id.as_str(), c.prompt.as_str(), c.cluster.as_str())).collect();
    assert_eq!(got, [("c-1.0", "1.0", "x1.0"), ("c-0.5", "0.5", "x0.5"), ("c-3", "3", "x3")]);
    one(
        "cases:\n  - id: a\n    matrix: {v: [1, .inf]}\n    prompt: \"{{ v }}\"\n",
        7,
        21,
        "cases[0].matrix.v",
        "matrix values must be finite numbers or strings, found inf",
    );
}

/// An aspect ratio that describes no frame (`1e12:1` panicked on an overflow), a long side past
/// 8192 pixels (`100000:1` at 8192 gave a width of 819,200,000), and a NaN probe tolerance (which
/// passed every ratio) are located errors.
#[test]
fn extreme_aspects_and_a_nan_tolerance_are_refused() {
    one(
        "cases:\n  - id: a\n    prompt: p\n    generation: {aspect: \"1e12:1\", resolution: 16}\n",
        8,
        26,
        "cases[0].generation.aspect",
        "expected an aspect ratio like \"16:9\"",
    );
    one(
        "cases:\n  - id: a\n    prompt: p\n    generation: {aspect: \"60:1\", resolution: 8192}\n",
        8,
        26,
        "cases[0].generation.aspect",
        "makes the long side 491520 pixels; expected at most 8192",
    );
    // An odd short side keeps a square square (a 1:1 frame at 17 was 18×17).
    let sb = Sandbox::new();
    sb.write("s.yaml", &format!("{HEAD}cases:\n  - id: a\n    prompt: p\n    generation: {{aspect: \"1:1\", resolution: 17}}\n  - id: b\n    prompt: p\n    generation: {{aspect: \"16:9\", resolution: 17}}\n  - id: c\n    prompt: p\n    generation: {{aspect: \"9:16\", resolution: 18}}\n"));
    let suite = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
    let sizes: Vec<(u32, u32)> = suite.cases.iter().map(|c| (c.generation.width, c.generation.height)).collect();
    assert_eq!(sizes, [(17, 17), (30, 17), (18, 32)]);
    one(
        "cases:\n  - id: a\n    prompt: p\n    expect: [{probe: aspect, ratio: \"16:9\", tolerance: .nan}]\n",
        8,
        56,
        "cases[0].expect[0].tolerance",
        "expected a finite tolerance ≥ 0, got NaN",
    );
}

/// A raw NUL (or another control character YAML forbids) is a located error: the parser took a
/// NUL for the end of the text, and every case after it vanished while lint said "ok".
#[test]
fn a_control_character_in_the_file_is_located() {
    one(
        "cases:\n  - id: a\n    prompt: a red ball\0 rolls left\n  - id: b\n    prompt: p\n",
        7,
        23,
        "",
        "the control character U+0000",
    );
    one("cases:\n  - id: a\n    prompt: p # note\u{1b}[8m\n", 7, 21, "", "the control character U+001B");
}

/// Suite text quoted in an error reaches the terminal with its control characters escaped: a
/// case id holding `ESC ]52;…` (writes the clipboard in some terminals) or `ESC[8m` (hides what
/// follows) was printed raw.
#[test]
fn errors_quote_control_characters_escaped() {
    let text = format!("{HEAD}cases:\n  - id: \"a\\u001b]52;c;ZWNobyBoaQ==\\u0007\\u001b[8m\"\n    prompt: p\n");
    let (_sb, err) = errors(&[("s.yaml", &text)]);
    assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "{err:?}");
    assert!(err.contains("a\\u{1b}]52;c;ZWNobyBoaQ==\\u{7}\\u{1b}[8m"), "{err}");
}

/// A YAML tag is honoured (`!!str 123` is text, `!!int "2"` a number) or refused with its
/// place, never dropped: `!!binary aGVsbG8=` was the prompt "aGVsbG8=", `!custom x` was "x".
#[test]
fn tags_are_honoured_or_refused() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        &format!("{HEAD}cases:\n  - id: a\n    prompt: !!str 123\n    seeds: {{per_case: !!int \"2\"}}\n"),
    );
    let suite = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
    assert_eq!((suite.cases[0].prompt.as_str(), suite.cases[0].seeds.per_case), ("123", 2));
    one("cases:\n  - id: a\n    prompt: !!binary aGVsbG8=\n", 7, 22, "", "the tag !!binary is not supported here");
    one("cases:\n  - id: a\n    prompt: !custom hello\n", 7, 21, "", "the tag !custom is not supported here");
    one("cases:\n  - id: a\n    prompt: !!int abc\n", 7, 19, "", "!!int \"abc\": not a YAML int");
    one("cases: !!set\n  - id: a\n", 6, 3, "", "the tag !!set is not supported here");
}

/// A text field that is one matrix variable holding a number is that number as text (`id: "{{ n }}"`
/// was refused as "expected a string"); a number field keeps the number.
#[test]
fn text_fields_of_one_number_variable_are_text() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        &format!("{HEAD}cases:\n  - id: \"{{{{ n }}}}\"\n    matrix: {{n: [1, 2]}}\n    prompt: \"{{{{ n }}}}\"\n    seeds: {{per_case: \"{{{{ n }}}}\"}}\n"),
    );
    let suite = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
    let got: Vec<(&str, &str, u32)> =
        suite.cases.iter().map(|c| (c.id.as_str(), c.prompt.as_str(), c.seeds.per_case)).collect();
    assert_eq!(got, [("1", "1", 1), ("2", "2", 2)]);
}

/// Half of the other description of a frame size keeps what the included one still says, as a
/// case's own `generation` does: an included 854×480 under `aspect: "9:16"` is 480×854 (it was
/// 64×114, the built-in size, without a word), an included 16:9 at 480 under `width: 1280` is
/// 1280×480 (it was 1280×64), and an included size under `resolution: 720` keeps its ratio.
#[test]
fn an_included_frame_size_keeps_what_an_override_leaves_unsaid() {
    let sb = Sandbox::new();
    sb.write("_wh.yaml", "defaults:\n  generation: {width: 854, height: 480}\n");
    sb.write("_ar.yaml", "defaults:\n  generation: {aspect: \"16:9\", resolution: 480}\n");
    for (include, over, size) in [
        ("_wh.yaml", "{aspect: \"9:16\"}", (480, 854)),
        ("_wh.yaml", "{resolution: 720}", (1282, 720)),
        ("_ar.yaml", "{width: 1280}", (1280, 480)),
        ("_ar.yaml", "{height: 720}", (854, 720)),
        ("_wh.yaml", "{width: 640}", (640, 480)),
    ] {
        sb.write(
            "s.yaml",
            &format!("{HEAD}include: [{include}]\ndefaults:\n  generation: {over}\ncases: [{{id: a, prompt: p}}]\n"),
        );
        let s = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
        let g = &s.cases[0].generation;
        assert_eq!((g.width, g.height), size, "{include} under {over}");
    }
}

/// A lone `{{ expression }}` that gives a list is a list (it was the string "[]" and refused
/// as "expected a sequence"), as one that gives a number is a number.
#[test]
fn a_template_expression_giving_a_list_is_a_list() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        &format!(
            "{HEAD}cases:\n  - id: \"c-{{{{ n }}}}\"\n    matrix: {{n: [0, 1]}}\n    prompt: p\n    scene:\n      objects: [{{id: b, shape: circle, color: red, size: 0.2, pos: [0.2, 0.5]}}]\n      cuts: \"{{{{ [] if n == 0 else [1.5] }}}}\"\n"
        ),
    );
    let s = load(&Disk, sb.join("s.yaml").to_str().unwrap()).unwrap();
    let cuts: Vec<Vec<f64>> = s.cases.iter().map(|c| c.scene.as_ref().unwrap().cuts.clone()).collect();
    assert_eq!(cuts, vec![vec![], vec![1.5]]);
    // A tag is text, whatever its variable holds (a number was refused as "expected a string").
    sb.write("t.yaml", &format!("{HEAD}cases:\n  - id: \"c-{{{{ n }}}}\"\n    matrix: {{n: [1, 2]}}\n    prompt: p\n    tags: [\"{{{{ n }}}}\"]\n"));
    let t = load(&Disk, sb.join("t.yaml").to_str().unwrap()).unwrap();
    assert_eq!(t.cases[1].tags, vec!["2".to_string()]);
}

/// A UTF-16 file is said to be one (it was "a byte that is not UTF-8" at line 1), and two files
/// naming one suite are both named.
#[test]
fn utf16_files_and_two_files_of_one_suite_are_named() {
    let sb = Sandbox::new();
    let text: Vec<u8> = [0xFF, 0xFE].into_iter().chain(HEAD.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    std::fs::write(sb.join("u.yaml"), text).unwrap();
    let e = load(&Disk, sb.join("u.yaml").to_str().unwrap()).unwrap_err().to_string();
    assert!(e.contains("UTF-16 text") && e.contains("save it as UTF-8"), "{e}");
    sb.write("a.yaml", &format!("{HEAD}cases: [{{id: a, prompt: p}}]\n"));
    sb.write("b.yaml", &format!("{HEAD}cases: [{{id: a, prompt: p}}]\n"));
    let out = sb.run(&["plan", "--suite", "a.yaml", "--suite", "b.yaml", "--model", "synthetic"]);
    let t = videval_tests::text(&out);
    assert_eq!(videval_tests::code(&out), 3, "{t}");
    assert!(t.contains("suite \"t\" is selected twice: by a.yaml and by b.yaml"), "{t}");
}
