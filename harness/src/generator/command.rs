//! `command`: an external program that writes one video per call.
//!
//! `argv` is a program and its arguments, each with `{placeholders}` filled per unit; it is run
//! directly, never through a shell, so prompts cannot inject commands. The program must write a
//! video to `{out}` and exit 0 within `timeout_s`. On failure its exit status and the end of its
//! stderr go into the unit's record.
//!
//! Placeholders: `{prompt} {seed} {seed_idx} {case_id} {suite} {mode} {frames} {fps} {width}
//! {height} {steps} {guidance} {out} {input_image} {input_video} {input_video2} {strength}`;
//! `{{` and `}}` are literal braces.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{AdapterInfo, GenError, Generator, Job, ModelSpec, Output, checkpoint_digest};
use crate::error::{Error, Result};
use crate::hash::key_of;
use crate::plan::ModelIdentity;
use crate::suite::schema::Media;

pub const INFO: AdapterInfo = AdapterInfo {
    name: "command",
    summary: "an external program run per unit (argv template, no shell) that writes a video to {out}",
    build,
};

const PLACEHOLDERS: &[&str] = &[
    "prompt",
    "seed",
    "seed_idx",
    "case_id",
    "suite",
    "mode",
    "frames",
    "fps",
    "width",
    "height",
    "steps",
    "guidance",
    "out",
    "input_image",
    "input_video",
    "input_video2",
    "strength",
];

/// Keep this much of a failing program's stderr in its record.
const STDERR_TAIL: usize = 4000;
/// Bytes of a program's stderr held while it runs (the tail; the rest is read and dropped).
const STDERR_KEEP: usize = 64 << 10;

/// Kills every process in the group `pgid` (the adapter starts each program as a group leader).
/// Through kill(1): the workspace has no unsafe code to call kill(2) with.
fn kill_group(pgid: u32) {
    if let Some(pid) = i32::try_from(pgid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Process groups of the generator commands running now.
static RUNNING: std::sync::Mutex<std::collections::BTreeSet<u32>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Kills every generator command running now with its process group (videval is stopping: a
/// command in its own process group would not get the terminal's Ctrl-C and would run on).
pub fn kill_running() {
    if let Ok(groups) = RUNNING.lock() {
        for &g in groups.iter() {
            kill_group(g);
        }
    }
}

/// The longest `timeout_s`: a week.
const MAX_TIMEOUT_S: f64 = 7.0 * 86_400.0;

/// How long the end of stderr is waited for once the command has exited: a child it left
/// behind in another session may hold the pipe open for ever.
const STDERR_GRACE: Duration = Duration::from_secs(1);

pub struct CommandGen {
    identity: ModelIdentity,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    timeout: Duration,
    /// Whether the program is there, checked once, before the first unit is generated.
    program: std::sync::OnceLock<std::result::Result<(), String>>,
}

/// Splits a template into literal text and placeholder names; `Err` names a bad placeholder.
fn parse_template(t: &str) -> std::result::Result<Vec<(bool, String)>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                lit.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err(format!("unclosed placeholder {{{name} in \"{t}\" (write {{{{ for a literal brace)"));
                }
                if !PLACEHOLDERS.contains(&name.as_str()) {
                    return Err(format!(
                        "unknown placeholder {{{name}}} in \"{t}\", expected one of {}",
                        PLACEHOLDERS.join(", ")
                    ));
                }
                parts.push((false, std::mem::take(&mut lit)));
                parts.push((true, name));
            }
            c => lit.push(c),
        }
    }
    parts.push((false, lit));
    Ok(parts)
}

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    if spec.argv.is_empty() {
        return Err(Error::Config("adapter command needs argv: [program, args...]".into()));
    }
    // What no program can be given: a NUL in an argument or a value, an environment name that
    // is empty or holds '=' (each failed every unit, or gave the program another variable).
    if let Some(i) = spec.argv.iter().position(|a| a.contains('\0')) {
        return Err(Error::Config(format!("argv[{i}]: holds a NUL character, which no program argument can")));
    }
    if let Some((k, _)) = spec.env.iter().find(|(k, v)| k.is_empty() || k.contains(['=', '\0']) || v.contains('\0')) {
        return Err(Error::Config(format!(
            "env {:?}: a name must be non-empty without '=' or NUL, and a value without NUL",
            crate::error::printable(k)
        )));
    }
    let mut templates = Vec::with_capacity(spec.argv.len());
    for (i, a) in spec.argv.iter().enumerate() {
        templates.push(parse_template(a).map_err(|e| Error::Config(format!("argv[{i}]: {e}")))?);
    }
    // A shell's script (`sh -c SCRIPT`) is code: text from a suite placed in it would run as
    // shell code (a prompt holding `$(…)` or a quote), and so would a path holding one. It goes
    // after the script, as "$1". The shell may come after a wrapper (`env sh -c`, `nice`,
    // `timeout 60 bash -c`), and options or `--` may stand between `-c` and the script
    // (`sh -c -- SCRIPT`, `bash -c -x SCRIPT`); an interpreter's `-c`/`-e` code is the same.
    for (flag, script) in code_arguments(&spec.argv) {
        let suite_text = (flag..=script).find_map(|i| {
            templates.get(i).into_iter().flatten().find(|(is_var, v)| {
                *is_var
                    && matches!(
                        v.as_str(),
                        "prompt" | "case_id" | "suite" | "input_image" | "input_video" | "input_video2" | "out"
                    )
            })
        });
        if let Some(var) = suite_text {
            return Err(Error::Config(format!(
                "argv[{script}]: {{{}}} inside a shell script or interpreter code would run a suite's text as code; pass it as an argument after the script and use it as \"$1\" (argv: [sh, -c, 'gen --prompt \"$1\" --out \"$2\"', sh, '{{{}}}', '{{out}}'])",
                var.1, var.1
            )));
        }
    }
    if !templates.iter().flatten().any(|(is_var, v)| *is_var && v == "out") {
        return Err(Error::Config(
            "argv: no argument contains {out}, so the program cannot know where to write".into(),
        ));
    }
    let timeout_s = spec.timeout_s.unwrap_or(600.0);
    if !(timeout_s.is_finite() && timeout_s > 0.0 && timeout_s <= MAX_TIMEOUT_S) {
        return Err(Error::Config(format!(
            "timeout_s: expected a positive number of seconds up to {MAX_TIMEOUT_S} (a week), got {timeout_s}"
        )));
    }
    let checkpoint = match &spec.checkpoint {
        Some(c) => Some(checkpoint_digest(Path::new(c))?),
        None => None,
    };
    let name = spec.name.clone().unwrap_or_else(|| {
        Path::new(&spec.argv[0]).file_name().map_or("command".into(), |n| n.to_string_lossy().into_owned())
    });
    let files = argv_files(&templates, &spec.argv)?;
    let digest = if files.is_empty() {
        key_of(&(&spec.argv, &checkpoint, &spec.env))
    } else {
        key_of(&(&spec.argv, &checkpoint, &spec.env, &files))
    };
    let mut params = BTreeMap::new();
    params.insert("argv".to_string(), serde_json::json!(spec.argv));
    if !files.is_empty() {
        params.insert("argv_file_digests".to_string(), serde_json::json!(files));
    }
    if let Some(c) = checkpoint {
        params.insert("checkpoint_digest".to_string(), serde_json::json!(c));
    }
    Ok(Box::new(CommandGen {
        identity: ModelIdentity { adapter: "command".into(), name, digest, params },
        argv: spec.argv.clone(),
        env: spec.env.clone(),
        timeout: Duration::from_secs_f64(timeout_s),
        program: Default::default(),
    }))
}

