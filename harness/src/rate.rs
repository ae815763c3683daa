//! `videval rate RUN_A RUN_B`: a local web page where people judge pairs of videos made for the
//! same case and seed by two runs. Blinded (no run names on the page), left and right randomised
//! per rater and recorded, both videos playing in step, the prompt and one question shown;
//! answers left, right, tie or both bad, by button or key. Gold pairs (the world oracle against a
//! degraded copy) are mixed in as attention checks. Every judgment is one SQLite transaction
//! (rollback journal: once committed it is in the database file itself, so the file alone can be
//! copied away), committed before the page moves on: a killed server loses nothing it acknowledged, and
//! a rater who comes back continues where they stopped. Several raters can rate at once.
//!
//! The server binds to 127.0.0.1 by default, serves only its page, its JSON API and the clips of
//! its own pairs (by pair number, never by path), and escapes nothing into HTML: the page sets
//! every prompt and name as text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use videval_metrics::Video;

use crate::agreement::{CSV_HEADER_SHOWN, Choice, GOLD_DEGRADED, GOLD_ORACLE, Judgment, csv_field};
use crate::error::{Error, ExitCode, Result};
use crate::hash::sha256_hex;
use crate::http::Response;
use crate::store::read_json;

/// The database schema this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
/// Asked when neither the flag nor the suite says otherwise.
pub const DEFAULT_QUESTION: &str = "Which video matches the prompt better?";
/// Clips for rating are at most this tall.
pub const RATE_HEIGHT: u32 = 480;
const PAGE: &str = include_str!("../../reports/templates/rate.html");

/// Said of a database another program holds (a reader's open transaction blocks a write for
/// as long as it lasts): the page asks again (503) rather than showing an error.
const DB_BUSY: &str = "the rating database is busy (another program has it open)";

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| {
        let busy = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        let message = if busy { format!("{DB_BUSY}: {e}") } else { format!("rating database: {e}") };
        Error::BadFile { path: path.to_path_buf(), message }
    }
}

/// Why a SQLite file without our tables is refused. A database in WAL mode (as builds before
/// 2026-12-07 left it) whose `-wal` file was not copied with it holds none of its judgments: said.
fn not_a_rating_database(path: &Path) -> String {
    if wal_without_its_file(path) {
        format!(
            "a SQLite database in WAL mode without its tables: its judgments are in {}-wal, which is not beside it (copy that file with it)",
            path.display()
        )
    } else {
        "a SQLite database, but not a videval rating database (no meta and judgments tables)".into()
    }
}

/// A database an older build left in WAL mode whose `-wal` file is not beside it (or empty: SQLite
/// makes one on opening, even read-only): its latest judgments may be in the file left behind.
fn wal_without_its_file(path: &Path) -> bool {
    let mut header = [0u8; 20];
    let wal_mode = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok_and(|_| header[18] == 2 && header[19] == 2);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal_mode && std::fs::metadata(PathBuf::from(wal)).map_or(true, |m| m.len() == 0)
}

/// The judgments database.
pub struct Db {
    conn: Connection,
    path: PathBuf,
}

/// A judgment as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    pub rater: String,
    pub suite: String,
    pub case_id: String,
    pub seed_idx: u32,
    pub run_a: String,
    pub run_b: String,
    pub sha_a: String,
    pub sha_b: String,
    pub left_run: String,
    pub right_run: String,
    pub choice: Choice,
    pub gold: bool,
    pub ms: u64,
    pub created_at: String,
}

