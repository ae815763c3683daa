//! `videval agreement`: do the metrics agree with people? Reads pairwise judgments (the rating
//! app's SQLite database or a CSV) and the runs they compared, and reports per metric and suite
//! how often the metric prefers the video people preferred, with an interval over cases; how well
//! raters agree with each other (Krippendorff's α) and with gold pairs; and the runs' strengths
//! (Bradley–Terry) with intervals.
//!
//! Rules, fixed in advance (see ../shared/reference/human-alignment.md):
//! - A pair is one sample (suite, case, seed index) shown from two runs. Its human majority is the
//!   most frequent of {first run, second run, no preference}, where "tie" and "both bad" are no
//!   preference; a shared maximum is a tie.
//! - The metric prefers the run whose value is better in the metric's direction (no tie band); a
//!   neutral metric describes rather than judges and is left out.
//! - Pairwise accuracy counts non-tied human pairs: 1 when the metric prefers the same run, ½ when
//!   its values are equal, 0 otherwise. The tie-inclusive variant counts every pair, a human tie
//!   matched only by equal values. Kendall's τ-b compares the two preference signs over all pairs.
//! - Intervals resample the suite's clusters (its cases, or the `cluster:` groups it declares;
//!   every seed and rater of a case together): a percentile bootstrap from five clusters up; with
//!   fewer, or when the resamples have no spread, the exact Clopper–Pearson interval with the
//!   clusters as trials (as many as their sizes make effective).
//! - Bradley–Terry counts every judgment, a tie or "both bad" as half a win each (GenAI-Arena);
//!   gold pairs count only towards the raters' attention scores.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use videval_metrics::stats::agreement::{bradley_terry, kendall_tau_b, krippendorff_alpha_nominal};
use videval_metrics::stats::bootstrap::{MIN_CLUSTERS, quantile_sorted};
use videval_metrics::stats::{cluster_bootstrap_mean, pass_rate};
use videval_reports::Results;

use crate::error::{Error, ExitCode, Result};
use crate::store::write_atomic;

pub const SCHEMA: &str = "videval/agreement/v1";
/// The CSV form's header, exactly.
pub const CSV_HEADER: &str = "rater,suite,case_id,seed_idx,left,right,choice";
/// The CSV form `rate --export` writes: with the sha256 of the videos shown left and right, so a
/// judgment of a video replaced since is found from the CSV too, as from the database.
pub const CSV_HEADER_SHOWN: &str = "rater,suite,case_id,seed_idx,left,right,choice,shown_left,shown_right";
/// Run names of gold pairs (the world oracle against a degraded copy) in judgments and exports.
pub const GOLD_ORACLE: &str = "gold:oracle";
pub const GOLD_DEGRADED: &str = "gold:degraded";
const N_BOOT: usize = 2000;
/// Pairs two or more raters judged below which Krippendorff's α is not given.
const MIN_SHARED_PAIRS: usize = 20;
const SEED: u64 = 0x5eed_a9ee;

/// What a rater answered about the pair as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Left,
    Right,
    Tie,
    BothBad,
}

impl Choice {
    pub fn parse(s: &str) -> Option<Choice> {
        match s {
            "left" => Some(Choice::Left),
            "right" => Some(Choice::Right),
            "tie" => Some(Choice::Tie),
            "both_bad" => Some(Choice::BothBad),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Left => "left",
            Choice::Right => "right",
            Choice::Tie => "tie",
            Choice::BothBad => "both_bad",
        }
    }
}

/// One judgment: `left` and `right` are run names (or the gold names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    pub rater: String,
    pub suite: String,
    pub case_id: String,
    pub seed_idx: u32,
    pub left: String,
    pub right: String,
    pub choice: Choice,
    /// The sha256 of the videos shown left and right, where the judgments record them (the
    /// rating database does; the CSV form does not): checked against the runs' videos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<[String; 2]>,
}

impl Judgment {
    /// What every judgment must be, from a CSV file or a database: named fields, two runs.
    pub fn check(&self) -> std::result::Result<(), String> {
        for (value, name) in [
            (&self.rater, "rater"),
            (&self.suite, "suite"),
            (&self.case_id, "case_id"),
            (&self.left, "left"),
            (&self.right, "right"),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{name} is empty"));
            }
            // A line break in a name wrote a line of its own into every message naming it.
            if value.chars().any(char::is_control) {
                return Err(format!("{name} {} holds a control character (a line break?)", quoted_cut(value)));
            }
        }
        if self.left == self.right {
            return Err(format!("left and right are the same run {}", quoted_cut(&self.left)));
        }
        Ok(())
    }

    pub fn is_gold(&self) -> bool {
        self.left.starts_with("gold:") || self.right.starts_with("gold:")
    }

    /// The run preferred (`Some(name)`), or `None` for tie / both bad.
    pub fn preferred(&self) -> Option<&str> {
        match self.choice {
            Choice::Left => Some(&self.left),
            Choice::Right => Some(&self.right),
            Choice::Tie | Choice::BothBad => None,
        }
    }
}

/// One cell of a CSV record, and whether it was quoted (a quoted cell is taken as written; an
/// unquoted one may be trimmed by its reader).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvCell {
    pub text: String,
    pub quoted: bool,
}

/// The records of a CSV text (RFC 4180: `,` between cells, `"` around a cell that holds a comma,
/// a quote (doubled) or a line break), each with the line it starts on; blank lines are
/// skipped. A quoted cell may run over several lines, as Python's `csv` module writes a prompt
/// with a newline in it.
pub fn csv_records(text: &str) -> CsvRecords<'_> {
    CsvRecords { chars: text.chars().peekable(), line: 1, done: false }
}

/// The most cells one CSV record may hold: a file of commas made one record of 60 million empty
/// cells (2 GB), refused at its first record now.
pub const MAX_CSV_CELLS: usize = 1024;

/// [`csv_records`]: each record as it is read (a reader keeps what it makes of them, not every
/// cell of the file at once), or the line and reason it could not be read; nothing after an error.
pub struct CsvRecords<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    done: bool,
}

impl CsvRecords<'_> {
    fn fail(&mut self, line: usize, why: String) -> Option<<Self as Iterator>::Item> {
        self.done = true;
        Some(Err((line, why)))
    }
}

impl Iterator for CsvRecords<'_> {
    type Item = std::result::Result<(usize, Vec<CsvCell>), (usize, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut record: Vec<CsvCell> = Vec::new();
        let mut cell = String::new();
        let (mut quoted, mut was_quoted) = (false, false);
        let mut start = self.line;
        // A line holding nothing (one unquoted cell of spaces) is no record.
        let blank = |r: &[CsvCell]| r.len() == 1 && !r[0].quoted && r[0].text.trim().is_empty();
        loop {
            let Some(c) = self.chars.next() else {
                if quoted {
                    return self.fail(start, "a quote that is never closed".into());
                }
                self.done = true;
                record.push(CsvCell { text: cell, quoted: was_quoted });
                return (!blank(&record)).then_some(Ok((start, record)));
            };
            match (quoted, c) {
                (true, '"') if self.chars.peek() == Some(&'"') => {
                    self.chars.next();
                    cell.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    cell.push(c);
                }
                // Spaces before an opening quote (`a, "b"`) are not part of the cell.
                (false, '"') if cell.trim().is_empty() && !was_quoted => {
                    cell.clear();
                    (quoted, was_quoted) = (true, true);
                }
                (false, ',') => {
                    if record.len() + 1 >= MAX_CSV_CELLS {
                        return self.fail(start, format!("more than {MAX_CSV_CELLS} cells in one record"));
                    }
                    record.push(CsvCell { text: std::mem::take(&mut cell), quoted: std::mem::take(&mut was_quoted) })
                }
                (false, '\r') if self.chars.peek() == Some(&'\n') => {}
                // A lone CR ends a line too (old Mac files).
                (false, '\n' | '\r') => {
                    record.push(CsvCell { text: std::mem::take(&mut cell), quoted: std::mem::take(&mut was_quoted) });
                    self.line += 1;
                    if !blank(&record) {
                        return Some(Ok((start, record)));
                    }
                    record.clear();
                    start = self.line;
                }
                (false, '"') => return self.fail(self.line, "a quote inside an unquoted cell".into()),
                (false, c) if was_quoted => {
                    if !c.is_whitespace() {
                        return self.fail(self.line, "text after a quoted cell's closing quote".into());
                    }
                }
                (false, c) => cell.push(c),
            }
        }
    }
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Judgments from the CSV form (header [`CSV_HEADER`]).
pub fn read_csv(path: &Path, text: &str) -> Result<Vec<Judgment>> {
    let bad = |line: usize, message: String| Error::BadFile {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    };
    let expected = format!("{CSV_HEADER:?} (or {CSV_HEADER_SHOWN:?})");
    let mut records = csv_records(text.trim_start_matches('\u{feff}'));
    // The header is the first record (a file with old-Mac line ends has no '\n' in it).
    let width = match records.next() {
        None => return Err(bad(1, format!("empty file; expected the header {expected}"))),
        Some(Err((n, e))) => return Err(bad(n, e)),
        Some(Ok((_, h))) => {
            let h: Vec<&str> = h.iter().map(|c| c.text.as_str()).collect::<Vec<_>>();
            let joined = h.join(",");
            if joined == CSV_HEADER {
                7
            } else if joined == CSV_HEADER_SHOWN {
                9
            } else {
                return Err(bad(1, format!("the header is {}; expected {expected}", quoted_cut(&joined))));
            }
        }
    };
    let mut out = Vec::new();
    for record in records {
        let (n, cells) = record.map_err(|(n, e)| bad(n, e))?;
        let f: Vec<String> = cells.into_iter().map(|c| c.text).collect();
        if f.len() != width {
            return Err(bad(n, format!("{} fields; expected {width} (as the header)", f.len())));
        }
        let seed_idx = f[3].parse().map_err(|_| {
            bad(n, format!("seed_idx {} is not a whole number from 0 to {}", quoted_cut(&f[3]), u32::MAX))
        })?;
        let choice = Choice::parse(&f[6])
            .ok_or_else(|| bad(n, format!("choice {}; expected left, right, tie or both_bad", quoted_cut(&f[6]))))?;
        let shown = match f.get(7..9) {
            Some([l, r]) if l.is_empty() && r.is_empty() => None,
            Some([l, r]) if l.is_empty() || r.is_empty() => {
                return Err(bad(n, "shown_left and shown_right: expected the videos' two sums (or both empty)".into()));
            }
            // As the database records them (compared as sums with the runs', bare or prefixed).
            Some([l, r]) => Some([l.trim().to_string(), r.trim().to_string()]),
            _ => None,
        };
        let j = Judgment {
            rater: f[0].clone(),
            suite: f[1].clone(),
            case_id: f[2].clone(),
            seed_idx,
            left: f[4].clone(),
            right: f[5].clone(),
            choice,
            shown,
        };
        j.check().map_err(|e| bad(n, e))?;
        out.push(j);
    }
    Ok(out)
}

