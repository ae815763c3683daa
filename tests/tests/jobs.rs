//! `-j` sets the threads of the whole run, the bundled generator's included. In its own test
//! binary: a process has one thread pool.

use videval::error::ExitCode;
use videval::run::{RunArgs, Stages, SuiteLimitArgs, run_command};

/// The bundled generator's warm-up multiplied matrices on the global pool before `-j` built it,
/// so the pool kept the machine's size and `-j 1` ran units side by side.
#[test]
fn jobs_one_runs_the_bundled_generator_on_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let args = RunArgs {
        suites: vec!["smoke".into()],
        model: "bundled".into(),
        store: dir.path().join("store"),
        out: Some(dir.path().join("run")),
        shard: None,
        num_shards: None,
        limit: Some(1),
        cases: None,
        jobs: Some(1),
        memory_budget: None,
        suite_limits: SuiteLimitArgs::default(),
        weights: None,
        json: true,
        replace_other_plan: false,
    };
    assert_eq!(run_command(&args, Stages::Generate).unwrap(), ExitCode::Ok);
    assert_eq!(rayon::current_num_threads(), 1);
}