impl Db {
    /// Opens (creating when missing) a database of this schema version.
    pub fn open(path: &Path) -> Result<Db> {
        if path.is_dir() {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                message: "a folder, where the rating database's file is expected".into(),
            });
        }
        // A database that exists must be a rating database before anything is written to it.
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            drop(Db::open_existing(path)?);
        }
        let conn = Connection::open(path).map_err(db_err(path))?;
        let db = Db { conn, path: path.to_path_buf() };
        // A database the server cannot write would fail every answer after it said "nothing
        // answered is lost": found now instead.
        db.conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").map_err(|e| Error::BadFile {
            path: path.to_path_buf(),
            message: format!("the rating database cannot be written ({e}); answers could not be kept"),
        })?;
        // A rollback journal, not WAL: with WAL a committed answer stays in `-wal` until a
        // checkpoint, which a server stopped by a signal never makes, and a copy of the database
        // file alone held no judgments (one of an older build is folded in here). SQLite keeps
        // WAL without an error while another connection has the file open: said.
        let mode: String = db.conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).map_err(db_err(path))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                message: format!(
                    "still in {mode} mode: another program has it open (an older videval's rating server?); stop it and start again"
                ),
            });
        }
        db.conn
            .execute_batch(
                "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS judgments (
                   id INTEGER PRIMARY KEY,
                   rater TEXT NOT NULL, suite TEXT NOT NULL, case_id TEXT NOT NULL, seed_idx INTEGER NOT NULL,
                   run_a TEXT NOT NULL, run_b TEXT NOT NULL, sha_a TEXT NOT NULL, sha_b TEXT NOT NULL,
                   left_run TEXT NOT NULL, right_run TEXT NOT NULL,
                   choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie', 'both_bad')),
                   gold INTEGER NOT NULL, ms INTEGER NOT NULL, created_at TEXT NOT NULL,
                   UNIQUE (rater, suite, case_id, seed_idx, sha_a, sha_b));",
            )
            .map_err(db_err(path))?;
        let version: Option<String> = db
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
            .optional()
            .map_err(db_err(path))?;
        match version.as_deref() {
            None => {
                db.conn
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                        [SCHEMA_VERSION.to_string()],
                    )
                    .map_err(db_err(path))?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(v) => {
                return Err(Error::BadFile {
                    path: path.to_path_buf(),
                    message: format!("rating database schema version {v}; this videval reads version {SCHEMA_VERSION}"),
                });
            }
        }
        Ok(db)
    }

    /// Opens a rating database that must exist already, to read it: nothing is written to it (a
    /// database that is not one of `videval rate`'s is refused, untouched).
    pub fn open_existing(path: &Path) -> Result<Db> {
        if !path.is_file() {
            return Err(Error::BadFile { path: path.to_path_buf(), message: "no such rating database".into() });
        }
        // Before opening (which makes an empty `-wal`).
        let wal_alone = wal_without_its_file(path);
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(db_err(path))?;
        // A server answering at the same time holds its write lock for a moment.
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db_err(path))?;
        let db = Db { conn, path: path.to_path_buf() };
        let tables: BTreeSet<String> = {
            let mut st =
                db.conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").map_err(db_err(path))?;
            let names = st.query_map([], |r| r.get(0)).map_err(db_err(path))?;
            names.collect::<std::result::Result<_, _>>().map_err(db_err(path))?
        };
        if !(tables.contains("meta") && tables.contains("judgments")) {
            return Err(Error::BadFile { path: path.to_path_buf(), message: not_a_rating_database(path) });
        }
        // Its judgments table must be ours, column for column (one of another layout under our
        // version was served, and every request failed).
        let columns: BTreeSet<String> = {
            let mut st = db.conn.prepare("SELECT name FROM pragma_table_info('judgments')").map_err(db_err(path))?;
            let names = st.query_map([], |r| r.get(0)).map_err(db_err(path))?;
            names.collect::<std::result::Result<_, _>>().map_err(db_err(path))?
        };
        let wanted = [
            "rater",
            "suite",
            "case_id",
            "seed_idx",
            "run_a",
            "run_b",
            "sha_a",
            "sha_b",
            "left_run",
            "right_run",
            "choice",
            "gold",
            "ms",
            "created_at",
        ];
        if let Some(missing) = wanted.iter().find(|c| !columns.contains(**c)) {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                message: format!("its judgments table has no column {missing}: not a videval rating database"),
            });
        }
        let version: Option<String> = db
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
            .optional()
            .map_err(db_err(path))?;
        if version.as_deref() != Some(SCHEMA_VERSION.to_string().as_str()) {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                message: format!(
                    "rating database schema version {}; this videval reads version {SCHEMA_VERSION}",
                    version.as_deref().unwrap_or("(none)")
                ),
            });
        }
        if wal_alone {
            eprintln!(
                "note: {} was left in WAL mode by an older videval and no {0}-wal is beside it: answers it had not folded in, if any, are not here (copy that file beside it if it exists)",
                path.display()
            );
        }
        Ok(db)
    }

    /// Stores one judgment in its own transaction; a second answer by the same rater to the same
    /// pair is ignored (returns false).
    pub fn insert(&self, s: &Stored) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO judgments (rater, suite, case_id, seed_idx, run_a, run_b, sha_a, sha_b,
                   left_run, right_run, choice, gold, ms, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    s.rater,
                    s.suite,
                    s.case_id,
                    s.seed_idx,
                    s.run_a,
                    s.run_b,
                    s.sha_a,
                    s.sha_b,
                    s.left_run,
                    s.right_run,
                    s.choice.as_str(),
                    s.gold,
                    s.ms as i64,
                    s.created_at
                ],
            )
            .map_err(db_err(&self.path))?;
        Ok(n == 1)
    }

    pub fn stored(&self) -> Result<Vec<Stored>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT rater, suite, case_id, seed_idx, run_a, run_b, sha_a, sha_b, left_run, right_run, choice,
                   gold, ms, created_at FROM judgments ORDER BY id",
            )
            .map_err(db_err(&self.path))?;
        let rows = st
            .query_map([], |r| {
                let choice: String = r.get(10)?;
                Ok(Stored {
                    rater: r.get(0)?,
                    suite: r.get(1)?,
                    case_id: r.get(2)?,
                    seed_idx: r.get(3)?,
                    run_a: r.get(4)?,
                    run_b: r.get(5)?,
                    sha_a: r.get(6)?,
                    sha_b: r.get(7)?,
                    left_run: r.get(8)?,
                    right_run: r.get(9)?,
                    // The CHECK constraint admits only the four answers; a database made otherwise
                    // is refused, not read as ties.
                    choice: Choice::parse(&choice).ok_or_else(|| {
                        rusqlite::Error::FromSqlConversionFailure(
                            10,
                            rusqlite::types::Type::Text,
                            format!("choice {choice:?}; expected left, right, tie or both_bad").into(),
                        )
                    })?,
                    gold: r.get(11)?,
                    ms: r.get::<_, i64>(12)?.max(0) as u64,
                    created_at: r.get(13)?,
                })
            })
            .map_err(db_err(&self.path))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err(&self.path))
    }

    /// Judgments as `videval agreement` reads them (run names as shown left and right).
    pub fn judgments(&self) -> Result<Vec<Judgment>> {
        let mut out = Vec::new();
        for (i, s) in self.stored()?.into_iter().enumerate() {
            let j = Judgment {
                rater: s.rater,
                suite: s.suite,
                case_id: s.case_id,
                seed_idx: s.seed_idx,
                // The videos as shown: run_a's is sha_a whichever side it was on.
                shown: Some(if s.left_run == s.run_a { [s.sha_a, s.sha_b] } else { [s.sha_b, s.sha_a] }),
                left: s.left_run,
                right: s.right_run,
                choice: s.choice,
            };
            // As a CSV's judgments are checked (a row judging a run against itself was counted).
            j.check().map_err(|e| Error::BadFile {
                path: self.path.clone(),
                message: format!("judgment {} (in stored order): {e}", i + 1),
            })?;
            out.push(j);
        }
        Ok(out)
    }

    /// Pair keys a rater has judged: (suite, case, seed index, sha a, sha b).
    fn judged(&self, rater: &str) -> Result<BTreeSet<(String, String, u32, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT suite, case_id, seed_idx, sha_a, sha_b FROM judgments WHERE rater = ?1")
            .map_err(db_err(&self.path))?;
        let rows = st
            .query_map([rater], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .map_err(db_err(&self.path))?;
        let rows = rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err(&self.path))?;
        Ok(rows.into_iter().map(canonical_key).collect())
    }

    /// Writes every judgment to `out`: `.parquet` with every column, anything else as the CSV
    /// `videval agreement` reads. Returns the number of rows.
    pub fn export(&self, out: &Path) -> Result<usize> {
        let rows = self.stored()?;
        if out.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
            use polars::prelude::*;
            let col = |name: &str, f: &dyn Fn(&Stored) -> String| -> Column {
                Column::new(name.into(), rows.iter().map(f).collect::<Vec<String>>())
            };
            let mut df = DataFrame::new(
                rows.len(),
                vec![
                    col("rater", &|s| s.rater.clone()),
                    col("suite", &|s| s.suite.clone()),
                    col("case_id", &|s| s.case_id.clone()),
                    Column::new("seed_idx".into(), rows.iter().map(|s| s.seed_idx).collect::<Vec<u32>>()),
                    col("left", &|s| s.left_run.clone()),
                    col("right", &|s| s.right_run.clone()),
                    col("choice", &|s| s.choice.as_str().to_string()),
                    col("run_a", &|s| s.run_a.clone()),
                    col("run_b", &|s| s.run_b.clone()),
                    col("sha_a", &|s| s.sha_a.clone()),
                    col("sha_b", &|s| s.sha_b.clone()),
                    Column::new("gold".into(), rows.iter().map(|s| s.gold).collect::<Vec<bool>>()),
                    Column::new("ms".into(), rows.iter().map(|s| s.ms).collect::<Vec<u64>>()),
                    col("created_at", &|s| s.created_at.clone()),
                ],
            )
            .map_err(|e| Error::Internal(format!("building the export: {e}")))?;
            // Built in memory and written as every other output is (a missing folder made, a
            // folder or a device in the way refused, nothing left half-written).
            let mut bytes = Vec::new();
            ParquetWriter::new(&mut bytes)
                .finish(&mut df)
                .map_err(|e| Error::Internal(format!("writing parquet: {e}")))?;
            crate::store::write_atomic(out, &bytes)?;
        } else {
            // With the videos shown, as the database has them: a judgment of a video generated
            // again since is left out from the CSV too.
            let mut text = format!("{CSV_HEADER_SHOWN}\n");
            for s in &rows {
                let (shown_left, shown_right) =
                    if s.left_run == s.run_a { (&s.sha_a, &s.sha_b) } else { (&s.sha_b, &s.sha_a) };
                let fields = [&s.rater, &s.suite, &s.case_id, &s.seed_idx.to_string(), &s.left_run, &s.right_run];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                text.push_str(&format!("{},{},{shown_left},{shown_right}\n", line.join(","), s.choice.as_str()));
            }
            crate::store::write_atomic(out, text.as_bytes())?;
        }
        Ok(rows.len())
    }
}

