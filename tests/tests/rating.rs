//! The rating app in a real browser, driven over WebDriver (Debian's chromium-driver, installed by
//! ci/setup.sh --tests): a scripted rater answers 20 pairs by keyboard and mouse and the database
//! holds exactly those judgments; a second rater rates at the same time; both videos of a pair
//! really play, in step; a hostile prompt and a hostile rater name are shown as text; the server
//! killed mid-rating loses no acknowledged judgment and the rater continues where they stopped.
//! Then `videval agreement` on judgments that always prefer the world oracle over the synthetic
//! renderer reports probe:position agreement ≥ 0.9 with an interval containing it.
//! Screenshots of the rating page go to target/test-artifacts/.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use videval_tests::webdriver::{Browser, Killed, driver, http};
use videval_tests::{Sandbox, bin, code, text};

const SUITE: &str = r#"schema: 1
suite: hostile
version: 1
description: a prompt that tries to inject markup into the rating page
question: "Does the <b>ball</b> fall?"
cases:
  - id: inject
    prompt: "a red ball falls <script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
    generation: {frames: 9, width: 32, height: 32}
    seeds: {per_case: 2}
    scene:
      objects: [{id: ball, shape: circle, color: red, size: 0.16, pos: [0.5, 0.15]}]
      gravity: 2.0
      floor: true
"#;

/// Starts `videval rate` on a port the system picks and waits for its "rating page:" line;
/// returns the server and its port.
fn serve(sb: &Sandbox) -> (Killed, u16) {
    start(
        sb,
        &[
            "runs/oracle",
            "runs/disc",
            "--names",
            "world,synthetic",
            "--db",
            "r.sqlite",
            "--suite",
            "hostile.yaml,left_right",
        ],
    )
}

