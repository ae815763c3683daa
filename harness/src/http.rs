//! The small HTTP/1.1 server under `videval rate`: one thread a connection, and every resource a
//! client can hold bounded — the request head (16 KiB, 100 fields), the body (64 KiB, by
//! `Content-Length` only), the time to send one request (30 s from when the server starts
//! waiting for it, however slowly the bytes trickle in), the connections open at once (256) and
//! from one address (32). A client past a bound gets its status (431, 413, 408, 503) and the
//! connection is closed. (tiny_http, used before, kept headers without a bound — 500 MB of them
//! took 500 MB — and set no time limit: 64 stalled uploads locked every rater out.)
//!
//! Responses always state their length; `HEAD` is answered as `GET` without the body.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one client may hold and send.
#[derive(Debug, Clone)]
pub struct Limits {
    pub head_bytes: usize,
    pub header_fields: usize,
    pub body_bytes: usize,
    /// From the moment the server waits for a request to its last byte.
    pub request_time: Duration,
    pub connections: usize,
    pub per_address: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            head_bytes: 16 * 1024,
            header_fields: 100,
            body_bytes: 64 * 1024,
            request_time: Duration::from_secs(30),
            connections: 256,
            per_address: 32,
        }
    }
}

/// One request, read whole.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the connection stays open after the answer (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
}

impl Request {
    /// The first header of this name (names compare without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One response; its length is sent with it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response { status, headers: vec![("Content-Type".into(), content_type.into())], body }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// The socket, read with a deadline: each read waits at most until it (a client sending a
/// byte every few seconds kept a plain read timeout from ever firing).
struct Timed {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "request deadline"));
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// Why a request could not be read.
enum Unread {
    /// The client closed the connection (or went quiet) between requests: nothing to answer.
    Gone,
    /// Answer this status and close.
    Refuse(u16, &'static str),
}

fn io_unread(e: std::io::Error, started: bool) -> Unread {
    let timed_out = matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock);
    if timed_out && started { Unread::Refuse(408, "the request took too long to arrive") } else { Unread::Gone }
}

fn read_request(r: &mut BufReader<Timed>, limits: &Limits) -> Result<Request, Unread> {
    let mut head: Vec<String> = Vec::new();
    let mut used = 0usize;
    loop {
        let mut line = Vec::new();
        let room = (limits.head_bytes - used) as u64 + 1;
        // A client that stalls mid-line (nothing complete yet) is answered 408 too.
        let n = match r.by_ref().take(room).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) => return Err(io_unread(e, used > 0 || !line.is_empty())),
        };
        if n == 0 {
            return Err(if used == 0 { Unread::Gone } else { Unread::Refuse(400, "the request ended early") });
        }
        used += n;
        if !line.ends_with(b"\n") {
            // Cut short by the client, or by the bound.
            return Err(if (n as u64) < room {
                Unread::Refuse(400, "the request ended early")
            } else {
                Unread::Refuse(431, "the request head is too large")
            });
        }
        if used > limits.head_bytes {
            return Err(Unread::Refuse(431, "the request head is too large"));
        }
        let text = String::from_utf8(line).map_err(|_| Unread::Refuse(400, "the request head is not UTF-8"))?;
        let text = text.trim_end_matches(['\r', '\n']).to_string();
        // Empty lines before the request line are allowed (RFC 9112 §2.2).
        if text.is_empty() && head.is_empty() {
            continue;
        }
        if text.is_empty() {
            break;
        }
        // A request line that is not HTTP/1.x is refused at once (an HTTP/0.9 `GET /` waited for
        // headers that never come).
        if head.is_empty() && !(text.ends_with(" HTTP/1.1") || text.ends_with(" HTTP/1.0")) {
            let http = text.rsplit(' ').next().is_some_and(|v| v.starts_with("HTTP/"));
            return Err(if http {
                Unread::Refuse(505, "HTTP/1.0 and 1.1 are spoken here")
            } else {
                Unread::Refuse(400, "not an HTTP request line")
            });
        }
        if head.len() > limits.header_fields {
            return Err(Unread::Refuse(431, "too many header fields"));
        }
        head.push(text);
    }
    let mut parts = head[0].split(' ');
    let (Some(method), Some(url), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Unread::Refuse(400, "not an HTTP request line"));
    };
    // The absolute form (`GET http://host/path`) names the same resource (RFC 9112 §3.2.2).
    let url = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => url,
    };
    // (The version was checked with the request line: HTTP/1.1 or HTTP/1.0.)
    let mut headers = Vec::with_capacity(head.len() - 1);
    for line in &head[1..] {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Unread::Refuse(400, "a header line without a colon"));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(Unread::Refuse(400, "a malformed header name"));
        }
        // One Host and one Content-Length: two could be read one way here and another way by a
        // proxy in front (RFC 9112 §6.3, RFC 9110 §7.2).
        let once = ["host", "content-length"];
        if once.contains(&name.to_ascii_lowercase().as_str())
            && headers.iter().any(|(k, _): &(String, String)| k.eq_ignore_ascii_case(name))
        {
            return Err(Unread::Refuse(400, "a header that may be given once was given twice"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let connection = |word: &str| {
        headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("Connection") && v.split(',').any(|t| t.trim().eq_ignore_ascii_case(word))
        })
    };
    let keep_alive = if version == "HTTP/1.1" { !connection("close") } else { connection("keep-alive") };
    let mut req = Request { method: method.to_string(), url: url.to_string(), headers, body: Vec::new(), keep_alive };
    if req.header("Transfer-Encoding").is_some() {
        return Err(Unread::Refuse(501, "request bodies are sent with a Content-Length"));
    }
    let length = match req.header("Content-Length") {
        None => 0,
        // Digits only (Rust's parse takes a leading '+'); too many of them is too large.
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => v.parse::<usize>().unwrap_or(usize::MAX),
        Some(_) => return Err(Unread::Refuse(400, "an unreadable Content-Length")),
    };
    if length > limits.body_bytes {
        return Err(Unread::Refuse(413, "the request body is too large"));
    }
    if length > 0 {
        if req.header("Expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
            let _ = r.get_mut().stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        req.body = vec![0; length];
        r.read_exact(&mut req.body).map_err(|e| match io_unread(e, true) {
            Unread::Gone => Unread::Refuse(400, "the request body ended early"),
            other => other,
        })?;
    }
    Ok(req)
}

fn write_response(w: &mut TcpStream, res: &Response, head_only: bool, keep: bool) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", res.status, reason(res.status));
    for (k, v) in &res.headers {
        // A value is ours, never a client's, but a line break in one would start another header.
        if !k.contains(['\r', '\n']) && !v.contains(['\r', '\n']) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: {}\r\n\r\n",
        res.body.len(),
        if keep { "keep-alive" } else { "close" }
    ));
    w.write_all(out.as_bytes())?;
    if !head_only {
        w.write_all(&res.body)?;
    }
    w.flush()
}