/// One pair to judge.
#[derive(Debug, Clone)]
pub struct Pair {
    pub suite: String,
    pub case_id: String,
    pub seed_idx: u32,
    pub prompt: String,
    pub run_a: String,
    pub run_b: String,
    pub video_a: PathBuf,
    pub video_b: PathBuf,
    pub sha_a: String,
    pub sha_b: String,
    pub gold: bool,
    /// Frames per second of run A's video (the page steps frames with it).
    pub fps: f64,
}

impl Pair {
    fn key(&self) -> (String, String, u32, String, String) {
        canonical_key((self.suite.clone(), self.case_id.clone(), self.seed_idx, self.sha_a.clone(), self.sha_b.clone()))
    }

    /// The pair with its two videos in one order whichever run was named first (the lower hash
    /// as A): its key, its place in a rater's queue and its sides are the same when the server is
    /// started again with the runs the other way round (every rater was asked every pair again,
    /// and each answered twice).
    fn canonical(mut self) -> Pair {
        if self.sha_a > self.sha_b {
            std::mem::swap(&mut self.run_a, &mut self.run_b);
            std::mem::swap(&mut self.video_a, &mut self.video_b);
            std::mem::swap(&mut self.sha_a, &mut self.sha_b);
        }
        self
    }

    /// What the page sends back with an answer: the pair it was shown (a page left open while
    /// the server restarted with other pairs answered for whatever pair its number now is).
    fn token(&self) -> String {
        format!("{}-{}", &crate::hash::digits(&self.sha_a)[..16], &crate::hash::digits(&self.sha_b)[..16])
    }
}

/// A pair key with its hashes in order (rows stored before pairs were put in one order may
/// hold them either way).
fn canonical_key(k: (String, String, u32, String, String)) -> (String, String, u32, String, String) {
    let (suite, case, seed, a, b) = k;
    if a <= b { (suite, case, seed, a, b) } else { (suite, case, seed, b, a) }
}

/// 64 bits of a hash of `parts`: per-rater orders and sides that are stable across restarts.
fn stable(parts: &[&str]) -> u64 {
    let h = sha256_hex(parts.join("\u{1f}").as_bytes());
    u64::from_str_radix(&h[..16], 16).unwrap_or(0)
}

/// Whether run A is shown on the left for this rater.
fn a_on_left(rater: &str, p: &Pair) -> bool {
    stable(&[rater, &p.suite, &p.case_id, &p.seed_idx.to_string(), &p.sha_a, &p.sha_b, "side"]) & 1 == 0
}

/// The pairs in the order that numbers them on the page: by a hash of each pair, so that gold
/// pairs are spread among the others (appended, they had the last numbers, and a rater could tell
/// an attention check by its number in the page or its clip URLs).
pub fn numbered(mut pairs: Vec<Pair>) -> Vec<Pair> {
    pairs
        .sort_by_cached_key(|p| stable(&[&p.suite, &p.case_id, &p.seed_idx.to_string(), &p.sha_a, &p.sha_b, "number"]));
    pairs
}

/// What `videval rate` serves.
pub struct App {
    pub db: Mutex<Db>,
    pub pairs: Vec<Pair>,
    /// The question per suite.
    pub questions: BTreeMap<String, String>,
    media_dir: PathBuf,
    /// Transcoded clips by source hash, made on first request.
    clips: Mutex<BTreeMap<String, PathBuf>>,
    /// Bound to a loopback address: requests must name it as their host.
    pub loopback_only: bool,
    /// Held while a clip is made.
    making: Mutex<()>,
}

/// Pairs of the two runs: every sample generated by both (status ok), in the chosen suites.
pub fn pairs(runs: &[(String, PathBuf); 2], suites: &[String]) -> Result<Vec<Pair>> {
    let results: Vec<videval_reports::Results> =
        runs.iter().map(|(_, d)| crate::store::read_results(d)).collect::<Result<_>>()?;
    // The second run's samples by key (a search per sample was quadratic: 6 s at 8,000 samples).
    let second: std::collections::HashMap<(&str, &str, u32), &videval_reports::results::Sample> =
        results[1].samples.iter().map(|o| ((o.suite.as_str(), o.case_id.as_str(), o.seed_idx), o)).collect();
    let other_of =
        |s: &videval_reports::results::Sample| second.get(&(s.suite.as_str(), s.case_id.as_str(), s.seed_idx)).copied();
    // Raters compare two answers to one request: a pair made for other prompts or seeds (runs of
    // suites that share case ids only) is refused before anything is served.
    for s in results[0].samples.iter().filter(|s| suites.is_empty() || suites.contains(&s.suite)) {
        let Some(other) = other_of(s) else { continue };
        if let Some(why) = s.other_request(other) {
            return Err(Error::Config(format!(
                "{}/{}#{}: {} and {} {why}; rate runs of the same suites",
                s.suite,
                s.case_id,
                s.seed_idx,
                runs[0].1.display(),
                runs[1].1.display()
            )));
        }
    }
    let paths: Vec<_> = runs.iter().map(|(_, d)| crate::compare::video_paths(d, None)).collect::<Result<_>>()?;
    let mut out = Vec::new();
    for s in &results[0].samples {
        if s.status != "ok" || (!suites.is_empty() && !suites.contains(&s.suite)) {
            continue;
        }
        let key = s.key();
        let Some(other) = other_of(s).filter(|o| o.status == "ok") else { continue };
        let (Some(va), Some(vb)) = (paths[0].get(&key), paths[1].get(&key)) else { continue };
        // The file shown is the file scored: hashed here and checked against the results (which
        // also keeps every clip's name in the media folder a plain digest).
        let sha = |k: usize, sample: &videval_reports::results::Sample, path: &Path| -> Result<String> {
            let actual = crate::hash::sha256_file(path).map_err(Error::input(path))?;
            match &sample.video_sha256 {
                Some(h) if *h != actual => Err(Error::BadFile {
                    path: runs[k].1.join("results.json"),
                    message: format!(
                        "{}/{}#{}: the results name the video {h}, but {} is {actual} (changed since the run?); rerun it",
                        sample.suite,
                        sample.case_id,
                        sample.seed_idx,
                        path.display()
                    ),
                }),
                _ => Ok(actual),
            }
        };
        out.push(
            Pair {
                suite: s.suite.clone(),
                case_id: s.case_id.clone(),
                seed_idx: s.seed_idx,
                prompt: s.prompt.clone(),
                run_a: runs[0].0.clone(),
                run_b: runs[1].0.clone(),
                sha_a: sha(0, s, va)?,
                sha_b: sha(1, other, vb)?,
                fps: crate::video::probe(va).map(|v| v.fps).unwrap_or(24.0),
                video_a: va.clone(),
                video_b: vb.clone(),
                gold: false,
            }
            .canonical(),
        );
    }
    Ok(out)
}

