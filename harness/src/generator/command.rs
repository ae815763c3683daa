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
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub struct CommandGen {
    identity: ModelIdentity,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    timeout: Duration,
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
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
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
    for (i, a) in spec.argv.iter().enumerate() {
        parse_template(a).map_err(|e| Error::Config(format!("argv[{i}]: {e}")))?;
    }
    if !spec.argv.iter().any(|a| a.contains("{out}")) {
        return Err(Error::Config(
            "argv: no argument contains {out}, so the program cannot know where to write".into(),
        ));
    }
    let timeout_s = spec.timeout_s.unwrap_or(600.0);
    if !(timeout_s.is_finite() && timeout_s > 0.0) {
        return Err(Error::Config(format!("timeout_s: expected a positive number of seconds, got {timeout_s}")));
    }
    let checkpoint = match &spec.checkpoint {
        Some(c) => Some(checkpoint_digest(Path::new(c))?),
        None => None,
    };
    let name = spec.name.clone().unwrap_or_else(|| {
        Path::new(&spec.argv[0]).file_name().map_or("command".into(), |n| n.to_string_lossy().into_owned())
    });
    let digest = key_of(&(&spec.argv, &checkpoint, &spec.env));
    let mut params = BTreeMap::new();
    params.insert("argv".to_string(), serde_json::json!(spec.argv));
    if let Some(c) = checkpoint {
        params.insert("checkpoint_digest".to_string(), serde_json::json!(c));
    }
    Ok(Box::new(CommandGen {
        identity: ModelIdentity { adapter: "command".into(), name, digest, params },
        argv: spec.argv.clone(),
        env: spec.env.clone(),
        timeout: Duration::from_secs_f64(timeout_s),
    }))
}

/// A path the command can read for an input: the file itself when it is a whole file, otherwise
/// (a rendered scene or a frame range) a lossless clip written beside the job's output.
fn media_path(job: &Job<'_>, m: &Option<Media>, role: &str) -> std::result::Result<String, GenError> {
    match m {
        None => Ok(String::new()),
        Some(Media { path: Some(p), frames: None, frame: None, .. }) => Ok(p.clone()),
        Some(media) => {
            let video = super::input_media(job, media)?;
            let path = job.out.with_extension(format!("{role}.mkv"));
            crate::video::encode(&video, &path, &crate::video::EncodeParams::lossless())
                .map_err(|e| GenError(e.to_string()))?;
            Ok(path.to_string_lossy().into_owned())
        }
    }
}

impl CommandGen {
    fn values(&self, job: &Job<'_>) -> std::result::Result<BTreeMap<&'static str, String>, GenError> {
        let c = job.case;
        let g = &c.generation;
        let input = c.input.clone().unwrap_or_default();
        Ok(BTreeMap::from([
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
            ("input_image", media_path(job, &input.image, "input-image")?),
            ("input_video", media_path(job, &input.video, "input-video")?),
            ("input_video2", media_path(job, &input.video2, "input-video2")?),
            ("strength", input.strength.map(|s| s.to_string()).unwrap_or_default()),
        ]))
    }
}

impl Generator for CommandGen {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        let values = self.values(job)?;
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
        // Its own process group, so a timeout kills what it started too (a shell's children).
        let mut child = Command::new(&args[0])
            .args(&args[1..])
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| GenError(format!("cannot start {}: {e}", args[0])))?;
        // Drain stderr on a thread so a chatty program cannot block on a full pipe; only the
        // last STDERR_KEEP bytes are kept, however much it writes.
        let mut stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut kept: std::collections::VecDeque<u8> = std::collections::VecDeque::new();
            let mut chunk = [0u8; 8192];
            while let Some(Ok(n @ 1..)) = stderr.as_mut().map(|s| s.read(&mut chunk)) {
                kept.extend(&chunk[..n]);
                let over = kept.len().saturating_sub(STDERR_KEEP);
                kept.drain(..over);
            }
            Vec::from(kept)
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > self.timeout => {
                    kill_group(child.id());
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = reader.join();
                    return Err(GenError(format!(
                        "{} timed out after {:.1} s and was killed with its process group",
                        args[0],
                        self.timeout.as_secs_f64()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(GenError(format!("waiting for {}: {e}", args[0]))),
            }
        };
        // What it left running would hold stderr open (and the reader with it): it goes too.
        kill_group(child.id());
        let err_bytes = reader.join().unwrap_or_default();
        let text = String::from_utf8_lossy(&err_bytes);
        let tail: String = text.chars().rev().take(STDERR_TAIL).collect::<Vec<_>>().into_iter().rev().collect();
        if !status.success() {
            return Err(GenError(format!("{} exited with {status}; stderr: {}", args[0], tail.trim())));
        }
        match std::fs::metadata(job.out) {
            Ok(m) if m.len() > 0 => Ok(Output::Written { encode: None, perf: None }),
            _ => Err(GenError(format!(
                "{} exited 0 but wrote no video at {}; stderr: {}",
                args[0],
                job.out.display(),
                tail.trim()
            ))),
        }
    }
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
        let spec = ModelSpec { argv: vec!["x".into(), "{out}".into()], timeout_s: Some(-1.0), ..spec };
        assert!(build(&spec).err().unwrap().to_string().contains("timeout_s"));
    }
}
