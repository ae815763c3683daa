//! `videval run` and its stages as library functions: the command line parses into
//! [`RunArgs`], and the sweep builds the same arguments and calls [`run_command`] directly.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::analyze;
use crate::error::{Error, ExitCode, Result};
use crate::generator;
use crate::manifest::Manifest;
use crate::plan::{Plan, Selection};
use crate::runner::{Runner, Shard, StageCounts};
use crate::store::{Store, read_json, write_atomic};
use crate::suite::bundled::{self, Bundled};
use crate::suite::{self, Disk, Suite};

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Suites to run: bundled names or paths to suite files (repeat or comma-separate).
    #[arg(short, long = "suite", value_delimiter = ',', default_value = "smoke")]
    pub suites: Vec<String>,
    /// The model: `bundled` (the project's generator, default checkpoint), `bundled:CHECKPOINT`,
    /// `synthetic`, `world`, `dir:PATH`, or a model spec YAML file.
    #[arg(short, long, env = "VIDEVAL_MODEL", default_value = "bundled")]
    pub model: String,
    /// Content-addressed store shared by runs.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Run directory (default: runs/<model>-<plan hash>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// This process's shard index (default: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX).
    #[arg(long)]
    pub shard: Option<u32>,
    /// Number of shards; always explicit.
    #[arg(long)]
    pub num_shards: Option<u32>,
    /// A deterministic stratified subset of N cases per suite (the same for every model).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only these case ids (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub cases: Option<Vec<String>>,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(short, long, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Memory the videos scored in parallel may hold together, e.g. `8GiB`, `512MiB` (default:
    /// half the memory available when the run starts). A video waits until it fits; one alone
    /// always runs.
    #[arg(long, env = "VIDEVAL_MEMORY_BUDGET", value_parser = parse_bytes)]
    pub memory_budget: Option<u64>,
    #[command(flatten)]
    pub suite_limits: SuiteLimitArgs,
    /// Public networks you provide, one subfolder per network id (`DIR/clip`, …; `videval weights
    /// list` says which metrics need which). Metrics whose network is absent are reported as not
    /// measurable, never computed another way. Else `VIDEVAL_NETWORKS`, else `VIDEVAL_WEIGHTS`,
    /// which may also hold the project's own weights (`manifest.json`, `encoder/`, `generator/`).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Machine-readable output on stdout; no progress bars.
    #[arg(long)]
    pub json: bool,
    /// The run folder belongs to the caller (a sweep's `runs/<checkpoint>`): one that holds
    /// another plan (the checkpoint changed since) is emptied and run again; the store keeps
    /// what can be reused. Not a flag: `run` refuses another plan's folder.
    #[arg(skip)]
    pub replace_other_plan: bool,
}

/// How large a suite may grow and where its includes may reach.
#[derive(Debug, Args, Clone)]
pub struct SuiteLimitArgs {
    /// The most cases a suite may expand to; matrix products are checked before expanding.
    #[arg(long, default_value_t = suite::load::MAX_CASES)]
    pub max_cases: usize,
    /// The most units (cases × seeds per case) a suite may plan.
    #[arg(long, default_value_t = suite::load::MAX_UNITS)]
    pub max_units: usize,
    /// Let `include:` read files outside the folder tree of the suite file named.
    #[arg(long)]
    pub allow_include_outside: bool,
}

impl Default for SuiteLimitArgs {
    fn default() -> Self {
        Self { max_cases: suite::load::MAX_CASES, max_units: suite::load::MAX_UNITS, allow_include_outside: false }
    }
}

impl SuiteLimitArgs {
    pub fn limits(&self) -> suite::Limits {
        suite::Limits {
            max_cases: self.max_cases,
            max_units: self.max_units,
            include_outside: self.allow_include_outside,
        }
    }

    /// The flags that reproduce these limits in another process (scale-out jobs).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = Vec::new();
        if self.max_cases != suite::load::MAX_CASES {
            argv.extend(["--max-cases".to_string(), self.max_cases.to_string()]);
        }
        if self.max_units != suite::load::MAX_UNITS {
            argv.extend(["--max-units".to_string(), self.max_units.to_string()]);
        }
        if self.allow_include_outside {
            argv.push("--allow-include-outside".into());
        }
        argv
    }
}