/// Judgments in the database, read through `videval rate --export` (the CSV `videval agreement`
/// reads) as rows of (rater, left, right, choice).
fn exported(sb: &Sandbox) -> Vec<[String; 4]> {
    let o = sb.run(&["rate", "--db", "r.sqlite", "--export", "out.csv"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let csv = String::from_utf8(sb.read("out.csv")).unwrap();
    assert!(csv.starts_with("rater,suite,case_id,seed_idx,left,right,choice,shown_left,shown_right\n"));
    let js = videval::agreement::read_csv(&sb.join("out.csv"), &csv).unwrap();
    // The videos shown travel with the judgments, as the database has them.
    let db = videval::rate::Db::open_existing(&sb.join("r.sqlite")).unwrap().judgments().unwrap();
    assert_eq!(
        js.iter().map(|j| j.shown.clone()).collect::<Vec<_>>(),
        db.iter().map(|j| j.shown.clone()).collect::<Vec<_>>()
    );
    js.into_iter().map(|j| [j.rater, j.left, j.right, j.choice.as_str().to_string()]).collect()
}

/// Waits until the page shows a pair other than `previous` (or is done); returns its state.
fn wait_ready(b: &Browser, previous: Option<&str>) -> (String, String) {
    let start = Instant::now();
    loop {
        let v = b.js("return [document.body.dataset.state || '', document.body.dataset.pair || ''];");
        let (state, pair) = (v[0].as_str().unwrap().to_string(), v[1].as_str().unwrap().to_string());
        if state == "done" || (state == "ready" && Some(pair.as_str()) != previous) {
            return (state, pair);
        }
        assert!(
            state != "error",
            "the page shows an error: {}",
            b.js("return document.getElementById('error').textContent;")
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the page never got ready ({state}, pair {pair} after {previous:?}; {})",
            // Whether the answer was counted tells a lost click or key from a repeated pair.
            b.js("return document.getElementById('count').textContent;")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where the answer buttons are when the pair shows, and again once both videos know their
/// size: a rater's click must not land on whatever moved under the pointer.
fn buttons_stay(b: &Browser) {
    let v = b.js_async(
        "const done = arguments[0]; const top = () => document.getElementById('a-left').getBoundingClientRect().top;
         const before = top(); const L = document.getElementById('left'), R = document.getElementById('right');
         const t0 = performance.now();
         (function wait() {
           if ((L.readyState >= 1 && R.readyState >= 1) || performance.now() - t0 > 60000) done([before, top(), L.readyState, R.readyState]);
           else setTimeout(wait, 20);
         })();",
    );
    assert!(v[2].as_u64() >= Some(1) && v[3].as_u64() >= Some(1), "the videos never loaded: {v}");
    assert_eq!(v[0], v[1], "the answer buttons moved when the videos loaded: {v}");
}

const KEYS: [(&str, &str); 4] = [("1", "left"), ("\u{E014}", "right"), ("t", "tie"), ("b", "both_bad")];
const BUTTONS: [(&str, &str); 4] =
    [("#a-right", "right"), ("#a-left", "left"), ("#a-both_bad", "both_bad"), ("#a-tie", "tie")];

/// Answers the pair on screen, by key when `i` is even and by mouse otherwise; returns the
/// answer given.
fn answer(b: &Browser, i: usize) -> &'static str {
    if i % 2 == 0 {
        let (k, choice) = KEYS[(i / 2) % 4];
        b.key(k);
        choice
    } else {
        let (css, choice) = BUTTONS[(i / 2) % 4];
        b.click(css);
        choice
    }
}

#[test]
fn raters_judge_pairs_in_chromium_and_the_database_keeps_every_answer() {
    let sb = Sandbox::new();
    sb.write("hostile.yaml", SUITE);
    sb.oracle_and_disc("hostile.yaml,left_right");
    let (mut server, port) = serve(&sb);
    let (_driver, dport) = driver();
    let ann = Browser::new(dport, &sb.join("profile-ann"), &["--window-size=1280,900"]);
    ann.go(&format!("http://127.0.0.1:{port}/?rater=ann"));
    let (_, mut pair) = wait_ready(&ann, None);
    // Each suite's question: the hostile suite says its own, left_right has none (the default).
    let q = ann.js("return document.getElementById('question').textContent;");
    assert!(
        ["Does the <b>ball</b> fall?", "Which video matches the prompt better?"].contains(&q.as_str().unwrap()),
        "{q}"
    );

    // Both videos play, and in step: the right one within a frame of the left one.
    let t = ann.js_async(
        "const done = arguments[0]; const L = document.getElementById('left'), R = document.getElementById('right');
         Promise.all([L.play(), R.play()]).catch(() => {});
         const t0 = performance.now();
         (function wait() {
           // Real time, up to 60 s: a loaded machine starts playback late.
           if ((L.currentTime > 0.3 && R.currentTime > 0.3) || L.error || R.error || performance.now() - t0 > 60000)
             done([L.currentTime, R.currentTime, L.error && L.error.code, R.error && R.error.code,
                   L.videoWidth, R.videoWidth, L.paused, R.paused]);
           else setTimeout(wait, 50);
         })();",
    );
    assert!(t[2].is_null() && t[3].is_null(), "media errors: {t}");
    assert!(t[0].as_f64().unwrap() > 0.3 && t[1].as_f64().unwrap() > 0.3, "the videos did not play: {t}");
    assert!(t[4].as_u64().unwrap() > 0 && t[5].as_u64().unwrap() > 0, "{t}");
    ann.js("document.getElementById('left').pause();");
    let gap = ann.js_async(
        "const done = arguments[0]; const L = document.getElementById('left'), R = document.getElementById('right');
         const t0 = performance.now();
         (function wait() {
           // Until the page's pause handler has run (up to 30 s on a busy renderer).
           const gap = Math.abs(L.currentTime - R.currentTime);
           if ((R.paused && gap <= 1 / 8) || performance.now() - t0 > 30000) done(gap);
           else setTimeout(wait, 20);
         })();",
    );
    assert!(gap.as_f64().unwrap() <= 1.0 / 8.0 + 1e-6, "paused apart by {gap} s (the clips run at 8 fps)");
    ann.screenshot("rating-page.png");

    // Ten answers by ann alone, then ten each by ann and bob at the same time.
    let bob = Browser::new(dport, &sb.join("profile-bob"), &["--window-size=1280,900"]);
    let hostile_name = "bob <img src=x onerror=\"document.title='pwned'\">";
    let encoded: String = hostile_name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    bob.go(&format!("http://127.0.0.1:{port}/?rater={encoded}"));
    let (_, mut bob_pair) = wait_ready(&bob, None);
    assert_eq!(bob.js("return document.getElementById('who').textContent;"), format!("— rating as {hostile_name}"));
    assert_eq!(bob.js("return document.querySelectorAll('#who *, img').length;"), 0, "the name is text");
    let mut given: Vec<&str> = Vec::new();
    let mut bob_given: Vec<&str> = Vec::new();
    for i in 0..20 {
        given.push(answer(&ann, i));
        pair = wait_ready(&ann, Some(&pair)).1;
        if i < 10 {
            buttons_stay(&ann);
        }
        if i >= 10 {
            bob_given.push(answer(&bob, i + 1));
            bob_pair = wait_ready(&bob, Some(&bob_pair)).1;
        }
    }
    let rows = exported(&sb);
    let mine = |r: &str| -> Vec<String> {
        let mut v: Vec<String> = rows.iter().filter(|x| x[0] == r).map(|x| x[3].clone()).collect();
        v.sort();
        v
    };
    let sorted = |v: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(mine("ann"), sorted(&given), "exactly ann's 20 answers");
    assert_eq!(mine(hostile_name), sorted(&bob_given), "exactly bob's 10 answers");
    assert_eq!(rows.len(), 30);
    // Left and right are recorded: every row names two different runs (or the two gold sides).
    assert!(
        rows.iter()
            .all(|r| r[1] != r[2] && ["world", "synthetic", "gold:oracle", "gold:degraded"].contains(&r[1].as_str()))
    );

    // Killed without warning after the 20th acknowledged answer: nothing is lost, ann resumes.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    assert_eq!(exported(&sb).len(), 30, "every acknowledged judgment survived the kill");
    // Back on a new port: the page's state lives on the server, not in the browser.
    let (_server, port) = serve(&sb);
    ann.go(&format!("http://127.0.0.1:{port}/?rater=ann"));
    let (_, resumed) = wait_ready(&ann, None);
    let count = ann.js("return document.getElementById('count').textContent;");
    assert!(count.as_str().unwrap().starts_with("20 of "), "{count}");
    given.push(answer(&ann, 0));
    wait_ready(&ann, Some(&resumed));
    assert_eq!(exported(&sb).iter().filter(|r| r[0] == "ann").count(), 21);

    // A hostile prompt is text: skip until it shows, then look at the page.
    let eve = Browser::new(dport, &sb.join("profile-eve"), &["--window-size=1280,900"]);
    eve.go(&format!("http://127.0.0.1:{port}/?rater=eve"));
    let (_, mut p) = wait_ready(&eve, None);
    let mut seen = false;
    for _ in 0..60 {
        let prompt = eve.js("return document.getElementById('prompt').textContent;");
        if prompt.as_str().unwrap().contains("<script>") {
            assert_eq!(eve.js("return document.querySelectorAll('#prompt *, #question *').length;"), 0);
            assert_eq!(eve.js("return document.getElementById('question').textContent;"), "Does the <b>ball</b> fall?");
            assert_eq!(eve.js("return document.title;"), "videval — rate pairs");
            eve.screenshot("rating-page-hostile-prompt.png");
            seen = true;
            break;
        }
        eve.key("s");
        p = wait_ready(&eve, Some(&p)).1;
    }
    assert!(seen, "the hostile prompt never came up");
    assert_eq!(exported(&sb).iter().filter(|r| r[0] == "eve").count(), 0, "skipping records nothing");

    // A name the server refuses is forgotten and asked again (it was kept in the browser, and
    // every reload showed only the error).
    let dan = Browser::new(dport, &sb.join("profile-dan"), &["--window-size=1280,900"]);
    dan.go(&format!("http://127.0.0.1:{port}/"));
    dan.js("localStorage.setItem('videval-rater', '-dan'); location.reload();");
    let start = Instant::now();
    while dan.js("return document.body.dataset.state;") != "login" {
        assert!(start.elapsed() < Duration::from_secs(30), "the name form never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dan.js("return localStorage.getItem('videval-rater');").is_null());
    assert!(dan.js("return document.getElementById('error').textContent;").as_str().unwrap().contains("name"));
    dan.js("document.getElementById('name').value = 'dan'; document.getElementById('login').requestSubmit();");
    wait_ready(&dan, None);
    assert_eq!(dan.js("return localStorage.getItem('videval-rater');"), "dan");

    // The server serves its page, its API and its clips, nothing else.
    assert_eq!(http(port, "GET", "/../../../../etc/passwd", None).0, 404);
    assert_eq!(http(port, "GET", "/clip/0/..%2F..%2Fr.sqlite?rater=ann", None).0, 404);
    assert_eq!(http(port, "GET", "/clip/99999/left?rater=ann", None).0, 404);
    assert_eq!(http(port, "OPTIONS", "/", None).0, 405, "a method the page never uses");
}

#[test]
fn agreement_finds_the_probe_that_agrees_with_people_who_prefer_the_oracle() {
    let sb = Sandbox::new();
    sb.oracle_and_disc("left_right");
    // Two raters who always prefer the world oracle, shown on either side.
    let results: Value = serde_json::from_slice(&sb.read("runs/oracle/results.json")).unwrap();
    let judgments = |good: &str, bad: &str| {
        let mut csv = String::from("rater,suite,case_id,seed_idx,left,right,choice\n");
        for (k, s) in results["samples"].as_array().unwrap().iter().enumerate() {
            for rater in ["ann", "bob"] {
                let (left, right, choice) =
                    if (k + rater.len()) % 2 == 0 { (good, bad, "left") } else { (bad, good, "right") };
                csv.push_str(&format!(
                    "{rater},{},{},{},{left},{right},{choice}\n",
                    s["suite"].as_str().unwrap(),
                    s["case_id"].as_str().unwrap(),
                    s["seed_idx"]
                ));
            }
        }
        csv
    };
    let csv = judgments("world", "synthetic");
    sb.write("j.csv", &csv);
    let (rc, v) =
        sb.run_json(&["agreement", "--runs", "world=runs/oracle,synthetic=runs/disc", "--judgments", "j.csv"]);
    assert_eq!(rc, 0, "{v}");
    let m = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "probe:position" && m["suite"] == "left_right")
        .unwrap_or_else(|| panic!("no probe:position row: {v}"));
    let a = m["agreement"].as_f64().unwrap();
    let [lo, hi] = [m["ci"][0].as_f64().unwrap(), m["ci"][1].as_f64().unwrap()];
    assert!(a >= 0.9 && lo <= a && a <= hi, "{m}");
    assert_eq!(v["raters"]["n"], 2);
    // Both raters always prefer the oracle: perfect agreement (each pair counted both ways round,
    // so a run always preferred is not "no variation").
    assert_eq!(v["raters"]["krippendorff_alpha"], 1.0, "{v}");
    let o = sb.run(&["agreement", "--runs", "world=runs/oracle,synthetic=runs/disc", "--judgments", "j.csv"]);
    assert!(text(&o).contains(&format!("{} judgments on ", csv.lines().count() - 1)), "{}", text(&o));
    assert!(sb.join("j.agreement.html").is_file());
    // The compare report shows the same table when given judgments naming the runs by folder;
    // judgments of other runs in the same file (a database rated against a third run) are left
    // out and said so (they were refused, so such a file could never be used).
    let third = "ann,left_right,above-below,0,oracle,another-run,left\n";
    sb.write("by-folder.csv", &format!("{}{third}", judgments("oracle", "disc")));
    let o = sb.run(&["compare", "runs/oracle", "runs/disc", "--judgments", "by-folder.csv"]);
    assert!([0, 1].contains(&code(&o)), "{}", text(&o));
    let page = String::from_utf8(sb.read("runs/disc/compare/oracle.html")).unwrap();
    assert!(page.contains("Do the metrics agree with people?") && page.contains("<code>probe:position</code>"));
    assert!(page.contains("1 judgment(s) of other runs than"), "the third run's judgment is said left out");
    // Judgments pair two answers to one request: a run whose sample was made for another prompt
    // (a suite that shares case ids only) is refused, naming both prompts.
    let mut other: Value = serde_json::from_slice(&sb.read("runs/disc/results.json")).unwrap();
    for s in other["samples"].as_array_mut().unwrap() {
        s["prompt"] = Value::from("a yellow triangle spins");
    }
    std::fs::create_dir_all(sb.join("runs/other")).unwrap();
    sb.write("runs/other/results.json", &other.to_string());
    let o = sb.run(&["agreement", "--runs", "world=runs/oracle,synthetic=runs/other", "--judgments", "j.csv"]);
    assert!(code(&o) == 3 && text(&o).contains("made it for different requests"), "{}", text(&o));
    // One folder under two names is one run.
    let o = sb.run(&["agreement", "--runs", "world=runs/oracle,synthetic=runs/./oracle", "--judgments", "j.csv"]);
    assert!(code(&o) == 3 && text(&o).contains("are the same run folder"), "{}", text(&o));
    let runs = [("a".to_string(), sb.join("runs/oracle")), ("b".to_string(), sb.join("runs/other"))];
    let refused = videval::rate::pairs(&runs, &[]).map(|p| p.len()).unwrap_err().to_string();
    assert!(refused.contains("made it for different requests"), "{refused}");
    // A judgment naming a run that --runs does not give is refused, naming it.
    sb.write(
        "bad.csv",
        "rater,suite,case_id,seed_idx,left,right,choice\nann,left_right,above-below,0,world,sora,left\n",
    );
    let o = sb.run(&["agreement", "--runs", "world=runs/oracle,synthetic=runs/disc", "--judgments", "bad.csv"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("\"sora\""), "{}", text(&o));
}

/// Hostile inputs around the rating server: a results.json whose video hash is a path is refused
/// before anything is served (it read and wrote .mp4 files outside the media folder); another
/// program's SQLite file is refused untouched; --export never overwrites the database; clients
/// stalled mid-upload do not stop the page from answering.
#[test]
fn the_rating_server_refuses_hostile_runs_and_files_and_outlives_stalled_clients() {
    use std::io::Write;
    let sb = Sandbox::new();
    for (model, out) in [("synthetic", "runs/a"), ("world", "runs/b")] {
        let o = sb.run(&["run", "--suite", "smoke", "--model", model, "--limit", "2", "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    // A hash that is a path.
    let mut r: Value = serde_json::from_slice(&sb.read("runs/a/results.json")).unwrap();
    r["samples"][0]["video_sha256"] = "sha256:../../escaped".into();
    std::fs::create_dir_all(sb.join("runs/evil")).unwrap();
    for f in ["plan.json", "shards"] {
        let o = Command::new("cp").arg("-r").arg(sb.join("runs/a").join(f)).arg(sb.join("runs/evil")).status().unwrap();
        assert!(o.success());
    }
    sb.write("runs/evil/results.json", &r.to_string());
    let o = sb.run(&["rate", "runs/evil", "runs/b", "--db", "e.sqlite", "--port", "0"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("the results name the video sha256:../../escaped"), "{}", text(&o));
    // Another program's database.
    let other = sb.join("other.sqlite");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    let before = std::fs::read(&other).unwrap();
    let o = sb.run(&["rate", "runs/a", "runs/b", "--db", "other.sqlite", "--port", "0"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("not a videval rating database"), "{}", text(&o));
    assert_eq!(std::fs::read(&other).unwrap(), before, "untouched");
    // A run name that a spreadsheet opening the export would run as a formula.
    let o = sb.run(&["rate", "runs/a", "runs/b", "--names", "@SUM(A1),b", "--db", "n.sqlite", "--port", "0"]);
    assert!(code(&o) == 3 && text(&o).contains("runs it as a formula"), "{}", text(&o));
    // The server: five clients stall mid-upload, the page still answers.
    let (_server, port) = start(&sb, &["runs/a", "runs/b", "--db", "r.sqlite", "--gold-every", "0"]);
    let stalled: Vec<std::net::TcpStream> = (0..5)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"POST /api/judge HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"rater\":").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let (status, _) = http(port, "GET", "/", None);
    assert_eq!(status, 200);
    assert!(start.elapsed() < Duration::from_secs(10), "answered while {} clients stall", stalled.len());
    drop(stalled);
    drop(_server);
    // Export onto the database itself is refused; the database still reads.
    let o = sb.run(&["rate", "--db", "r.sqlite", "--export", "r.sqlite"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("the database's own file"), "{}", text(&o));
    let o = sb.run(&["rate", "--db", "r.sqlite", "--export", "j.csv"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Run folders or suites beside --export select nothing: refused, not passed over.
    let o = sb.run(&["rate", "runs/a", "runs/b", "--db", "r.sqlite", "--export", "k.csv"]);
    assert!(code(&o) == 3 && text(&o).contains("select nothing"), "{}", text(&o));
}

/// Starts `videval rate ARGS… --port 0` and returns the server and its port.
fn start(sb: &Sandbox, args: &[&str]) -> (Killed, u16) {
    let mut child = Command::new(bin())
        .current_dir(sb.path())
        .arg("rate")
        .args(args)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("videval rate printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("rating page: http://127.0.0.1:") {
            let port = rest.split('/').next().and_then(|p| p.parse().ok()).unwrap();
            return (Killed(child), port);
        }
    }
}

/// A request with headers of our choosing; returns the status.
fn raw(port: u16, request: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Answers only from the page itself (JSON from this origin, a host naming this machine: any
/// page a rater visited could answer for them), only for the pair the page showed, only under
/// names no one else's look like; and a rater's answers count when the server is started again
/// with the runs the other way round (every pair was asked again, and answered twice).
#[test]
fn answers_come_from_the_page_for_its_pair_and_survive_a_restart_with_the_runs_swapped() {
    let sb = Sandbox::new();
    for (model, out) in [("synthetic", "runs/a"), ("world", "runs/b")] {
        let o = sb.run(&["run", "--suite", "smoke", "--model", model, "--limit", "3", "--out", out]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let (server, port) = start(&sb, &["runs/a", "runs/b", "--db", "r.sqlite", "--gold-every", "0"]);
    let body = r#"{"rater":"ann","pair":0,"choice":"left","ms":5}"#;
    let post = |headers: &str| {
        raw(
            port,
            &format!(
                "POST /api/judge HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let here = format!("Host: 127.0.0.1:{port}\r\n");
    assert_eq!(post(&format!("{here}Content-Type: text/plain\r\n")), 415, "a form-like POST");
    assert_eq!(post(&format!("{here}Content-Type: application/json\r\nOrigin: http://evil.example\r\n")), 403);
    let rebound = "GET / HTTP/1.1\r\nHost: evil.example:8765\r\nConnection: close\r\n\r\n";
    assert_eq!(raw(port, rebound), 403, "a page reached through another host name");
    for name in ["ann%20", "%3DHYPERLINK(1)", "-2%2B3", "Zoe%CC%88", "ann%EF%B8%8F", "a%E2%80%A8b", "%E3%85%A4"] {
        let (status, _) = http(port, "GET", &format!("/api/next?rater={name}"), None);
        assert_eq!(status, 400, "rater {name}");
    }
    let (status, next) = http(port, "GET", "/api/next?rater=ann", None);
    assert_eq!(status, 200);
    let next: Value = serde_json::from_slice(&next).unwrap();
    let (pair, token) = (next["pair"].clone(), next["token"].as_str().unwrap().to_string());
    let wrong = serde_json::json!({"rater": "ann", "pair": pair, "token": "0-0", "choice": "left", "ms": 5});
    let (status, _) = http(port, "POST", "/api/judge", Some(&wrong));
    assert_eq!(status, 400, "an answer for another pair than the page showed");
    let right = serde_json::json!({"rater": "ann", "pair": pair, "token": token, "choice": "left", "ms": 5});
    let (status, after) = http(port, "POST", "/api/judge", Some(&right));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&after));
    let after: Value = serde_json::from_slice(&after).unwrap();
    assert_eq!(after["progress"]["done"], 1);
    drop(server);
    // The runs the other way round: the same pairs, the answer kept, the side the same.
    let (_server, port) = start(&sb, &["runs/b", "runs/a", "--names", "b,a", "--db", "r.sqlite", "--gold-every", "0"]);
    let (_, again) = http(port, "GET", "/api/next?rater=ann", None);
    let again: Value = serde_json::from_slice(&again).unwrap();
    assert_eq!(again["progress"]["done"], 1, "{again}");
    assert_ne!(again["token"], token.as_str(), "the answered pair is not asked again");
    // A database that cannot be written is refused before serving (every answer failed); a
    // judgments table of another layout is no rating database; no judgments is no agreement.
    let conn = rusqlite::Connection::open(sb.join("wrong.sqlite")).unwrap();
    conn.execute_batch(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '1');
         CREATE TABLE judgments (id INTEGER PRIMARY KEY, rater TEXT);",
    )
    .unwrap();
    drop(conn);
    let o = sb.run(&["rate", "runs/a", "runs/b", "--db", "wrong.sqlite", "--port", "0"]);
    assert!(code(&o) == 3 && text(&o).contains("has no column"), "{}", text(&o));
    // …before the pairs are announced and the gold clips rendered; a folder is said to be one.
    assert!(o.stdout.is_empty() && !sb.join("wrong_media").exists(), "{}", text(&o));
    std::fs::create_dir_all(sb.join("dbdir")).unwrap();
    let o = sb.run(&["rate", "runs/a", "runs/b", "--db", "dbdir", "--port", "0"]);
    assert!(code(&o) == 3 && text(&o).contains("a folder, where the rating database"), "{}", text(&o));
    assert!(!sb.join("dbdir_media").exists());
    sb.write("none.csv", "rater,suite,case_id,seed_idx,left,right,choice\n");
    let o = sb.run(&["agreement", "--runs", "a=runs/a,b=runs/b", "--judgments", "none.csv"]);
    assert!(code(&o) == 3 && text(&o).contains("holds no judgments"), "{}", text(&o));
}