/// Whether `program` can be run: a missing one is a bad spec (exit 3), not a failed generation
/// of every unit (exit 4 with a "complete" run of errors). Checked before the first unit is
/// generated, not when the spec is loaded: `plan --emit` writes jobs for machines (a container
/// image) that have the program where this one does not. A name with a `/` is a path (relative
/// to the folder videval runs in, as the OS reads it); a bare name is looked up on the `PATH`
/// the program gets (the spec's `env` may set it).
fn find_program(program: &str, env: &BTreeMap<String, String>) -> std::result::Result<(), String> {
    if parse_template(program).is_ok_and(|t| t.iter().any(|(is_var, _)| *is_var)) {
        return Ok(());
    }
    let runnable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let here = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        return match Path::new(program).metadata() {
            Ok(_) if runnable(Path::new(program)) => Ok(()),
            Ok(m) if m.is_dir() => Err(format!("argv[0] {program:?}: a folder, not a program")),
            Ok(_) => Err(format!(
                "argv[0] {program:?}: not executable (chmod +x it, or run it through its interpreter: [python3, {program}, ...])"
            )),
            Err(e) => Err(format!(
                "argv[0] {program:?}: {e} (a relative path is read from the folder videval runs in, {here})"
            )),
        };
    }
    let path = env.get("PATH").cloned().or_else(|| std::env::var("PATH").ok()).unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| runnable(&dir.join(program))) {
        Ok(())
    } else {
        Err(format!("argv[0] {program:?}: no such program on the PATH ({path})"))
    }
}