/// `1234`, `512KiB`, `600MiB`, `8GiB`, `2TiB` (also `KB`/`MB`/`GB`/`TB` as powers of 1000) → bytes.
pub fn parse_bytes(spec: &str) -> std::result::Result<u64, String> {
    let s = spec.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "tib" | "t" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{spec}' (expected B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
            ));
        }
    };
    let n: f64 =
        num.parse().map_err(|_| format!("'{spec}' is not a size (expected a number and a unit, e.g. 8GiB)"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("'{spec}': a memory budget must be positive"));
    }
    Ok((n * scale as f64) as u64)
}

/// The most worker threads `-j` takes: past it a typo (`-j 10000`) would start thousands of
/// threads, each with its own working frames.
pub const MAX_JOBS: usize = 1024;

/// `-j N`: a whole number of worker threads, 1 to [`MAX_JOBS`] (0 ran one thread without a word).
pub fn parse_jobs(spec: &str) -> std::result::Result<usize, String> {
    let n: usize = spec.trim().parse().map_err(|_| format!("'{spec}' is not a whole number of threads"))?;
    if !(1..=MAX_JOBS).contains(&n) {
        return Err(format!("{n} threads: expected 1 to {MAX_JOBS} (leave -j out for one per core)"));
    }
    Ok(n)
}

/// Loads a suite named on the command line: a path to a file, or a bundled suite's name.
/// Whether a `--suite` argument names a file (else a bundled suite): ends in `.yaml`/`.yml` or
/// holds a `/`.
pub fn names_a_suite_file(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    // Any name that is a file is one (`IDS.YAML`, `ids.suite`: "unknown suite" while lint read it),
    // but a bundled suite's name is the bundled suite (a file `smoke` in the folder shadowed it).
    lower.ends_with(".yaml")
        || lower.ends_with(".yml")
        || arg.contains('/')
        || (Path::new(arg).is_file() && bundled::file_of(arg).is_none())
}

pub fn load_suite(arg: &str, limits: &suite::Limits) -> Result<Suite> {
    if names_a_suite_file(arg) {
        return Ok(suite::load_with(&Disk, arg, limits)?);
    }
    let file = bundled::file_of(arg).ok_or_else(|| {
        Error::Config(format!(
            "unknown suite \"{arg}\", expected a suite file path or one of {}",
            bundled::names().join(", ")
        ))
    })?;
    Ok(suite::load_with(&Bundled, file, limits)?)
}

/// The most shards a plan may be split into (each shard is a folder and a scheduler task).
pub const MAX_SHARDS: u32 = 100_000;

/// This process's shard. `whole_plan` (`plan`, which shows every shard's units) needs no index.
fn shard_from(args: &RunArgs, whole_plan: bool) -> Result<Shard> {
    let env_index =
        ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"].iter().find_map(|v| std::env::var(v).ok().map(|s| (*v, s)));
    let k = match (args.shard, &env_index) {
        (Some(k), _) => Some(k),
        (None, Some((var, value))) if args.num_shards.is_some() => {
            Some(value.trim().parse().map_err(|_| Error::Config(format!("{var}={value} is not a shard index")))?)
        }
        (None, None) if whole_plan && args.num_shards.is_some() => Some(0),
        _ => None,
    };
    let from = match (args.shard, &env_index) {
        (None, Some((var, value))) => format!("{var}={}", value.trim()),
        (k, _) => format!("--shard {}", k.unwrap_or_default()),
    };
    match (k, args.num_shards) {
        (None, None) => {
            // An array task may run a whole plan of its own (one model per task); if the tasks
            // share a run folder, each would run all of it there: said, not refused.
            if let Some((var, value)) = env_index.as_ref().filter(|(_, v)| !v.trim().is_empty()) {
                eprintln!(
                    "note: {var}={} is set but --num-shards is not: this task runs the whole plan (give --num-shards N to shard it)",
                    value.trim()
                );
            }
            Ok(Shard::WHOLE)
        }
        (_, Some(n)) if n > MAX_SHARDS => Err(Error::Config(format!("--num-shards {n}: at most {MAX_SHARDS} shards"))),
        (Some(_), None) => {
            Err(Error::Config("--shard needs --num-shards N (the shard count is always explicit)".into()))
        }
        (None, Some(_)) => Err(Error::Config(
            "--num-shards needs --shard K, or SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX in the environment".into(),
        )),
        (Some(_), Some(n)) if n == 0 => Err(Error::Config("--num-shards must be at least 1".into())),
        (Some(k), Some(n)) if k >= n => Err(Error::Config(format!("{from} is not a shard of 0..{n}"))),
        (Some(k), Some(n)) => Ok(Shard { k, n }),
    }
}

