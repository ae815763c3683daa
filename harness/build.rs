//! Records the git commit the binary was built from, for run manifests.

use std::process::Command;

fn main() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let sha = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map_or("unknown".to_string(), |s| (!s.is_empty()).to_string());
    println!("cargo:rustc-env=VIDEVAL_GIT_SHA={sha}");
    println!("cargo:rustc-env=VIDEVAL_GIT_DIRTY={dirty}");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/index");
}