/// What the program needs beyond itself to start: the interpreter its `#!` line names (a script
/// whose interpreter is missing failed every unit with "cannot start ./gen.py: No such file",
/// about a file that is there), and the script an interpreter is given as its first argument
/// (`[python3, gen.py]` run from another folder failed every unit the same way).
fn find_script(argv: &[String], env: &BTreeMap<String, String>) -> std::result::Result<(), String> {
    let literal = |a: &str| parse_template(a).is_ok_and(|t| t.iter().all(|(is_var, _)| !*is_var));
    let path = env.get("PATH").cloned().or_else(|| std::env::var("PATH").ok()).unwrap_or_default();
    let on_path = |name: &str| {
        name.contains('/') && Path::new(name).is_file()
            || !name.contains('/') && std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
    };
    let program = &argv[0];
    if program.contains('/') && literal(program) {
        let mut head = [0u8; 256];
        let n = std::fs::File::open(program).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
        if let Some(line) = head[..n].strip_prefix(b"#!") {
            let line = String::from_utf8_lossy(line.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
            // The kernel splits the line at spaces and tabs only: a script saved with Windows
            // line ends asks for `/bin/sh\r`, which is not there (every unit failed with "cannot
            // start ./run.sh: No such file", about a file that is).
            if line.ends_with('\r') {
                return Err(format!(
                    "argv[0] {program:?}: its #! line ends in a carriage return (Windows line ends): the system reads \"#!{}\" with the return as part of the last word; convert the file (dos2unix)",
                    line.trim_end_matches('\r')
                ));
            }
            let mut words = line.split_whitespace();
            let interpreter = words.next().unwrap_or_default();
            // `#!/usr/bin/env python3` (or `env -S python3 -u`) runs the first word that is not
            // an option, from the PATH.
            // With options (`env -S -u FOO sh`) what env runs is not read here: some take a value.
            let named = if program_name(interpreter) == "env" {
                let rest: Vec<&str> = words.collect();
                if rest.iter().any(|w| w.starts_with('-')) {
                    ""
                } else {
                    rest.into_iter().find(|w| !w.contains('=')).unwrap_or_default()
                }
            } else {
                interpreter
            };
            if !named.is_empty() && !on_path(named) {
                return Err(format!(
                    "argv[0] {program:?}: its #! line names {named:?}, which is not there{}",
                    if named.contains('/') { String::new() } else { format!(" (not on the PATH: {path})") }
                ));
            }
        }
    }
    // An interpreter whose first argument is a script (options first, or a subcommand such as
    // `uv run`, are not looked into).
    let takes_script = runs_script_argument(program);
    if let Some(script) = argv.get(1).filter(|a| takes_script && !a.starts_with('-') && literal(a))
        && !Path::new(script).exists()
    {
        let here = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        return Err(format!(
            "argv[1] {script:?}: the script {} runs is not there (a relative path is read from the folder videval runs in, {here})",
            argv[0]
        ));
    }
    Ok(())
}

/// Whether a program (by its name) runs a script given as its first operand: `python3 gen.py`,
/// `bash run.sh`, `node gen.js`.
fn runs_script_argument(program: &str) -> bool {
    let bare = program_name(program);
    bare.starts_with("python")
        || matches!(
            bare.as_str(),
            "pypy"
                | "sh"
                | "bash"
                | "dash"
                | "zsh"
                | "ksh"
                | "node"
                | "nodejs"
                | "Rscript"
                | "ruby"
                | "perl"
                | "julia"
                | "lua"
                | "luajit"
                | "php"
        )
}

/// The program and the script it runs, hashed into the model's identity: editing the
/// generator's code changes its videos, and the store must not hand back the old ones as its (it
/// did: a program made 8 frames, then 16, and the 8 were reused). argv[0] when it is a path to a
/// file, and, when it is an interpreter (`python3`, `bash`, `node`, …), the first argument after
/// it that is not an option and is a file: `gen.py` in `[python3, gen.py, …]`. Only these: a
/// file the generator writes (a log, a cache named in argv) would change the identity from run
/// to run, and a run could never resume; other files go in `checkpoint:`. Paths are read from the
/// folder videval runs in, as the program reads them; arguments with a placeholder are not files.
fn argv_files(templates: &[Vec<(bool, String)>], argv: &[String]) -> Result<BTreeMap<String, String>> {
    let literal = |i: usize| templates.get(i).is_some_and(|t| t.iter().all(|(is_var, _)| !*is_var));
    let is_file = |i: usize| literal(i) && !argv[i].is_empty() && Path::new(&argv[i]).is_file();
    let mut named = Vec::new();
    if argv[0].contains('/') && is_file(0) {
        named.push(0);
    }
    // The interpreter may come after a wrapper (`env VAR=1 python3 gen.py`, `timeout 600
    // python3 gen.py`, `conda run -n base python gen.py`, `poetry run python gen.py`): gen.py was
    // not hashed, and an edited script's videos were served from the store.
    // Interpreters that take a subcommand first (`uv run gen.py`, `torchrun … gen.py`) too: the
    // first file operand after them is hashed.
    let interpreter = |a: &str| {
        runs_script_argument(a) || matches!(program_name(a).as_str(), "deno" | "bun" | "uv" | "torchrun" | "accelerate")
    };
    if let Some(at) = (0..argv.len()).find(|&i| literal(i) && interpreter(&argv[i])) {
        if let Some(script) = (at + 1..argv.len()).find(|&i| !argv[i].starts_with('-') && is_file(i)) {
            named.push(script);
        }
    }
    let mut files = BTreeMap::new();
    for i in named {
        let path = Path::new(&argv[i]);
        files.insert(argv[i].clone(), crate::hash::sha256_file(path).map_err(Error::input(path))?);
    }
    Ok(files)
}

/// A program's name without its folder or a version (`perl5.36.0`, `php8.2`, `python3.12`).
fn program_name(a: &str) -> String {
    let n = Path::new(a).file_name().and_then(|n| n.to_str()).unwrap_or_default();
    n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-').to_string()
}

/// How a program takes code on its command line.
enum Takes {
    /// A shell: `-c` (alone or in a cluster such as `-lc`), then options, then the script.
    Shell,
    /// One of these letters in a single-dash cluster (`-c`, `-Bc`, `-le`), the code in the next
    /// argument or attached (`-cprint(1)`), or one of these long flags (`--eval CODE`,
    /// `--eval=CODE`); the flags compared without case for PowerShell.
    Flag(&'static str, &'static [&'static str]),
    /// awk: the first operand is the program (unless `-f` names a file).
    Program,
    /// sed: each `-e`/`--expression` script, or the first operand (GNU sed's `e` runs commands).
    Sed,
    /// env: `-S`/`--split-string` turns one argument into a command line.
    Env,
    /// su, runuser, flock, script: `-c`/`--command` anywhere after the program (their options
    /// may follow operands: `su root -c CMD`).
    Command,
    /// ssh: every argument after the host is joined into a remote shell command line.
    Remote,
}

/// Where `argv` hands code to a shell or an interpreter: for each, the first and last index of
/// the arguments that are code (a flag with attached code, or the flag and its code).
fn code_arguments(argv: &[String]) -> Vec<(usize, usize)> {
    let takes = |n: &str| -> Option<Takes> {
        Some(match n {
            "sh" | "bash" | "rbash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "yash" | "fish" | "csh" | "tcsh"
            | "busybox" => Takes::Shell,
            _ if n.starts_with("python") || n.starts_with("pypy") || n == "ipython" => Takes::Flag("c", &[]),
            "perl" => Takes::Flag("eE", &[]),
            "ruby" | "julia" | "Rscript" | "R" | "lua" | "luajit" => Takes::Flag("e", &["--eval"]),
            "node" | "nodejs" | "deno" | "bun" => Takes::Flag("ep", &["--eval", "--print", "eval"]),
            "php" => Takes::Flag("r", &["--run"]),
            // PowerShell takes any unambiguous prefix of -Command / -EncodedCommand.
            "pwsh" | "powershell" => Takes::Flag(
                "",
                &[
                    "-c",
                    "-co",
                    "-com",
                    "-comm",
                    "-comma",
                    "-comman",
                    "-command",
                    "-e",
                    "-ec",
                    "-en",
                    "-enc",
                    "-encodedcommand",
                ],
            ),
            "su" | "runuser" | "flock" | "script" => Takes::Command,
            "ssh" => Takes::Remote,
            "awk" | "gawk" | "mawk" | "nawk" => Takes::Program,
            "sed" | "gsed" => Takes::Sed,
            "env" => Takes::Env,
            _ => return None,
        })
    };
    let is_option = |a: &str| a.len() > 1 && (a.starts_with('-') || a.starts_with('+')) && a != "--";
    let last = argv.len().saturating_sub(1);
    let mut out = Vec::new();
    for (s, program) in argv.iter().enumerate() {
        let Some(kind) = takes(&program_name(program)) else { continue };
        // The program's own options end at "--" or its first operand (`bash run.sh -c X` passes
        // `-c` to the script).
        let mut i = s + 1;
        match kind {
            Takes::Shell => {
                // Options that take the next word: `-o NAME` (also ending a cluster, `-euo
                // pipefail`), and bash's `--rcfile FILE` / `--init-file FILE`.
                let takes_word = |a: &str| {
                    (a.len() > 1
                        && (a.starts_with('-') || a.starts_with('+'))
                        && !a.starts_with("--")
                        && (a.ends_with('o') || a.ends_with('O')))
                        || matches!(a, "--rcfile" | "--init-file")
                };
                let mut flag = None;
                while i < argv.len() && is_option(&argv[i]) {
                    let a = &argv[i];
                    // fish's `--command CODE` / `--command=CODE`.
                    if a.starts_with("--command=") {
                        out.push((i, i));
                    } else if a == "--command" {
                        flag = flag.or(Some(i));
                    }
                    let cluster = a.starts_with('-') && !a.starts_with("--");
                    if cluster && a[1..].chars().all(|c| c.is_ascii_alphabetic()) && a.contains('c') {
                        flag = flag.or(Some(i));
                    }
                    i += if takes_word(a) { 2 } else { 1 };
                }
                // `--` or a lone `-` ends the options: the script is the next word.
                if i < argv.len() && (argv[i] == "--" || argv[i] == "-") {
                    i += 1;
                }
                if let Some(flag) = flag {
                    out.push((flag, i.min(last)));
                }
            }
            Takes::Flag(letters, long) => {
                while i < argv.len() && is_option(&argv[i]) {
                    let a = argv[i].as_str();
                    let (key, attached) = a.split_once('=').map_or((a, false), |(k, _)| (k, true));
                    if long.iter().any(|l| l.eq_ignore_ascii_case(key)) {
                        out.push((i, if attached { i } else { (i + 1).min(last) }));
                        break;
                    }
                    if !a.starts_with("--") {
                        if let Some(p) = a[1..].find(|c: char| letters.contains(c)) {
                            let at_end = p + 2 == a.len();
                            out.push((i, if at_end { (i + 1).min(last) } else { i }));
                            break;
                        }
                    }
                    // After `-m MODULE` the arguments are the module's.
                    if a == "-m" || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('m')) {
                        break;
                    }
                    // Options that take a value as the next argument (python, node).
                    let value = matches!(
                        a,
                        "-W" | "-X"
                            | "--check-hash-based-pycs"
                            | "-r"
                            | "--require"
                            | "--import"
                            | "--loader"
                            | "-C"
                            | "--conditions"
                            | "--input-type"
                    );
                    i += if value { 2 } else { 1 };
                }
                // A subcommand that takes code (`deno eval CODE`).
                if i < argv.len() && long.contains(&argv[i].as_str()) && !argv[i].starts_with('-') {
                    out.push((i, (i + 1).min(last)));
                }
            }
            Takes::Command => {
                for k in s + 1..argv.len() {
                    let a = argv[k].as_str();
                    if matches!(a, "-c" | "--command" | "--session-command") {
                        out.push((k, (k + 1).min(last)));
                    } else if a.starts_with("--command=") || a.starts_with("--session-command=") {
                        out.push((k, k));
                    } else if a.len() > 2 && a.starts_with('-') && !a.starts_with("--") && a.ends_with('c') {
                        out.push((k, (k + 1).min(last)));
                    }
                }
            }
            Takes::Remote => {
                if s < last {
                    out.push((s + 1, last));
                }
            }
            Takes::Program => {
                let mut from_file = false;
                while i < argv.len() && is_option(&argv[i]) {
                    let a = argv[i].as_str();
                    from_file |= a == "-f" || a.starts_with("--file");
                    i += if matches!(a, "-F" | "-v" | "-f" | "-W") { 2 } else { 1 };
                }
                if i < argv.len() && argv[i] == "--" {
                    i += 1;
                }
                if !from_file && i < argv.len() {
                    out.push((i, i));
                }
            }
            Takes::Sed => {
                let mut scripts = false;
                while i < argv.len() && is_option(&argv[i]) {
                    let a = argv[i].as_str();
                    if a == "-e" || a == "--expression" {
                        out.push((i, (i + 1).min(last)));
                        scripts = true;
                        i += 2;
                        continue;
                    }
                    if a.starts_with("-e") || a.starts_with("--expression=") {
                        out.push((i, i));
                        scripts = true;
                    }
                    scripts |= a == "-f" || a.starts_with("--file");
                    i += if matches!(a, "-f" | "-l" | "--line-length") { 2 } else { 1 };
                }
                if i < argv.len() && argv[i] == "--" {
                    i += 1;
                }
                if !scripts && i < argv.len() {
                    out.push((i, i));
                }
            }
            Takes::Env => {
                while i < argv.len() && is_option(&argv[i]) {
                    let a = argv[i].as_str();
                    let cluster_s = a.starts_with('-') && !a.starts_with("--") && a.contains('S');
                    if a == "--split-string" || (cluster_s && a.ends_with('S')) {
                        out.push((i, (i + 1).min(last)));
                    } else if cluster_s || a.starts_with("--split-string=") {
                        out.push((i, i));
                    }
                    i += if matches!(a, "-S" | "--split-string" | "-u" | "--unset" | "-C" | "--chdir") { 2 } else { 1 };
                }
            }
        }
    }
    out
}

/// This program, to start `__child` with; `/proc/self/exe` stays right if the file is replaced.
fn self_exe() -> std::path::PathBuf {
    let proc = std::path::PathBuf::from("/proc/self/exe");
    if proc.exists() { proc } else { std::env::current_exe().unwrap_or_else(|_| "videval".into()) }
}

/// `videval __child PARENT -- PROGRAM ARGS…`: asks the kernel to kill this process when the
/// thread of `PARENT` that started it ends, then becomes PROGRAM (exec: the same process, its
/// group and pipes). A parent already gone before the request took effect is noticed, and the
/// program is not started.
pub fn exec_child(
    parent: u32,
    env: &[std::ffi::OsString],
    argv: &[std::ffi::OsString],
) -> Result<crate::error::ExitCode> {
    use crate::error::ExitCode;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| Error::Internal(format!("asking to die with videval: {e}")))?;
    if rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32) != Some(parent) {
        return Ok(ExitCode::Internal);
    }
    let (program, args) = argv.split_first().ok_or_else(|| Error::Config("__child: no program".into()))?;
    let mut command = Command::new(program);
    let mut path_var = std::env::var_os("PATH");
    for pair in env {
        use std::os::unix::ffi::OsStrExt;
        let bytes = pair.as_bytes();
        let at = bytes.iter().position(|&b| b == b'=').ok_or_else(|| Error::Config("__child: --env K=V".into()))?;
        let (key, value) = (std::ffi::OsStr::from_bytes(&bytes[..at]), std::ffi::OsStr::from_bytes(&bytes[at + 1..]));
        if key == "PATH" {
            path_var = Some(value.to_os_string());
        }
        command.env(key, value);
    }
    // Start failures exit as shells do (127 not found, 126 not runnable), said on stderr, which
    // the adapter reports. What is neither a `#!` script nor a program is refused: exec's path
    // search runs such a file with /bin/sh, which starting the program directly never did.
    let fail = |code: i32, why: &str| -> ! {
        eprintln!("error: cannot start {}: {why}", crate::error::printable(&program.to_string_lossy()));
        std::process::exit(code)
    };
    let found = if program.to_string_lossy().contains('/') {
        Some(std::path::PathBuf::from(program))
    } else {
        std::env::split_paths(&path_var.unwrap_or_default())
            .map(|d| d.join(program))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
    };
    let Some(found) = found else { fail(127, "No such file or directory (not on the PATH)") };
    let mut head = [0u8; 4];
    let read = std::fs::File::open(&found).and_then(|mut f| std::io::Read::read(&mut f, &mut head));
    match read {
        Err(e) => fail(if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 }, &e.to_string()),
        Ok(n) if !(head[..n].starts_with(b"#!") || head[..n] == *b"\x7fELF") => {
            fail(126, "Exec format error (neither a #! script nor a program)")
        }
        Ok(_) => {}
    }
    let e = command.args(args).exec();
    fail(126, &e.to_string())
}