/// A run folder is split one way: shards of another count already there would leave it with a
/// merge that never succeeds, found only after all the work.
fn same_shard_count(run_dir: &Path, shard: Shard) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(run_dir.join("shards")) else { return Ok(()) };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = Shard::from_dir_name(&name).map(|s| s.n)
            && n != shard.n
        {
            return Err(Error::Config(format!(
                "{}: this run folder is split into {n} shard(s) ({name}), and this run asks for {}; use the same --num-shards, or another --out",
                run_dir.display(),
                shard.n
            )));
        }
    }
    Ok(())
}

/// An exclusive lock on a run folder while a run checks and claims it (waited for: others hold
/// it for milliseconds). A filesystem without locks goes unguarded ([`hold_shard`] says so).
fn lock_folder(run_dir: &Path) -> Result<Option<std::fs::File>> {
    let file = lock_file(run_dir)?;
    Ok(file.lock().is_ok().then_some(file))
}

/// `dir/.lock`, made with its folder, open for locking.
pub(crate) fn lock_file(dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let path = dir.join(".lock");
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(Error::io(&path))
}

/// An exclusive lock on a shard's folder for as long as the returned file is held: a second
/// process on the same shard (a requeued task, a retried pod, a run started twice) would record
/// the same units again and leave a folder no merge accepts; it is refused at once instead.
fn hold_shard(dir: &Path) -> Result<std::fs::File> {
    hold_folder(dir, "running this shard", "two runs on this shard")
}

