//! The HTML reports in a real browser: Debian's Chromium, headless (installed by ci/setup.sh for
//! the tests). Each page must load without console messages, show every section, render a
//! screenshot and a printed PDF (kept in target/test-artifacts/), and show a prompt containing
//! `<script>` as text; inside the page (driven over WebDriver, so that clips get real time to
//! play) every clip plays (its time advances, no media error) and seeks to its middle, compare
//! pairs are one clip each, every chart has its axis titles in the DOM, and nothing
//! overflows sideways at 1280 px. Rendering the same inputs twice gives the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use videval_tests::webdriver::{Browser, driver};
use videval_tests::{Sandbox, artifact, code, text};

fn chromium() -> PathBuf {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("Chromium is not installed: ci/setup.sh installs Debian's `chromium` for the tests"))
}

/// Chromium headless with the flags a closed network needs (no background connections), a fresh
/// profile, the console sent to stderr, and at most five minutes.
fn browser(profile: &Path, args: &[&str]) -> (String, String) {
    // Under a wall-clock limit: a Chromium that hangs fails the test instead of the whole job.
    let out = Command::new("timeout")
        .arg("300")
        .arg(chromium())
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

/// What a page looks like from inside, in a 1280-px-wide window driven over WebDriver (the
/// chromedriver at `driver_port`): every clip
/// played until it passed 0.75 s (waited for in real time, up to a minute) and then sought to its
/// middle (`clips`: class, currentTime, the end of the played range, the duration, where the seek
/// landed, media error, size), the page's scroll and client widths, each chart's title and text,
/// and the videos per gallery row.
fn inspect(sb: &Sandbox, driver_port: u16, page: &Path) -> Value {
    let b = Browser::new(driver_port, &sb.join("profile-inspect"), &["--window-size=1280,900"]);
    b.go(&format!("file://{}", page.display()));
    b.js("document.querySelectorAll('video').forEach(v => v.play().catch(e => { v.dataset.playError = String(e); }));");
    // Media plays in real time: poll in real time until every clip has played past 0.75 s.
    let start = Instant::now();
    let played = "const played = v => v.played.length ? v.played.end(v.played.length - 1) : 0;";
    while start.elapsed() < Duration::from_secs(60) {
        let waiting = b.js(&format!(
            "{played} return [...document.querySelectorAll('video')].some(v => !v.error && !v.dataset.playError && played(v) <= 0.75);"
        ));
        if waiting == Value::Bool(false) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let v = b.js_async(&format!(
        r#"const done = arguments[arguments.length - 1];
{played}
const seek = v => new Promise(res => {{
  if (v.error || !(v.duration > 0)) return res(null);
  const timer = setTimeout(() => res(null), 60000);
  v.addEventListener('seeked', () => {{ clearTimeout(timer); res(v.currentTime); }}, {{once: true}});
  v.pause();
  v.currentTime = v.duration / 2;
}});
(async () => {{
  const r = {{}};
  try {{
    const d = document;
    const vids = [...d.querySelectorAll('video')];
    const reached = vids.map(played);
    const mids = [];
    for (const v of vids) mids.push(await seek(v));
    r.clips = vids.map((v, i) => ({{cls: v.className, t: v.currentTime,
      played: reached[i], duration: v.duration, mid: mids[i],
      error: v.error ? v.error.code : (v.dataset.playError || null), w: v.videoWidth, h: v.videoHeight,
      muted: v.muted, loop: v.loop, controls: v.controls}}));
    r.scroll_width = d.documentElement.scrollWidth;
    r.client_width = d.documentElement.clientWidth;
    r.charts = [...d.querySelectorAll('svg.plot')].map(s => ({{
      title: (s.querySelector('title') || {{}}).textContent || '',
      texts: [...s.querySelectorAll('text')].map(t => t.textContent.trim())}}));
    r.pair_rows = [...d.querySelectorAll('table.gallery tr')].map(tr => tr.querySelectorAll('video').length);
  }} catch (err) {{ r.error = String(err); }}
  done(r);
}})();"#
    ));
    assert!(v.get("error").is_none(), "{}: {v}", page.display());
    v
}

/// Every clip plays (time advances, a seek to mid-clip completes, no media error, muted, looping,
/// with controls), nothing scrolls sideways at 1280 px, and every chart has its title and the
/// named axis titles.
fn check_inside(v: &Value, page: &str, min_clips: usize, axis_titles: &[&str]) {
    let clips = v["clips"].as_array().unwrap();
    assert!(clips.len() >= min_clips, "{page}: {} clips, expected at least {min_clips}", clips.len());
    for c in clips {
        assert!(c["error"].is_null(), "{page}: media error {c}");
        assert!(c["played"].as_f64().unwrap() > 0.5, "{page}: the clip did not play: {c}");
        assert!(c["duration"].as_f64().unwrap() > 0.5, "{page}: the clip is too short: {c}");
        let mid = c["duration"].as_f64().unwrap() / 2.0;
        assert!(
            c["mid"].as_f64().is_some_and(|t| (t - mid).abs() < 0.1),
            "{page}: a seek to mid-clip did not complete there: {c}"
        );
        assert!(c["w"].as_u64().unwrap() > 0 && c["h"].as_u64().unwrap() > 0, "{page}: no frames {c}");
        assert!(c["muted"] == true && c["loop"] == true && c["controls"] == true, "{page}: {c}");
    }
    assert!(
        v["scroll_width"].as_u64() <= v["client_width"].as_u64(),
        "{page}: horizontal overflow at 1280 px ({} > {})",
        v["scroll_width"],
        v["client_width"]
    );
    for chart in v["charts"].as_array().unwrap() {
        let texts: Vec<&str> = chart["texts"].as_array().unwrap().iter().filter_map(|t| t.as_str()).collect();
        assert!(!chart["title"].as_str().unwrap_or("").is_empty(), "{page}: a chart without a title");
        assert!(
            axis_titles.iter().any(|a| texts.iter().any(|t| t.starts_with(a))),
            "{page}: chart {} has none of the axis titles {axis_titles:?}: {texts:?}",
            chart["title"]
        );
    }
}

/// The page printed to PDF (the print stylesheet), kept as an artifact.
fn print_pdf(sb: &Sandbox, page: &Path, name: &str) {
    let pdf = artifact(name);
    let _ = std::fs::remove_file(&pdf);
    browser(
        &sb.join("profile"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
            &format!("file://{}", page.display()),
        ],
    );
    let bytes = std::fs::read(&pdf).expect("PDF written");
    assert!(bytes.starts_with(b"%PDF") && bytes.len() > 5_000, "{name}: {} bytes", bytes.len());
}

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
    let (_driver, port) = driver();
    sb.write("hostile.yaml", SUITE);
    sb.oracle_and_disc("hostile.yaml,left_right");
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

    // Every sample plays in place: a clip each, inlined; each case's first seed has a filmstrip.
    let disc = String::from_utf8(sb.read("runs/disc/report.html")).unwrap();
    let samples = disc.matches("<td class=\"media\">").count();
    assert!(samples >= 20, "{samples} sample rows");
    assert_eq!(disc.matches("<video class=\"clip\"").count(), samples, "a clip for every sample");
    assert!(disc.contains("data:video&#x2f;mp4;base64,"), "clips are inlined");
    check_page(
        &sb,
        &sb.join("runs/disc/report.html"),
        &["videval run report", "Suite left_right"],
        "run-report-disc.png",
    );
    let inside = inspect(&sb, port, &sb.join("runs/disc/report.html"));
    check_inside(&inside, "run report", samples, &["pass rate, with its 95% CI"]);
    assert!(!inside["charts"].as_array().unwrap().is_empty(), "the capability chart is an SVG chart");
    print_pdf(&sb, &sb.join("runs/disc/report.html"), "run-report-disc.pdf");
    // Past the inline budget, media go to a folder beside the report, none is dropped.
    let o = sb
        .command(&["report", "runs/disc", "--out", "runs/disc/small.html"])
        .env("VIDEVAL_REPORT_INLINE_BYTES", "3000")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let small = String::from_utf8(sb.read("runs/disc/small.html")).unwrap();
    let files: Vec<_> = std::fs::read_dir(sb.join("runs/disc/small_media")).unwrap().collect();
    assert!(!files.is_empty() && small.contains("src=\"small_media&#x2f;"), "no sidecar media");
    for tag in ["<img class=\"poster\"", "<video class=\"clip\""] {
        assert_eq!(
            small.matches(tag).count(),
            disc.matches(tag).count(),
            "every {tag} is shown, inlined or from the folder"
        );
    }
    check_inside(
        &inspect(&sb, port, &sb.join("runs/disc/small.html")),
        "run report, media beside it",
        samples,
        &["pass rate"],
    );

    let o = sb.run(&["compare", "runs/oracle", "runs/disc"]);
    assert!([0, 1].contains(&code(&o)), "{}", text(&o));
    let dom = check_page(
        &sb,
        &sb.join("runs/disc/compare/oracle.html"),
        &["videval compare", "Gate table", "Per case: baseline vs candidate", "Largest paired drops", "Method"],
        "compare-report.png",
    );
    assert!(!dom.contains("<script"));
    // The gallery's pairs: one clip per pair, both halves side by side (square 32-px sources:
    // 2 × height + the 4-px gap), so baseline and candidate cannot drift apart.
    let inside = inspect(&sb, port, &sb.join("runs/disc/compare/oracle.html"));
    check_inside(&inside, "compare", 1, &["baseline "]);
    let rows = inside["pair_rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|n| n == 1), "one clip per gallery pair: {rows:?}");
    for c in inside["clips"].as_array().unwrap().iter().filter(|c| c["cls"] == "pair") {
        assert_eq!(c["w"].as_u64().unwrap(), 2 * c["h"].as_u64().unwrap() + 4, "{c}");
    }
    print_pdf(&sb, &sb.join("runs/disc/compare/oracle.html"), "compare-report.pdf");

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
        if a != b {
            // Both kept, to see what differs.
            std::fs::write(artifact(&format!("rendering-{i}-first")), a).unwrap();
            std::fs::write(artifact(&format!("rendering-{i}-again")), b).unwrap();
        }
        assert!(
            a == b,
            "output {i} differs between two renderings of the same inputs (both in target/test-artifacts/)"
        );
    }
    let dom = check_page(
        &sb,
        &sb.join("runs/oracle/limitations.html"),
        &["Capabilities and limitations", "Pass rate by capability", "Failure taxonomy", "Failure examples"],
        "limitations-report.png",
    );
    assert!(!dom.contains("<script"));
    let o = sb.run(&["report", "runs/disc", "--limitations"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let inside = inspect(&sb, port, &sb.join("runs/disc/limitations.html"));
    check_inside(&inside, "limitations", 1, &["pass rate, with its 95% CI"]);
    assert_eq!(inside["charts"].as_array().unwrap().len(), 1, "the pass-rate chart");
}

/// The committed scaling sweep, re-rendered from its scaling.json: every fit's log–log chart with
/// decade ticks, axis titles and a legend; the page fits 1280 px and prints.
#[test]
fn the_scaling_report_renders_its_charts_in_chromium() {
    let sb = Sandbox::new();
    let (_driver, port) = driver();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/sweeps/tiny-ladder-2026-12-06/scaling.json");
    std::fs::create_dir_all(sb.join("sweep")).unwrap();
    std::fs::copy(&committed, sb.join("sweep/scaling.json")).unwrap();
    let o = sb.run(&["report", "sweep"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let page = sb.join("sweep/scaling.html");
    check_page(&sb, &page, &["Scaling sweep", "Checkpoints", "Method"], "scaling-report.png");
    let inside = inspect(&sb, port, &page);
    check_inside(&inside, "scaling", 0, &["training compute C (FLOPs)"]);
    let charts = inside["charts"].as_array().unwrap();
    let fits = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&committed).unwrap()).unwrap()["fits"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(charts.len(), fits, "one chart per fit");
    for c in charts {
        let texts: Vec<&str> = c["texts"].as_array().unwrap().iter().filter_map(|t| t.as_str()).collect();
        for t in ["10¹²", "10¹³", "fitted law", "95% bootstrap band", "largest compute (also in the fit)"] {
            assert!(texts.contains(&t), "{t} missing from {}", c["title"]);
        }
    }
    // The committed page is what this renders.
    let committed_html = std::fs::read(committed.with_file_name("scaling.html")).unwrap();
    assert!(
        committed_html == sb.read("sweep/scaling.html"),
        "ci/sweeps/…/scaling.html is stale: re-render it with `videval report`"
    );
    print_pdf(&sb, &page, "scaling-report.pdf");
}
