//! The HTML reports in a real browser: Debian's Chromium, headless (installed by ci/setup.sh for
//! the tests). Each page must load without console messages, show every section, render a
//! screenshot (kept in target/test-artifacts/), and show a prompt containing `<script>` as text;
//! rendering the same inputs twice gives the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use videval_tests::{Sandbox, code, text};

fn chromium() -> PathBuf {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("Chromium is not installed: ci/setup.sh installs Debian's `chromium` for the tests"))
}

/// Chromium headless with the flags a closed network needs (no background connections), a fresh
/// profile, and the console sent to stderr.
fn browser(profile: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("runs chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Console messages the page produced (Chromium logs them as `CONSOLE(line)] "text"`).
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

fn artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const SUITE: &str = r#"schema: 1
suite: hostile
version: 1
description: a prompt that tries to inject markup into the report
cases:
  - id: inject
    prompt: "a red ball falls <script>document.title='pwned';console.error('injected')</script><img src=x onerror=alert(1)>"
    generation: {frames: 9, width: 32, height: 32}
    seeds: {per_case: 2}
    scene:
      objects: [{id: ball, shape: circle, color: red, size: 0.16, pos: [0.5, 0.15]}]
      gravity: 2.0
      floor: true
    expect:
      - {probe: gravity, object: {color: red}, direction: down}
"#;

fn check_page(sb: &Sandbox, page: &Path, sections: &[&str], shot: &str) -> String {
    let url = format!("file://{}", page.display());
    let (dom, log) = browser(&sb.join("profile"), &["--dump-dom", &url]);
    let console = console_messages(&log);
    assert!(console.is_empty(), "console messages on {url}: {console:#?}");
    for s in sections {
        assert!(dom.contains(s), "{url}: section {s:?} missing");
    }
    let png = artifact(shot);
    let _ = std::fs::remove_file(&png);
    browser(&sb.join("profile"), &[&format!("--screenshot={}", png.display()), "--window-size=1280,2400", &url]);
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{shot}: {} bytes", bytes.len());
    dom
}

#[test]
fn run_and_compare_reports_render_in_chromium_and_show_markup_as_text() {
    let sb = Sandbox::new();
    sb.write("hostile.yaml", SUITE);
    for (model, out) in [("world", "runs/oracle"), ("synthetic", "runs/disc")] {
        let o = sb.run(&["run", "--suite", "hostile.yaml,left_right", "--model", model, "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let dom = check_page(
        &sb,
        &sb.join("runs/oracle/report.html"),
        &[
            "videval run report",
            "Suite hostile",
            "Suite left_right",
            "Pass rate per capability family",
            "Understanding this report",
        ],
        "run-report.png",
    );
    // The prompt is text: escaped in the serialized DOM, no script ran, no injected element.
    assert!(dom.contains("&lt;script&gt;document.title='pwned'"), "prompt not shown as text");
    assert!(!dom.contains("<title>pwned") && !dom.contains("<script") && !dom.contains("<img src=\"x\""));

    // The disc renderer fails checks: its worst cases get animated previews.
    let disc = String::from_utf8(sb.read("runs/disc/report.html")).unwrap();
    assert!(disc.contains("class=\"preview\"") && disc.contains("data:image&#x2f;webp;base64,"), "no previews");
    assert!(disc.matches("class=\"preview\"").count() <= 6);
    check_page(
        &sb,
        &sb.join("runs/disc/report.html"),
        &["videval run report", "Suite left_right"],
        "run-report-disc.png",
    );
    // Past the inline budget, pictures go to a folder beside the report, none is dropped.
    let o = sb
        .command(&["report", "runs/disc", "--out", "runs/disc/small.html"])
        .env("VIDEVAL_REPORT_INLINE_BYTES", "3000")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let small = String::from_utf8(sb.read("runs/disc/small.html")).unwrap();
    let files: Vec<_> = std::fs::read_dir(sb.join("runs/disc/small_media")).unwrap().collect();
    assert!(!files.is_empty() && small.contains("src=\"small_media&#x2f;"), "no sidecar media");
    assert_eq!(
        small.matches("<img class=\"poster\"").count(),
        disc.matches("<img class=\"poster\"").count(),
        "every poster is shown, inlined or from the folder"
    );

    let o = sb.run(&["compare", "runs/oracle", "runs/disc"]);
    assert!([0, 1].contains(&code(&o)), "{}", text(&o));
    let dom = check_page(
        &sb,
        &sb.join("runs/disc/compare/oracle.html"),
        &["videval compare", "Gate table", "Per case: baseline vs candidate", "Regression gallery", "Method"],
        "compare-report.png",
    );
    assert!(!dom.contains("<script"));

    let o = sb.run(&["report", "runs/oracle", "--limitations"]);
    assert_eq!(code(&o), 0, "{}", text(&o));

    // Rendering is deterministic: the same result files give the same bytes, every time.
    let outputs = || {
        [
            "runs/disc/report.html",
            "runs/oracle/report.html",
            "runs/disc/compare/oracle.html",
            "runs/disc/compare/oracle.md",
            "runs/disc/compare/oracle.junit.xml",
            "runs/oracle/limitations.html",
        ]
        .map(|p| sb.read(p))
    };
    let first = outputs();
    for args in [
        &["report", "runs/disc"][..],
        &["report", "runs/oracle"],
        &["compare", "runs/oracle", "runs/disc"],
        &["report", "runs/oracle", "--limitations"],
    ] {
        assert!([0, 1].contains(&code(&sb.run(args))));
    }
    let again = outputs();
    for (i, (a, b)) in first.iter().zip(&again).enumerate() {
        assert!(a == b, "output {i} differs between two renderings of the same inputs");
    }
    let dom = check_page(
        &sb,
        &sb.join("runs/oracle/limitations.html"),
        &["Capabilities and limitations", "Pass rate by capability", "Failure taxonomy", "Failure examples"],
        "limitations-report.png",
    );
    assert!(!dom.contains("<script"));
}
