//! A real scheduler: the job files `videval plan --emit slurm` writes are submitted to a
//! one-node Slurm cluster (`ci/slurm/local-cluster.sh`, which `ci/test.sh` starts where it can),
//! and the merged results equal an unsharded run's. Then one array task is cancelled mid-run,
//! resubmitted, and the results are checked again: nothing lost, nothing twice.
//!
//! Where no cluster answers (no Slurm installed, not root, daemons refused), the test says so
//! and checks nothing; `tests/tests/pipeline.rs` still plays the scheduler's part by hand.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use videval_tests::{Sandbox, bin, code, jsonl, text};

/// Why there is no cluster to submit to, if there is none.
fn no_cluster() -> Option<String> {
    match Command::new("sinfo").args(["-h", "-o", "%T"]).output() {
        Err(_) => Some("sinfo is not installed".into()),
        Ok(o) if !o.status.success() => Some(format!("sinfo failed: {}", text(&o).trim())),
        Ok(o) => {
            let states = String::from_utf8_lossy(&o.stdout).into_owned();
            let up = states.lines().any(|s| ["idle", "mixed", "allocated"].contains(&s.trim()));
            if !up {
                return Some(format!("no node accepts jobs (states: {:?})", states.trim()));
            }
            // A node that is up but cannot run a job (daemons refused by the container) is no
            // cluster either: one trivial job, waited for, decides.
            let probe = Command::new("timeout")
                .args(["120", "sbatch", "--wait", "--quiet", "--output=/dev/null", "--wrap", "true"])
                .output();
            match probe {
                Ok(p) if p.status.success() => None,
                Ok(p) => Some(format!("a trivial job did not run: {}", text(&p).trim())),
                Err(e) => Some(format!("sbatch: {e}")),
            }
        }
    }
}

fn sbatch(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("sbatch").arg("--parsable").args(args).current_dir(dir).output().unwrap();
    assert!(o.status.success(), "sbatch {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().split(';').next().unwrap_or_default().to_string()
}

/// Waits until none of `jobs` is queued or running.
fn wait(jobs: &[&str]) {
    let start = Instant::now();
    loop {
        let o = Command::new("squeue").args(["-h", "-o", "%i", "-j", &jobs.join(",")]).output().unwrap();
        if String::from_utf8_lossy(&o.stdout).trim().is_empty() {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "jobs {jobs:?} still queued after 300 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// results.json without the timing section (the only part that differs between runs).
fn results(sb: &Sandbox, run: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&sb.read(&format!("{run}/results.json"))).unwrap();
    v.as_object_mut().unwrap().remove("throughput");
    v
}

/// Job files for a run into `out` with its own store (a shared one would hand the second run
/// every video from the cache, and nothing would be left to cancel); `extra` are more flags.
fn emit(sb: &Sandbox, model: &str, out: &str, jobs: &str, extra: &[&str]) {
    let args = ["plan", "--suite", "smoke", "--model", model, "--num-shards", "3", "--store", &format!("{out}-store")];
    let o = sb.run(&[&args[..], &["--out", out, "--emit", "slurm", "--emit-dir", jobs], extra].concat());
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn emitted_jobs_run_on_a_real_slurm_and_survive_a_cancelled_task() {
    if let Some(why) = no_cluster() {
        eprintln!("SKIPPED: no Slurm cluster ({why}); start one with ci/slurm/local-cluster.sh (root)");
        return;
    }
    let sb = Sandbox::new();
    // An external model that takes a moment per video, so a task can be caught mid-run.
    let spec = format!(
        "adapter: command\nname: slow\ntimeout_s: 60\nargv: [sh, -c, 'sleep 0.4; exec \"$0\" \"$@\"', {bin}, synth, --prompt, '{{prompt}}', --seed, '{{seed}}', --frames, '{{frames}}', --width, '{{width}}', --height, '{{height}}', --fps, '{{fps}}', --out, '{{out}}']\n",
        bin = bin().display()
    );
    sb.write("slow.yaml", &spec);
    let o = sb.run(&["run", "--suite", "smoke", "--model", "slow.yaml", "--out", "runs/ref"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let reference = results(&sb, "runs/ref");

    // The whole submission as a user makes it: the array, then the merge after it, each task
    // asking for two CPUs (its threads), memory and a time limit (lines Slurm must accept).
    emit(&sb, "slow.yaml", "runs/a", "jobs-a", &["-j", "2", "--task-memory", "2GiB", "--task-time", "20m"]);
    let script = String::from_utf8(sb.read("jobs-a/run.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --cpus-per-task=2\n#SBATCH --mem=2048M\n"), "{script}");
    let o = Command::new("bash").arg("jobs-a/submit.sh").current_dir(sb.path()).output().unwrap();
    assert!(o.status.success(), "submit.sh: {}", text(&o));
    let merge = text(&o).split_whitespace().last().unwrap_or_default().to_string();
    wait(&[&merge]);
    if !sb.join("runs/a/results.json").exists() {
        let logs: Vec<String> = std::fs::read_dir(sb.join("runs/a/slurm"))
            .map(|d| d.flatten().map(|e| std::fs::read_to_string(e.path()).unwrap_or_default()).collect())
            .unwrap_or_default();
        panic!("no merged results; job logs:\n{}", logs.join("\n---\n"));
    }
    assert_eq!(results(&sb, "runs/a"), reference, "Slurm's merged results differ from the unsharded run");

    // Task 1 cancelled once it has recorded a video, then resubmitted alone.
    emit(&sb, "slow.yaml", "runs/b", "jobs-b", &[]);
    std::fs::create_dir_all(sb.join("runs/b/slurm")).unwrap();
    let jobs = sb.join("jobs-b");
    let array = sbatch(&jobs, &["run.sbatch"]);
    let log = sb.join("runs/b/shards/1-of-3/generations.jsonl");
    let start = Instant::now();
    while jsonl(&log).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(120), "task 1 never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = Command::new("scancel").arg(format!("{array}_1")).output().unwrap();
    assert!(o.status.success(), "scancel: {}", text(&o));
    wait(&[&array]);
    let o = sb.run(&["merge", "runs/b"]);
    assert_ne!(code(&o), 0, "the cancelled task left units missing, and merge says so: {}", text(&o));
    let again = sbatch(&jobs, &["--array=1", "run.sbatch"]);
    wait(&[&again]);
    let merge = sbatch(&jobs, &["--wait", "merge.sbatch"]);
    wait(&[&merge]);
    assert_eq!(results(&sb, "runs/b"), reference, "after the resubmission the results differ");
}