fn serve_connection(stream: TcpStream, limits: &Limits, handler: &(dyn Fn(&Request) -> Response + Sync)) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(limits.request_time));
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(Timed { stream, deadline: Instant::now() });
    loop {
        reader.get_mut().deadline = Instant::now() + limits.request_time;
        match read_request(&mut reader, limits) {
            Ok(req) => {
                let res = handler(&req);
                if write_response(&mut writer, &res, req.method == "HEAD", req.keep_alive).is_err() || !req.keep_alive {
                    return;
                }
            }
            Err(Unread::Gone) => return,
            Err(Unread::Refuse(status, why)) => {
                let res = Response::new(status, "text/plain", why.as_bytes().to_vec());
                let _ = write_response(&mut writer, &res, false, false);
                close_gently(&writer);
                return;
            }
        }
    }
}

/// A connection's place in the counts, given back however its thread ends (a handler that
/// panicked kept it: 32 panics would have locked its address out for good).
struct Slot {
    open: Arc<AtomicUsize>,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        if let Some(a) = self.address {
            let mut counts = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get_mut(&a) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&a);
                }
            }
        }
    }
}

/// Closes a connection after a refusal: what the client is still sending is read and dropped for
/// a moment first (closing with unread bytes resets the connection, and the client could lose
/// the answer before reading it).
fn close_gently(stream: &TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // At most a second and 256 KiB: a client trickling bytes does not keep it open.
    let until = Instant::now() + Duration::from_secs(1);
    let mut sink = [0u8; 4096];
    let mut left = 256 * 1024usize;
    let mut s = stream;
    while left > 0 {
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() || s.set_read_timeout(Some(wait)).is_err() {
            break;
        }
        match s.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// Serves `handler` on `listener` until the process ends. A connection past the bounds is
/// answered 503 (on a thread of its own, at most as many at once as connections are allowed;
/// past that, closed unanswered).
pub fn serve(listener: TcpListener, limits: Limits, handler: Arc<dyn Fn(&Request) -> Response + Send + Sync>) {
    let open = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(AtomicUsize::new(0));
    let by_address: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::new(Mutex::new(HashMap::new()));
    let limits = Arc::new(limits);
    for stream in listener.incoming() {
        // A failed accept (out of file descriptors, say) is tried again after a pause, not in a
        // loop that spins.
        let Ok(stream) = stream else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let address = stream.peer_addr().map(|a| a.ip()).ok();
        let admitted = {
            let mut counts = by_address.lock().unwrap_or_else(|p| p.into_inner());
            let mine = address.map_or(0, |a| counts.get(&a).copied().unwrap_or(0));
            let ok = open.load(Ordering::SeqCst) < limits.connections && mine < limits.per_address;
            if ok {
                open.fetch_add(1, Ordering::SeqCst);
                if let Some(a) = address {
                    *counts.entry(a).or_default() += 1;
                }
            }
            ok
        };
        if !admitted {
            if refusing.fetch_add(1, Ordering::SeqCst) < limits.connections {
                let refusing = Arc::clone(&refusing);
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
                    let res = Response::new(503, "text/plain", b"busy; try again".to_vec());
                    let _ = write_response(&mut stream, &res, false, false);
                    close_gently(&stream);
                    refusing.fetch_sub(1, Ordering::SeqCst);
                });
            } else {
                refusing.fetch_sub(1, Ordering::SeqCst);
            }
            continue;
        }
        let slot = Slot { open: Arc::clone(&open), by_address: Arc::clone(&by_address), address };
        let (limits, handler) = (Arc::clone(&limits), Arc::clone(&handler));
        // A thread that cannot be started drops its closure, and the slot with it.
        let _ = std::thread::Builder::new().spawn(move || {
            let _slot = slot;
            serve_connection(stream, &limits, &*handler);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on a free port answering `GET` with the URL and `POST` with the body's length.
    fn server(limits: Limits) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handler = |r: &Request| {
            assert!(r.url != "/boom", "a handler with a bug");
            let text = if r.method == "POST" { format!("{} bytes", r.body.len()) } else { r.url.clone() };
            Response::new(200, "text/plain", text.into_bytes())
        };
        std::thread::spawn(move || serve(listener, limits, Arc::new(handler)));
        port
    }

    fn ask(port: u16, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(raw).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn requests_are_answered_with_their_length_and_head_has_no_body() {
        let port = server(Limits::default());
        let both = ask(port, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /bb HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(both.starts_with("HTTP/1.1 200 OK\r\n") && both.contains("Content-Length: 2\r\n"), "{both}");
        assert!(both.contains("keep-alive\r\n\r\n/aHTTP/1.1 200 OK"), "two requests on one connection: {both}");
        assert!(
            both.contains("Content-Length: 3\r\nConnection: close\r\n\r\n") && both.ends_with("\r\n\r\n"),
            "{both}"
        );
        let post = ask(port, b"POST /j HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
        assert!(post.ends_with("5 bytes") && post.contains("Connection: close"), "{post}");
    }

    #[test]
    fn oversized_heads_and_bodies_are_refused_from_their_size() {
        let port = server(Limits::default());
        let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
        huge.extend(
            std::iter::repeat_n(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".as_slice(), 400)
                .flatten(),
        );
        assert!(ask(port, &huge).starts_with("HTTP/1.1 431 "));
        let body = ask(port, b"POST / HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n");
        assert!(body.starts_with("HTTP/1.1 413 "), "{body}");
        assert!(ask(port, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").starts_with("HTTP/1.1 501 "));
        assert!(ask(port, b"GET / HTTP/2.0\r\n\r\n").starts_with("HTTP/1.1 505 "));
        assert!(ask(port, b"nonsense\r\n\r\n").starts_with("HTTP/1.1 400 "));
        // Answered at once, not after the request's time is up.
        assert!(ask(port, b"GET /\r\n").starts_with("HTTP/1.1 400 "), "HTTP/0.9");
        for twice in ["Content-Length: 2\r\nContent-Length: 50", "Host: a\r\nhost: b"] {
            let r = ask(port, format!("POST / HTTP/1.1\r\n{twice}\r\n\r\nab").as_bytes());
            assert!(r.starts_with("HTTP/1.1 400 "), "{twice}: {r}");
        }
        assert!(ask(port, b"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\nab").starts_with("HTTP/1.1 400 "));
        let huge = ask(port, b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n");
        assert!(huge.starts_with("HTTP/1.1 413 "), "{huge}");
        let absolute = ask(port, b"GET http://127.0.0.1/a/b?c HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(absolute.ends_with("\r\n\r\n/a/b?c"), "{absolute}");
    }

    #[test]
    fn a_client_that_trickles_is_cut_off_and_holds_no_one_else() {
        let limits = Limits { request_time: Duration::from_millis(1500), per_address: 4, ..Limits::default() };
        let port = server(limits);
        // Four connections that send a byte every 0.4 s never finish a request: each is answered
        // 408 when its time is up, however often a byte arrives.
        let started = Instant::now();
        let tricklers: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
                    for _ in 0..25 {
                        if s.write_all(b"X").is_err() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(400));
                    }
                    let mut out = Vec::new();
                    let _ = s.read_to_end(&mut out);
                    String::from_utf8_lossy(&out).into_owned()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        // This address holds its four: a fifth connection is told the server is busy.
        assert!(ask(port, b"GET /x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 503 "));
        for t in tricklers {
            assert!(t.join().unwrap().starts_with("HTTP/1.1 408 "));
        }
        // Sending for 10 s, they were cut off at the deadline (1.5 s), not when they stopped.
        assert!(started.elapsed() < Duration::from_secs(7), "cut off at the deadline: {:?}", started.elapsed());
        // Their places are free again.
        assert!(ask(port, b"GET /y HTTP/1.1\r\nConnection: close\r\n\r\n").ends_with("/y"));
        // A handler that panics gives its connection's place back too.
        for _ in 0..6 {
            ask(port, b"GET /boom HTTP/1.1\r\n\r\n");
        }
        assert!(ask(port, b"GET /z HTTP/1.1\r\nConnection: close\r\n\r\n").ends_with("/z"));
    }
}