/// `s` quoted for a message, cut to 200 characters (a 20 MB cell made a 20 MB error).
pub fn quoted_cut(s: &str) -> String {
    const MAX: usize = 200;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{:?}… ({} bytes)", &s[..at], s.len()),
        None => format!("{s:?}"),
    }
}

/// Judgments from a rating database or a CSV file (told apart by the SQLite header).
pub fn read_judgments(path: &Path) -> Result<Vec<Judgment>> {
    use std::io::Read;
    let bad = |message: String| Error::BadFile { path: path.to_path_buf(), message };
    // Only a regular file (`/dev/zero` grew to 5 GB in 5 s, a FIFO waited forever), and a CSV
    // of at most 256 MiB: a few million judgments, more than any rating study collects.
    let meta = std::fs::metadata(path).map_err(Error::input(path))?;
    if !meta.is_file() {
        return Err(bad(
            "not a regular file (a folder, a FIFO or a device); expected a CSV file or a rating database".into()
        ));
    }
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path).and_then(|f| f.take(16).read(&mut head)).map_err(Error::input(path))?;
    if head[..n] == *b"SQLite format 3\0" {
        // A database is queried, not read whole: its size is not what is held.
        return crate::rate::Db::open_existing(path)?.judgments();
    }
    let text = videval_models::files::read_text(path, MAX_JUDGMENT_BYTES).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => bad("not UTF-8 text (nor a SQLite database)".into()),
        _ => Error::input(path)(e),
    })?;
    read_csv(path, &text)
}

/// The largest judgments CSV read.
const MAX_JUDGMENT_BYTES: u64 = 256 << 20;

