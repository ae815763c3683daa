//! An installed binary needs no checkout: copied to a temporary prefix and run from an
//! unrelated folder, with the source tree hidden (a private mount namespace lays an empty
//! tmpfs over it, where `unshare` is allowed), the smoke suite on the defaults gives the same
//! results as the binary in the tree.

use std::path::Path;
use std::process::Command;

use videval_tests::{Sandbox, bin, code, text};

/// The parts of results.json that do not depend on timing.
fn comparable(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("throughput");
    v
}

#[test]
fn an_installed_binary_runs_the_smoke_suite_without_the_source_tree() {
    let tree = Sandbox::new();
    let o = tree.run(&["run", "--suite", "smoke", "--model", "bundled", "--out", "runs/a"]);
    assert_eq!(code(&o), 0, "{}", text(&o));

    let prefix = tempfile::tempdir().unwrap();
    let installed = prefix.path().join("bin/videval");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    std::fs::copy(bin(), &installed).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().canonicalize().unwrap();
    let args = ["run", "--suite", "smoke", "--model", "bundled", "--out", "runs/b"];
    // Probe the whole trick once: a private mount namespace and a tmpfs over the checkout.
    let hidden = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs tmpfs \"$1\" && test ! -e \"$1/Cargo.toml\"", "sh"])
        .arg(&workspace)
        .status()
        .is_ok_and(|s| s.success());
    let mut cmd = if hidden {
        let mut c = Command::new("unshare");
        c.args(["-m", "sh", "-c", "mount -t tmpfs tmpfs \"$1\" && shift && exec \"$@\"", "sh"]).arg(&workspace);
        c.arg(&installed).args(args);
        c
    } else {
        eprintln!(
            "unshare -m / mount is not allowed here: the source tree stays visible (the run still starts elsewhere)"
        );
        let mut c = Command::new(&installed);
        c.args(args);
        c
    };
    let out = cmd
        .current_dir(elsewhere.path())
        .env("XDG_CACHE_HOME", cache.path())
        .env_remove("VIDEVAL_WEIGHTS")
        .env_remove("VIDEVAL_HOME")
        .env_remove("VIDEVAL_MODEL")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        comparable(&elsewhere.path().join("runs/b/results.json")),
        comparable(&tree.join("runs/a/results.json"))
    );
    if hidden {
        // The weights came from the binary itself.
        let written: Vec<_> = std::fs::read_dir(cache.path().join("videval")).unwrap().flatten().collect();
        assert_eq!(written.len(), 1, "one folder of embedded weights");
    }
}