/// Gold pairs: for every `every`-th case with a scene among those rated (`rated`: suite and case
/// ids; a run made with `--limit` had gold pairs from cases it never ran, as many as its real
/// ones), the world's rendering against a degraded copy (blurred, noisy, its second half frozen),
/// written to `media_dir`.
pub fn gold_pairs(
    suites: &[crate::suite::Suite],
    rated: &BTreeSet<(String, String)>,
    every: usize,
    media_dir: &Path,
) -> Result<Vec<Pair>> {
    use videval_metrics::degrade;
    let mut out = Vec::new();
    if every == 0 {
        return Ok(out);
    }
    let cases: Vec<(&crate::suite::Suite, &crate::suite::Case)> = suites
        .iter()
        .flat_map(|s| s.cases.iter().filter(|c| c.scene.is_some()).map(move |c| (s, c)))
        .filter(|(s, c)| rated.contains(&(s.name.clone(), c.id.clone())))
        .collect();
    std::fs::create_dir_all(media_dir).map_err(Error::io(media_dir))?;
    for (suite, case) in cases.into_iter().step_by(every) {
        let Some(scene) = &case.scene else { continue };
        let g = &case.generation;
        let settings =
            videval_models::world::render::Settings { width: g.width, height: g.height, fps: g.fps, frames: g.frames };
        let (oracle, _) = videval_models::world::render::render(scene, &settings, false);
        let worse = degrade::freeze_tail(&degrade::noise(&degrade::blur(&oracle, 1), 40.0, 7), 0.5);
        let write = |v: &Video, which: &str| -> Result<(PathBuf, String)> {
            let name = crate::media::file_name(&format!("gold-{}-{}-{which}.mp4", suite.name, case.id));
            let path = media_dir.join(name);
            let even = crate::media::even_video(v);
            crate::video::encode(&even, &path, &crate::video::EncodeParams::report_clip())?;
            let sha = crate::hash::sha256_file(&path).map_err(Error::io(&path))?;
            Ok((path, sha))
        };
        let (pa, sa) = write(&oracle, "oracle")?;
        let (pb, sb) = write(&worse, "degraded")?;
        out.push(
            Pair {
                suite: suite.name.clone(),
                case_id: case.id.clone(),
                seed_idx: 0,
                prompt: case.prompt.clone(),
                run_a: GOLD_ORACLE.into(),
                run_b: GOLD_DEGRADED.into(),
                video_a: pa,
                video_b: pb,
                sha_a: sa,
                sha_b: sb,
                gold: true,
                fps: g.fps,
            }
            .canonical(),
        );
    }
    Ok(out)
}

impl App {
    pub fn new(db: Db, pairs: Vec<Pair>, questions: BTreeMap<String, String>, media_dir: PathBuf) -> App {
        App {
            db: Mutex::new(db),
            pairs,
            questions,
            media_dir,
            clips: Mutex::new(BTreeMap::new()),
            loopback_only: false,
            making: Mutex::new(()),
        }
    }

    /// The rater's queue: pairs not judged yet, in an order of their own (stable across restarts),
    /// gold pairs spread through it.
    fn queue(&self, rater: &str) -> Result<(Vec<usize>, usize)> {
        let judged = self.db.lock().map_err(|_| Error::Internal("database lock poisoned".into()))?.judged(rater)?;
        let mut order: Vec<usize> = (0..self.pairs.len()).collect();
        order.sort_by_cached_key(|&i| {
            let p = &self.pairs[i];
            stable(&[rater, &p.suite, &p.case_id, &p.seed_idx.to_string(), &p.sha_a, &p.sha_b])
        });
        let done = self.pairs.iter().filter(|p| judged.contains(&p.key())).count();
        Ok((order.into_iter().filter(|&i| !judged.contains(&self.pairs[i].key())).collect(), done))
    }

    /// The next pair for `rater` as the page needs it (no run names), or `done`.
    pub fn next(&self, rater: &str, skip: &[usize]) -> Result<serde_json::Value> {
        let (queue, done) = self.queue(rater)?;
        let total = self.pairs.len();
        let next = queue.iter().copied().find(|i| !skip.contains(i)).or_else(|| queue.first().copied());
        let Some(i) = next else {
            return Ok(json!({"done": true, "progress": {"done": done, "total": total}}));
        };
        let p = &self.pairs[i];
        Ok(json!({
            "done": false,
            "progress": {"done": done, "total": total},
            "pair": i,
            "prompt": p.prompt,
            "question": self.questions.get(&p.suite).map_or(DEFAULT_QUESTION, String::as_str),
            "left": format!("/clip/{i}/left?rater={}", url_encode(rater)),
            "right": format!("/clip/{i}/right?rater={}", url_encode(rater)),
            "fps": p.fps,
            "token": p.token(),
        }))
    }

    /// Stores `rater`'s answer about pair `i` as they saw it.
    pub fn judge(&self, rater: &str, i: usize, token: Option<&str>, choice: Choice, ms: u64) -> Result<bool> {
        let p = self.pairs.get(i).ok_or_else(|| Error::Config(format!("no pair {i}")))?;
        if token.is_some_and(|t| t != p.token()) {
            return Err(Error::Config(format!(
                "pair {i} is not the pair this page showed (the server was started again with other pairs): reload the page"
            )));
        }
        let (left, right) = if a_on_left(rater, p) { (&p.run_a, &p.run_b) } else { (&p.run_b, &p.run_a) };
        let stored = Stored {
            rater: rater.to_string(),
            suite: p.suite.clone(),
            case_id: p.case_id.clone(),
            seed_idx: p.seed_idx,
            run_a: p.run_a.clone(),
            run_b: p.run_b.clone(),
            sha_a: p.sha_a.clone(),
            sha_b: p.sha_b.clone(),
            left_run: left.clone(),
            right_run: right.clone(),
            choice,
            gold: p.gold,
            ms,
            created_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        };
        self.db.lock().map_err(|_| Error::Internal("database lock poisoned".into()))?.insert(&stored)
    }

