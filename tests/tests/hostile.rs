//! Hostile suite files: a YAML bomb, deep nesting, a huge document, a matrix of a million cases,
//! an include that climbs out of its folder. Each is refused with a located error, using little
//! memory (a counting allocator measures every heap byte; the file has one test so nothing else
//! allocates beside it). Each is refused before any expansion, so none takes long either; the
//! README gives the times measured.

use videval::suite::{Disk, Limits, load_with};
use videval_tests::counting::{self, Counting};
use videval_tests::{Sandbox, code, text};

#[global_allocator]
static ALLOC: Counting = Counting;

const HEAD: &str = "schema: 1\nsuite: t\nversion: 1\nmetrics: [frame_count]\n";

/// Heap a refused file may take.
const BOUND: usize = 300 << 20;

/// "Billion laughs": `levels` levels of anchors, each list aliasing the previous one ten times.
fn laughs(levels: usize) -> String {
    let mut s = format!("{HEAD}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=levels {
        let row = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{row}]\n"));
    }
    s + &format!("cases: *a{levels}\n")
}

/// One long string aliased a million times (the bomb is in the bytes, not the node count).
fn long_string_bomb() -> String {
    let long = "x".repeat(64 << 10);
    let mut s = format!("{HEAD}b0: &b0 \"{long}\"\n");
    for i in 1..=6 {
        let row = vec![format!("*b{}", i - 1); 10].join(", ");
        s.push_str(&format!("b{i}: &b{i} [{row}]\n"));
    }
    s + "cases: *b6\n"
}

fn matrix(sizes: &[usize]) -> String {
    let names: Vec<String> = (0..sizes.len()).map(|i| format!("v{i}")).collect();
    let id: String = names.iter().map(|n| format!("_{{{{{n}}}}}")).collect();
    let mut s = format!("{HEAD}cases:\n  - id: \"c{id}\"\n    prompt: \"p{id}\"\n    matrix:\n");
    for (n, k) in names.iter().zip(sizes) {
        let values: Vec<String> = (0..*k).map(|v| v.to_string()).collect();
        s.push_str(&format!("      {n}: [{}]\n", values.join(", ")));
    }
    s
}

/// Loads `name` from the sandbox and returns the error text and the peak heap bytes.
fn refused(sb: &Sandbox, name: &str, limits: &Limits) -> (String, usize) {
    let path = sb.join(name);
    let path = path.to_str().unwrap();
    let (result, peak) = counting::peak_during(|| load_with(&Disk, path, limits));
    let err = result.expect_err("the file should be refused").to_string();
    assert!(peak < BOUND, "{name}: {peak} B of heap while refusing it");
    eprintln!("{name}: refused with {peak} B of heap: {}", err.lines().next().unwrap_or(""));
    (err, peak)
}