/// One metric's agreement with people in one suite.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricAgreement {
    pub metric: String,
    pub suite: String,
    /// Pairs whose human majority prefers one run (what `agreement` counts).
    pub pairs: usize,
    /// Every pair with a human majority and both values, ties included.
    pub pairs_with_ties: usize,
    pub cases: usize,
    /// What the interval resamples: the suite's clusters of those cases (its cases unless it
    /// groups them).
    #[serde(default)]
    pub clusters: usize,
    pub agreement: Option<f64>,
    pub ci: Option<[f64; 2]>,
    /// How the interval was made, or why there is none.
    pub ci_method: String,
    pub agreement_with_ties: Option<f64>,
    pub kendall_tau_b: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RaterStats {
    pub judgments: usize,
    pub gold_judged: usize,
    /// Fraction of gold pairs where the rater chose the oracle; None without gold pairs.
    pub gold_accuracy: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Raters {
    pub n: usize,
    /// Nominal α over pairs judged by two or more raters (choices as the run preferred, tie, or
    /// both bad); None with one rater or no shared pair.
    pub krippendorff_alpha: Option<f64>,
    pub alpha_note: Option<String>,
    pub gold_accuracy: BTreeMap<String, Option<f64>>,
    pub per_rater: BTreeMap<String, RaterStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunStrength {
    pub run: String,
    /// Bradley–Terry log-strength (mean zero over the runs): P(a beats b) = 1 / (1 + e^(θb − θa)).
    pub strength: Option<f64>,
    pub ci: Option<[f64; 2]>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Agreement {
    pub schema: String,
    pub runs: Vec<RunStrength>,
    /// Every judgment counted (the last of each rater's on a pair), gold pairs' included.
    pub judgments: usize,
    /// Of them, the judgments of gold pairs (raters' attention checks, not in `pairs`).
    #[serde(default)]
    pub gold_judgments: usize,
    /// Rated pairs of the runs' videos (gold pairs not counted).
    pub pairs: usize,
    pub metrics: Vec<MetricAgreement>,
    pub raters: Raters,
    pub notes: Vec<String>,
}

/// A pair: (suite, case, seed index, first run, second run), the runs in name order.
type PairKey = (String, String, u32, String, String);

fn pair_key(j: &Judgment) -> PairKey {
    let (a, b) = if j.left <= j.right { (&j.left, &j.right) } else { (&j.right, &j.left) };
    (j.suite.clone(), j.case_id.clone(), j.seed_idx, a.clone(), b.clone())
}

/// +1 when the first run of the pair was preferred, −1 the second, 0 no preference.
fn vote(j: &Judgment, key: &PairKey) -> i32 {
    match j.preferred() {
        Some(r) if r == key.3 => 1,
        Some(_) => -1,
        None => 0,
    }
}

/// The human majority of a pair's votes: the most frequent of +1, −1, 0; a shared maximum is 0.
fn majority(votes: &[i32]) -> i32 {
    let count = |v| votes.iter().filter(|&&x| x == v).count();
    let (a, b, n) = (count(1), count(-1), count(0));
    if a > b && a > n {
        1
    } else if b > a && b > n {
        -1
    } else {
        0
    }
}

/// Whether every player was compared, directly or through others, with every other (the
/// comparison graph, wins either way, is connected).
fn connected(players: usize, wins: &[(usize, usize, f64)]) -> bool {
    let mut seen = vec![false; players];
    let mut stack = vec![0];
    while let Some(p) = stack.pop() {
        if std::mem::replace(&mut seen[p], true) {
            continue;
        }
        for &(i, j, _) in wins {
            if i == p && !seen[j] {
                stack.push(j);
            } else if j == p && !seen[i] {
                stack.push(i);
            }
        }
    }
    seen.iter().all(|&s| s)
}

/// An interval for a mean of per-pair scores clustered as the suite clusters its cases (see the
/// module notes).
fn cluster_interval(clusters: &[Vec<f64>]) -> (Option<f64>, Option<[f64; 2]>, String) {
    match cluster_bootstrap_mean(clusters, N_BOOT, 0.95, SEED) {
        Some(e) if e.interval.is_some() => {
            (Some(e.point_estimate), e.interval, format!("bootstrap over {} clusters", e.n_clusters))
        }
        Some(_) => match pass_rate(clusters, 0.95) {
            Some(e) => {
                // As many trials as the clusters' sizes make effective (Kish), said when fewer.
                let trials = videval_metrics::stats::bootstrap::pass_rate_trials(clusters);
                let effective = if trials < e.n_clusters as f64 - 1e-9 {
                    format!(", as {trials:.1} of their unequal sizes")
                } else {
                    String::new()
                };
                (
                    Some(e.point_estimate),
                    e.interval,
                    format!(
                        "exact (Clopper–Pearson) over {} cluster{}{effective}",
                        e.n_clusters,
                        if e.n_clusters == 1 { "" } else { "s" }
                    ),
                )
            }
            None => (None, None, "no pairs".into()),
        },
        None => (None, None, "no pairs".into()),
    }
}

/// Bradley–Terry log-strengths with a bootstrap over clusters (`cluster_of` a judgment's).
fn strengths(runs: &[String], judgments: &[&Judgment], cluster_of: &dyn Fn(&Judgment) -> String) -> Vec<RunStrength> {
    // A run no judgment compares has no strength; the others' still exist.
    let compared = |r: &String| judgments.iter().any(|j| (j.left == *r || j.right == *r) && j.left != j.right);
    if runs.iter().any(|r| !compared(r)) {
        let played: Vec<String> = runs.iter().filter(|r| compared(r)).cloned().collect();
        let mut known = if played.len() >= 2 { strengths(&played, judgments, cluster_of) } else { Vec::new() };
        return runs
            .iter()
            .map(|r| match known.iter().position(|k| &k.run == r) {
                Some(i) => known.remove(i),
                None => RunStrength {
                    run: r.clone(),
                    strength: None,
                    ci: None,
                    note: Some("n/a: no judgment compares this run with another".into()),
                },
            })
            .collect();
    }
    let index: BTreeMap<&str, usize> = runs.iter().enumerate().map(|(i, r)| (r.as_str(), i)).collect();
    let wins = |js: &mut dyn Iterator<Item = &&Judgment>| -> Vec<(usize, usize, f64)> {
        let mut w = Vec::new();
        for j in js {
            let (Some(&l), Some(&r)) = (index.get(j.left.as_str()), index.get(j.right.as_str())) else { continue };
            match j.choice {
                Choice::Left => w.push((l, r, 1.0)),
                Choice::Right => w.push((r, l, 1.0)),
                Choice::Tie | Choice::BothBad => {
                    w.push((l, r, 0.5));
                    w.push((r, l, 0.5));
                }
            }
        }
        w
    };
    let Some(point) = bradley_terry(runs.len(), &wins(&mut judgments.iter())) else {
        let note = if connected(runs.len(), &wins(&mut judgments.iter())) {
            "n/a: some run never lost (or never won) a comparison against the others, so no finite strength exists"
        } else {
            "n/a: the runs fall into groups no judgment compares with each other, so their strengths have no common scale"
        };
        return runs
            .iter()
            .map(|r| RunStrength { run: r.clone(), strength: None, ci: None, note: Some(note.into()) })
            .collect();
    };
    let mut by_cluster: BTreeMap<(&str, String), Vec<&&Judgment>> = BTreeMap::new();
    for j in judgments {
        by_cluster.entry((j.suite.as_str(), cluster_of(j))).or_default().push(j);
    }
    // Each cluster's wins summed once into a few (winner, loser, count) cells: a resample adds
    // those up (looking run names up per judgment, per resample, took 85% of 1e6 judgments' time).
    let clusters: Vec<Vec<(usize, usize, f64)>> = by_cluster
        .values()
        .map(|c| {
            let mut cells: BTreeMap<(usize, usize), f64> = BTreeMap::new();
            for (i, j, x) in wins(&mut c.iter().copied()) {
                *cells.entry((i, j)).or_default() += x;
            }
            cells.into_iter().map(|((i, j), x)| (i, j, x)).collect()
        })
        .collect();
    let k = clusters.len();
    let mut note = None;
    let mut draws: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    // Resamples with no finite strengths (a run that never lost or never won in them).
    let mut failed = 0usize;
    if k < MIN_CLUSTERS {
        note = Some(format!("n/a ({k} cluster{}; an interval needs {MIN_CLUSTERS})", if k == 1 { "" } else { "s" }));
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        for _ in 0..1000 {
            let sample: Vec<(usize, usize, f64)> =
                (0..k).flat_map(|_| clusters[rng.random_range(0..k)].iter().copied()).collect();
            match bradley_terry(runs.len(), &sample) {
                Some(t) => t.iter().enumerate().for_each(|(i, v)| draws[i].push(*v)),
                None => failed += 1,
            }
        }
    }
    runs.iter()
        .enumerate()
        .map(|(i, r)| {
            // A resample with no finite strengths is unbounded on either side: it stands at −∞
            // for the lower bound and at +∞ for the upper (dropping them narrowed the interval,
            // and from 2.5% of them its bound is infinite).
            let mut d = std::mem::take(&mut draws[i]);
            d.sort_by(f64::total_cmp);
            let bounds = (!d.is_empty() || failed > 0).then(|| {
                let mut low = vec![f64::NEG_INFINITY; failed];
                low.extend_from_slice(&d);
                let mut high = d.clone();
                high.extend(std::iter::repeat_n(f64::INFINITY, failed));
                // The expanded percentile, as every interval over clusters here: the plain one
                // covered 90% at 5 clusters.
                let tail = videval_metrics::stats::bootstrap::expanded_tail(0.025, k);
                [quantile_sorted(&low, tail), quantile_sorted(&high, 1.0 - tail)]
            });
            let unbounded = bounds.is_some_and(|[lo, hi]| !lo.is_finite() || !hi.is_finite());
            // No interval is zero-width: resamples with no spread (every judgment a tie) give none.
            let flat = bounds.is_some_and(|[lo, hi]| videval_metrics::stats::bootstrap::no_spread(lo, hi));
            let note = if unbounded {
                Some(format!(
                    "n/a: in {failed} of 1000 resamples of clusters a run never lost or never won, so the interval is unbounded"
                ))
            } else if flat {
                Some("n/a: the resamples of clusters have no spread".to_string())
            } else {
                note.clone()
            };
            let ci = bounds.filter(|_| !flat && !unbounded);
            RunStrength { run: r.clone(), strength: Some(point[i]), ci, note: if ci.is_some() { None } else { note } }
        })
        .collect()
}

/// Everything `videval agreement` reports.
pub fn compute(runs: &[(String, Results)], all: &[Judgment]) -> Result<Agreement> {
    let sample_index: BTreeMap<&str, BTreeMap<(&str, &str, u32), &videval_reports::results::Sample>> = runs
        .iter()
        .map(|(n, r)| {
            (n.as_str(), r.samples.iter().map(|s| ((s.suite.as_str(), s.case_id.as_str(), s.seed_idx), s)).collect())
        })
        .collect();
    let listed = || sample_index.keys().copied().collect::<Vec<_>>().join(", ");
    // Judgments of other videos than the runs' (a sample rerun and rated again: the database
    // keeps both), by index, with the first one's description.
    let mut stale: BTreeSet<usize> = BTreeSet::new();
    let mut first_stale = None;
    for (i, j) in all.iter().enumerate() {
        let which = || format!("a judgment by {} on {}/{}#{}", j.rater, j.suite, j.case_id, j.seed_idx);
        if j.is_gold() {
            let sides: BTreeSet<&str> = [j.left.as_str(), j.right.as_str()].into();
            if sides != [GOLD_ORACLE, GOLD_DEGRADED].into() {
                return Err(Error::Config(format!(
                    "{} pairs {:?} with {:?}; a gold pair is {GOLD_ORACLE:?} against {GOLD_DEGRADED:?}",
                    which(),
                    j.left,
                    j.right
                )));
            }
            continue;
        }
        let mut made: Vec<&videval_reports::results::Sample> = Vec::new();
        for (k, side) in [&j.left, &j.right].into_iter().enumerate() {
            let Some(samples) = sample_index.get(side.as_str()) else {
                return Err(Error::Config(format!(
                    "{} names the run {side:?}, which is not given (runs: {})",
                    which(),
                    listed()
                )));
            };
            let Some(sample) = samples.get(&(j.suite.as_str(), j.case_id.as_str(), j.seed_idx)) else {
                return Err(Error::Config(format!(
                    "{}: the run {side:?} has no such sample (suite, case id and seed index must be the run's)",
                    which()
                )));
            };
            // A judgment of other videos (a run folder rerun or replaced since it was rated, or
            // another run given the same name) says nothing about this run's.
            // Compared as sums, whether written `sha256:…` or bare, in either case.
            if let (Some(shown), Some(scored)) = (&j.shown, &sample.video_sha256)
                && !crate::hash::digits(&shown[k]).eq_ignore_ascii_case(crate::hash::digits(scored))
            {
                stale.insert(i);
                first_stale.get_or_insert_with(|| {
                    format!(
                        "{} was of the video {} for the run {side:?}, but that run's video of it is {scored}",
                        which(),
                        shown[k]
                    )
                });
            }
            made.push(sample);
        }
        // The two videos of a pair answer one request, or the judgment compares nothing (runs of
        // suites that share case ids but not prompts were paired and rated).
        if let [a, b] = made[..]
            && let Some(why) = a.other_request(b)
        {
            return Err(Error::Config(format!(
                "{}: the runs {:?} and {:?} {why}; judgments pair videos of one prompt and seed",
                which(),
                j.left,
                j.right
            )));
        }
    }
    // None of them of these runs' videos: the wrong run folders.
    if let Some(first) = &first_stale
        && all.iter().enumerate().all(|(i, j)| j.is_gold() || stale.contains(&i))
    {
        return Err(Error::Config(format!("{first}: give the run folders that were rated")));
    }
    let fresh: Vec<Judgment> =
        all.iter().enumerate().filter(|(i, _)| !stale.contains(i)).map(|(_, j)| j.clone()).collect();
    let all = fresh.as_slice();
    // A rater's last judgment of a pair counts (the rating app keeps one; a CSV may repeat).
    let mut last: BTreeMap<(&str, PairKey), usize> = BTreeMap::new();
    for (i, j) in all.iter().enumerate() {
        last.insert((j.rater.as_str(), pair_key(j)), i);
    }
    let kept: BTreeSet<usize> = last.into_values().collect();
    let judgments: Vec<&Judgment> = all.iter().enumerate().filter(|(i, _)| kept.contains(i)).map(|(_, j)| j).collect();
    let repeated = all.len() - judgments.len();
    let rated: Vec<&Judgment> = judgments.iter().filter(|j| !j.is_gold()).copied().collect();
    let mut pairs: BTreeMap<PairKey, Vec<&Judgment>> = BTreeMap::new();
    for j in &rated {
        pairs.entry(pair_key(j)).or_default().push(j);
    }
    // A metric's direction and version as every run that has it says; runs that disagree (a
    // metric redefined between them) leave it out, said in a note. It was read from whichever
    // run's name sorted first: renaming the runs flipped an agreement of 1 to 0.
    let mut spec: BTreeMap<(&str, &str), std::result::Result<f64, String>> = BTreeMap::new();
    let orient_of = |suite: &str, metric: &str| -> std::result::Result<f64, String> {
        let said: BTreeSet<(&str, u32)> = runs
            .iter()
            .filter_map(|(_, r)| r.suites.get(suite)?.metrics.get(metric))
            .map(|m| (m.direction.as_str(), m.metric_version))
            .collect();
        match said.iter().collect::<Vec<_>>().as_slice() {
            [(direction, _)] => match *direction {
                "higher_is_better" => Ok(1.0),
                "lower_is_better" => Ok(-1.0),
                _ => Err(String::new()),
            },
            [] => Err(String::new()),
            several => Err(format!(
                "{suite}/{metric} is left out: the runs give it different directions or versions ({})",
                several.iter().map(|(d, v)| format!("{d} v{v}")).collect::<Vec<_>>().join(", ")
            )),
        }
    };

    // (suite, metric) → per pair: (case, cluster, human sign, metric sign).
    let mut rows: BTreeMap<(String, String), Vec<(String, String, i32, i32)>> = BTreeMap::new();
    for (key, js) in &pairs {
        let human = majority(&js.iter().map(|j| vote(j, key)).collect::<Vec<_>>());
        let (suite, case, seed, a, b) = key;
        let (Some(sa), Some(sb)) = (
            sample_index[a.as_str()].get(&(suite.as_str(), case.as_str(), *seed)),
            sample_index[b.as_str()].get(&(suite.as_str(), case.as_str(), *seed)),
        ) else {
            continue;
        };
        for (metric, &va) in &sa.metrics {
            let Some(&vb) = sb.metrics.get(metric) else { continue };
            let Ok(orient) = spec.entry((suite.as_str(), metric.as_str())).or_insert_with(|| orient_of(suite, metric))
            else {
                continue;
            };
            // Compared, not subtracted: ±1.7e308 overflowed to infinity and the pair was dropped.
            let Some(order) = va.partial_cmp(&vb) else { continue };
            let m = match order {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            } * if *orient > 0.0 { 1 } else { -1 };
            rows.entry((suite.clone(), metric.clone())).or_default().push((case.clone(), sa.cluster.clone(), human, m));
        }
    }
    let mut metrics = Vec::new();
    for ((suite, metric), pairs) in rows {
        let mut by_cluster: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut cases: BTreeSet<&str> = BTreeSet::new();
        for (case, cluster, h, m) in &pairs {
            if *h != 0 {
                let score = if *m == *h {
                    1.0
                } else if *m == 0 {
                    0.5
                } else {
                    0.0
                };
                by_cluster.entry(cluster.as_str()).or_default().push(score);
                cases.insert(case.as_str());
            }
        }
        let clusters: Vec<Vec<f64>> = by_cluster.into_values().collect();
        let (agreement, ci, ci_method) = cluster_interval(&clusters);
        let with_ties = pairs.iter().filter(|(_, _, h, m)| h == m).count() as f64 / pairs.len() as f64;
        // Each pair counted both ways round, (h, m) and (−h, −m): which run of a pair comes first
        // is only its name's order, and with three runs renaming one flipped the signs of some
        // pairs and τ-b with them (−0.08 → +0.51 for the same judgments).
        let hs: Vec<f64> = pairs.iter().flat_map(|p| [f64::from(p.2), -f64::from(p.2)]).collect();
        let ms: Vec<f64> = pairs.iter().flat_map(|p| [f64::from(p.3), -f64::from(p.3)]).collect();
        metrics.push(MetricAgreement {
            metric,
            suite,
            pairs: clusters.iter().map(Vec::len).sum(),
            pairs_with_ties: pairs.len(),
            cases: cases.len(),
            clusters: clusters.len(),
            agreement,
            ci,
            ci_method,
            agreement_with_ties: Some(with_ties),
            kendall_tau_b: kendall_tau_b(&hs, &ms),
        });
    }

    // Raters: α over pairs judged by two or more, gold accuracy, counts.
    let raters: Vec<String> = judgments.iter().map(|j| j.rater.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    // Each pair's labels, one per rater who judged it (a rater's last judgment counts): only
    // the labels, not a pairs × raters table (8,000 one-off raters of 4,000 pairs took 337 MB).
    let units: Vec<Vec<Option<u32>>> = pairs
        .iter()
        .map(|(key, js)| {
            let mut last: BTreeMap<&str, u32> = BTreeMap::new();
            for j in js.iter() {
                let label = match (j.choice, vote(j, key)) {
                    (Choice::Tie, _) => 2,
                    (Choice::BothBad, _) => 3,
                    (_, 1) => 0,
                    _ => 1,
                };
                last.insert(j.rater.as_str(), label);
            }
            last.into_values().map(Some).collect()
        })
        .collect();
    let shared = units.iter().filter(|u| u.iter().flatten().count() >= 2).count();
    // Each pair counted both ways round too (its two runs' labels swapped): the first run of a
    // pair is only its name's order, and with three runs renaming one changed the labels'
    // totals, and α with them (−0.19 → +0.34 for the same judgments). Disagreement within a
    // pair is the same either way round.
    let mirrored: Vec<Vec<Option<u32>>> = units
        .iter()
        .flat_map(|u| {
            let swapped = u.iter().map(|l| l.map(|l| if l < 2 { 1 - l } else { l })).collect();
            [u.clone(), swapped]
        })
        .collect();
    let alpha = krippendorff_alpha_nominal(&mirrored);
    let alpha_note = match (raters.len(), shared, alpha) {
        (0 | 1, _, _) => Some("one rater: agreement between raters is not measurable".to_string()),
        (_, 0, _) => Some("no pair was judged by two raters".to_string()),
        (_, _, None) => Some(
            "every judgment of the pairs two or more raters judged is the same: no expected disagreement".to_string(),
        ),
        // α from a handful of shared pairs says little (2 shared pairs gave α = 1.000, shown
        // beside "keep a question when α exceeds 0.70").
        (_, n, Some(_)) if n < MIN_SHARED_PAIRS => Some(format!(
            "only {n} pair(s) were judged by two or more raters: too few for α (at least {MIN_SHARED_PAIRS})"
        )),
        _ => None,
    };
    let mut per_rater = BTreeMap::new();
    // Each rater's judgments, grouped once (filtering every judgment per rater was raters ×
    // judgments).
    let mut by_rater: BTreeMap<&str, Vec<&Judgment>> = BTreeMap::new();
    for j in judgments.iter() {
        by_rater.entry(j.rater.as_str()).or_default().push(j);
    }
    for r in &raters {
        let mine: Vec<&Judgment> = by_rater.get(r.as_str()).cloned().unwrap_or_default();
        let gold: Vec<&&Judgment> = mine.iter().filter(|j| j.is_gold()).collect();
        let right = gold.iter().filter(|j| j.preferred() == Some(GOLD_ORACLE)).count();
        per_rater.insert(
            r.clone(),
            RaterStats {
                judgments: mine.len(),
                gold_judged: gold.len(),
                gold_accuracy: (!gold.is_empty()).then(|| right as f64 / gold.len() as f64),
            },
        );
    }
    let run_names: Vec<String> = runs.iter().map(|(n, _)| n.clone()).collect();
    let mut notes = vec![
        "Pairwise accuracy counts pairs whose human majority prefers one run; equal metric values score ½. \
         Intervals resample the suite's clusters (its cases unless it groups them; seeds and raters of a case \
         together). Neutral metrics are left out."
            .to_string(),
    ];
    if let Some(first) = &first_stale {
        notes.push(format!(
            "{} judgment(s) of other videos than the runs' are left out (rated before the samples were generated again?); first: {first}",
            stale.len()
        ));
    }
    notes.extend(spec.values().filter_map(|s| s.as_ref().err()).filter(|why| !why.is_empty()).cloned());
    if all.iter().any(|j| !j.is_gold() && j.shown.is_none()) {
        notes.push(
            "some judgments do not say which videos were shown (a CSV without shown_left/shown_right): \
             a judgment of a video generated again since cannot be told from one of the run's"
                .to_string(),
        );
    }
    if repeated > 0 {
        notes.push(format!(
            "{repeated} repeated judgment(s) (the same rater on the same pair): each rater's last one counts"
        ));
    }
    // Per metric: one well-covered metric said nothing of the others (56 pairs beside 392).
    let few: Vec<String> = metrics
        .iter()
        .filter(|m| m.pairs < 384)
        .map(|m| format!("{}/{} {} over {} case(s)", m.suite, m.metric, m.pairs, m.cases))
        .collect();
    if !few.is_empty() {
        notes.push(format!(
            "fewer than the about 384 independent non-tied pairs that give ±5 points at 95% (more are needed \
             when seeds of a case are alike): {}",
            few.join(", ")
        ));
    }
    if runs.len() < 4 {
        let compared: BTreeSet<(&str, &str)> = pairs.keys().map(|k| (k.3.as_str(), k.4.as_str())).collect();
        notes.push(format!(
            "{} runs: run strengths rest on {} compared run pair(s); a system-level correlation needs more runs",
            runs.len(),
            compared.len()
        ));
    }
    // A judgment's cluster: its sample's in the runs (every rated judgment names a sample of both).
    let cluster_of = |j: &Judgment| -> String {
        sample_index
            .get(j.left.as_str())
            .and_then(|s| s.get(&(j.suite.as_str(), j.case_id.as_str(), j.seed_idx)))
            .map_or_else(|| j.case_id.clone(), |s| s.cluster.clone())
    };
    Ok(Agreement {
        schema: SCHEMA.into(),
        runs: strengths(&run_names, &rated, &cluster_of),
        judgments: judgments.len(),
        gold_judgments: judgments.len() - rated.len(),
        pairs: pairs.len(),
        metrics,
        raters: Raters {
            n: raters.len(),
            krippendorff_alpha: alpha.filter(|_| alpha_note.is_none()),
            alpha_note,
            gold_accuracy: per_rater.iter().map(|(r, s)| (r.clone(), s.gold_accuracy)).collect(),
            per_rater,
        },
        notes,
    })
}

/// `NAME=RUN_DIR,...` → (name, results).
pub fn parse_runs(spec: &str) -> Result<Vec<(String, PathBuf)>> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let Some((name, dir)) = part.split_once('=') else {
            return Err(Error::Config(format!("--runs: {part:?} is not NAME=RUN_DIR")));
        };
        if name.is_empty() || name.starts_with("gold:") || out.iter().any(|(n, _)| n == name) {
            return Err(Error::Config(format!("--runs: the name {name:?} is empty, reserved or given twice")));
        }
        // One run under two names: every judgment between them compares a run with itself.
        if let Some((other, _)) = out.iter().find(|(_, d)| crate::store::same_file(d, Path::new(dir))) {
            return Err(Error::Config(format!("--runs: {name} and {other} are the same run folder {dir}")));
        }
        out.push((name.to_string(), PathBuf::from(dir)));
    }
    if out.len() < 2 {
        return Err(Error::Config("--runs needs at least two NAME=RUN_DIR".into()));
    }
    Ok(out)
}

pub fn agreement_command(runs: &str, judgments: &Path, out: Option<&Path>, json: bool) -> Result<ExitCode> {
    let runs = parse_runs(runs)?;
    let loaded: Vec<(String, Results)> =
        runs.iter().map(|(n, d)| crate::store::read_results(d).map(|r| (n.clone(), r))).collect::<Result<_>>()?;
    let js = read_judgments(judgments)?;
    // Nothing to measure agreement on is not a result (it exited 0, saying "one rater").
    if js.is_empty() {
        return Err(Error::BadFile {
            path: judgments.to_path_buf(),
            message: "holds no judgments: rate some pairs first (`videval rate`)".into(),
        });
    }
    let a = compute(&loaded, &js)?;
    let html_path = out.map_or_else(|| judgments.with_extension("agreement.html"), Path::to_path_buf);
    if crate::store::same_file(&html_path, judgments) {
        return Err(Error::Config(format!("--out {}: that is the judgments file; name another", html_path.display())));
    }
    // Nor a file that is not a page (a run's plan.json or scores were replaced with HTML).
    let page = html_path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    if html_path.exists() && !page {
        return Err(Error::Config(format!(
            "--out {}: exists and is not an HTML page; name a .html file",
            html_path.display()
        )));
    }
    // Nor any input: a run's results, or the database's journal files.
    let db = judgments.display().to_string();
    let inputs = runs
        .iter()
        .map(|(_, d)| d.join("results.json"))
        .chain(["-wal", "-shm", "-journal"].map(|s| PathBuf::from(format!("{db}{s}"))));
    for input in inputs {
        if crate::store::same_file(&html_path, &input) {
            return Err(Error::Config(format!(
                "--out {}: that is {}, an input; name another",
                html_path.display(),
                input.display()
            )));
        }
    }
    let html = videval_reports::agreement::render(&serde_json::to_value(&a).unwrap_or_default())
        .map_err(|e| Error::Internal(e.to_string()))?;
    write_atomic(&html_path, html.as_bytes())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&a).map_err(|e| Error::Internal(e.to_string()))?);
    } else {
        // Gold pairs counted apart, as the page counts them (the terminal counted them in).
        let gold =
            if a.gold_judgments > 0 { format!(", and {} on gold pairs", a.gold_judgments) } else { String::new() };
        println!(
            "{} judgments on {} pairs; {} rater(s){gold}",
            a.judgments.saturating_sub(a.gold_judgments),
            a.pairs,
            a.raters.n
        );
        for m in &a.metrics {
            let show = |v: Option<f64>| v.map_or("—".to_string(), videval_reports::format::metric);
            println!(
                "{:<12} {:<28} agreement {} {}  τ-b {}  ({} pair(s), {} case(s){})",
                m.suite,
                m.metric,
                show(m.agreement),
                m.ci.map_or(format!("({})", m.ci_method), |[l, h]| format!("[{}, {}]", show(Some(l)), show(Some(h)))),
                show(m.kendall_tau_b),
                m.pairs,
                m.cases,
                if m.clusters == m.cases { String::new() } else { format!(" in {} cluster(s)", m.clusters) }
            );
        }
        // What the page and --json say besides the table: raters, gold pairs, run strengths, notes.
        let alpha = a
            .raters
            .krippendorff_alpha
            .map_or_else(|| a.raters.alpha_note.clone().unwrap_or_default(), |x| videval_reports::format::metric(x));
        println!("raters: Krippendorff's α {alpha}");
        for (rater, accuracy) in a.raters.gold_accuracy.iter().filter_map(|(r, g)| g.map(|g| (r, g))) {
            println!(
                "gold accuracy of {}: {}",
                crate::error::printable(rater),
                videval_reports::format::metric(accuracy)
            );
        }
        for r in &a.runs {
            let show = |v: f64| videval_reports::format::metric(v);
            println!(
                "run {}: strength {}{}",
                crate::error::printable(&r.run),
                r.strength.map_or("—".to_string(), show),
                match (r.ci, &r.note) {
                    (Some([l, h]), _) => format!(" [{}, {}]", show(l), show(h)),
                    (None, Some(n)) => format!(" ({n})"),
                    (None, None) => String::new(),
                }
            );
        }
        for n in &a.notes {
            println!("note: {}", crate::error::printable(n));
        }
        println!("report: {}", html_path.display());
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run strengths: a run no judgment compares has none, and the others keep theirs (all were
    /// n/a, "some run never lost"); resamples with no spread (every judgment a tie) give no
    /// interval rather than [0, 0].
    #[test]
    fn strengths_of_uncompared_runs_and_all_ties_are_honest() {
        let j = |case: usize, choice: Choice| Judgment {
            rater: "ann".into(),
            suite: "s".into(),
            case_id: format!("c{case}"),
            seed_idx: 0,
            left: "a".into(),
            right: "b".into(),
            choice,
            shown: None,
        };
        let runs: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let by_case = |j: &Judgment| j.case_id.clone();
        let mixed: Vec<Judgment> = (0..12).map(|k| j(k, [Choice::Left, Choice::Right, Choice::Tie][k % 3])).collect();
        let s = strengths(&runs, &mixed.iter().collect::<Vec<_>>(), &by_case);
        assert!(s[0].strength.is_some() && s[1].strength.is_some(), "{s:?}");
        assert_eq!(
            (s[2].strength, s[2].note.as_deref()),
            (None, Some("n/a: no judgment compares this run with another"))
        );
        let ties: Vec<Judgment> = (0..12).map(|k| j(k, Choice::Tie)).collect();
        let s = strengths(&runs[..2], &ties.iter().collect::<Vec<_>>(), &by_case);
        assert!(s.iter().all(|r| r.strength == Some(0.0) && r.ci.is_none()), "{s:?}");
        assert_eq!(s[0].note.as_deref(), Some("n/a: the resamples of clusters have no spread"));
    }

    /// A judgments path that names a device or a FIFO is refused before reading (`/dev/zero`
    /// grew to 5 GB in 5 s; a FIFO waited forever).
    #[test]
    fn judgments_are_read_only_from_regular_files() {
        let e = read_judgments(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("/dev/zero") && e.contains("not a regular file"), "{e}");
        let dir = std::env::temp_dir().join(format!("vv-judg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("j.csv");
        if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
            let e = read_judgments(&fifo).unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{e}");
        }
        let e = read_judgments(&dir).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// CSV records as Python's `csv` module writes them: a quoted cell may hold commas, doubled
    /// quotes and line breaks (a prompt with a newline was refused as an unterminated quote),
    /// and keeps its spaces; CRLF and blank lines are fine; each record says its first line.
    #[test]
    fn csv_records_span_lines_inside_quotes() {
        let all = |t: &str| csv_records(t).collect::<std::result::Result<Vec<_>, _>>();
        let text = "file,case_id,prompt\r\n\r\n\" clip .mp4\",a,\"line one\nline \"\"two\"\", end\"\r\nb.mp4 , b ,x\n";
        let records = all(text).unwrap();
        let cells = |r: &Vec<CsvCell>| r.iter().map(|c| c.text.clone()).collect::<Vec<_>>();
        assert_eq!(records.len(), 3);
        assert_eq!(
            (records[1].0, cells(&records[1].1)),
            (3, vec![" clip .mp4".into(), "a".into(), "line one\nline \"two\", end".into()])
        );
        assert!(records[1].1[0].quoted && !records[2].1[0].quoted);
        assert_eq!((records[2].0, cells(&records[2].1)), (5, vec!["b.mp4 ".into(), " b ".into(), "x".into()]));
        assert_eq!(all("a,\"b\nc").unwrap_err(), (1, "a quote that is never closed".into()));
        let lenient = all("file,case_id\r\"v1.mp4\", \"c1\"\rv2.mp4,c2").unwrap();
        assert_eq!(
            lenient.iter().map(|(n, r)| (*n, cells(r))).collect::<Vec<_>>(),
            [
                (1, vec!["file".to_string(), "case_id".into()]),
                (2, vec!["v1.mp4".into(), "c1".into()]),
                (3, vec!["v2.mp4".into(), "c2".into()])
            ]
        );
        assert_eq!(all("a,b\"c").unwrap_err().0, 1);
        assert_eq!(all("a\n\"b\"x").unwrap_err(), (2, "text after a quoted cell's closing quote".into()));
        // A record of more cells than any file here has (a file of commas) ends the reading.
        let wide = format!("a,b\n{}\nc,d\n", ",".repeat(5000));
        let mut r = csv_records(&wide);
        assert!(r.next().unwrap().is_ok());
        assert_eq!(r.next().unwrap().unwrap_err(), (2, format!("more than {MAX_CSV_CELLS} cells in one record")));
        assert!(r.next().is_none());
    }

    #[test]
    fn csv_judgments_parse_with_quotes_and_errors_name_the_line() {
        let p = Path::new("j.csv");
        let text = format!("{CSV_HEADER}\nann,s,\"a,b\",0,x,y,left\nbob,s,c,1,y,x,both_bad\n");
        let js = read_csv(p, &text).unwrap();
        assert_eq!(js.len(), 2);
        assert_eq!(js[0].case_id, "a,b");
        assert_eq!(js[1].choice, Choice::BothBad);
        let e = read_csv(p, &format!("{CSV_HEADER}\nann,s,c,0,x,y,maybe\n")).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("maybe"), "{e}");
        let e = read_csv(p, "rater,suite\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("header"), "{e}");
        let e = read_csv(p, &format!("{CSV_HEADER}\nann,s,c,x,x,y,left\n")).unwrap_err().to_string();
        assert!(e.contains("seed_idx"), "{e}");
        // A whole number too large is said to be one out of range (it read "not a whole number").
        let e = read_csv(p, &format!("{CSV_HEADER}\nann,s,c,99999999999,x,y,left\n")).unwrap_err().to_string();
        assert!(e.contains("not a whole number from 0 to 4294967295"), "{e}");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    /// Two runs over `cases` cases (two seeds each) with one higher-is-better metric whose values
    /// are drawn at random; judgments by `raters` made by `choose(metric prefers a?, rng)`.
    fn simulate(
        cases: usize,
        raters: &[&str],
        choose: &dyn Fn(bool, &mut ChaCha8Rng) -> Choice,
    ) -> (Vec<(String, Results)>, Vec<Judgment>) {
        use videval_reports::results::{MetricResult, Sample, SuiteResults};
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let metric = MetricResult {
            point_estimate: 0.0,
            standard_error: None,
            confidence_interval: None,
            interval_note: None,
            method: "none".into(),
            unit: "case".into(),
            n_clusters: 0,
            n_samples: 0,
            n_cases: None,
            n_boot: 0,
            rng_seed: 0,
            metric_version: 1,
            direction: "higher_is_better".into(),
            description: String::new(),
        };
        let suite = SuiteResults {
            version: 1,
            content_hash: "h".into(),
            inputs: Default::default(),
            n: Default::default(),
            metrics: [("m".to_string(), metric)].into(),
            capabilities: Default::default(),
            capability_tags: Default::default(),
            unmeasured_capabilities: Default::default(),
            unmeasured: Default::default(),
        };
        let mut runs: Vec<(String, Results)> = ["a", "b"]
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    Results {
                        schema: videval_reports::results::RESULTS_SCHEMA.into(),
                        plan_hash: "p".into(),
                        model: serde_json::json!({"name": n}),
                        complete: true,
                        missing_units: vec![],
                        throughput: None,
                        vbench: None,
                        suites: [("s".to_string(), suite.clone())].into(),
                        samples: vec![],
                    },
                )
            })
            .collect();
        let mut judgments = Vec::new();
        for c in 0..cases {
            for seed_idx in 0..2u32 {
                let (va, vb): (f64, f64) = (rng.random(), rng.random());
                for (k, v) in [va, vb].iter().enumerate() {
                    runs[k].1.samples.push(Sample {
                        suite: "s".into(),
                        case_id: format!("c{c}"),
                        seed_idx,
                        seed: 0,
                        cluster: format!("c{c}"),
                        prompt: "p".into(),
                        status: "ok".into(),
                        video_sha256: None,
                        error: None,
                        off_request: None,
                        metrics: [("m".to_string(), *v)].into(),
                        metric_errors: Default::default(),
                        failed_metrics: Default::default(),
                        details: Default::default(),
                    });
                }
                for r in raters {
                    let flip = rng.random::<bool>();
                    let mut choice = choose(va > vb, &mut rng);
                    // Shown either way round: the answer is about the screen sides.
                    let (left, right) = if flip { ("b", "a") } else { ("a", "b") };
                    if flip {
                        choice = match choice {
                            Choice::Left => Choice::Right,
                            Choice::Right => Choice::Left,
                            other => other,
                        };
                    }
                    judgments.push(Judgment {
                        rater: r.to_string(),
                        suite: "s".into(),
                        case_id: format!("c{c}"),
                        seed_idx,
                        left: left.into(),
                        right: right.into(),
                        choice,
                        shown: None,
                    });
                }
            }
        }
        (runs, judgments)
    }

    /// α and τ-b do not depend on the runs' names: with three runs, renaming one flipped which
    /// run of some pairs came first (α −0.19 → +0.34, τ-b −0.08 → +0.51, same judgments).
    #[test]
    fn rater_and_rank_statistics_do_not_depend_on_the_runs_names() {
        let noisy = |a_better: bool, rng: &mut ChaCha8Rng| {
            let agree = rng.random::<f64>() < 0.75;
            if a_better == agree { Choice::Left } else { Choice::Right }
        };
        let (mut runs, js) = simulate(30, &["ann", "bob", "cy"], &noisy);
        // A third run c, judged against b as a was (its values a's, halved).
        let mut c = runs[0].clone();
        c.0 = "c".into();
        for s in &mut c.1.samples {
            s.metrics.values_mut().for_each(|v| *v *= 0.5);
        }
        runs.push(c);
        let mut all = js.clone();
        all.extend(js.iter().map(|j| {
            let swap = |r: &str| if r == "a" { "c".to_string() } else { r.to_string() };
            Judgment { left: swap(&j.left), right: swap(&j.right), ..j.clone() }
        }));
        let renamed = |from: &str, to: &str| {
            let name = |r: &str| if r == from { to.to_string() } else { r.to_string() };
            let runs: Vec<(String, Results)> = runs.iter().map(|(n, r)| (name(n), r.clone())).collect();
            let js: Vec<Judgment> =
                all.iter().map(|j| Judgment { left: name(&j.left), right: name(&j.right), ..j.clone() }).collect();
            compute(&runs, &js).unwrap()
        };
        let (before, after) = (compute(&runs, &all).unwrap(), renamed("b", "d"));
        assert!(before.raters.krippendorff_alpha.is_some());
        assert_eq!(before.raters.krippendorff_alpha, after.raters.krippendorff_alpha);
        assert!(before.metrics[0].kendall_tau_b.is_some());
        assert_eq!(before.metrics[0].kendall_tau_b, after.metrics[0].kendall_tau_b);
        assert_eq!(before.metrics[0].agreement, after.metrics[0].agreement);
    }

    #[test]
    fn raters_who_always_agree_with_the_metric_give_agreement_one_and_random_raters_about_a_half() {
        // "Left" below means run a (before the screen flip in `simulate`).
        let agree = |a_better: bool, _: &mut ChaCha8Rng| if a_better { Choice::Left } else { Choice::Right };
        let (runs, js) = simulate(40, &["ann", "bob"], &agree);
        let a = compute(&runs, &js).unwrap();
        let m = &a.metrics[0];
        assert_eq!((m.metric.as_str(), m.pairs, m.cases), ("m", 80, 40));
        assert_eq!(m.agreement, Some(1.0));
        let [lo, hi] = m.ci.unwrap();
        assert!(lo > 0.9 && hi == 1.0, "{:?} ({})", m.ci, m.ci_method);
        assert_eq!(m.kendall_tau_b, Some(1.0));
        assert_eq!(a.raters.krippendorff_alpha, Some(1.0), "two raters who always agree");
        // Run strengths: every comparison won by the better-valued run, both runs win some.
        assert!(a.runs.iter().all(|r| r.strength.is_some()), "{:?}", a.runs);

        let random = |_: bool, rng: &mut ChaCha8Rng| if rng.random::<bool>() { Choice::Left } else { Choice::Right };
        let (runs, js) = simulate(200, &["ann"], &random);
        let a = compute(&runs, &js).unwrap();
        let m = &a.metrics[0];
        let [lo, hi] = m.ci.unwrap();
        assert!(lo < 0.5 && 0.5 < hi && (m.agreement.unwrap() - 0.5).abs() < 0.08, "{m:?}");
        assert!(m.kendall_tau_b.unwrap().abs() < 0.15, "{m:?}");
        assert!(a.raters.krippendorff_alpha.is_none() && a.raters.alpha_note.as_deref().unwrap().contains("one rater"));
    }

    /// A metric whose direction the runs disagree on is left out, whatever the runs are named
    /// (it was read from the first name: a=x,b=y gave 1, swapped 0); values at the ends of f64
    /// are compared, not subtracted into infinity; α rests on enough shared pairs.
    #[test]
    fn directions_must_agree_extreme_values_compare_and_alpha_needs_shared_pairs() {
        let agree = |a_better: bool, _: &mut ChaCha8Rng| if a_better { Choice::Left } else { Choice::Right };
        let (mut runs, js) = simulate(8, &["ann", "bob"], &agree);
        let a = compute(&runs, &js).unwrap();
        assert_eq!(a.metrics[0].agreement, Some(1.0));
        assert!(a.raters.alpha_note.as_deref().is_some_and(|n| n.contains("only 16 pair(s)")), "{:?}", a.raters);
        for s in &mut runs[0].1.samples {
            let v = s.metrics["m"];
            s.metrics.insert("m".into(), if v > 0.5 { f64::MAX } else { -f64::MAX });
        }
        for s in &mut runs[1].1.samples {
            s.metrics.insert("m".into(), 0.0);
        }
        let a = compute(&runs, &js).unwrap();
        assert_eq!(a.metrics.len(), 1, "extreme values are compared");
        runs[1].1.suites.get_mut("s").unwrap().metrics.get_mut("m").unwrap().direction = "lower_is_better".into();
        let a = compute(&runs, &js).unwrap();
        assert!(a.metrics.is_empty(), "{:?}", a.metrics);
        assert!(
            a.notes.iter().any(|n| n.contains("s/m is left out") && n.contains("lower_is_better")),
            "{:?}",
            a.notes
        );
        runs.reverse();
        assert!(compute(&runs, &js).unwrap().metrics.is_empty());
    }

    /// The CSV `rate --export` writes names the videos shown; old-Mac line ends parse; a name
    /// holding a line break, or a run judged against itself, is refused.
    #[test]
    fn csv_forms_with_videos_shown_and_bad_names() {
        let p = Path::new("j.csv");
        let sha = "a".repeat(64);
        let js =
            read_csv(p, &format!("{CSV_HEADER_SHOWN}\r\nann,s,c,0,x,y,left,{sha},{}\r\n", "B".repeat(64))).unwrap();
        assert_eq!(js[0].shown, Some([sha.clone(), "B".repeat(64)]));
        let js = read_csv(p, &format!("{CSV_HEADER}\rann,s,c,0,x,y,left\r")).unwrap();
        assert_eq!((js.len(), js[0].shown.clone()), (1, None));
        let e = read_csv(p, &format!("{CSV_HEADER_SHOWN}\nann,s,c,0,x,y,left,,{sha}\n")).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("two sums"), "{e}");
        let e = read_csv(p, &format!("{CSV_HEADER}\n\"an\nn\",s,c,0,x,y,left\n")).unwrap_err().to_string();
        assert!(e.contains("control character"), "{e}");
        let e = read_csv(p, &format!("{CSV_HEADER}\nann,s,c,0,x,x,left\n")).unwrap_err().to_string();
        assert!(e.contains("the same run"), "{e}");
        let long = "h".repeat(100_000);
        let e = read_csv(p, &format!("{long}\n")).unwrap_err().to_string();
        assert!(e.len() < 1000, "{} bytes", e.len());
    }

    #[test]
    fn judgments_naming_an_unknown_run_are_refused_and_gold_pairs_score_raters() {
        let agree = |a_better: bool, _: &mut ChaCha8Rng| if a_better { Choice::Left } else { Choice::Right };
        let (runs, mut js) = simulate(5, &["ann"], &agree);
        js.push(Judgment {
            rater: "ann".into(),
            suite: "s".into(),
            case_id: "c0".into(),
            seed_idx: 0,
            left: GOLD_DEGRADED.into(),
            right: GOLD_ORACLE.into(),
            choice: Choice::Right,
            shown: None,
        });
        js.push(Judgment { choice: Choice::Left, case_id: "c1".into(), ..js.last().unwrap().clone() });
        let a = compute(&runs, &js).unwrap();
        assert_eq!(a.raters.gold_accuracy["ann"], Some(0.5));
        assert_eq!(a.metrics[0].pairs, 10, "gold pairs are not metric pairs");
        js.push(Judgment { left: "c".into(), ..js[0].clone() });
        let e = compute(&runs, &js).unwrap_err().to_string();
        assert!(e.contains("\"c\"") && e.contains("not given (runs: a, b)"), "{e}");
    }

    /// A CSV may repeat a rater's judgment of a pair: the last one counts, everywhere (metric
    /// agreement, strengths, raters), as in the rating app's database. Judgments on samples the
    /// runs do not have, or gold pairs with other names, are refused rather than dropped.
    #[test]
    fn repeated_judgments_count_once_the_last_and_unknown_samples_are_refused() {
        let agree = |a_better: bool, _: &mut ChaCha8Rng| if a_better { Choice::Left } else { Choice::Right };
        let (runs, js) = simulate(6, &["ann", "bob"], &agree);
        let once = compute(&runs, &js).unwrap();
        assert_eq!(once.metrics[0].agreement, Some(1.0));
        let twice: Vec<Judgment> = js.iter().chain(&js).cloned().collect();
        let a = compute(&runs, &twice).unwrap();
        assert_eq!((&a.metrics, &a.runs, &a.raters, a.judgments), (&once.metrics, &once.runs, &once.raters, js.len()));
        assert!(a.notes.iter().any(|n| n.starts_with(&format!("{} repeated judgment", js.len()))), "{:?}", a.notes);
        let flip = |c: Choice| if c == Choice::Left { Choice::Right } else { Choice::Left };
        let changed: Vec<Judgment> =
            js.iter().cloned().chain(js.iter().map(|j| Judgment { choice: flip(j.choice), ..j.clone() })).collect();
        assert_eq!(compute(&runs, &changed).unwrap().metrics[0].agreement, Some(0.0), "the last judgment counts");

        let unknown = vec![Judgment { case_id: "no-such-case".into(), ..js[0].clone() }];
        let e = compute(&runs, &unknown).unwrap_err().to_string();
        assert!(e.contains("no-such-case") && e.contains("has no such sample"), "{e}");
        let gold = vec![Judgment { left: "gold:oracl".into(), right: GOLD_DEGRADED.into(), ..js[0].clone() }];
        let e = compute(&runs, &gold).unwrap_err().to_string();
        assert!(e.contains("\"gold:oracl\"") && e.contains("a gold pair is"), "{e}");
    }

    /// Intervals resample the suite's clusters, not its cases: 12 cases in 3 declared clusters
    /// have no bootstrap interval (one over "12 cases" was as narrow as independent cases give).
    /// Judgments of other videos than the runs' (the database records the videos shown) are
    /// refused.
    #[test]
    fn intervals_resample_the_suites_clusters_and_judgments_of_other_videos_are_refused() {
        let agree = |a_better: bool, _: &mut ChaCha8Rng| if a_better { Choice::Left } else { Choice::Right };
        let (mut runs, js) = simulate(12, &["ann"], &agree);
        let by_case = compute(&runs, &js).unwrap();
        assert_eq!((by_case.metrics[0].cases, by_case.metrics[0].clusters), (12, 12));
        assert!(by_case.metrics[0].ci.unwrap()[0] > 0.7, "12 trials: {:?}", by_case.metrics[0].ci);
        for (_, r) in &mut runs {
            for s in &mut r.samples {
                let c: usize = s.case_id[1..].parse().unwrap();
                s.cluster = format!("g{}", c % 3);
                s.video_sha256 = Some(format!("sha256:{}{}", s.case_id, s.seed_idx));
            }
        }
        let clustered = compute(&runs, &js).unwrap();
        let m = &clustered.metrics[0];
        assert_eq!((m.cases, m.clusters, m.agreement), (12, 3, Some(1.0)));
        assert_eq!(m.ci_method, "exact (Clopper–Pearson) over 3 clusters");
        assert!(m.ci.unwrap()[0] < 0.3, "3 trials, not 12: {:?}", m.ci);
        assert!(clustered.runs.iter().all(|r| r.ci.is_none()), "{:?}", clustered.runs);
        // The videos shown, as the database records them: the runs' are accepted …
        let shown = |j: &Judgment, other: bool| {
            let sha = |run: &str| {
                let s = runs.iter().find(|(n, _)| n == run).unwrap().1.samples.iter();
                let mut s = s.filter(|s| s.case_id == j.case_id && s.seed_idx == j.seed_idx);
                s.next().unwrap().video_sha256.clone().unwrap()
            };
            let left = if other { "sha256:0000".to_string() } else { sha(&j.left) };
            Judgment { shown: Some([left, sha(&j.right)]), ..j.clone() }
        };
        let same: Vec<Judgment> = js.iter().map(|j| shown(j, false)).collect();
        assert_eq!(compute(&runs, &same).unwrap().metrics, clustered.metrics);
        // … a judgment of another video (rated before a rerun; the database keeps both) is left
        // out, said in a note …
        let mut other = same.clone();
        other[3] = shown(&js[3], true);
        let a = compute(&runs, &other).unwrap();
        assert_eq!(a.judgments, js.len() - 1);
        assert!(a.notes.iter().any(|n| n.starts_with("1 judgment(s) of other videos")), "{:?}", a.notes);
        // … and judgments of none of the runs' videos are the wrong run folders.
        let none: Vec<Judgment> = js.iter().map(|j| shown(j, true)).collect();
        let e = compute(&runs, &none).unwrap_err().to_string();
        assert!(
            e.contains("was of the video sha256:0000") && e.contains("give the run folders that were rated"),
            "{e}"
        );
    }

    /// Bradley–Terry intervals: resamples without finite strengths count as unbounded (dropped,
    /// they left a finite interval where 4% of resamples had no upper bound); runs in groups no
    /// judgment links are said to be that, not "never lost".
    #[test]
    fn strength_intervals_count_unbounded_resamples_and_disconnected_runs_are_named() {
        let j = |case: usize, left: &str, right: &str, choice: Choice| Judgment {
            rater: "ann".into(),
            suite: "s".into(),
            case_id: format!("c{case}"),
            seed_idx: 0,
            left: left.into(),
            right: right.into(),
            choice,
            shown: None,
        };
        let by_case = |j: &Judgment| j.case_id.clone();
        let runs: Vec<String> = ["a", "b"].map(String::from).to_vec();
        // a loses 3 cases of 40: a resample of 40 cases misses all three with probability
        // (37/40)^40 ≈ 4.4% > 2.5%.
        let js: Vec<Judgment> =
            (0..40).map(|c| j(c, "a", "b", if c < 3 { Choice::Right } else { Choice::Left })).collect();
        let s = strengths(&runs, &js.iter().collect::<Vec<_>>(), &by_case);
        assert!(s[0].strength.is_some() && s[0].ci.is_none(), "{s:?}");
        assert!(s[0].note.as_deref().unwrap().contains("the interval is unbounded"), "{s:?}");
        // Losing 12 of 40: no resample fails, an interval.
        let js: Vec<Judgment> =
            (0..40).map(|c| j(c, "a", "b", if c < 12 { Choice::Right } else { Choice::Left })).collect();
        let s = strengths(&runs, &js.iter().collect::<Vec<_>>(), &by_case);
        assert!(s[0].ci.is_some(), "{s:?}");
        // Twelve runs in a cycle, one judgment each: almost no resample has every run both
        // winning and losing, so no interval, said (it gave none and said nothing).
        let cycle: Vec<String> = (0..12).map(|i| format!("r{i:02}")).collect();
        let js: Vec<Judgment> = (0..12).map(|c| j(c, &cycle[c], &cycle[(c + 1) % 12], Choice::Left)).collect();
        let s = strengths(&cycle, &js.iter().collect::<Vec<_>>(), &by_case);
        assert!(s.iter().all(|r| r.strength.is_some() && r.ci.is_none()), "{s:?}");
        assert!(s.iter().all(|r| r.note.as_deref().is_some_and(|n| n.contains("unbounded"))), "{s:?}");
        // a–b and c–d, each pair splitting its games: no common scale.
        let runs: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let js: Vec<Judgment> = (0..8)
            .map(|c| {
                let (l, r) = if c < 4 { ("a", "b") } else { ("c", "d") };
                j(c, l, r, if c % 2 == 0 { Choice::Left } else { Choice::Right })
            })
            .collect();
        let s = strengths(&runs, &js.iter().collect::<Vec<_>>(), &by_case);
        assert!(s.iter().all(|r| r.strength.is_none()), "{s:?}");
        assert!(s[0].note.as_deref().unwrap().contains("no judgment compares with each other"), "{s:?}");
    }

    #[test]
    fn the_majority_is_the_most_frequent_vote_and_a_shared_maximum_is_a_tie() {
        assert_eq!(majority(&[1, 1, -1]), 1);
        assert_eq!(majority(&[1, -1]), 0);
        assert_eq!(majority(&[1, 0]), 0);
        assert_eq!(majority(&[-1, -1, 0]), -1);
        assert_eq!(majority(&[]), 0);
    }
}