    /// The playable clip of pair `i`'s `side` for `rater` (made on first request, then cached).
    pub fn clip(&self, rater: &str, i: usize, side: &str) -> Result<PathBuf> {
        let p = self.pairs.get(i).ok_or_else(|| Error::Config(format!("no pair {i}")))?;
        let a = a_on_left(rater, p) == (side == "left");
        let (src, sha) = if a { (&p.video_a, &p.sha_a) } else { (&p.video_b, &p.sha_b) };
        if p.gold {
            return Ok(src.clone());
        }
        if let Some(path) = self.clips.lock().map_err(|_| Error::Internal("clip lock poisoned".into()))?.get(sha) {
            return Ok(path.clone());
        }
        // `-c`: closed-GOP clips (those made before could not be seeked in Chromium).
        let path = self.media_dir.join(format!("{}-c.mp4", crate::hash::digits(sha)));
        // One clip is made at a time (each holds its frames whole, up to 600 at 480 px: six
        // requests for a clip not made yet decoded it six times at once, 3.8 GB); a request
        // waiting here finds the clip made when its turn comes.
        let _making = self.making.lock().map_err(|_| Error::Internal("clip lock poisoned".into()))?;
        if !path.is_file() {
            // The clip is made of the file the pair was hashed from: one replaced since the server
            // started was transcoded and cached under the old hash, and shown under it for good.
            let unchanged = || -> Result<()> {
                match crate::hash::sha256_file(src) {
                    Ok(now) if now == *sha => Ok(()),
                    _ => Err(Error::BadFile {
                        path: src.clone(),
                        message: format!(
                            "changed since the server started (it was {sha}): put it back or rerun its run, then restart videval rate"
                        ),
                    }),
                }
            };
            unchanged()?;
            // Two raters may ask for the same clip at once (the server answers in parallel):
            // each call encodes into its own scratch file and the clip lands whole.
            std::fs::create_dir_all(&self.media_dir).map_err(Error::io(&self.media_dir))?;
            let small = crate::media::shrunk_video(src, RATE_HEIGHT)
                .ok_or_else(|| Error::BadFile { path: src.clone(), message: "does not decode".into() })?;
            let bytes = crate::media::clip_mp4(&small, &self.media_dir, src)
                .ok_or_else(|| Error::BadFile { path: src.clone(), message: "could not be encoded as H.264".into() })?;
            unchanged()?;
            crate::store::write_atomic(&path, &bytes)?;
        }
        self.clips.lock().map_err(|_| Error::Internal("clip lock poisoned".into()))?.insert(sha.clone(), path.clone());
        Ok(path)
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // Two hex digits exactly (from_str_radix alone would take "+4").
            b'%' if i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameter `name` of a URL.
fn query(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| url_decode(v))
}

/// A rater's name: 1–64 characters in Unicode's composed form (NFC), none a control, an
/// invisible or default-ignorable character (zero-width spaces and joiners, bidirectional
/// overrides, variation selectors, tag characters, fillers, the BOM), a line or paragraph
/// separator or a space other than U+0020, with no space at either end — each made one person
/// two raters who look alike ("ann" and "ann " counted twice in α) — and not starting with
/// `= + - @`, which a spreadsheet opening the export runs as a formula.
fn valid_rater(name: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let invisible = |c: char| {
        c.is_control()
            || (c.is_whitespace() && c != ' ')
            || matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
                | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
                | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFD}'
                | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
    };
    !name.is_empty()
        && name.trim() == name
        && name.chars().count() <= 64
        && !name.chars().any(invisible)
        && !name.starts_with(['=', '+', '-', '@'])
        && name.nfc().eq(name.chars())
}

/// Why a rater's name was refused, for the page.
const RATER_RULE: &str = "a rater name of 1–64 characters is needed: no control, invisible or unusual space characters, no space at either end, not starting with = + - @ (spreadsheets run those), in composed Unicode (NFC)";

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    Response::new(status, content_type, body)
        .with_header("Cache-Control", "no-store")
        .with_header("X-Content-Type-Options", "nosniff")
}

fn json_response(status: u16, v: &serde_json::Value) -> Response {
    respond(status, "application/json", v.to_string().into_bytes())
}

/// What a `Range` header asks of a file of `len` bytes: `None` for the whole file (no header,
/// or one this server does not read, such as several ranges), `Some(None)` for a range past its
/// end (416), else the first and last byte. A suffix `bytes=-N` is the last N bytes.
fn byte_range(range: Option<&str>, len: usize) -> Option<Option<(usize, usize)>> {
    let spec = range?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let last = len.checked_sub(1);
    if a.is_empty() {
        let n: usize = b.parse().ok()?;
        return Some(last.filter(|_| n > 0).map(|last| (len - n.min(len), last)));
    }
    let start: usize = a.parse().ok()?;
    let end: Option<usize> = if b.is_empty() { None } else { Some(b.parse().ok()?) };
    if end.is_some_and(|end| end < start) {
        return None;
    }
    match last {
        Some(last) if start <= last => Some(Some((start, end.unwrap_or(last).min(last)))),
        _ => Some(None),
    }
}

/// Serves a file with HTTP range support (browsers seek in video by ranges).
fn file_response(path: &Path, range: Option<&str>) -> Response {
    let Ok(bytes) = std::fs::read(path) else { return respond(404, "text/plain", b"not found".to_vec()) };
    let len = bytes.len();
    let parsed = byte_range(range, len);
    if let Some(None) = parsed {
        return respond(416, "text/plain", b"range not satisfiable".to_vec())
            .with_header("Content-Range", &format!("bytes */{len}"));
    }
    let r = match parsed.flatten() {
        Some((s, e)) => respond(206, "video/mp4", bytes[s..=e].to_vec())
            .with_header("Content-Range", &format!("bytes {s}-{e}/{len}")),
        None => respond(200, "video/mp4", bytes),
    };
    r.with_header("Accept-Ranges", "bytes")
}

fn handle(app: &App, req: &crate::http::Request) -> Response {
    // Served on the loopback only: a request naming another host came through a name that
    // resolves here (DNS rebinding), from a page that may then read the clips and answer.
    if app.loopback_only && !req.header("Host").is_some_and(loopback_host) {
        return respond(403, "text/plain", b"this page answers on localhost only".to_vec());
    }
    let url = req.url.as_str();
    let path = url.split('?').next().unwrap_or("");
    // HEAD is GET without the body (the server leaves the body out): players ask it of clips.
    let method = match req.method.as_str() {
        "HEAD" | "GET" => "GET",
        "POST" => "POST",
        _ => {
            return respond(405, "text/plain", b"GET, HEAD and POST are answered here".to_vec())
                .with_header("Allow", "GET, HEAD, POST");
        }
    };
    // A database another program holds is busy for now: 503, which the page asks again.
    let fail = |e: Error| {
        let busy = e.to_string().contains(DB_BUSY);
        json_response(if busy { 503 } else { 400 }, &json!({"error": e.to_string()}))
    };
    match (method, path) {
        ("GET", "/") => respond(200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
        ("GET", "/api/next") => {
            let rater = query(&url, "rater").unwrap_or_default();
            if !valid_rater(&rater) {
                return json_response(400, &json!({"error": RATER_RULE, "rater": false}));
            }
            let skip: Vec<usize> =
                query(&url, "skip").map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect()).unwrap_or_default();
            match app.next(&rater, &skip) {
                Ok(v) => json_response(200, &v),
                Err(e) => fail(e),
            }
        }
        ("POST", "/api/judge") => {
            // Only the page's own requests: JSON (a form or text/plain POST needs no CORS
            // preflight, so any page a rater visits could answer for them), from this origin.
            if !req
                .header("Content-Type")
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/json"))
            {
                return json_response(
                    415,
                    &json!({"error": "answers are sent as application/json by the rating page"}),
                );
            }
            if let (Some(origin), Some(host)) = (req.header("Origin"), req.header("Host")) {
                if origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/')) != Some(host) {
                    return json_response(403, &json!({"error": "an answer from another site's page"}));
                }
            }
            let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            let rater = v["rater"].as_str().unwrap_or("");
            let (Some(pair), Some(choice)) = (v["pair"].as_u64(), v["choice"].as_str().and_then(Choice::parse)) else {
                return json_response(400, &json!({"error": "expected {rater, pair, choice, ms}"}));
            };
            if !valid_rater(rater) {
                return json_response(400, &json!({"error": RATER_RULE, "rater": false}));
            }
            // Time on the pair, in ms: at most a day (a larger or negative value is not a time).
            let ms = v["ms"].as_u64().unwrap_or(0).min(86_400_000);
            match app.judge(rater, pair as usize, v["token"].as_str(), choice, ms).and_then(|_| app.next(rater, &[])) {
                Ok(next) => json_response(200, &next),
                Err(e) => fail(e),
            }
        }
        ("GET", p) if p.starts_with("/clip/") => {
            let parts: Vec<&str> = p.trim_start_matches("/clip/").split('/').collect();
            let rater = query(&url, "rater").unwrap_or_default();
            let (Some(Ok(i)), Some(side @ ("left" | "right")), 2) =
                (parts.first().map(|s| s.parse::<usize>()), parts.get(1).copied(), parts.len())
            else {
                return respond(404, "text/plain", b"not found".to_vec());
            };
            if !valid_rater(&rater) {
                return respond(404, "text/plain", b"not found".to_vec());
            }
            match app.clip(&rater, i, side) {
                Ok(path) => file_response(&path, req.header("Range")),
                Err(Error::Config(_)) => respond(404, "text/plain", b"not found".to_vec()),
                // The operator learns why a rater sees no video; the rater's page says it failed.
                Err(e) => {
                    eprintln!("error: {e}");
                    respond(500, "text/plain", b"this clip could not be made; the server's terminal says why".to_vec())
                }
            }
        }
        _ => respond(404, "text/plain", b"not found".to_vec()),
    }
}