#[test]
fn hostile_suite_files_are_refused_quickly_in_little_memory() {
    let sb = Sandbox::new();
    let limits = Limits::default();

    for levels in [7, 8, 9] {
        let name = format!("laughs{levels}.yaml");
        sb.write(&name, &laughs(levels));
        let (err, _) = refused(&sb, &name, &limits);
        assert!(err.contains("aliases and anchors expand this document past"), "{err}");
        assert!(err.starts_with(&format!("{}:", sb.join(&name).display())), "located: {err}");
    }
    // Anchors nested 60 deep, no alias: each kept a copy of all it holds (1.9 GB from 600 KB).
    let inner = vec!["a"; 20_000].join(", ");
    let nested = format!(
        "{HEAD}x: {}[{inner}]{}\ncases: []\n",
        (0..60).map(|i| format!("&a{i} [")).collect::<String>(),
        "]".repeat(60)
    );
    sb.write("anchors.yaml", &nested);
    let (err, _) = refused(&sb, "anchors.yaml", &limits);
    assert!(err.contains("aliases and anchors expand"), "{err}");
    sb.write("strings.yaml", &long_string_bomb());
    let (err, peak) = refused(&sb, "strings.yaml", &limits);
    assert!(err.contains("aliases and anchors expand"), "{err}");
    assert!(peak < 100 << 20, "{peak}");

    let depth = 100_000;
    sb.write("flow.yaml", &format!("{HEAD}cases: {}{}\n", "[".repeat(depth), "]".repeat(depth)));
    let (err, _) = refused(&sb, "flow.yaml", &limits);
    assert!(err.contains("recursion limit") || err.contains("nest deeper"), "{err}");
    let block: String = (1..200).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
    sb.write("block.yaml", &format!("{HEAD}cases:\n{block}"));
    let (err, _) = refused(&sb, "block.yaml", &limits);
    assert!(err.contains("nest deeper than 64 levels"), "{err}");

    // 9 MiB of comments: refused after reading at most the limit.
    let big = format!("{HEAD}{}", "# padding padding padding padding padding padding padding\n".repeat(170_000));
    assert!(big.len() > 9 << 20);
    sb.write("big.yaml", &big);
    let (err, peak) = refused(&sb, "big.yaml", &limits);
    assert!(err.contains("larger than the 8 MiB"), "{err}");
    assert!(peak < 40 << 20, "{peak}");

    sb.write("matrix.yaml", &matrix(&[100, 100, 100]));
    let (err, peak) = refused(&sb, "matrix.yaml", &limits);
    assert!(err.contains("cases[0].matrix: expands to 1000000 cases (v0: 100 × v1: 100 × v2: 100)"), "{err}");
    assert!(err.contains("over the limit of 10000 cases per suite (raise it with --max-cases)"), "{err}");
    assert!(err.contains(":8:5: "), "located at the matrix key: {err}");
    assert!(peak < 10 << 20, "{peak}");
    // A product past u64 is still a number in the message, not an overflow.
    sb.write("huge.yaml", &matrix(&[1000; 8]));
    let (err, _) = refused(&sb, "huge.yaml", &limits);
    assert!(err.contains("expands to 1000000000000000000000000 cases"), "{err}");
    // The cap counts the whole suite, and raising it lets the same suite load.
    sb.write("ok.yaml", &matrix(&[30, 30]));
    let (err, _) = refused(&sb, "ok.yaml", &Limits { max_cases: 500, ..Limits::default() });
    assert!(err.contains("expands to 900 cases"), "{err}");
    let path = sb.join("ok.yaml");
    assert_eq!(load_with(&Disk, path.to_str().unwrap(), &limits).map(|s| s.cases.len()), Ok(900));
    // Nodes written out are bounded by the file's size, not the aliases' budget: 20,000 plain
    // cases of 30 tags each (1.3 million nodes, no alias) load (100,000 plain cases were refused
    // as "a YAML bomb" whatever --max-cases said).
    let tags = vec!["t"; 30].join(", ");
    let plain: String = (0..20_000).map(|i| format!("  - {{id: c{i}, prompt: p, tags: [{tags}]}}\n")).collect();
    sb.write("plain.yaml", &format!("{HEAD}cases:\n{plain}"));
    let path = sb.join("plain.yaml");
    let wide = Limits { max_cases: 20_000, ..Limits::default() };
    assert_eq!(load_with(&Disk, path.to_str().unwrap(), &wide).map(|s| s.cases.len()), Ok(20_000));
    // Units count too: 900 cases of 1,000 seeds would plan 900,000 units.
    let few_units = Limits { max_units: 5000, ..Limits::default() };
    let seeded = format!("{}defaults: {{seeds: {{per_case: 1000}}}}\n", matrix(&[30, 30]));
    sb.write("seeded.yaml", &seeded);
    let (err, _) = refused(&sb, "seeded.yaml", &few_units);
    assert!(
        err.contains("plans 900000 units (cases × seeds per case): over the limit of 5000 (raise it with --max-units; --limit and --cases choose among the units after the whole suite is expanded"),
        "{err}"
    );

    sb.write("outside.yaml", &format!("{HEAD}description: from outside\n"));
    sb.write("inner/s.yaml", "include: [../outside.yaml]\ncases: [{id: a, prompt: p}]\n");
    let (err, _) = refused(&sb, "inner/s.yaml", &limits);
    assert!(err.contains("include[0]: \"../outside.yaml\" resolves outside the suite's folder"), "{err}");
    assert!(err.contains("--allow-include-outside"), "{err}");
    let path = sb.join("inner/s.yaml");
    let open = Limits { include_outside: true, ..Limits::default() };
    let suite = load_with(&Disk, path.to_str().unwrap(), &open).expect("allowed when asked");
    assert_eq!(suite.description, "from outside");
    // Inside the tree is always fine.
    sb.write("inner/sub/part.yaml", &format!("{HEAD}description: part\n"));
    sb.write("inner/t.yaml", "include: [sub/part.yaml]\ncases: [{id: a, prompt: p}]\n");
    let path = sb.join("inner/t.yaml");
    assert!(load_with(&Disk, path.to_str().unwrap(), &limits).is_ok());
}