/// An exclusive lock on `dir` (its `.lock`) for as long as the returned file is held, refused at
/// once while another videval is `doing` there; a filesystem without locks (some network and
/// FUSE mounts) goes unguarded with a warning about `what_at_once`.
pub(crate) fn hold_folder(dir: &Path, doing: &str, what_at_once: &str) -> Result<std::fs::File> {
    let file = lock_file(dir)?;
    let path = dir.join(".lock");
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Config(format!(
            "{}: another videval is {doing} now; wait for it (a rerun afterwards resumes where it stopped)",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            eprintln!("warning: {}: cannot lock ({e}); {what_at_once} at once would not be stopped", path.display());
            Ok(file)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stages {
    All,
    Generate,
    Score,
    PlanOnly,
}

pub fn run_command(args: &RunArgs, stages: Stages) -> Result<ExitCode> {
    if let Some(j) = args.jobs {
        // First: the bundled generator's warm-up multiplies matrices on the global pool, which
        // started it at the machine's size, and `-j 1` then ran units side by side.
        let built = rayon::ThreadPoolBuilder::new().num_threads(j).build_global();
        if built.is_err() && rayon::current_num_threads() != j {
            return Err(Error::Internal(format!(
                "-j {j}: this process's thread pool already runs {} threads",
                rayon::current_num_threads()
            )));
        }
    }
    let weights = crate::distribution::networks_dir_checked(args.weights.as_deref())?;
    if !crate::distribution::set_networks_dir(weights) {
        return Err(Error::Internal("the networks folder was chosen twice in one process".into()));
    }
    let shard = shard_from(args, stages == Stages::PlanOnly)?;
    let mut suites = Vec::new();
    let mut errors = Vec::new();
    for s in &args.suites {
        match load_suite(s, &args.suite_limits.limits()) {
            Ok(x) => suites.push(x),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Config(errors.join("\n")));
    }
    // Two files naming one suite: which two (the plan said only "selected twice").
    for (i, s) in suites.iter().enumerate() {
        if let Some(j) = suites[..i].iter().position(|t| t.name == s.name) {
            return Err(Error::Config(format!(
                "suite \"{}\" is selected twice: by {} and by {} (each suite's `suite:` name must be its own)",
                s.name, args.suites[j], args.suites[i]
            )));
        }
    }
    // Weights given but unusable are the configuration's error, said before anything is
    // generated (every unit was generated, then every measurement failed as "unreadable").
    if matches!(stages, Stages::All | Stages::Score) {
        let mut seen = std::collections::BTreeSet::new();
        for name in suites.iter().flat_map(|s| &s.metrics) {
            if let Some(m) = videval_metrics::registry::lookup(name)
                && seen.insert(name.as_str())
                && let Some(why) = crate::distribution::network_refused(m.reads())
            {
                return Err(Error::Config(format!("metric {name}: {why}")));
            }
        }
    }
    let generator = generator::from_arg(&args.model)?;
    let plan = Plan::build(&suites, generator.identity(), Selection { limit: args.limit, cases: args.cases.clone() })?;
    let missing = conditioning_problems(&suites, &plan, stages != Stages::PlanOnly);
    if !missing.is_empty() {
        return Err(Error::Config(missing.join("\n")));
    }
    if matches!(stages, Stages::All | Stages::Generate) {
        refused_cases(&suites, &plan, generator.as_ref())?;
        // A program that is not there is said before the run folder is bound to a plan whose
        // model identity holds it as absent (the same command, once the program was written, was
        // refused as another plan). No generation can be cached under such an identity.
        generator.preflight()?;
    }
    let run_dir = args.out.clone().unwrap_or_else(|| default_run_dir(&generator.identity().name, &plan.plan_hash));
    if stages == Stages::PlanOnly {
        let assignment = plan.assign(shard.n);
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"plan": plan, "run_dir": run_dir, "shards": assignment}))
                    .unwrap_or_default()
            );
        } else {
            println!("plan {}  ({} units, model {})", plan.plan_hash, plan.units.len(), plan.model.name);
            for s in &plan.suites {
                let n = plan.units.iter().filter(|u| u.id.suite == s.name).count();
                println!("  {} v{}  {} units  {}", s.name, s.version, n, s.content_hash);
            }
            // Shards with no unit (more shards than units) on one line, not one line each.
            let mut counts = vec![0usize; shard.n as usize];
            for &a in &assignment {
                counts[a as usize] += 1;
            }
            for (k, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                println!("  shard {k}-of-{}: {n} units", shard.n);
            }
            let idle = counts.iter().filter(|n| **n == 0).count();
            if idle > 0 {
                println!("  {idle} shard(s) of {} with no unit (more shards than units)", shard.n);
            }
            println!("run dir: {}", run_dir.display());
        }
        return Ok(ExitCode::Ok);
    }
    if run_dir.exists() && !run_dir.is_dir() {
        return Err(Error::Config(format!("--out {}: a file, where the run's folder is expected", run_dir.display())));
    }
    let store_root = std::path::absolute(&args.store).unwrap_or(args.store.clone());
    // Records keep paths as text and FFmpeg takes them as UTF-8: a store under a Latin-1 folder
    // name panicked inside FFmpeg's binding.
    for (flag, path) in [("--store", &store_root), ("--out", &std::path::absolute(&run_dir).unwrap_or(run_dir.clone()))]
    {
        if path.to_str().is_none() {
            return Err(Error::Config(format!(
                "{flag} {}: the path is not valid UTF-8 (videval records paths as text, and FFmpeg needs UTF-8); use a folder whose path is",
                path.display()
            )));
        }
    }
    let store = Store::open(&store_root)?;
    // Checking the folder's shard count and plan, then claiming a shard, is one step under the
    // folder's lock: two runs started together (one whole, one a shard of two; or two plans)
    // both passed the checks and left a folder no merge accepts.
    let setup = lock_folder(&run_dir)?;
    if args.replace_other_plan
        && let Ok(old) = read_json::<Manifest>(&run_dir.join("manifest.json"))
        && old.plan_hash != plan.plan_hash
    {
        for e in std::fs::read_dir(&run_dir).map_err(Error::io(&run_dir))?.flatten() {
            let p = e.path();
            if e.file_name() != ".lock" {
                let gone = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
                gone.map_err(Error::io(&p))?;
            }
        }
    }
    same_shard_count(&run_dir, shard)?;
    Manifest::new(&plan, &suites).establish(&run_dir, &plan)?;
    let _held = hold_shard(&run_dir.join("shards").join(shard.dir_name()))?;
    drop(setup);
    let memory = crate::scoring::MemoryBudget::new(
        args.memory_budget.unwrap_or_else(crate::scoring::MemoryBudget::default_limit),
    );
    let runner = Runner {
        plan: &plan,
        suites: &suites,
        generator: generator.as_ref(),
        store: &store,
        run_dir: &run_dir,
        shard,
        progress: !args.json,
        memory: &memory,
    };
    let mut counts = StageCounts::default();
    if matches!(stages, Stages::All | Stages::Generate) {
        runner.generate(&mut counts)?;
    }
    if matches!(stages, Stages::All | Stages::Score) {
        runner.score(&mut counts)?;
    }
    // Scoring is the last per-shard stage: after it the shard is finished for this plan.
    if matches!(stages, Stages::All | Stages::Score) {
        runner.finish()?;
    }
    let mut merged = None;
    let mut report = None;
    if stages == Stages::All && shard.n == 1 {
        let m = analyze::merge(&run_dir, false)?;
        report = Some(write_report(&run_dir, Some(&store_root), None)?);
        merged = Some(m);
    }
    let failed = merged.as_ref().map_or(counts.generation_errors, |m| m.failed_generations);
    let failed_scores = merged.as_ref().map_or(counts.score_errors, |m| m.failed_scores);
    // A video that could not be read or measured is as much a failure as one not generated.
    let code = if failed > 0 || failed_scores > 0 { ExitCode::ModelFailure } else { ExitCode::Ok };
    if args.json {
        let out = json!({
            "run_dir": run_dir, "plan_hash": plan.plan_hash, "shard": shard.dir_name(), "counts": counts,
            "merged": merged, "report": report, "exit_code": code as i32,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!(
            // Units count what earlier runs did too; scores only this run's ("40 units (40
            // already done …); 0 scores" read as if none had been scored).
            "shard {}: {} units ({} already done, {} generated, {} reused from store, {} failed); {} scores recorded now ({} reused, {} failed)",
            shard.dir_name(),
            counts.units,
            counts.done_before,
            counts.generated,
            counts.reused,
            counts.generation_errors,
            // Failed ones are among the scores counted ("11 scores (0 reused, 11 failed)" had 22).
            counts.scored + counts.scores_reused + counts.score_errors,
            counts.scores_reused,
            counts.score_errors
        );
        match (&merged, &report) {
            (Some(m), Some(r)) => {
                println!("results: {}", m.results_json.display());
                println!("report:  {}", r.display());
            }
            _ if stages == Stages::All => {
                println!("when every shard has finished: videval merge {}", run_dir.display())
            }
            _ => {}
        }
        if let Some(m) = &merged {
            say_vbench(m);
        }
        if failed > 0 {
            println!("{}", failed_generations_note(failed));
        }
        match &merged {
            Some(m) if m.off_request > 0 => println!("{}", off_request_note(m.off_request)),
            None if counts.off_request > 0 => println!(
                "note: {} video(s) differ from what their unit asked for (frames, size or frame rate) or are HDR, measured without tone mapping: `off_request` in {}",
                counts.off_request,
                run_dir.join("shards").display()
            ),
            _ => {}
        }
        if failed_scores > 0 {
            println!("{}", failed_scores_note(failed_scores));
        }
    }
    Ok(code)
}

/// What a run or a merge says of units that failed to generate (exit 4).
pub fn failed_generations_note(n: usize) -> String {
    format!("{n} unit(s) failed to generate; their errors are in the records and the report")
}

/// What a run or a merge says of measurements that failed (exit 4).
pub fn failed_scores_note(n: usize) -> String {
    format!(
        "{n} measurement(s) failed (an unreadable video or a failed computation); their errors are in the results and the report"
    )
}

/// Where a run's pages come from: its folder, the harness, when, and the subset of cases it ran.
pub fn provenance(run_dir: &Path) -> Result<videval_reports::html::Provenance> {
    let manifest: Manifest = read_json(&run_dir.join("manifest.json"))?;
    // A plan that cannot be read leaves the selection unsaid, not the page unwritten.
    let selection = read_json::<Plan>(&run_dir.join("plan.json")).ok().and_then(|p| {
        let mut parts = Vec::new();
        if let Some(cases) = &p.selection.cases {
            parts.push(format!("only the cases {} (--cases)", cases.join(", ")));
        }
        if let Some(n) = p.selection.limit {
            parts.push(format!("a stratified subset of {n} case(s) per suite (--limit {n})"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    });
    Ok(videval_reports::html::Provenance {
        run_dir: run_dir.display().to_string(),
        harness_version: manifest.harness.version.clone(),
        git_sha: manifest.harness.git_sha.clone(),
        created_at: manifest.created_at.clone(),
        environment: manifest.environment.clone(),
        selection,
        media_notes: Vec::new(),
    })
}

/// The run report; videos moved with their store are looked up in `store`.
pub fn write_report(run_dir: &Path, store: Option<&Path>, out: Option<&Path>) -> Result<PathBuf> {
    let results: videval_reports::Results = crate::store::read_results(run_dir)?;
    let provenance = provenance(run_dir)?;
    let path = out.map_or_else(|| run_dir.join("report.html"), Path::to_path_buf);
    check_page_path(&path)?;
    // A killed render's half-written page beside it.
    crate::store::sweep_leftovers(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    let (media, placer, media_notes) = crate::media::run_media(run_dir, store, &results, &path, None)?;
    let provenance = videval_reports::html::Provenance { media_notes, ..provenance };
    let html =
        videval_reports::html::render_run(&results, &provenance, &media).map_err(|e| Error::Internal(e.to_string()))?;
    placer.publish(|| write_atomic(&path, html.as_bytes()))?;
    Ok(path)
}

/// Where a report page goes (`-o`): an `.html` file, never a folder nor one of the files a
/// report is made from (`-o run/results.json` overwrote the run's results with the page).
pub fn check_page_path(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Config(format!(
            "-o {}: a folder, where the report's .html file is expected",
            path.display()
        )));
    }
    if !path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
    {
        return Err(Error::Config(format!(
            "-o {}: a report is an HTML page; give a file name ending in .html",
            path.display()
        )));
    }
    // Said before any clip is made (each was encoded, then the page could not be written).
    if let Some(file) = path.ancestors().skip(1).find(|a| a.is_file()) {
        return Err(Error::Config(format!(
            "-o {}: {} is a file, where a folder is expected",
            path.display(),
            file.display()
        )));
    }
    Ok(())
}

/// A run's folder when `--out` is not given: `runs/<model>-<plan digits>`, for `run`, `plan` and
/// the jobs `plan --emit` writes alike (the jobs' differed from what `plan` printed).
pub fn default_run_dir(model: &str, plan_hash: &str) -> PathBuf {
    let digits: String = crate::hash::digits(plan_hash).chars().take(12).collect();
    // A model's name is text from its spec: one folder, whatever it holds.
    // A long model name is cut (the plan's digits keep runs apart): a 300-character name
    // made a folder name the file system refused.
    // Nor hidden or option-like: "." or "../x" gave runs/.-…, an empty name runs/-….
    let name = crate::media::safe_name(model);
    let name: String = name.trim_start_matches(['.', '-', '_']).chars().take(96).collect();
    PathBuf::from("runs").join(format!("{}-{digits}", if name.is_empty() { "model" } else { &name }))
}

/// Refuses, before any work, a plan with units the model cannot make (their mode, or their
/// conditioning clips, or a whole plan's, [`generator::Generator::refuses_plan`]): each failed as
/// the model's failure (exit 4) after the rest were generated.
pub fn refused_cases(suites: &[Suite], plan: &Plan, generator: &dyn generator::Generator) -> Result<()> {
    let planned: std::collections::BTreeSet<(&str, &str)> =
        plan.units.iter().map(|u| (u.id.suite.as_str(), u.id.case_id.as_str())).collect();
    // Why → the cases refused for it.
    let mut refused: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    // Each file's header, read once however many cases name it.
    let headers: std::cell::RefCell<std::collections::HashMap<std::path::PathBuf, Option<crate::video::VideoInfo>>> =
        Default::default();
    for suite in suites {
        // A conditioning input's frame count and rate: from its range, its scene's case, or its
        // file's header.
        let held = |m: &crate::suite::schema::Media| -> generator::HeldClip {
            let source = m.scene_of.as_ref().and_then(|id| suite.case(id));
            let file = m.file().filter(|_| source.is_none());
            let info = file.as_ref().and_then(|f| {
                headers.borrow_mut().entry(f.clone()).or_insert_with(|| crate::video::probe(f).ok()).clone()
            });
            let frames = match (m.frame, m.frames) {
                (Some(_), _) => Some(1),
                (None, Some([a, b])) => b.checked_sub(a).map(|d| d as usize + 1),
                // Counted as the decoder counts them (cached per file): a Matroska file states no
                // count, an MP4's includes what its edit list hides.
                (None, None) => source
                    .map(|c| c.generation.frames as usize)
                    .or_else(|| crate::video::shown_frames(file.as_ref().filter(|_| info.is_some())?).ok()),
            };
            let fps = source.map(|c| c.generation.fps).or_else(|| info.as_ref().map(|i| i.fps).filter(|f| *f > 0.0));
            generator::HeldClip { frames, fps }
        };
        for case in suite.cases.iter().filter(|c| planned.contains(&(suite.name.as_str(), c.id.as_str()))) {
            if let Some(why) = generator.refuses(suite, case, &held) {
                refused.entry(why).or_default().push(format!("{}/{}", suite.name, case.id));
            }
        }
    }
    for (unit, why) in generator.refuses_plan(&plan.units) {
        let cases = refused.entry(why).or_default();
        if !cases.contains(&unit) {
            cases.push(unit);
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = refused
        .iter()
        .map(|(why, cases)| {
            let more = if cases.len() > 5 { format!(" and {} more", cases.len() - 5) } else { String::new() };
            format!("  {}{more}: {why}", cases[..cases.len().min(5)].join(", "))
        })
        .collect();
    Err(Error::Config(format!(
        "--model {}: the {} adapter cannot make these cases (choose others with --cases, or another model):\n{}",
        generator.identity().name,
        generator.identity().adapter,
        lines.join("\n")
    )))
}

/// What is wrong with the conditioning files the planned cases name (not there, not a regular
/// file, no picture, a frame past the end, a clip given as an image), one line each: the suite's
/// mistake, said before any work (it was each unit's model failure, exit 4). With `read_frames`
/// an image or a frame range is decoded as far as it asks; otherwise headers are read.
pub fn conditioning_problems(suites: &[Suite], plan: &Plan, read_frames: bool) -> Vec<String> {
    let planned: std::collections::BTreeSet<(&str, &str)> =
        plan.units.iter().map(|u| (u.id.suite.as_str(), u.id.case_id.as_str())).collect();
    input_problems(suites, |suite, case| planned.contains(&(suite, case)), read_frames)
        .iter()
        .map(InputProblem::to_string)
        .collect()
}

/// A conditioning file a case names that cannot be used: which case, which `input` field, the
/// file as named, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InputProblem {
    pub suite: String,
    pub case_id: String,
    /// `image`, `video` or `video2`.
    pub field: &'static str,
    pub file: String,
    pub why: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "suite {}, case {}: input.{}: {}: {}", self.suite, self.case_id, self.field, self.file, self.why)
    }
}

/// [`conditioning_problems`] of the cases `chosen` (suite name, case id) picks: `suites lint`
/// checks every case's files by their headers, as `plan` does (a misspelt picture passed lint,
/// then `plan` and `run` refused it).
pub fn input_problems(suites: &[Suite], chosen: impl Fn(&str, &str) -> bool, read_frames: bool) -> Vec<InputProblem> {
    let mut missing = Vec::new();
    // Each file is read once however many cases name it (eight cases of one 1080p clip took
    // 16 s and 1.6 GB in `plan` alone), and only as far as a count needs; `plan` reads headers.
    let mut counted: std::collections::BTreeMap<(PathBuf, usize), std::result::Result<usize, String>> =
        std::collections::BTreeMap::new();
    for suite in suites {
        for case in suite.cases.iter().filter(|c| chosen(&suite.name, &c.id)) {
            let Some(input) = &case.input else { continue };
            for (field, m) in [("image", &input.image), ("video", &input.video), ("video2", &input.video2)] {
                let Some(file) = m.as_ref().and_then(|m| m.file()) else { continue };
                let media = m.as_ref().expect("a file named by the media");
                let why = match std::fs::metadata(&file) {
                    Err(_) => Some("no such file (paths are relative to the suite file that names them)".to_string()),
                    Ok(md) if !md.is_file() => Some("not a regular file".to_string()),
                    // What the file holds, from its header: an animation or a clip given as the
                    // image, a frame range past its end, or no picture at all ran the generator
                    // first (minutes a unit) and failed each unit as the model's failure.
                    Ok(_) => {
                        // Decoded only as far as the frames asked for (two for an image), as the
                        // generation would; a clip's header alone otherwise.
                        let last = media.frame.or(media.frames.map(|f| f[1])).map(|l| l as usize);
                        let upto = match (field, last) {
                            (_, Some(l)) => Some(l + 1),
                            ("image", None) => Some(2),
                            _ => None,
                        };
                        let read = match upto.filter(|_| read_frames) {
                            Some(k) => counted
                                .entry((file.clone(), k))
                                .or_insert_with(|| crate::video::frames_upto(&file, k).map_err(|e| e.to_string()))
                                .clone()
                                .map(Some),
                            // A whole clip: its packets counted (a Matroska file cut short passed
                            // the header and failed each unit as the model's failure).
                            None if read_frames => {
                                crate::video::shown_frames(&file).map(|_| None).map_err(|e| e.to_string())
                            }
                            // The header's count where the file's length confirms it (a
                            // fragmented MP4's header counts its first fragment, 12 of 72
                            // frames): a frame range past the end or a clip given as the image
                            // passed `lint` and `plan`, and `run` refused them.
                            None => crate::video::probe(&file)
                                .map(|info| {
                                    let trusted = info.frames.filter(|&n| info.shown_frames_by_header() == Some(n));
                                    trusted.filter(|_| upto.is_some()).map(|n| n as usize)
                                })
                                .map_err(|e| e.to_string()),
                        };
                        match (read, last) {
                            (Err(e), _) => Some(format!("not a readable picture or video ({e})")),
                            (Ok(Some(n)), Some(l)) if n <= l => {
                                Some(format!("frame {l} asked for, but it holds {n} frames (counted from 0)"))
                            }
                            (Ok(Some(n)), None) if n > 1 => Some(
                                "holds more than one frame, an image is one: give frame: N to take one".to_string(),
                            ),
                            _ => None,
                        }
                    }
                };
                if let Some(why) = why {
                    missing.push(InputProblem {
                        suite: suite.name.clone(),
                        case_id: case.id.clone(),
                        field,
                        file: file.display().to_string(),
                        why,
                    });
                }
            }
        }
    }
    missing
}

/// What a merged run says of its VBench dimensions where it ends: the scores, those not scored,
/// those scored without some videos, and where the protocol is not VBench's.
pub fn say_vbench(m: &crate::analyze::Merged) {
    for line in &m.vbench_scores {
        println!("VBench {line}");
    }
    for why in &m.vbench_unscored {
        println!("VBench dimension not scored: {why}");
    }
    for why in &m.vbench_left_out {
        println!("VBench dimension scored without some videos: {why}");
    }
    for why in &m.vbench_caveats {
        println!("VBench caveat: {why}");
    }
}

/// What a merged run says of its videos that are not what their units asked for.
pub fn off_request_note(n: usize) -> String {
    format!(
        "note: {n} video(s) differ from what their unit asked for (frames, size or frame rate) or are HDR, measured without tone mapping: marked in the report's samples, `off_request` in results.json"
    )
}