/// A path the command can read for an input: the file itself when it is a whole file, otherwise
/// (a rendered scene, a frame or a frame range) written beside the job's output: the image as a
/// PNG (what image loaders read: a one-frame Matroska file was handed to `{input_image}`, which
/// PIL, OpenCV's imread and diffusers' load_image refuse), a clip as lossless Matroska. The
/// second value is the file written, removed once the command is done.
fn media_path(
    job: &Job<'_>,
    m: &Option<Media>,
    role: &str,
) -> std::result::Result<(String, Option<std::path::PathBuf>), GenError> {
    match m {
        None => Ok((String::new(), None)),
        // Absolute, as `{out}` is: relative to where videval runs, a program that changes folder
        // lost it, and a name starting with '-' read as an option.
        Some(m @ Media { path: Some(_), frames: None, frame: None, .. }) => {
            let file = m.file().unwrap_or_default();
            Ok((std::path::absolute(&file).unwrap_or(file).to_string_lossy().into_owned(), None))
        }
        Some(media) => {
            let video = super::input_media(job, media)?;
            let path = if role == "input-image" {
                let path = job.out.with_extension(format!("{role}.png"));
                let png = crate::video::frame_png(&video, 0)?;
                crate::store::write_atomic(&path, &png).map_err(|e| GenError::new(e.to_string()))?;
                path
            } else {
                let path = job.out.with_extension(format!("{role}.mkv"));
                crate::video::encode(&video, &path, &crate::video::EncodeParams::lossless())?;
                path
            };
            Ok((path.to_string_lossy().into_owned(), Some(path)))
        }
    }
}