/// A reader that goes away (`videval … | head`) ends the command quietly with 141, as a shell
/// reports SIGPIPE, never with a panic message.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    let sb = Sandbox::new();
    // The reader is closed before the child starts, so its first write always finds no reader.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = sb.command(&["suites", "list"]).stdout(writer).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // --help too (it exited 0 whatever became of its text).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = sb.command(&["--help"]).stdout(writer).output().unwrap();
    assert_eq!(out.status.code(), Some(141));
    // Standard output or error on a full disk (/dev/full): an I/O failure, 5, said on the other
    // stream; a failed command keeps its own code. They panicked with 101.
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    for args in [&["suites", "list"][..], &["--help"][..]] {
        let out = sb.command(args).stdout(full()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && (args[0] == "--help" || stderr.contains("No space left")), "{stderr}");
    }
    let out = sb.command(&["run", "--suite", "no-such-suite"]).stderr(full()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}

/// With --json, a failure is a JSON object on standard output (it was an empty stream), with
/// the exit code; files a user names that are not there are bad input (exit 3), not internal
/// errors; the environment's weights folder is checked before any work (a misspelt one failed
/// every measurement as the model's failure) and an empty VIDEVAL_NETWORKS is no folder at all.
#[test]
fn failures_are_json_with_json_and_missing_inputs_are_bad_input() {
    let sb = Sandbox::new();
    for args in [
        &["merge", "nowhere", "--json"][..],
        &["suites", "import", "vbench", "nowhere.json", "--out", "d", "--json"],
        &["run", "--suite", "smoke", "--bogus", "--json"],
    ] {
        let out = sb.run(args);
        assert_eq!(code(&out), 3, "{args:?}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(v["exit_code"], 3, "{v}");
        assert!(!v["error"].as_str().unwrap().is_empty(), "{v}");
    }
    let out = sb.run(&["train", "curve", "nowhere"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let run = ["run", "--suite", "smoke", "--limit", "1", "--out", "r"];
    let out = sb.command(&run).env("VIDEVAL_WEIGHTS", sb.join("no-such-folder")).output().unwrap();
    assert!(code(&out) == 3 && text(&out).contains("VIDEVAL_WEIGHTS="), "{}", text(&out));
    assert!(!sb.join("r").exists(), "refused before any work");
    let out = sb.command(&run).env("VIDEVAL_NETWORKS", "").output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Scoring a run that was never generated scored nothing and said it was done.
    let out = sb.run(&["score", "--suite", "smoke", "--limit", "1", "--out", "never"]);
    assert!(code(&out) == 3 && text(&out).contains("no generations to score"), "{}", text(&out));
    // Statistics are never written over an input.
    std::fs::create_dir_all(sb.join("va")).unwrap();
    let out = sb.run(&["fvd", "va", "va", "--save-stats", "va/clip.mp4"]);
    assert!(code(&out) == 3 && text(&out).contains("ending in .vvstats"), "{}", text(&out));
    // A path through a file, or a name too long for the file system, is the path given (it was
    // exit 5, an internal error).
    sb.write("afile", "");
    let long = format!("{}.yaml", "a".repeat(300));
    for args in [
        &["run", "--suite", "smoke", "--limit", "1", "--out", "afile/run"][..],
        &["sweep", "afile/x.yaml"],
        &["sweep", &long],
        &["train", "generator", "--config", "afile/x.yaml"],
        &["agreement", "runs/a", "runs/b", "--judgments", "afile/j.csv"],
    ] {
        let out = sb.run(args);
        assert_eq!(code(&out), 3, "{args:?}: {}", text(&out));
    }
}

/// A suite's conditioning inputs are read relative to the suite file (they were read relative to
/// the working folder: the same suite planned other keys, and failed, from another folder); one
/// that is not there or not a regular file (a FIFO hung the plan for ever) is bad input before
/// any work, naming the suite, case and field.
#[test]
fn conditioning_inputs_are_found_beside_their_suite_and_checked_before_any_work() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.join("s")).unwrap();
    let ffmpeg = |args: &[&str]| {
        let ok = std::process::Command::new("ffmpeg").current_dir(sb.path()).args(["-v", "error"]).args(args).status();
        assert!(ok.unwrap().success(), "ffmpeg {args:?}");
    };
    ffmpeg(&["-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", "s/img.png"]);
    let suite = |path: &str| {
        format!(
            "schema: 1\nsuite: cond\nversion: 1\nmetrics: [frame_count]\ndefaults:\n  generation: {{frames: 9, fps: 8, width: 32, height: 32, steps: 2}}\n  seeds: {{per_case: 1}}\ncases:\n  - id: c\n    prompt: a red ball\n    mode: i2v\n    input: {{image: {{path: {path}}}}}\n"
        )
    };
    sb.write("s/S.yaml", &suite("img.png"));
    let key = |dir: &str, suite: &str| {
        let out = sb
            .command(&["plan", "--suite", suite, "--model", "world", "--json"])
            .current_dir(sb.join(dir))
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["plan"]["units"][0]["gen_key"].as_str().unwrap().to_string()
    };
    assert_eq!(key(".", "s/S.yaml"), key("s", "S.yaml"), "the same suite, the same keys, from any folder");
    sb.write("s/M.yaml", &suite("nothere.png"));
    let out = sb.run(&["run", "--suite", "s/M.yaml", "--model", "world", "--out", "runs/m"]);
    assert!(
        code(&out) == 3 && text(&out).contains("case c: input.image: s/nothere.png: no such file"),
        "{}",
        text(&out)
    );
    assert!(!sb.join("runs/m").exists(), "refused before any work");
    assert!(std::process::Command::new("mkfifo").arg(sb.join("s/fifo")).status().unwrap().success());
    sb.write("s/F.yaml", &suite("fifo"));
    let start = std::time::Instant::now();
    let out = sb.run(&["plan", "--suite", "s/F.yaml", "--model", "world"]);
    assert!(code(&out) == 3 && text(&out).contains("not a regular file"), "{}", text(&out));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    // What a file holds is checked from its header before any work too: a clip given as the
    // image, a frame past its end, a file that is no picture (each ran the generator first, then
    // failed every unit as the model's failure).
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=s=32x32:r=8:d=0.375", "-c:v", "ffv1", "s/clip.mkv"]);
    sb.write("s/notes.png", "not a picture");
    for (path, want) in [
        ("clip.mkv", "holds more than one frame, an image is one: give frame: N"),
        ("'clip.mkv', frame: 5", "frame 5 asked for, but it holds 3 frames"),
        ("notes.png", "not a readable picture or video"),
    ] {
        sb.write("s/P.yaml", &suite(path));
        let out = sb.run(&["run", "--suite", "s/P.yaml", "--model", "world", "--out", "runs/p"]);
        assert!(code(&out) == 3 && text(&out).contains(want), "{path}: {}", text(&out));
        assert!(!sb.join("runs/p").exists(), "refused before any work");
    }
    sb.write("s/P.yaml", &suite("'clip.mkv', frame: 2"));
    let out = sb.run(&["plan", "--suite", "s/P.yaml", "--model", "world"]);
    assert_eq!(code(&out), 0, "a frame of the clip is an image: {}", text(&out));
    // Where the header states a count (an MP4's index), `lint` and `plan` see the same two
    // mistakes without decoding (they passed both, and `run` refused them).
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=s=32x32:r=8:d=0.375", "-c:v", "libx264", "s/clip.mp4"]);
    for (path, want) in [
        ("clip.mp4", "holds more than one frame, an image is one"),
        ("'clip.mp4', frame: 5", "frame 5 asked for, but it holds 3 frames"),
    ] {
        sb.write("s/P.yaml", &suite(path));
        for command in [&["suites", "lint", "s/P.yaml"][..], &["plan", "--suite", "s/P.yaml", "--model", "world"]] {
            let out = sb.run(command);
            assert!(code(&out) == 3 && text(&out).contains(want), "{path} {command:?}: {}", text(&out));
        }
    }
    sb.write("s/P.yaml", &suite("'clip.mp4', frame: 2"));
    let out = sb.run(&["suites", "lint", "s/P.yaml"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // A fragmented MP4's header counts its first fragment only (here 1 of 3 frames): not
    // trusted, so its last frame is no error (it was refused as past the end).
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=32x32:r=8:d=0.375",
        "-c:v",
        "libx264",
        "-g",
        "1",
        "-movflags",
        "+frag_keyframe",
        "s/frag.mp4",
    ]);
    sb.write("s/P.yaml", &suite("'frag.mp4', frame: 2"));
    let out = sb.run(&["suites", "lint", "s/P.yaml"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Inputs a mode does not read, an empty path, and frame with frames are located errors.
    for (from, to, want) in [
        ("mode: i2v", "mode: t2v", "cases[0].input.image: mode t2v does not use input.image"),
        ("path: img.png}", "path: img.png}, strength: 0.5", "cases[0].input.strength: mode i2v does not use"),
        ("path: img.png", "path: ''", "cases[0].input.image.path: an empty path"),
        ("path: img.png", "path: img.png, frame: 0, frames: [0, 1]", "give frame (one frame) or frames"),
        ("path: img.png", "scene_of: c", "an image from a scene is one frame of its clip: give frame: N"),
    ] {
        sb.write("s/U.yaml", &suite("img.png").replace(from, to));
        let out = sb.run(&["suites", "lint", "s/U.yaml"]);
        assert!(code(&out) == 3 && text(&out).contains(want), "{to}: {}", text(&out));
    }
}

/// Names from files reach the terminal with their control characters escaped: a video named
/// `x ESC[2J ESC]0;pwn BEL.mp4` cleared the screen and set the window title from `fvd`'s error,
/// and `clipscore` printed a prompt's escape sequences raw.
#[test]
fn errors_and_rows_print_control_characters_escaped() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.join("a")).unwrap();
    std::fs::write(sb.join("a/x\u{1b}[2J\u{1b}]0;pwn\u{7}.mp4"), b"not a video").unwrap();
    let out = sb.run(&["fvd", "a", "a"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(code(&out) != 0 && err.contains("x\\u{1b}[2J\\u{1b}]0;pwn\\u{7}.mp4"), "{err}");
    assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "{err:?}");
    // A right-to-left override in a suite's text printed raw read back as another word
    // ("grav\u{202e}ytiv" shows as "gravity").
    sb.write(
        "o.yaml",
        "schema: 1\nsuite: o\nversion: 1\ncases:\n  - id: a\n    prompt: p\n    expect: [{probe: \"grav\u{202e}ytiv\"}]\n",
    );
    let out = sb.run(&["suites", "lint", "o.yaml"]);
    assert!(code(&out) == 3 && text(&out).contains("grav\\u{202e}ytiv"), "{}", text(&out));
    assert!(!text(&out).contains('\u{202e}'), "{}", text(&out));
    std::fs::create_dir_all(sb.join("v")).unwrap();
    let o = sb.run(&[
        "synth",
        "--prompt",
        "a red ball",
        "--frames",
        "4",
        "--width",
        "32",
        "--height",
        "32",
        "--out",
        "v/a.mp4",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    sb.write("p.tsv", "a.mp4\ta blue\u{1b}[31m ball\n");
    let out = sb.run(&["clipscore", "v", "--prompts", "p.tsv"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(code(&out) == 0 && stdout.contains("a blue\\u{1b}[31m ball"), "{}", text(&out));
    assert!(!stdout.chars().any(|c| c.is_control() && c != '\n'), "{stdout:?}");
    // A prompt with no word the world encoder knows (punctuation, another script) is one fixed
    // embedding whatever it says: kept out of the mean, said; with no other prompt, refused.
    std::fs::copy(sb.join("v/a.mp4"), sb.join("v/b.mp4")).unwrap();
    sb.write("p.tsv", "a.mp4\ta blue ball\nb.mp4\t球\n");
    let (c, r) = sb.run_json(&["clipscore", "v", "--prompts", "p.tsv"]);
    assert_eq!(c, 0, "{r}");
    assert_eq!((r["videos_in_mean"].as_u64(), r["rows"][1]["known_words"].as_u64()), (Some(1), Some(0)), "{r}");
    assert_eq!(r["mean_cosine"], r["rows"][0]["cosine"], "{r}");
    assert!(r["warnings"][0].as_str().unwrap().contains("1 of 2 prompts have no word"), "{r}");
    sb.write("p.tsv", "a.mp4\t!!!\nb.mp4\t球\n");
    let out = sb.run(&["clipscore", "v", "--prompts", "p.tsv"]);
    assert!(code(&out) == 3 && text(&out).contains("none of the 2 prompts has a word"), "{}", text(&out));
    // Function words carry no meaning ("a dog": "dog" is unknown, "the" alone says nothing); a
    // video of the folder with no line is said, not silently left out; one file named two ways
    // is scored once.
    sb.write("p.tsv", "a.mp4\ta blue ball\nb.mp4\ta dog\n");
    let (c, r) = sb.run_json(&["clipscore", "v", "--prompts", "p.tsv"]);
    assert_eq!((c, r["rows"][1]["known_words"].as_u64(), r["videos_in_mean"].as_u64()), (0, Some(0), Some(1)), "{r}");
    sb.write("p.tsv", "a.mp4\ta blue ball\n");
    let (c, r) = sb.run_json(&["clipscore", "v", "--prompts", "p.tsv"]);
    assert_eq!(c, 0, "{r}");
    assert!(
        r["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("1 video(s) in v have no line")),
        "{r}"
    );
    sb.write("p.tsv", "a.mp4\ta blue ball\n./a.mp4\ta red ball\n");
    let out = sb.run(&["clipscore", "v", "--prompts", "p.tsv"]);
    assert!(
        code(&out) == 3 && text(&out).contains("listed again as a.mp4") && text(&out).contains("first on line 1"),
        "{}",
        text(&out)
    );
}

/// Clips FFmpeg or the format cannot hold are refused before anything is rendered: a 16384×16384
/// scene rendered for a minute at 7.9 GB before the encoder refused it; 1e-300 fps reached the
/// encoder, which failed without naming the rate; WebP holds at most 16383 pixels a side.
#[test]
fn clips_no_encoder_can_write_are_refused_before_rendering() {
    let sb = Sandbox::new();
    let synth = |extra: &[&str], out: &str| {
        let mut args = vec!["synth", "--prompt", "a red ball", "--frames", "2", "--out", out];
        args.extend_from_slice(extra);
        sb.run(&args)
    };
    let o = synth(&["--fps", "1e-300"], "a.mkv");
    assert!(code(&o) == 3 && text(&o).contains("fps in [0.01, 1000]"), "{}", text(&o));
    let o = synth(&["--width", "16384", "--height", "16384"], "b.mkv");
    assert!(code(&o) == 3 && text(&o).contains("larger than FFmpeg encodes"), "{}", text(&o));
    let o = synth(&["--width", "16384", "--height", "8"], "c.webp");
    assert!(code(&o) == 3 && text(&o).contains("WebP holds at most 16383"), "{}", text(&o));
    assert!(!sb.join("b.mkv").exists() && !sb.join("c.webp").exists());
    let o = synth(&["--width", "64", "--height", "48"], "ok.webp");
    assert_eq!(code(&o), 0, "{}", text(&o));
}

/// Paths that are not UTF-8 (a Latin-1 "jörg" folder): FFmpeg's binding panicked on them (exit
/// 101), and found videos were recorded lossily, every one then "missing". They are bad input,
/// said with the path, before any work.
#[test]
fn paths_that_are_not_utf8_are_refused_clearly() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let latin1 = std::ffi::OsStr::from_bytes(b"j\xf6rg");
    std::fs::create_dir_all(sb.path().join(latin1).join("vids")).unwrap();
    let clip = sb.path().join(latin1).join("clip.mkv");
    let o = sb.run(&["synth", "--prompt", "a red ball", "--out", "ok.mkv"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::copy(sb.join("ok.mkv"), &clip).unwrap();
    let o = sb.command(&["video", "info"]).arg(&clip).output().unwrap();
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("not valid UTF-8") && !text(&o).contains("panicked"), "{}", text(&o));
    let o = sb
        .command(&["run", "--suite", "smoke", "--limit", "1", "--out", "r", "--store"])
        .arg(sb.path().join(latin1))
        .output()
        .unwrap();
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("--store") && text(&o).contains("not valid UTF-8"), "{}", text(&o));
    // A folder of videos reached through it (the working folder here).
    let out = sb.join("r2");
    let o = sb
        .command(&["run", "--suite", "smoke", "--limit", "1", "--model", "dir:vids", "--out"])
        .arg(&out)
        .current_dir(sb.path().join(latin1))
        .output()
        .unwrap();
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("not valid UTF-8"), "{}", text(&o));
}

/// FVD's sets: a video copied within a set is said (each copy counts as a sample), and the same
/// videos in both sets are found whatever batch each was embedded in (a set of 1 or 2 videos
/// embeds them in a batch whose rounding differs from a batch of 3, by 4e-8: none was found).
#[test]
fn fvd_says_copies_within_a_set_and_videos_shared_across_batches() {
    let sb = Sandbox::new();
    for dir in ["a", "b"] {
        std::fs::create_dir_all(sb.join(dir)).unwrap();
    }
    for (i, prompt) in ["a red ball", "a blue cube", "a green ball", "a yellow cube"].iter().enumerate() {
        let out = format!("a/{i}.mp4");
        let o = sb.run(&[
            "synth", "--prompt", prompt, "--seed", "3", "--frames", "8", "--width", "32", "--height", "32", "--out",
            &out,
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    std::fs::copy(sb.join("a/0.mp4"), sb.join("b/x.mp4")).unwrap();
    std::fs::copy(sb.join("a/1.mp4"), sb.join("b/y.mp4")).unwrap();
    std::fs::copy(sb.join("a/1.mp4"), sb.join("a/copy.mp4")).unwrap();
    let (c, r) = sb.run_json(&["fvd", "a", "b"]);
    assert_eq!(c, 0, "{r}");
    let warnings: Vec<&str> = r["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert!(warnings.iter().any(|w| w.contains("1 video(s) of a have the same features as another")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("3 video(s) of a have the same features as one of b")), "{warnings:?}");
}
