//! Shared helpers for the end-to-end tests: run the CLI as a child process in a scratch
//! directory and read what it wrote.

pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The CLI binary built by this crate. Cargo builds a package's binaries before its
/// integration tests and puts them one level above the test executables (`target/<profile>/`).
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    let bin = dir.join(format!("videval-under-test{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{} is missing: run the tests with cargo test -p videval-tests", bin.display());
    bin
}

/// A file in `target/test-artifacts/` (screenshots, printed pages) that outlives the test.
pub fn artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("creating target/test-artifacts");
    dir.join(name)
}

/// A scratch directory to run the CLI in.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().expect("creating a temporary directory") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Runs `suites` with the world oracle into `runs/oracle` and with the synthetic renderer
    /// (which fails many checks) into `runs/disc`, asserting both succeed.
    pub fn oracle_and_disc(&self, suites: &str) {
        for (model, out) in [("world", "runs/oracle"), ("synthetic", "runs/disc")] {
            let o = self.run(&["run", "--suite", suites, "--model", model, "--out", out]);
            assert_eq!(code(&o), 0, "{}", text(&o));
        }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("creating a folder");
        }
        std::fs::write(&p, text).expect("writing a file");
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.path()).args(args).env_remove("SLURM_ARRAY_TASK_ID").env_remove("JOB_COMPLETION_INDEX");
        // Pipeline tests run the fast synthetic renderer unless they name a model; the bundled
        // generator (the CLI's default) has its own tests.
        c.env("VIDEVAL_MODEL", "synthetic");
        c
    }

    /// Runs the CLI to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running videval")
    }

    /// Runs with `--json` appended and parses stdout.
    pub fn run_json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.run(&a);
        let code = out.status.code().unwrap_or(-1);
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); stdout: {} stderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, v)
    }

    pub fn read(&self, p: &str) -> Vec<u8> {
        std::fs::read(self.join(p)).unwrap_or_else(|e| panic!("reading {p}: {e}"))
    }
}

/// Lines of a JSONL file, parsed; a last line without its newline is one still being written
/// (the file may be read while a run appends to it) and is left out, as the harness does.
pub fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    whole.lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).expect("a JSONL line")).collect()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A global allocator that counts the heap bytes this process holds, for tests that bound
/// memory. A test binary installs it (`#[global_allocator] static A: Counting = Counting;`)
/// and keeps to one test, so nothing else allocates beside the work measured.
#[allow(unsafe_code)] // delegates to the system allocator
pub mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub struct Counting;

    static CURRENT: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    fn grow(by: usize) {
        let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }

    // SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                grow(layout.size());
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                if new_size >= layout.size() {
                    grow(new_size - layout.size());
                } else {
                    CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
                }
            }
            p
        }
    }

    /// Runs `f` and returns its value with the peak heap bytes held above what was held before
    /// (0 unless [`Counting`] is the global allocator).
    pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let out = f();
        (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
    }
}