/// Files written for one command's inputs, removed when it is done (they stayed in the store's
/// tmp/ until the next run swept it: a lossless clip per unit over a long run).
struct Scratch(Vec<std::path::PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl CommandGen {
    fn values(&self, job: &Job<'_>) -> std::result::Result<(BTreeMap<&'static str, String>, Scratch), GenError> {
        let c = job.case;
        let g = &c.generation;
        let input = c.input.clone().unwrap_or_default();
        let mut scratch = Scratch(Vec::new());
        let mut media = |m: &Option<Media>, role: &str| -> std::result::Result<String, GenError> {
            let (path, written) = media_path(job, m, role)?;
            scratch.0.extend(written);
            Ok(path)
        };
        let (image, video, video2) = (
            media(&input.image, "input-image")?,
            media(&input.video, "input-video")?,
            media(&input.video2, "input-video2")?,
        );
        let values = BTreeMap::from([
            ("prompt", c.prompt.clone()),
            ("seed", job.unit.seed.to_string()),
            ("seed_idx", job.unit.id.seed_idx.to_string()),
            ("case_id", c.id.clone()),
            ("suite", job.unit.id.suite.clone()),
            ("mode", c.mode.name().to_string()),
            ("frames", g.frames.to_string()),
            ("fps", g.fps.to_string()),
            ("width", g.width.to_string()),
            ("height", g.height.to_string()),
            ("steps", g.steps.to_string()),
            ("guidance", g.guidance.to_string()),
            ("out", job.out.to_string_lossy().into_owned()),
            ("input_image", image),
            ("input_video", video),
            ("input_video2", video2),
            ("strength", input.strength.map(|s| s.to_string()).unwrap_or_default()),
        ]);
        Ok((values, scratch))
    }
}

impl Generator for CommandGen {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// A picture for an image unit (`{out}` ends in .png: an image library picks its format by
    /// the name, and `.mp4` was refused); a video otherwise.
    fn output_ext(&self, mode: crate::suite::Mode) -> &'static str {
        if mode == crate::suite::Mode::Image { "png" } else { "mp4" }
    }

    fn preflight(&self) -> Result<()> {
        self.program
            .get_or_init(|| find_program(&self.argv[0], &self.env).and_then(|()| find_script(&self.argv, &self.env)))
            .clone()
            .map_err(Error::Config)
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        let (values, scratch) = self.values(job)?;
        // Temporary names (host, process, counter) said as their placeholders, so a unit's error
        // is the same text from any run, shard or store (results.json differed).
        let mut named: Vec<(String, String)> = ["input_image", "input_video", "input_video2"]
            .into_iter()
            .filter_map(|k| {
                values
                    .get(k)
                    .filter(|v| scratch.0.iter().any(|p| p.to_string_lossy() == **v))
                    .map(|v| (v.clone(), format!("{{{k}}}")))
            })
            .collect();
        named.push((job.out.to_string_lossy().into_owned(), "{out}".to_string()));
        // Then their names alone, and the store's scratch folder they are in.
        let names: Vec<(String, String)> = named
            .iter()
            .filter_map(|(p, to)| Some((Path::new(p).file_name()?.to_string_lossy().into_owned(), to.clone())))
            .collect();
        named.extend(names);
        if let Some(dir) = job.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            named.push((dir.to_string_lossy().into_owned(), "<store>/tmp".to_string()));
        }
        let scrub = |text: &str| named.iter().fold(text.to_string(), |t, (from, to)| t.replace(from.as_str(), to));
        let args: Vec<String> = self
            .argv
            .iter()
            .map(|a| {
                // Templates were validated when the adapter was built.
                parse_template(a)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(is_var, s)| if is_var { values.get(s.as_str()).cloned().unwrap_or_default() } else { s })
                    .collect()
            })
            .collect();
        // Its own process group, so a timeout kills what it started too (a shell's children);
        // through `videval __child`, which has the kernel kill it should this videval die without
        // a chance to (SIGKILL, the OOM killer: the program ran on, holding a GPU, and a rerun
        // generated the same units beside it).
        let mut stub = Command::new(self_exe());
        stub.arg("__child").arg(std::process::id().to_string());
        for (k, v) in &self.env {
            stub.arg(format!("--env={k}={v}"));
        }
        let mut child = stub
            .arg("--")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| GenError::new(format!("cannot start {}: {e}", args[0])))?;
        let group = child.id();
        if let Ok(mut running) = RUNNING.lock() {
            running.insert(group);
        }
        // Drain stderr on a thread so a chatty program cannot block on a full pipe; only the
        // last STDERR_KEEP bytes are kept, however much it writes.
        let mut stderr = child.stderr.take();
        let kept = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::<u8>::new()));
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let sink = std::sync::Arc::clone(&kept);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Some(Ok(n @ 1..)) = stderr.as_mut().map(|s| s.read(&mut chunk)) {
                if let Ok(mut k) = sink.lock() {
                    k.extend(&chunk[..n]);
                    let over = k.len().saturating_sub(STDERR_KEEP);
                    k.drain(..over);
                }
            }
            let _ = done.send(());
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if start.elapsed() > self.timeout => {
                    kill_group(group);
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(GenError::new(format!(
                        "{} timed out after {:.1} s and was killed with its process group",
                        args[0],
                        self.timeout.as_secs_f64()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => break Err(GenError::new(format!("waiting for {}: {e}", args[0]))),
            }
        };
        // What it left running would hold stderr open: it goes too. A child that left the
        // group (setsid) may still hold it; the reader is then left behind, not waited for.
        kill_group(group);
        if let Ok(mut running) = RUNNING.lock() {
            running.remove(&group);
        }
        // The video is taken as it is when the program exits, into a file of its own: a hard link
        // (a program's cache file, rewritten for its next case, made every stored video that
        // case's) changes nothing stored; nor does a detached child writing on after the copy
        // (one still writing during it can leave the copy partial: such a child is the
        // program's to stop).
        let copied = if matches!(&status, Ok(s) if s.success()) { own_copy(job.out) } else { Ok(()) };
        let _ = finished.recv_timeout(STDERR_GRACE);
        let err_bytes: Vec<u8> = kept.lock().map(|k| k.iter().copied().collect()).unwrap_or_default();
        let text = scrub(&String::from_utf8_lossy(&err_bytes));
        let tail: String = text.chars().rev().take(STDERR_TAIL).collect::<Vec<_>>().into_iter().rev().collect();
        // A timeout's record says what the program said last too (a lock it waited on).
        let status = status.map_err(|e| match tail.trim() {
            "" => e,
            t => GenError::new(format!("{}; stderr: {t}", e.message)),
        })?;
        if !status.success() {
            return Err(GenError::new(format!("{} exited with {status}; stderr: {}", args[0], tail.trim())));
        }
        if let Err(e) = copied {
            // Our write, not the program's: a full disk is the machine's failure.
            return Err(GenError {
                storage: crate::video::storage_failure(&e),
                ..GenError::new(format!("copying {{out}} to a file of its own: {e}; stderr: {}", tail.trim()))
            });
        }
        // What it wrote must be a video of its own: not a link (its target could change under
        // the store's hash), not a folder, not empty, and readable as a video.
        let wrote = |what: &str| {
            let what = scrub(what);
            GenError::new(format!("{} exited 0 but {what} at {{out}}; stderr: {}", args[0], tail.trim()))
        };
        match std::fs::symlink_metadata(job.out) {
            Ok(m) if m.file_type().is_symlink() => {
                let _ = std::fs::remove_file(job.out);
                Err(wrote("wrote a link, not a video file"))
            }
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(job.out);
                Err(wrote("made a folder, not a video file"))
            }
            Ok(m) if m.len() > 0 => match crate::video::probe(job.out) {
                // A picture where a video was asked is no video of one frame (its frame rate
                // FFmpeg's default for pictures, 25): the `dir` adapter never takes one either.
                Ok(info) if info.is_picture() && job.case.mode != crate::suite::Mode::Image => Err(wrote(&format!(
                    "wrote a picture ({}), where mode {} asks for a video",
                    info.codec,
                    job.case.mode.name()
                ))),
                // And a clip where a picture was asked is no picture (it was kept, then refused
                // at scoring under the store's name for it).
                Ok(info) if job.case.mode == crate::suite::Mode::Image && !info.is_picture() => {
                    match crate::video::shown_frames(job.out) {
                        Ok(n) if n > 1 => {
                            Err(wrote(&format!("wrote a video of {n} frames, where mode image asks for a picture")))
                        }
                        _ => Ok(Output::Written { encode: None, perf: None }),
                    }
                }
                Ok(_) => Ok(Output::Written { encode: None, perf: None }),
                Err(e) => Err(wrote(&format!("wrote no readable video ({e})"))),
            },
            _ => Err(wrote("wrote no video")),
        }
    }
}

