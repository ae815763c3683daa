//! A WebDriver client for the browser tests: Debian's chromedriver (installed by
//! ci/setup.sh --tests) driving Chromium headless over HTTP, with waits in real time — media
//! plays in real time, which `--virtual-time-budget` does not give a loaded machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::artifact;

/// One HTTP/1.1 request; returns the status and the body (read by its Content-Length, or its
/// chunks: servers may keep the connection open).
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut status_line = String::new();
    r.read_line(&mut status_line).unwrap();
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    let mut payload = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            payload.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        payload.resize(n, 0);
        r.read_exact(&mut payload).unwrap();
    } else {
        r.read_to_end(&mut payload).unwrap();
    }
    (status, payload)
}

/// A WebDriver session on Chromium, headless.
pub struct Browser {
    port: u16,
    session: String,
}

impl Browser {
    /// A session on the chromedriver at port `driver` with a fresh profile; `args` are Chromium
    /// flags on top of headless, no sandbox, no GPU, no background networking and autoplay.
    pub fn new(driver: u16, profile: &Path, args: &[&str]) -> Browser {
        let mut flags: Vec<String> = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
            .into_iter()
            .chain(["--no-first-run", "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"])
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        flags.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": flags}}}});
        let (status, body) = http(driver, "POST", "/session", Some(&caps));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "new session: {v}");
        let b = Browser { port: driver, session: v["value"]["sessionId"].as_str().unwrap().to_string() };
        // Scripts that wait in real time on a loaded machine get three minutes, not the default 30 s.
        b.call("POST", "/timeouts", Some(json!({"script": 180_000})));
        b
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, out) = http(self.port, method, &format!("/session/{}{path}", self.session), body.as_ref());
        let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    pub fn js(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    pub fn js_async(&self, script: &str) -> Value {
        self.call("POST", "/execute/async", Some(json!({"script": script, "args": []})))
    }

    /// Presses a key (WebDriver key actions: real keydown/keyup events).
    pub fn key(&self, key: &str) {
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]})),
        );
        self.call("DELETE", "/actions", None);
    }

    /// Clicks the element `css` selects (WebDriver element click: a real mouse click).
    pub fn click(&self, css: &str) {
        let e = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        let id = e.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_string();
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    pub fn screenshot(&self, name: &str) {
        let b64 = self.call("GET", "/screenshot", None).as_str().unwrap().to_string();
        let png = decode_base64(&b64);
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000);
        std::fs::write(artifact(name), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| http(self.port, "DELETE", &format!("/session/{}", self.session), None));
    }
}

pub fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A child process killed and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a port the system picks (no race with another test choosing the
/// same free port) and returns it once chromedriver says it listens.
pub fn driver() -> (Killed, u16) {
    let mut child = Command::new("/usr/bin/chromedriver")
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver: ci/setup.sh --tests installs chromium-driver");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("chromedriver exited before it listened").unwrap();
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest.trim_end_matches('.').trim().parse::<u16>().expect("chromedriver's port");
        }
    };
    // Whatever it prints later is read and dropped, so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Killed(child), port)
}