/// Whether a Host header names this machine's loopback: localhost, 127.x.y.z or [::1], with or
/// without a port.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host })
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Serves `app` on `listener` until killed; prints the address it listens on first.
pub fn serve(app: Arc<App>, listener: std::net::TcpListener) -> Result<()> {
    let bound = listener.local_addr().map_err(|e| Error::Internal(format!("the rating server's address: {e}")))?;
    let pairs = app.pairs.len();
    if bound.ip().is_unspecified() {
        // http://0.0.0.0:PORT/ opens nothing on another machine.
        println!(
            "rating page: http://{bound}/ — on every address of this machine: raters elsewhere open http://<this machine's name or address>:{}/  ({pairs} pairs; Ctrl-C stops, nothing answered is lost)",
            bound.port()
        );
    } else {
        println!("rating page: http://{bound}/  ({pairs} pairs; Ctrl-C stops, nothing answered is lost)");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let handler = move |req: &crate::http::Request| handle(&app, req);
    crate::http::serve(listener, crate::http::Limits::default(), Arc::new(handler));
    Ok(())
}

/// `videval rate`'s options.
#[derive(Debug, clap::Args)]
pub struct RateArgs {
    /// The two run folders whose videos are compared (not needed with --export).
    pub runs: Vec<PathBuf>,
    /// Names the runs are recorded under (default: the folders' names).
    #[arg(long, value_delimiter = ',')]
    pub names: Vec<String>,
    /// Only these suites (comma-separated names or suite files).
    #[arg(long, value_delimiter = ',')]
    pub suite: Vec<String>,
    /// The question on every page (default: each suite's `question:`, else "Which video matches
    /// the prompt better?").
    #[arg(long)]
    pub question: Option<String>,
    /// The judgments database (created when missing).
    #[arg(long, default_value = "ratings.sqlite")]
    pub db: PathBuf,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Address to bind; 127.0.0.1 keeps the page on this machine.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// One gold pair per this many cases with a scene (0: none).
    #[arg(long, default_value_t = 5)]
    pub gold_every: usize,
    /// Write the database's judgments to this file (.csv for `videval agreement`, .parquet with
    /// every column) and exit.
    #[arg(long)]
    pub export: Option<PathBuf>,
}

pub fn rate_command(a: &RateArgs) -> Result<ExitCode> {
    if let Some(out) = &a.export {
        // An export writes every judgment of the database: run folders, names or suites given
        // beside it select nothing, and were passed over without a word.
        if !a.runs.is_empty() || !a.names.is_empty() || !a.suite.is_empty() {
            return Err(Error::Config(
                "--export writes every judgment in --db: run folders, --names and --suite select nothing there; leave them out (filter the CSV, or `videval agreement --runs`)".into(),
            ));
        }
        let db = Db::open_existing(&a.db)?;
        let taken = ["", "-wal", "-shm", "-journal"].iter().any(|suffix| {
            let mut f = a.db.clone().into_os_string();
            f.push(suffix);
            crate::store::same_file(&PathBuf::from(f), out)
        });
        if taken {
            return Err(Error::Config(format!(
                "--export {}: that is the database's own file; name another",
                out.display()
            )));
        }
        let n = db.export(out)?;
        println!("{n} judgments → {}", out.display());
        return Ok(ExitCode::Ok);
    }
    let [da, db_dir] = a.runs.as_slice() else {
        return Err(Error::Config("videval rate needs two run folders (or --export FILE)".into()));
    };
    let name = |d: &Path| d.file_name().map_or("run".into(), |n| n.to_string_lossy().into_owned());
    let names = match a.names.as_slice() {
        [] => [name(da), name(db_dir)],
        [x, y] => [x.clone(), y.clone()],
        _ => return Err(Error::Config("--names takes two names, NAME_A,NAME_B".into())),
    };
    if names[0] == names[1] || names.iter().any(|n| n.starts_with("gold:") || n.is_empty()) {
        return Err(Error::Config(format!(
            "the runs need two different names (not gold:…): got {names:?}; use --names"
        )));
    }
    // `agreement --runs NAME=FOLDER,…` could never name such a run again.
    if let Some(n) = names.iter().find(|n| n.contains(['=', ',']) || n.chars().any(char::is_control)) {
        return Err(Error::Config(format!(
            "run name {:?} holds '=' or ',' (or a control character), which `agreement --runs NAME=FOLDER,…` cannot read back; give --names",
            crate::error::printable(n)
        )));
    }
    // Nor one a spreadsheet opening the export runs as a formula (as rater names).
    if let Some(n) = names.iter().find(|n| n.starts_with(['+', '-', '@'])) {
        return Err(Error::Config(format!(
            "run name {:?} starts with '+', '-' or '@': a spreadsheet opening the exported judgments runs it as a formula; give --names",
            crate::error::printable(n)
        )));
    }
    let runs = [(names[0].clone(), da.clone()), (names[1].clone(), db_dir.clone())];
    // The suites: those asked for (names or files), else the run's bundled ones when they load.
    let plan: serde_json::Value = read_json(&da.join("plan.json"))?;
    let planned: BTreeMap<String, String> = plan["suites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["content_hash"].as_str()?.to_string())))
        .collect();
    let limits = crate::suite::Limits::default();
    let mut suites = Vec::new();
    if a.suite.is_empty() {
        for n in planned.keys() {
            match crate::run::load_suite(n, &limits) {
                Ok(s) => suites.push(s),
                // A suite from a file: the run keeps its name, not the file.
                Err(_) if a.question.is_none() => eprintln!(
                    "note: suite {} is not a bundled suite: its question: and gold pairs are not used; pass --suite FILE for them",
                    crate::error::printable(n)
                ),
                Err(_) => eprintln!(
                    "note: suite {} is not a bundled suite: no gold pairs from it; pass --suite FILE for them",
                    crate::error::printable(n)
                ),
            }
        }
    } else {
        for arg in &a.suite {
            suites.push(crate::run::load_suite(arg, &limits)?);
        }
    }
    let wanted: Vec<String> =
        if a.suite.is_empty() { Vec::new() } else { suites.iter().map(|s| s.name.clone()).collect() };
    let mut all = pairs(&runs, &wanted)?;
    if all.is_empty() {
        return Err(Error::Config(
            "the two runs have no sample in common to rate (same suites, cases and seeds, both ok)".into(),
        ));
    }
    // Raters see a clip of at most CLIP_FRAMES frames; the metrics scored every frame.
    let frames = crate::media::CLIP_FRAMES;
    let longer = |v: &PathBuf| {
        crate::video::probe(v).is_ok_and(|i| {
            i.frames.is_some_and(|n| n > frames as u64) || i.duration_s.is_some_and(|d| d * i.fps > frames as f64 + 0.5)
        })
    };
    let long = all.iter().filter(|p| longer(&p.video_a) || longer(&p.video_b)).count();
    if long > 0 {
        eprintln!(
            "note: {long} pair(s) hold a video longer than {frames} frames: raters see its first {frames} (the metrics scored all of it)"
        );
    }
    let questions: BTreeMap<String, String> = planned
        .keys()
        .map(|n| {
            let from_suite = suites.iter().find(|s| &s.name == n).and_then(|s| s.question.clone());
            (n.clone(), a.question.clone().or(from_suite).unwrap_or_else(|| DEFAULT_QUESTION.to_string()))
        })
        .collect();
    let stem = a.db.file_stem().map_or("ratings".into(), |s| s.to_string_lossy().into_owned());
    let media_dir = a.db.parent().unwrap_or(Path::new(".")).join(format!("{stem}_media"));
    // Gold pairs come from the scenes of suites that are the very ones the run evaluated.
    suites.retain(|s| {
        let same = planned.get(&s.name) == Some(&s.content_hash());
        if !same {
            eprintln!("note: suite {} differs from the one the run evaluated: no gold pairs from it", s.name);
        }
        same
    });
    // The address is taken before anything is made (a port in use was found after the
    // database and the gold clips were written), and kept for the server.
    let addr = format!("{}:{}", a.bind, a.port);
    let listener =
        std::net::TcpListener::bind(&addr).map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    // So is the database: a folder or another file given as --db was found after the gold clips
    // were rendered and the pairs announced.
    let db = Db::open(&a.db)?;
    let rated: BTreeSet<(String, String)> = all.iter().map(|p| (p.suite.clone(), p.case_id.clone())).collect();
    let same = all.iter().filter(|p| p.sha_a == p.sha_b).count();
    if same > 0 {
        eprintln!(
            "note: {same} of {} pair(s) show the same video on both sides (byte for byte): raters can only answer \"about the same\" there",
            all.len()
        );
    }
    let gold = gold_pairs(&suites, &rated, a.gold_every, &media_dir)?;
    println!("{} pairs to rate and {} gold pairs", all.len(), gold.len());
    all.extend(gold);
    let mut app = App::new(db, numbered(all), questions, media_dir);
    app.loopback_only = loopback_host(&a.bind);
    let app = Arc::new(app);
    serve(app, listener)?;
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_are_read_as_http_says() {
        assert_eq!(byte_range(None, 100), None);
        assert_eq!(byte_range(Some("bytes=0-9"), 100), Some(Some((0, 9))));
        assert_eq!(byte_range(Some("bytes=90-"), 100), Some(Some((90, 99))));
        assert_eq!(byte_range(Some("bytes=50-500"), 100), Some(Some((50, 99))));
        // The last N bytes (ignored before: the whole file came back).
        assert_eq!(byte_range(Some("bytes=-10"), 100), Some(Some((90, 99))));
        assert_eq!(byte_range(Some("bytes=-500"), 100), Some(Some((0, 99))));
        // Past the end: 416 (it was 200 with the whole file).
        assert_eq!(byte_range(Some("bytes=100-"), 100), Some(None));
        assert_eq!(byte_range(Some("bytes=-0"), 100), Some(None));
        // Reversed, several or unreadable: the whole file.
        assert_eq!(byte_range(Some("bytes=9-0"), 100), None);
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), None);
        assert_eq!(byte_range(Some("items=0-1"), 100), None);
    }

    fn stored(rater: &str, case: &str) -> Stored {
        Stored {
            rater: rater.into(),
            suite: "s".into(),
            case_id: case.into(),
            seed_idx: 0,
            run_a: "a".into(),
            run_b: "b".into(),
            sha_a: "sha256:1".into(),
            sha_b: "sha256:2".into(),
            left_run: "b".into(),
            right_run: "a".into(),
            choice: Choice::Right,
            gold: false,
            ms: 1200,
            created_at: "2026-12-03T00:00:00Z".into(),
        }
    }

    #[test]
    fn judgments_survive_reopening_once_per_rater_and_pair_and_export_as_csv_and_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        {
            let db = Db::open(&path).unwrap();
            assert!(db.insert(&stored("ann", "c1")).unwrap());
            assert!(!db.insert(&stored("ann", "c1")).unwrap(), "a second answer to the same pair is ignored");
            assert!(db.insert(&stored("bob", "c1")).unwrap());
            assert!(db.insert(&stored("ann", "c2,\"x\"")).unwrap());
        }
        let db = Db::open_existing(&path).unwrap();
        let js = db.judgments().unwrap();
        assert_eq!(js.len(), 3);
        assert_eq!((js[0].left.as_str(), js[0].right.as_str(), js[0].choice), ("b", "a", Choice::Right));
        let csv = dir.path().join("j.csv");
        assert_eq!(db.export(&csv).unwrap(), 3);
        let back = crate::agreement::read_csv(&csv, &std::fs::read_to_string(&csv).unwrap()).unwrap();
        // The CSV form carries the videos shown, as the database does, for `agreement` to check.
        assert!(js.iter().all(|j| j.shown.is_some()));
        assert_eq!(back, js, "the CSV reads back as the same judgments");
        let pq = dir.path().join("j.parquet");
        assert_eq!(db.export(&pq).unwrap(), 3);
        assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));
        // Read-only: reading writes nothing.
        assert!(db.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'", []).is_err());
        drop(db);
        // Another schema version is refused with the file named, by both ways of opening.
        Db::open(&path).unwrap().conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'", []).unwrap();
        for e in [Db::open(&path).err().unwrap(), Db::open_existing(&path).err().unwrap()] {
            assert!(e.to_string().contains("r.sqlite") && e.to_string().contains("version 99"), "{e}");
        }
        // Another SQLite database is refused, untouched (it used to gain tables and WAL mode).
        let other = dir.path().join("other.sqlite");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        let before = std::fs::read(&other).unwrap();
        let e = Db::open_existing(&other).err().unwrap().to_string();
        assert!(e.contains("not a videval rating database"), "{e}");
        assert_eq!(std::fs::read(&other).unwrap(), before);
        assert!(!dir.path().join("other.sqlite-wal").exists());
    }

    #[test]
    fn an_acknowledged_judgment_is_in_the_database_file_alone() {
        // A server stopped by a signal closes nothing: with WAL its answers stayed in `-wal`, and
        // the database file copied away held no tables.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        let db = Db::open(&path).unwrap();
        assert!(db.insert(&stored("ann", "c1")).unwrap());
        let copy = dir.path().join("copy.sqlite");
        std::fs::copy(&path, &copy).unwrap();
        assert_eq!(Db::open_existing(&copy).unwrap().judgments().unwrap().len(), 1);
        assert!(!dir.path().join("r.sqlite-wal").exists());
        // Another program reading it holds answers back until it lets go: said as busy (the
        // server answers 503 and the page asks again), not as a broken database.
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN; SELECT count(*) FROM judgments;").unwrap();
        let e = db.insert(&stored("bob", "c1")).err().expect("held by a reader").to_string();
        assert!(e.contains(DB_BUSY), "{e}");
        reader.execute_batch("COMMIT;").unwrap();
        assert!(db.insert(&stored("bob", "c1")).unwrap());
        std::mem::forget(db);
        // An older build's WAL database copied without its `-wal`: the missing file is named.
        let old = dir.path().join("old.sqlite");
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE meta (k); CREATE TABLE judgments (x);").unwrap();
        let alone = dir.path().join("alone.sqlite");
        std::fs::copy(&old, &alone).unwrap();
        let e = Db::open_existing(&alone).err().unwrap().to_string();
        assert!(e.contains("alone.sqlite-wal") && e.contains("not beside it"), "{e}");
        drop(conn);
    }

    /// A synthetic clip of `prompt`, `frames` frames at `w`×`h`, written losslessly to `path`.
    fn clip_file(path: &Path, prompt: &str, frames: u32, (width, height): (u32, u32)) {
        use videval_models::synthetic::{Request, render};
        let v = render(&Request { prompt, seed: 3, frames, width, height, fps: 8.0 });
        crate::video::encode(&v, path, &crate::video::EncodeParams::lossless()).unwrap();
    }

    /// Case `case` of suite `s`, run a's video `video_a` against run b's `video_b`.
    fn pair_of(case: &str, video_a: PathBuf, video_b: PathBuf, sha_a: String, sha_b: String, gold: bool) -> Pair {
        Pair {
            suite: "s".into(),
            case_id: case.into(),
            seed_idx: 0,
            prompt: "p".into(),
            run_a: "a".into(),
            run_b: "b".into(),
            video_a,
            video_b,
            sha_a,
            sha_b,
            gold,
            fps: 8.0,
        }
    }

    #[test]
    fn a_clip_asked_for_by_many_raters_at_once_lands_whole() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.mkv");
        clip_file(&src, "a red ball moves right", 24, (96, 64));
        let sha = crate::hash::sha256_file(&src).unwrap();
        let pair = pair_of("c", src.clone(), src.clone(), sha.clone(), sha, false);
        let app = App::new(
            Db::open(&dir.path().join("r.sqlite")).unwrap(),
            vec![pair],
            BTreeMap::new(),
            dir.path().join("media"),
        );
        let want =
            crate::media::clip_mp4(&crate::media::shrunk_video(&src, RATE_HEIGHT).unwrap(), dir.path(), &src).unwrap();
        let paths: Vec<PathBuf> = std::thread::scope(|s| {
            let asks: Vec<_> = (0..8).map(|_| s.spawn(|| app.clip("ann", 0, "left").unwrap())).collect();
            asks.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for p in paths {
            assert!(std::fs::read(&p).unwrap() == want, "{} is not the clip", p.display());
        }
    }

    #[test]
    fn a_video_replaced_while_serving_is_not_shown_under_its_old_hash() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.mkv"), dir.path().join("b.mkv"));
        clip_file(&a, "a red ball moves right", 8, (64, 48));
        clip_file(&b, "a blue cube falls", 8, (64, 48));
        let sha = |p: &Path| crate::hash::sha256_file(p).unwrap();
        let pair = pair_of("c", a.clone(), b.clone(), sha(&a), sha(&b), false);
        let media = dir.path().join("media");
        let app = App::new(Db::open(&dir.path().join("r.sqlite")).unwrap(), vec![pair], BTreeMap::new(), media.clone());
        let original = std::fs::read(&a).unwrap();
        std::fs::copy(&b, &a).unwrap();
        let side = if a_on_left("ann", &app.pairs[0]) { "left" } else { "right" };
        let e = app.clip("ann", 0, side).err().expect("the replaced file is refused").to_string();
        assert!(e.contains("a.mkv") && e.contains("changed since the server started"), "{e}");
        assert!(!media.exists() || std::fs::read_dir(&media).unwrap().next().is_none(), "nothing is cached");
        std::fs::write(&a, original).unwrap();
        assert!(app.clip("ann", 0, side).is_ok(), "the file put back is served");
    }

    #[test]
    fn gold_pairs_come_from_the_cases_rated() {
        let smoke = crate::run::load_suite("smoke", &crate::suite::Limits::default()).unwrap();
        let with_scene: Vec<&crate::suite::Case> = smoke.cases.iter().filter(|c| c.scene.is_some()).collect();
        assert!(with_scene.len() > 3);
        let rated: BTreeSet<(String, String)> =
            with_scene[..2].iter().map(|c| (smoke.name.clone(), c.id.clone())).collect();
        let dir = tempfile::tempdir().unwrap();
        let gold = gold_pairs(std::slice::from_ref(&smoke), &rated, 1, dir.path()).unwrap();
        let cases: BTreeSet<(String, String)> = gold.iter().map(|p| (p.suite.clone(), p.case_id.clone())).collect();
        assert_eq!(cases, rated, "one gold pair per rated case with a scene, none from cases not run");
    }

    #[test]
    fn gold_pairs_are_numbered_among_the_others() {
        let pair = |case: usize, gold: bool| {
            let (a, b) = (format!("sha256:{case}a"), format!("sha256:{case}b"));
            pair_of(&format!("c{case}"), "a.mp4".into(), "b.mp4".into(), a, b, gold)
        };
        let all: Vec<Pair> = (0..24).map(|i| pair(i, i >= 20)).collect();
        let numbers = numbered(all.clone());
        let gold: Vec<usize> = numbers.iter().enumerate().filter(|(_, p)| p.gold).map(|(i, _)| i).collect();
        assert_eq!(gold.len(), 4);
        assert!(gold.iter().any(|&i| i < 20), "gold pairs kept the last numbers: {gold:?}");
        // The same numbers whatever order the pairs came in (a restart, the runs swapped).
        let again = numbered(all.into_iter().rev().collect());
        assert!(numbers.iter().zip(&again).all(|(x, y)| x.key() == y.key()));
    }

    #[test]
    fn urls_decode_and_raters_are_checked() {
        assert_eq!(query("/api/next?rater=ann%20lee&skip=1,2", "rater").as_deref(), Some("ann lee"));
        assert_eq!(query("/api/next?rater=a+b", "rater").as_deref(), Some("a b"));
        assert_eq!(query("/x?rater=%", "rater").as_deref(), Some("%"));
        assert_eq!(url_encode("a b/<c>"), "a%20b%2F%3Cc%3E");
        assert!(valid_rater("ann") && !valid_rater(" ") && !valid_rater("a\nb") && !valid_rater(&"x".repeat(65)));
        // Look-alike names: a zero-width space or a bidirectional override makes another rater.
        assert!(valid_rater("Zoë 李") && !valid_rater("ann\u{200b}") && !valid_rater("\u{202e}nna"));
        assert_eq!(query("/x?rater=%+41", "rater").as_deref(), Some("% 41"), "a sign is not a hex digit");
    }
}
