//! videval's error type and the one exit-code table every command uses.

use std::path::PathBuf;

use thiserror::Error;

/// Process exit codes. The table is printed by `videval --help` and documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything asked for was done.
    Ok = 0,
    /// A regression gate found a significant regression.
    GateFailed = 1,
    /// A gate could not decide (underpowered) and `--fail-on-inconclusive` was given.
    Inconclusive = 2,
    /// Bad input or configuration: a suite, flag, model spec, run directory or plan is invalid.
    BadInput = 3,
    /// The model failed: at least one unit could not be generated (details in the records).
    ModelFailure = 4,
    /// A bug or an environment failure (I/O, out of disk): not the user's input.
    Internal = 5,
}

pub const EXIT_TABLE: &str = "\
Exit codes:
  0  ok
  1  gate failed (a significant regression)
  2  gate inconclusive (with --fail-on-inconclusive)
  3  bad input or configuration (suite, flags, model spec, run directory, incomplete merge)
  4  model failure (at least one unit could not be generated, or its video read or measured)
  5  internal error (I/O failure or a bug)
  129/130/143  stopped by SIGHUP/SIGINT/SIGTERM (the generator commands it started are stopped too)
  141 standard output closed by its reader (as SIGPIPE; e.g. `videval … | head`)";

#[derive(Debug, Error)]
pub enum Error {
    #[error("{0}")]
    Suite(#[from] crate::suite::LoadError),
    #[error("{0}")]
    Plan(#[from] crate::plan::PlanError),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Video(#[from] crate::video::VideoIoError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("{0}")]
    Incomplete(String),
    /// Units that could not be generated or measured, said by a command that runs others (a
    /// sweep's checkpoint runs).
    #[error("{0}")]
    ModelFailure(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Suite(_)
            | Error::Plan(_)
            | Error::Config(_)
            | Error::Video(_)
            | Error::BadFile { .. }
            | Error::Incomplete(_) => ExitCode::BadInput,
            Error::ModelFailure(_) => ExitCode::ModelFailure,
            // A path that cannot be one (a file where a folder of it should be, a name too long)
            // is the path given, not the machine: `--out afile/run` was an internal error.
            Error::Io { source, .. } if bad_path(source.kind()) => ExitCode::BadInput,
            Error::Io { .. } | Error::Internal(_) => ExitCode::Internal,
        }
    }

    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// For a file the user named: one that is not there, not a file or not readable is bad input
    /// (exit 3) saying so; other I/O failures stay internal.
    pub fn input(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| {
            let message = match source.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                std::io::ErrorKind::PermissionDenied => "not readable (permission denied)".to_string(),
                std::io::ErrorKind::IsADirectory => "a folder, where a file is expected".to_string(),
                std::io::ErrorKind::NotADirectory => "a file stands where the path needs a folder".to_string(),
                std::io::ErrorKind::InvalidFilename => format!("not a name the file system takes ({source})"),
                std::io::ErrorKind::InvalidData => format!("not UTF-8 text ({source})"),
                // `videval_models::files::read_text`'s refusals: a device or FIFO, or too large.
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::FileTooLarge => source.to_string(),
                _ if path.is_dir() => "a folder, where a file is expected".to_string(),
                _ => return Error::Io { path, source },
            };
            Error::BadFile { path, message }
        }
    }
}

/// I/O failures that say the path given cannot be one: a file where a folder of it should be, a
/// name too long for the file system, a place this user may not write or a read-only one.
fn bad_path(kind: std::io::ErrorKind) -> bool {
    matches!(
        kind,
        std::io::ErrorKind::NotADirectory
            | std::io::ErrorKind::InvalidFilename
            | std::io::ErrorKind::PermissionDenied
            | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Text from files and programs as it may reach a terminal: control characters other than line
/// breaks and tabs written as `\u{1b}` (a name holding `ESC ]52;` writes the clipboard in some
/// terminals, `ESC[2J` clears the screen, `ESC[8m` hides what follows), and so are direction
/// overrides (`"grav\u{202e}ytiv"` printed as "gravity"), as pages write them
/// ([`videval_reports::shown_as_code`]).
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let escaped = videval_reports::shown_as_code;
    if !s.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().map(|c| if escaped(c) { escape(c) } else { c.to_string() }).collect())
}

/// A character shown as its code, `\u{1b}`: how every output writes one it cannot carry.
pub fn escape(c: char) -> String {
    format!("\\u{{{:x}}}", c as u32)
}