/// Replaces the regular file `out` by a copy of its bytes (a new inode, its only link); anything
/// else is left for the checks that follow.
fn own_copy(out: &Path) -> std::io::Result<()> {
    if !std::fs::symlink_metadata(out).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let mut name = out.as_os_str().to_owned();
    name.push(".own.tmp");
    let copy = std::path::PathBuf::from(name);
    let copied = std::fs::copy(out, &copy).and_then(|_| std::fs::rename(&copy, out));
    if copied.is_err() {
        let _ = std::fs::remove_file(&copy);
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_unknown_placeholders_are_refused() {
        assert_eq!(
            parse_template("--seed={seed} {{x}}").unwrap(),
            vec![(false, "--seed=".into()), (true, "seed".into()), (false, " {x}".into())]
        );
        assert!(parse_template("{sed}").unwrap_err().contains("unknown placeholder {sed}"));
    }

    #[test]
    fn specs_without_out_or_with_bad_timeouts_are_refused() {
        let spec = ModelSpec { adapter: "command".into(), argv: vec!["true".into()], ..Default::default() };
        assert!(build(&spec).err().unwrap().to_string().contains("{out}"));
        for (shell, flag) in [("sh", "-c"), ("/bin/bash", "-lc"), ("dash", "-ec")] {
            let script =
                ModelSpec { argv: vec![shell.into(), flag.into(), "gen '{prompt}' {out}".into()], ..spec.clone() };
            assert!(build(&script).err().unwrap().to_string().contains("use it as \"$1\""), "{shell} {flag}");
        }
        // After a wrapper too, and a path ({out}) is as much code there as a prompt.
        for argv in [
            vec!["env", "sh", "-c", "gen \"$1\" > {out}", "sh", "{prompt}"],
            vec!["timeout", "60", "bash", "-c", "ls {input_image}", "x", "{out}"],
            vec!["/usr/bin/nice", "dash", "-ec", "gen '{prompt}'", "x", "{out}"],
        ] {
            let script = ModelSpec { argv: argv.iter().map(|a| a.to_string()).collect(), ..spec.clone() };
            assert!(build(&script).err().unwrap().to_string().contains("use it as \"$1\""), "{argv:?}");
        }
        // Options or `--` between `-c` and the script, and interpreters' code flags, are seen
        // through (`sh -c -- SCRIPT` ran a prompt's `$(touch …)`).
        for argv in [
            vec!["sh", "-c", "--", "echo \"{prompt}\"", "sh", "{out}"],
            vec!["sh", "-c", "-e", "gen {prompt}", "sh", "{out}"],
            vec!["bash", "-x", "-c", "-o", "pipefail", "gen {out}"],
            vec!["python3", "-u", "-W", "ignore", "-c", "print('{prompt}')", "{out}"],
            vec!["perl", "-e", "print '{case_id}'", "{out}"],
            vec!["pwsh", "-Command", "gen '{prompt}' {out}"],
            // Clusters, attached code, and other programs that run their arguments.
            vec!["python3", "-Bc", "print('{prompt}')", "{out}"],
            vec!["python3", "-cprint('{prompt}')", "{out}"],
            vec!["perl", "-le", "print '{prompt}'", "{out}"],
            vec!["node", "--eval=gen('{prompt}')", "{out}"],
            vec!["awk", "-v", "x=1", "BEGIN {{ x=\"{prompt}\" }}", "{out}"],
            vec!["sed", "-n", "s/a/{prompt}/e", "{out}"],
            vec!["sed", "-e", "s/a/{prompt}/e", "{out}"],
            vec!["env", "-S", "sh -c 'echo {prompt}'", "{out}"],
            vec!["sudo", "su", "-c", "gen {prompt}", "{out}"],
            vec!["bash", "-euo", "pipefail", "-c", "gen {prompt} > {out}"],
            vec!["bash", "--rcfile", "/dev/null", "-c", "gen {prompt}", "{out}"],
            vec!["bash", "-c", "-euo", "pipefail", "gen {prompt}", "x", "{out}"],
            vec!["python3", "-I", "-c", "print('{prompt}')", "{out}"],
            vec!["su", "root", "-c", "echo \"{prompt}\" > {out}"],
            vec!["runuser", "-u", "x", "--", "sh", "-c", "gen {prompt}", "{out}"],
            vec!["flock", "/tmp/lock", "-c", "gen {prompt} {out}"],
            vec!["script", "-q", "-e", "-c", "gen {prompt}", "{out}"],
            vec!["ssh", "host", "gen", "{prompt}", "{out}"],
            vec!["rbash", "-c", "echo \"{prompt}\" > {out}"],
            vec!["bash", "-c", "-", "echo \"{prompt}\" > {out}"],
            vec!["perl5.36.0", "-e", "print \"{prompt}\"", "{out}"],
            vec!["perl", "-l", "-e", "print \"{prompt}\"", "{out}"],
            vec!["node", "-r", "fs", "-e", "console.log(`{prompt}`)", "{out}"],
            vec!["deno", "eval", "console.log(`{prompt}`)", "{out}"],
            vec!["awk", "-W", "interactive", "BEGIN {{ print \"{prompt}\" }}", "{out}"],
            vec!["sed", "-n", "-l", "80", "1s|.*|{prompt}|e", "{out}"],
            vec!["python3", "--check-hash-based-pycs", "default", "-c", "print(\"{prompt}\")", "{out}"],
            vec!["env", "-vS", "/bin/sh -c 'echo {prompt} > {out}'"],
            vec!["fish", "--command=echo {prompt}", "{out}"],
            vec!["pwsh", "-comm", "gen {prompt}", "{out}"],
            vec!["lua5.4", "-e", "print('{prompt}')", "{out}"],
        ] {
            let script = ModelSpec { argv: argv.iter().map(|a| a.to_string()).collect(), ..spec.clone() };
            let err = build(&script).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("use it as \"$1\""), "{argv:?}: {err}");
        }
        // Numbers and booleans written unquoted in argv are their text.
        let spec_yaml = "adapter: command\nname: x\nargv: [torchrun, --nproc_per_node, 8, gen.py, --scale, 5.0, --flag, true, \"{out}\"]\n";
        let typed: ModelSpec = crate::yaml::decode(&crate::yaml::parse("m.yaml", spec_yaml).unwrap(), "").unwrap();
        assert_eq!(typed.argv[2..8], ["8", "gen.py", "--scale", "5.0", "--flag", "true"]);
        for argv in [
            vec!["env", "sh", "-c", "gen \"$1\" --out \"$2\"", "sh", "{prompt}", "{out}"],
            // `-c` after the script or program is the script's own flag.
            vec!["bash", "run.sh", "-c", "{prompt}", "{out}"],
            vec!["python3", "gen.py", "-c", "{prompt}", "--out", "{out}"],
            vec!["python3", "-c", "import sys; gen(sys.argv[1])", "{prompt}", "{out}"],
            vec!["awk", "-f", "gen.awk", "{prompt}", "{out}"],
            vec!["sed", "-e", "s/a/b/", "{prompt}", "{out}"],
            vec!["env", "-u", "HOME", "gen", "{prompt}", "{out}"],
            vec!["python3", "-m", "mygen", "-c", "{prompt}", "--out", "{out}"],
        ] {
            let fine = ModelSpec { argv: argv.iter().map(|a| a.to_string()).collect(), ..spec.clone() };
            assert!(build(&fine).is_ok(), "{argv:?}");
        }
        assert!(parse_template("--out {out").unwrap_err().contains("unclosed placeholder"));
        let literal = ModelSpec { argv: vec!["gen".into(), "{{out}}".into()], ..spec.clone() };
        assert!(build(&literal).err().unwrap().to_string().contains("no argument contains {out}"));
        for t in [-1.0, 1e20] {
            let spec = ModelSpec { argv: vec!["x".into(), "{out}".into()], timeout_s: Some(t), ..spec.clone() };
            assert!(build(&spec).err().unwrap().to_string().contains("timeout_s"), "{t}");
        }
    }
}
