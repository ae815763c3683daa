//! Loading a suite: read → parse → resolve `include:` (deep merge, cycles refused) → decode →
//! expand `matrix:` (MiniJinja) → apply defaults → validate. Every problem found is reported,
//! each with file, line, column and field path; loading never stops at the first one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use minijinja::Environment;
use videval_metrics::registry;

use super::expect::parse_ratio;
use super::schema::{
    Case, Generation, Input, Media, Mode, RawCase, RawGeneration, RawSeeds, RawSuite, SCHEMA_VERSIONS, Seeds, Suite,
};
use crate::yaml::{self, Entry, Loc, Node, Value, YamlError};

/// Where suite files are read from.
pub trait Source {
    fn read(&self, name: &str) -> std::io::Result<String>;

    /// [`Source::read`] for a file named by an `include:`: the suite's author chose the file to
    /// load, but what an include names must be a file (a FIFO there blocked the load for ever).
    fn read_included(&self, name: &str) -> std::io::Result<String> {
        self.read(name)
    }

    /// Whether file `name` lies inside `folder`'s tree (where `include:` may reach by default).
    fn within(&self, _folder: &str, _name: &str) -> bool {
        true
    }
}

/// Files on disk; names are paths as the user gave them.
#[derive(Debug, Clone, Copy)]
pub struct Disk;

impl Source for Disk {
    fn read(&self, name: &str) -> std::io::Result<String> {
        yaml::read_text(Path::new(name))
    }

    fn read_included(&self, name: &str) -> std::io::Result<String> {
        match std::fs::metadata(name) {
            Ok(m) if !m.is_file() => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a folder, a FIFO or a device where a suite file belongs)",
            )),
            _ => self.read(name),
        }
    }

    /// Compares real paths (links followed). A file that does not exist is let through: reading
    /// it fails with its own error.
    fn within(&self, folder: &str, name: &str) -> bool {
        let folder = if folder.is_empty() { "." } else { folder };
        match (Path::new(folder).canonicalize(), Path::new(name).canonicalize()) {
            (Ok(f), Ok(n)) => n.starts_with(f),
            _ => true,
        }
    }
}

/// Bounds on what one suite may ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Cases after `matrix:` expansion (`--max-cases`); products are checked before expanding.
    pub max_cases: usize,
    /// Units (cases × their seeds) a suite may plan (`--max-units`): 10,000 cases of 1,000 seeds
    /// each planned 10 million units, minutes and gigabytes before any work.
    pub max_units: usize,
    /// Whether `include:` may read files outside the folder tree of the suite file loaded
    /// (`--allow-include-outside`).
    pub include_outside: bool,
}

/// The default cap on a suite's cases after expansion.
pub const MAX_CASES: usize = 10_000;

/// The longest prompt, in bytes (under Linux's 128 KiB for one program argument).
pub const MAX_PROMPT_BYTES: usize = 100_000;

/// The default cap on a suite's units (cases × seeds per case).
pub const MAX_UNITS: usize = 1_000_000;

impl Default for Limits {
    fn default() -> Self {
        Self { max_cases: MAX_CASES, max_units: MAX_UNITS, include_outside: false }
    }
}

/// All problems found while loading one suite.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub errors: Vec<YamlError>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl From<YamlError> for LoadError {
    fn from(e: YamlError) -> Self {
        Self { errors: vec![e] }
    }
}

/// Loads and resolves the suite in file `name` of `source` within the default [`Limits`].
pub fn load(source: &dyn Source, name: &str) -> Result<Suite, LoadError> {
    load_with(source, name, &Limits::default())
}

/// Loads and resolves the suite in file `name` of `source`.
pub fn load_with(source: &dyn Source, name: &str, limits: &Limits) -> Result<Suite, LoadError> {
    let folder = Path::new(name).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let includes =
        Includes { source, folder: (!limits.include_outside).then_some(folder.as_str()), done: Default::default() };
    let root = merged(&includes, name, &mut Vec::new(), None)?;
    resolve(&root, limits)
}

/// Where includes are read from, and the folder they must stay inside (None: anywhere); each
/// file's merged document once read (a file included from many places — `a` includes `b` twice,
/// `b` includes `c` twice, … — was read and merged once per path to it: 2⁴⁰ times for 40 files).
struct Includes<'a> {
    source: &'a dyn Source,
    folder: Option<&'a str>,
    done: std::cell::RefCell<std::collections::HashMap<String, Node>>,
}

/// How deep includes may nest (a chain of thousands overflowed the stack).
pub const MAX_INCLUDE_DEPTH: usize = 64;

/// Joins `rel` onto the directory of `file` ("suites/a.yaml" + "_b.yaml" → "suites/_b.yaml"),
/// collapsing `.`, and `..` after a folder — but not after a link to a folder, whose `..` is the
/// parent of where it points, as the system reads it (a suite reached through `sl → real/deep/
/// suites` naming `../media/x.png` means `real/deep/media/x.png`; collapsed, `media/x.png`
/// beside the link was read instead).
pub fn sibling(file: &str, rel: &str) -> String {
    let base = Path::new(file).parent().unwrap_or(Path::new(""));
    let joined = if Path::new(rel).is_absolute() { PathBuf::from(rel) } else { base.join(rel) };
    let mut out: Vec<Component> = Vec::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.last(), Some(Component::Normal(_)))
                    && !std::fs::symlink_metadata(out.iter().collect::<PathBuf>())
                        .is_ok_and(|m| m.file_type().is_symlink()) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.iter().collect::<PathBuf>().to_string_lossy().into_owned()
}

/// Reads `name`, resolves its includes and returns the merged document.
fn merged(
    includes: &Includes,
    name: &str,
    stack: &mut Vec<String>,
    from: Option<(&Loc, &str)>,
) -> Result<Node, LoadError> {
    let read = if from.is_some() { includes.source.read_included(name) } else { includes.source.read(name) };
    let text = read.map_err(|e| match from {
        Some((loc, path)) => YamlError::at(loc, path, format!("cannot read included file \"{name}\": {e}")),
        None => YamlError { loc: None, path: String::new(), message: format!("{name}: cannot read: {e}") },
    })?;
    let node = yaml::parse(name, &text)?;
    let Value::Map(entries) = &node.value else {
        return Err(YamlError::at(
            &node.loc,
            "",
            format!("expected a mapping at the top of a suite file, found {}", node.kind()),
        )
        .into());
    };
    stack.push(name.to_string());
    let mut base: Option<Node> = None;
    let mut errors = Vec::new();
    if let Some(inc) = entries.iter().find(|e| e.key == "include") {
        let items: Vec<(usize, &Node)> = match &inc.value.value {
            Value::Seq(items) => items.iter().enumerate().collect(),
            Value::Str(_) => vec![(0, &inc.value)],
            _ => {
                stack.pop();
                return Err(YamlError::at(
                    &inc.value.loc,
                    "include",
                    format!("expected a list of file names, found {}", inc.value.kind()),
                )
                .into());
            }
        };
        for (i, item) in items {
            let path = format!("include[{i}]");
            let Some(rel) = item.as_str() else {
                errors.push(YamlError::at(&item.loc, path, format!("expected a file name, found {}", item.kind())));
                continue;
            };
            let target = sibling(name, rel);
            if let Some(folder) = includes.folder.filter(|f| !includes.source.within(f, &target)) {
                let folder = if folder.is_empty() { "." } else { folder };
                errors.push(YamlError::at(
                    &item.loc,
                    path,
                    format!(
                        "\"{rel}\" resolves outside the suite's folder \"{folder}\"; includes stay inside the \
                         folder tree of the suite file loaded unless --allow-include-outside is given"
                    ),
                ));
                continue;
            }
            if let Some(pos) = stack.iter().position(|s| *s == target) {
                let mut chain = stack[pos..].to_vec();
                chain.push(target.clone());
                errors.push(YamlError::at(&item.loc, path, format!("include cycle: {}", chain.join(" → "))));
                continue;
            }
            if stack.len() >= MAX_INCLUDE_DEPTH {
                errors.push(YamlError::at(
                    &item.loc,
                    path,
                    format!("includes nest deeper than {MAX_INCLUDE_DEPTH} files: {} → …", stack[0]),
                ));
                continue;
            }
            // Only what loaded is kept: an error names the include that met it, so each includer
            // of a broken file gets its own (the first one's location was repeated).
            let cached = includes.done.borrow().get(&target).cloned();
            let result = match cached {
                Some(node) => Ok(node),
                None => {
                    let r = merged(includes, &target, stack, Some((&item.loc, &path)));
                    if let Ok(node) = &r {
                        includes.done.borrow_mut().insert(target.clone(), node.clone());
                    }
                    r
                }
            };
            match result {
                Ok(included) => {
                    let cases = |n: &Node| match n.get("cases").map(|c| &c.value) {
                        Some(Value::Seq(items)) => items.len(),
                        _ => 0,
                    };
                    if let Some(b) = &base
                        && cases(b) > 0
                        && cases(&included) > 0
                    {
                        errors.push(YamlError::at(
                            &item.loc,
                            path,
                            format!(
                                "its {} case(s) would replace the {} of the files included before it (a list such as `cases` is replaced, not added to): give the cases in one file",
                                cases(&included),
                                cases(b)
                            ),
                        ));
                        continue;
                    }
                    base = Some(match base {
                        Some(b) => merge(b, included),
                        None => included,
                    })
                }
                Err(e) => errors.extend(e.errors),
            }
        }
    }
    stack.pop();
    if !errors.is_empty() {
        return Err(LoadError { errors });
    }
    let own = Node {
        value: Value::Map(entries.iter().filter(|e| e.key != "include").cloned().collect()),
        loc: node.loc.clone(),
    };
    // Lists are replaced, not added to: an included file's cases under this file's `cases:` were
    // dropped without a word (the suite linted as its own cases alone).
    if let (Some(b), Some(mine)) = (&base, entries.iter().find(|e| e.key == "cases")) {
        if let Some(Value::Seq(theirs)) = b.get("cases").map(|c| &c.value)
            && !theirs.is_empty()
        {
            return Err(YamlError::at(
                &mine.key_loc,
                "cases",
                format!(
                    "would replace the {} case(s) of the included file(s) (an include merges mappings; a list such as `cases` is replaced, not added to): give the cases in one file",
                    theirs.len()
                ),
            )
            .into());
        }
    }
    Ok(match base {
        Some(b) => merge(b, own),
        None => own,
    })
}

/// Keys that describe the same thing two ways: a mapping that gives one group replaces the other
/// group inherited from an include (a frame size is either width×height or aspect+resolution).
const EXCLUSIVE: &[(&[&str], &[&str])] = &[(&["width", "height"], &["aspect", "resolution"])];

/// What an inherited frame size still says where a mapping gives half of the other description
/// of it, as a case's own `generation` reads it: `aspect` alone keeps the inherited short side
/// (`resolution`), `resolution` alone its ratio (`aspect`), `width` or `height` alone the other
/// side from an inherited `aspect` and `resolution` (an included 854×480 under `aspect: "9:16"`
/// made 64×114 clips: the built-in 64 pixels, without a word).
fn implied_size(base: &[Entry], over: &[Entry]) -> Vec<Entry> {
    fn get<'a>(m: &'a [Entry], k: &str) -> Option<&'a Entry> {
        m.iter().find(|e| e.key == k)
    }
    let num = |m: &[Entry], k: &str| match get(m, k).map(|e| &e.value.value) {
        Some(Value::Int(v)) => u32::try_from(*v).ok(),
        Some(Value::UInt(v)) => u32::try_from(*v).ok(),
        _ => None,
    };
    let entry = |from: &Entry, key: &str, value: Value| Entry {
        key: key.into(),
        key_loc: from.key_loc.clone(),
        value: Node { value, loc: from.value.loc.clone() },
    };
    let has = |k: &str| get(over, k).is_some();
    let mut out = Vec::new();
    if (has("aspect") || has("resolution"))
        && let (Some(w), Some(h), Some(from)) = (num(base, "width"), num(base, "height"), get(base, "width"))
        && w > 0
        && h > 0
    {
        if !has("resolution") {
            out.push(entry(from, "resolution", Value::UInt(u64::from(w.min(h)))));
        }
        if !has("aspect") {
            out.push(entry(from, "aspect", Value::Str(format!("{w}:{h}"))));
        }
    }
    if has("width") != has("height")
        && let (Some(ratio), Some(short), Some(from)) = (
            get(base, "aspect").and_then(|e| match &e.value.value {
                Value::Str(s) => parse_ratio(s),
                _ => None,
            }),
            num(base, "resolution"),
            get(base, "aspect"),
        )
    {
        let (w, h) = size_at(ratio, short);
        out.push(if has("width") {
            entry(from, "height", Value::UInt(u64::from(h)))
        } else {
            entry(from, "width", Value::UInt(u64::from(w)))
        });
    }
    out
}

/// The frame size of an aspect ratio at a short side: the long side rounded to an even pixel
/// count (4:2:0 video needs one), or to the nearest where the short side is odd already (a 1:1
/// frame at 17 was 18×17, and its aspect expectation failed lint); unclamped.
fn size_at(ratio: f64, short: u32) -> (u32, u32) {
    let long = f64::from(short) * ratio.max(1.0 / ratio);
    let long = if short % 2 == 0 { ((long / 2.0).round() * 2.0).max(2.0) } else { long.round().max(1.0) };
    let long = long.min(f64::from(u32::MAX)) as u32;
    if ratio >= 1.0 { (long, short) } else { (short, long) }
}

/// Deep merge: mappings merge key by key (the overriding side wins); anything else is replaced.
pub fn merge(base: Node, over: Node) -> Node {
    match (base.value, over.value) {
        (Value::Map(mut b), Value::Map(mut o)) => {
            for (x, y) in EXCLUSIVE {
                for (given, dropped) in [(x, y), (y, x)] {
                    if o.iter().any(|e| given.contains(&e.key.as_str())) {
                        o.extend(implied_size(&b, &o));
                        b.retain(|e| !dropped.contains(&e.key.as_str()));
                    }
                }
            }
            for entry in o {
                match b.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => {
                        let old = std::mem::replace(
                            &mut existing.value,
                            Node { value: Value::Null, loc: entry.value.loc.clone() },
                        );
                        existing.value = merge(old, entry.value);
                        existing.key_loc = entry.key_loc;
                    }
                    None => b.push(entry),
                }
            }
            Node { value: Value::Map(b), loc: over.loc }
        }
        (_, value) => Node { value, loc: over.loc },
    }
}

fn without(node: &Node, keys: &[&str]) -> Node {
    let entries =
        node.entries().unwrap_or_default().iter().filter(|e| !keys.contains(&e.key.as_str())).cloned().collect();
    Node { value: Value::Map(entries), loc: node.loc.clone() }
}

/// The location of the value at `keys` under `node`, or the deepest existing ancestor's.
fn loc_at<'a>(node: &'a Node, keys: &[&str]) -> &'a Loc {
    let mut cur = node;
    for k in keys {
        match cur.get(k) {
            Some(n) => cur = n,
            None => break,
        }
    }
    &cur.loc
}

/// The location of the value at a field path like `events[0].contact[1]` under `node`, or the
/// deepest existing ancestor's.
fn loc_of_path<'a>(node: &'a Node, path: &str) -> &'a Loc {
    let mut cur = node;
    for part in path.split('.') {
        let (key, indices) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            match cur.get(key) {
                Some(n) => cur = n,
                None => return &cur.loc,
            }
        }
        for idx in indices.split('[').filter(|s| !s.is_empty()) {
            let i: Option<usize> = idx.trim_end_matches(']').parse().ok();
            match (&cur.value, i) {
                (Value::Seq(items), Some(i)) if i < items.len() => cur = &items[i],
                _ => return &cur.loc,
            }
        }
    }
    &cur.loc
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_case_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// An unknown field's error names the fields the loader takes before decoding too (`include`,
/// `cases`; a case's `expect`, `matrix`): "case:" was told to use one of a list without `cases`.
/// Only for a field of the mapping itself (`at` is its path, "" at the top): a nested mapping's
/// unknown field (`defaults.generation.frame`) was offered `include` and `cases` too.
fn also_expected(mut e: YamlError, at: &str, taken: &[&str]) -> YamlError {
    let own = match e.path.strip_prefix(at) {
        Some(rest) => {
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            !rest.contains(['.', '['])
        }
        None => false,
    };
    if own && e.message.starts_with("unknown field") && e.message.contains(", expected one of ") {
        let listed: Vec<String> = taken.iter().map(|t| format!("`{t}`")).collect();
        e.message = format!("{}, {}", e.message, listed.join(", "));
    }
    e
}

/// Decodes, expands and validates a merged suite document.
fn resolve(root: &Node, limits: &Limits) -> Result<Suite, LoadError> {
    let mut errors = Vec::new();
    let raw: Option<RawSuite> = match yaml::decode(&without(root, &["cases"]), "") {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(also_expected(e, "", &["include", "cases"]));
            None
        }
    };
    if let Some(raw) = &raw {
        if !SCHEMA_VERSIONS.contains(&raw.schema) {
            errors.push(YamlError::at(
                loc_at(root, &["schema"]),
                "schema",
                format!("unknown schema version {}, this videval reads {:?}", raw.schema, SCHEMA_VERSIONS),
            ));
        }
        if !is_name(&raw.suite) {
            errors.push(YamlError::at(
                loc_at(root, &["suite"]),
                "suite",
                format!("suite name \"{}\" must be lower-case letters, digits and _", raw.suite),
            ));
        }
        let metric_nodes = match root.get("metrics").map(|m| &m.value) {
            Some(Value::Seq(items)) => items.as_slice(),
            _ => &[],
        };
        let mut seen = BTreeSet::new();
        for (i, (name, node)) in raw.metrics.iter().zip(metric_nodes).enumerate() {
            if registry::lookup(name).is_none() {
                errors.push(YamlError::at(&node.loc, format!("metrics[{i}]"), registry::unknown(name)));
            } else if !seen.insert(name) {
                errors.push(YamlError::at(
                    &node.loc,
                    format!("metrics[{i}]"),
                    format!("metric \"{name}\" is listed twice"),
                ));
            }
        }
    }
    let defaults = raw.as_ref().map(|r| r.defaults.clone()).unwrap_or_default();
    let base_gen_node = root.get("defaults").and_then(|d| d.get("generation"));
    let mut suite_gen = Resolver::default();
    if let Some(node) = base_gen_node {
        suite_gen.apply(&defaults.generation, node, "defaults.generation", &mut errors);
    }
    let suite_seeds = apply_seeds(Seeds::default(), &defaults.seeds);
    // The suite's default is said once, where it is written (it was said at each case, placed
    // on cases that set no seeds).
    if defaults.seeds.per_case.is_some() && !SEEDS_PER_CASE.contains(&suite_seeds.per_case) {
        errors.push(YamlError::at(
            loc_at(root, &["defaults", "seeds", "per_case"]),
            "defaults.seeds.per_case",
            format!("expected 1..=1000 seeds per case, got {}", suite_seeds.per_case),
        ));
    }

    let mut cases: Vec<(Case, Loc, String)> = Vec::new();
    match root.get("cases") {
        None => errors.push(YamlError::at(&root.loc, "", "missing field `cases`")),
        Some(Node { value: Value::Seq(items), .. }) => {
            if items.is_empty() {
                errors.push(YamlError::at(loc_at(root, &["cases"]), "cases", "a suite needs at least one case"));
            }
            let (mut expanded, mut expanded_nodes): (u128, u128) = (0, 0);
            let mut units: u64 = 0;
            // Bytes all templated fields of the suite have rendered to (each row keeps its own).
            let rendered = std::cell::Cell::new(0usize);
            for (i, item) in items.iter().enumerate() {
                let path = format!("cases[{i}]");
                // The product is checked before anything is expanded: a matrix of a million rows
                // is refused at once, not after rendering them.
                let (rows, factors) = matrix_size(item);
                expanded = expanded.saturating_add(rows);
                if expanded > limits.max_cases as u128 {
                    let loc = item.entry("matrix").map_or(&item.loc, |m| &m.key_loc);
                    let what = if factors.is_empty() {
                        format!("this case brings the suite to {expanded} cases")
                    } else {
                        format!("expands to {rows} cases ({factors}), {expanded} in the suite with the cases before")
                    };
                    errors.push(YamlError::at(
                        loc,
                        if factors.is_empty() { path.clone() } else { format!("{path}.matrix") },
                        format!(
                            "{what}: over the limit of {} cases per suite (raise it with --max-cases)",
                            limits.max_cases
                        ),
                    ));
                    break;
                }
                // Each row copies the case without its matrix; the matrix itself is read once.
                let body = yaml::weight(&without(item, &["matrix"])) as u128;
                let table = item.get("matrix").map_or(0, yaml::weight) as u128;
                expanded_nodes = expanded_nodes.saturating_add(rows.saturating_mul(body)).saturating_add(table);
                if expanded_nodes > MAX_EXPANDED_NODES {
                    errors.push(YamlError::at(
                        &item.loc,
                        path.clone(),
                        format!(
                            "this case ({body} nodes) times its {rows} matrix row(s) brings the expanded cases to {expanded_nodes} nodes, over the {MAX_EXPANDED_NODES} a suite may have"
                        ),
                    ));
                    break;
                }
                let before = errors.len();
                for (node, vars) in expand(item, &path, &rendered, &mut errors) {
                    if let Some(case) = resolve_case(&node, &path, vars, &suite_gen, suite_seeds, &mut errors) {
                        units += u64::from(case.seeds.per_case);
                        cases.push((case, loc_at(&node, &["id"]).clone(), path.clone()));
                    }
                }
                if units > limits.max_units as u64 {
                    errors.push(YamlError::at(
                        &item.loc,
                        path.clone(),
                        format!(
                            "with the cases before it the suite plans {units} units (cases × seeds per case): over the limit of {} (raise it with --max-units; --limit and --cases choose among the units after the whole suite is expanded, so they do not lower this count)",
                            limits.max_units
                        ),
                    ));
                    break;
                }
                // A mistake in a templated field repeats once per matrix row; say it once.
                let mut seen = BTreeSet::new();
                let mut k = before;
                while k < errors.len() {
                    if seen.insert(errors[k].to_string()) {
                        k += 1
                    } else {
                        errors.remove(k);
                    }
                }
            }
        }
        Some(other) => {
            errors.push(YamlError::at(&other.loc, "cases", format!("expected a list of cases, found {}", other.kind())))
        }
    }

    // Each duplicated id once, with how often it repeats (a 100×100 matrix whose id left out a
    // variable printed 9,900 identical lines), and, for matrix rows, the variables whose values
    // the rows sharing it differ in.
    let mut ids: BTreeMap<&str, Vec<&(Case, Loc, String)>> = BTreeMap::new();
    for c in &cases {
        ids.entry(c.0.id.as_str()).or_default().push(c);
    }
    // At most three ids a case entry; the rest counted on one line.
    let mut per_entry: BTreeMap<&str, (usize, &Loc)> = BTreeMap::new();
    for (id, same) in ids.iter().filter(|(_, v)| v.len() > 1) {
        let (_, first, _) = same[0];
        let (_, loc, path) = same[1];
        let shown = per_entry.entry(path.as_str()).or_insert((0, loc));
        shown.0 += 1;
        if shown.0 > 3 {
            continue;
        }
        let differ: Vec<&str> = same[0]
            .0
            .vars
            .iter()
            .filter(|(k, v)| same.iter().any(|c| c.0.vars.get(*k) != Some(*v)))
            .map(|(k, _)| k.as_str())
            .collect();
        let hint = if differ.is_empty() {
            String::new()
        } else {
            format!(
                "; its matrix rows differ in {}: put them in the id, like \"{id}-{{{{ {} }}}}\"",
                differ.join(", "),
                differ[0]
            )
        };
        let more = if same.len() > 2 { format!(", and {} more time(s)", same.len() - 2) } else { String::new() };
        errors.push(YamlError::at(
            loc,
            format!("{path}.id"),
            format!("duplicate case id \"{id}\" (first defined at {first}{more}){hint}"),
        ));
    }
    for (path, (n, loc)) in per_entry.into_iter().filter(|(_, (n, _))| *n > 3) {
        errors.push(YamlError::at(
            loc,
            format!("{path}.id"),
            format!("{} more duplicate case ids from this entry", n - 3),
        ));
    }
    // One capability spelt in two letter cases (`physics.gravity`, `Physics.Gravity`), or with
    // an accent composed in one and decomposed in the other ("café" as é or as e + U+0301, which
    // look the same), is two strata, two rows and two families of the limitations page: each
    // later spelling once.
    let mut spelt: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    let mut told = BTreeSet::new();
    for (case, _, path) in &cases {
        for (k, c) in case.capabilities.iter().enumerate() {
            use unicode_normalization::UnicodeNormalization;
            let key = c.nfc().collect::<String>().to_lowercase();
            let (first, first_path) = *spelt.entry(key).or_insert((c.as_str(), path.as_str()));
            if first != c && told.insert(c.as_str()) {
                let how = if first.to_lowercase() == c.to_lowercase() {
                    "only in letter case"
                } else {
                    "only in how its accents are encoded (composed or decomposed Unicode) or letter case: it looks the same"
                };
                errors.push(YamlError::at(
                    &loc_of_case(root, path, &["capabilities"]),
                    format!("{path}.capabilities[{k}]"),
                    format!(
                        "\"{c}\" differs from \"{first}\" ({first_path}) {how}: one capability spelt two ways is counted as two"
                    ),
                ));
            }
        }
    }
    for (case, _, path) in &cases {
        let Some(input) = &case.input else { continue };
        for (field, media) in [("image", &input.image), ("video", &input.video), ("video2", &input.video2)] {
            if let Some(target) = media.as_ref().and_then(|m| m.scene_of.as_ref()) {
                let source = cases.iter().find(|(c, _, _)| &c.id == target && c.scene.is_some());
                let Some((source, _, _)) = source else {
                    errors.push(YamlError::at(
                        &loc_of_case(root, path, &["input", field, "scene_of"]),
                        format!("{path}.input.{field}.scene_of"),
                        format!("\"{target}\" is not a case of this suite with a scene"),
                    ));
                    continue;
                };
                // The frames taken must be in the source's clip: a frame past its end was each
                // unit's generation failure at run time (exit 4), not the suite's error.
                let m = media.as_ref().expect("a media with scene_of");
                let last = m.frame.or(m.frames.map(|f| f[1]));
                let frames = source.generation.frames;
                if let Some(last) = last.filter(|&l| l >= frames) {
                    let key = if m.frame.is_some() { "frame" } else { "frames" };
                    errors.push(YamlError::at(
                        &loc_of_case(root, path, &["input", field, key]),
                        format!("{path}.input.{field}.{key}"),
                        format!("frame {last} of case \"{target}\", whose clip has {frames} frames (counted from 0)"),
                    ));
                }
            }
        }
    }
    match raw {
        Some(raw) if errors.is_empty() => Ok(Suite {
            schema: raw.schema,
            name: raw.suite,
            version: raw.version,
            description: raw.description,
            tags: raw.tags,
            metrics: raw.metrics,
            question: raw.question.filter(|q| !q.trim().is_empty()),
            cases: cases.into_iter().map(|(c, _, _)| c).collect(),
        }),
        _ => Err(LoadError { errors }),
    }
}

/// Where in a suite file's tree (`root`) the case written with id `case_id` has the field at
/// `keys`, and that field's path (`cases[2].input.image`): for an error found after loading (a
/// conditioning file not there). A matrix's case is found by its entry's id template (its
/// literal parts around the `{{ … }}`), where one entry's alone fits. None for a case the file
/// does not spell out (an included file's).
pub fn case_field(root: &Node, case_id: &str, keys: &[&str]) -> Option<(Loc, String)> {
    let Some(Value::Seq(items)) = root.get("cases").map(|c| &c.value) else { return None };
    let id = |item: &Node| item.get("id").and_then(Node::as_str).map(str::to_string);
    let i = items.iter().position(|item| id(item).as_deref() == Some(case_id)).or_else(|| {
        let fits: Vec<usize> = (0..items.len())
            .filter(|&i| id(&items[i]).is_some_and(|t| t.contains("{{") && template_fits(&t, case_id)))
            .collect();
        (fits.len() == 1).then(|| fits[0])
    })?;
    Some((loc_at(&items[i], keys).clone(), format!("cases[{i}].{}", keys.join("."))))
}

/// Whether `text` can be what the id template `template` renders to: its literal parts, in
/// order, with anything in place of each `{{ … }}`.
fn template_fits(template: &str, text: &str) -> bool {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        parts.push(&rest[..open]);
        rest = rest[open..].find("}}").map_or("", |close| &rest[open + close + 2..]);
    }
    parts.push(rest);
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 || !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return parts.len() == 1 && text == first;
    }
    let mut at = first.len();
    let end = text.len() - last.len();
    for part in &parts[1..parts.len() - 1] {
        match text[at..end].find(part) {
            Some(k) => at += k + part.len(),
            None => return false,
        }
    }
    true
}

fn loc_of_case(root: &Node, path: &str, keys: &[&str]) -> Loc {
    let index: usize = path.trim_start_matches("cases[").trim_end_matches(']').parse().unwrap_or(0);
    match root.get("cases").map(|c| &c.value) {
        Some(Value::Seq(items)) if index < items.len() => loc_at(&items[index], keys).clone(),
        _ => root.loc.clone(),
    }
}

/// How many cases a case entry expands to, and the factors as "a: 100 × b: 100" (empty without a
/// matrix). A malformed matrix counts as one case; expanding it reports the problem.
fn matrix_size(item: &Node) -> (u128, String) {
    let Some(vars) = item.get("matrix").and_then(|m| m.entries()) else {
        return (1, String::new());
    };
    let mut rows: u128 = 1;
    let mut factors = Vec::new();
    for Entry { key, value, .. } in vars {
        if let Value::Seq(values) = &value.value {
            rows = rows.saturating_mul(values.len().max(1) as u128);
            factors.push(format!("{key}: {}", values.len()));
        }
    }
    (rows, factors.join(" × "))
}

/// Expands one case entry over its `matrix:` (cartesian product, first key outermost) and
/// renders its templated strings. Returns the rendered nodes with their variable values.
fn expand(
    item: &Node,
    path: &str,
    rendered: &std::cell::Cell<usize>,
    errors: &mut Vec<YamlError>,
) -> Vec<(Node, BTreeMap<String, String>)> {
    if item.entries().is_none() {
        errors.push(YamlError::at(&item.loc, path, format!("expected a case mapping, found {}", item.kind())));
        return Vec::new();
    }
    let mut rows: Vec<Vec<(String, Node)>> = vec![Vec::new()];
    if let Some(m) = item.entry("matrix") {
        let Some(vars) = m.value.entries() else {
            errors.push(YamlError::at(
                &m.value.loc,
                format!("{path}.matrix"),
                format!("expected a mapping of variable → list of values, found {}", m.value.kind()),
            ));
            return Vec::new();
        };
        for Entry { key, value, .. } in vars {
            let vpath = format!("{path}.matrix.{key}");
            let values = match &value.value {
                Value::Seq(v) if !v.is_empty() => v,
                _ => {
                    errors.push(YamlError::at(&value.loc, vpath, "expected a non-empty list of values"));
                    return Vec::new();
                }
            };
            if let Some(bad) = values.iter().find(|v| matches!(v.value, Value::Seq(_) | Value::Map(_) | Value::Null)) {
                errors.push(YamlError::at(
                    &bad.loc,
                    vpath,
                    format!("matrix values must be strings or numbers, found {}", bad.kind()),
                ));
                return Vec::new();
            }
            // A template sees numbers as JSON, which has no infinity or NaN (`.inf` read "none").
            if let Some(bad) = values.iter().find(|v| matches!(v.value, Value::Float(f) if !f.is_finite())) {
                errors.push(YamlError::at(
                    &bad.loc,
                    vpath,
                    format!("matrix values must be finite numbers or strings, found {}", scalar_text(bad)),
                ));
                return Vec::new();
            }
            rows = rows
                .into_iter()
                .flat_map(|row| {
                    values.iter().map(move |v| {
                        let mut r = row.clone();
                        r.push((key.clone(), v.clone()));
                        r
                    })
                })
                .collect();
        }
    }
    let body = without(item, &["matrix"]);
    let env = super::template::env();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let vars: BTreeMap<String, String> = row.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect();
        let nodes: BTreeMap<&str, &Node> = row.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let ctx: BTreeMap<&str, serde_json::Value> = row.iter().map(|(k, v)| (k.as_str(), yaml::to_json(v))).collect();
        let before = errors.len();
        let node = render(&body, path, &env, &ctx, &nodes, rendered, errors);
        if errors.len() > before {
            // A mistake in a template repeats in every row: the first row's errors say it.
            break;
        }
        out.push((node, vars));
    }
    out
}

/// Nodes the cases may hold once every matrix is expanded (each scalar's bytes counted as for
/// one YAML document): a 40,000-item list in a case of 10,000 rows is refused before expanding.
const MAX_EXPANDED_NODES: u128 = 8 * yaml::MAX_NODES as u128;

fn scalar_text(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        // As a template prints it, so `"{{ v }}"` and `"x{{ v }}"` say the same number (1 and x1.0).
        Value::Float(f) if f.is_finite() => minijinja::Value::from(*f).to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn render(
    node: &Node,
    path: &str,
    env: &Environment,
    vars: &BTreeMap<&str, serde_json::Value>,
    typed: &BTreeMap<&str, &Node>,
    rendered: &std::cell::Cell<usize>,
    errors: &mut Vec<YamlError>,
) -> Node {
    let value = match &node.value {
        Value::Str(s) if s.contains("{{") || s.contains("{%") => {
            // A string that is one `{{ expression }}` yields a typed value (a lone variable keeps
            // its own type; other expressions are resolved like a plain YAML scalar), so numbers
            // stay numbers. Any other template renders to a string.
            // Only the whole string: "  {{ c }}  " or a block scalar's "{{ c }}\n" keep their
            // spaces and newline as text.
            let inner = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).map(str::trim);
            let lone = inner.is_some_and(|i| !i.contains("}}") && !i.contains("{{"));
            // Text fields stay text: `id: "{{ n }}"` over numbers was refused as "expected a string".
            let text_field = [".id", ".prompt", ".cluster"].iter().any(|k| path.ends_with(k))
                || [".tags[", ".capabilities["].iter().any(|k| path.contains(k));
            match inner.and_then(|name| typed.get(name)) {
                Some(v) if text_field && !matches!(v.value, Value::Seq(_) | Value::Map(_)) => {
                    Value::Str(scalar_text(v))
                }
                Some(v) => v.value.clone(),
                None => match super::template::render(env, s, vars, rendered) {
                    // A list or mapping the expression gives (`{{ [] if a else [1.5] }}`) is one,
                    // as its text reads in YAML's flow style (it was the string "[]").
                    Ok(out) if lone && !text_field && (out.starts_with('[') || out.starts_with('{')) => {
                        match yaml::parse(&node.loc.file, &out) {
                            Ok(parsed) => parsed.value,
                            Err(_) => Value::Str(out),
                        }
                    }
                    Ok(out) if lone && !text_field => yaml::resolve(&out),
                    Ok(out) => Value::Str(out),
                    Err(e) => {
                        let known = if vars.is_empty() {
                            "none".to_string()
                        } else {
                            vars.keys().copied().collect::<Vec<_>>().join(", ")
                        };
                        errors.push(YamlError::at(
                            &node.loc,
                            path,
                            format!(
                                "template error in {:?}: {e} (matrix variables: {known})",
                                s.chars().take(200).collect::<String>()
                            ),
                        ));
                        Value::Str(s.clone())
                    }
                },
            }
        }
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| render(n, &format!("{path}[{i}]"), env, vars, typed, rendered, errors))
                .collect(),
        ),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|e| Entry {
                    key: e.key.clone(),
                    key_loc: e.key_loc.clone(),
                    value: render(&e.value, &format!("{path}.{}", e.key), env, vars, typed, rendered, errors),
                })
                .collect(),
        ),
        other => other.clone(),
    };
    Node { value, loc: node.loc.clone() }
}

/// Applies generation levels in order, tracking whether size was given as width×height or as
/// aspect + resolution (a later level's choice replaces an earlier one's).
#[derive(Debug, Clone, Default)]
struct Resolver {
    generation: Generation,
    aspect: Option<(String, f64)>,
    resolution: Option<u32>,
}

impl Resolver {
    fn apply(&mut self, raw: &RawGeneration, node: &Node, path: &str, errors: &mut Vec<YamlError>) {
        let g = &mut self.generation;
        let mut check = |ok: bool, key: &str, what: String| {
            if !ok {
                errors.push(YamlError::at(loc_at(node, &[key]), format!("{path}.{key}"), what));
            }
        };
        if let Some(v) = raw.frames {
            check((1..=4096).contains(&v), "frames", format!("expected 1..=4096 frames, got {v}"));
            g.frames = v;
        }
        if let Some(v) = raw.fps {
            // At least a frame every 100 s: 1e-300 linted, then every unit failed at the encoder.
            check(
                v.is_finite() && (0.01..=240.0).contains(&v),
                "fps",
                format!("expected an fps in [0.01, 240], got {v}"),
            );
            g.fps = v;
        }
        if let Some(v) = raw.steps {
            check((1..=10_000).contains(&v), "steps", format!("expected 1..=10000 steps, got {v}"));
            g.steps = v;
        }
        if let Some(v) = raw.guidance {
            check(v.is_finite() && v >= 0.0, "guidance", format!("expected a non-negative guidance scale, got {v}"));
            g.guidance = v;
        }
        for (key, v) in [("width", raw.width), ("height", raw.height), ("resolution", raw.resolution)] {
            if let Some(v) = v {
                check((8..=8192).contains(&v), key, format!("expected 8..=8192 pixels, got {v}"));
            }
        }
        let explicit = raw.width.is_some() || raw.height.is_some();
        let by_aspect = raw.aspect.is_some() || raw.resolution.is_some();
        check(
            !(explicit && by_aspect),
            if raw.aspect.is_some() { "aspect" } else { "resolution" },
            "give either width/height or aspect/resolution, not both".into(),
        );
        if explicit {
            self.aspect = None;
            self.resolution = None;
            g.width = raw.width.unwrap_or(g.width);
            g.height = raw.height.unwrap_or(g.height);
        } else if by_aspect {
            if let Some(a) = &raw.aspect {
                match parse_ratio(a) {
                    Some(r) => self.aspect = Some((a.clone(), r)),
                    None => check(false, "aspect", format!("expected an aspect ratio like \"16:9\", got \"{a}\"")),
                }
            }
            self.resolution = raw.resolution.or(self.resolution);
            let ratio = self.aspect.as_ref().map_or(g.width as f64 / g.height as f64, |a| a.1);
            let short = self.resolution.unwrap_or(g.width.min(g.height));
            // Short side = resolution ([`size_at`]).
            let (w, h) = size_at(ratio, short);
            let long = w.max(h);
            let key = if raw.aspect.is_some() { "aspect" } else { "resolution" };
            check(
                long <= 8192,
                key,
                format!(
                    "a {short}-pixel short side at this aspect makes the long side {long} pixels; expected at most 8192"
                ),
            );
            let long = long.min(8192);
            (g.width, g.height) = if ratio >= 1.0 { (long, short) } else { (short, long) };
        }
    }
}

/// How many seeds a case may be generated with.
const SEEDS_PER_CASE: std::ops::RangeInclusive<u32> = 1..=1000;

fn apply_seeds(mut seeds: Seeds, raw: &RawSeeds) -> Seeds {
    if let Some(p) = raw.per_case {
        seeds.per_case = p;
    }
    if let Some(b) = raw.base {
        seeds.base = b;
    }
    seeds
}

fn resolve_case(
    node: &Node,
    path: &str,
    vars: BTreeMap<String, String>,
    suite_gen: &Resolver,
    suite_seeds: Seeds,
    errors: &mut Vec<YamlError>,
) -> Option<Case> {
    let mut raw: RawCase = match yaml::decode(&without(node, &["expect"]), path) {
        Ok(r) => r,
        Err(e) => {
            errors.push(also_expected(e, path, &["expect", "matrix"]));
            return None;
        }
    };
    let before = errors.len();
    if !is_case_id(&raw.id) {
        errors.push(YamlError::at(
            loc_at(node, &["id"]),
            format!("{path}.id"),
            format!("case id \"{}\" may use only ASCII letters, digits, '-', '_' and '.'", raw.id.escape_debug()),
        ));
    }
    // A prompt no program can be given (a NUL byte ends a C string; Linux takes one argument of
    // at most 128 KiB) failed every unit as the model's failure ("cannot start python3: nul byte").
    if raw.prompt.contains('\0') {
        errors.push(YamlError::at(
            loc_at(node, &["prompt"]),
            format!("{path}.prompt"),
            "holds a NUL character (\\0), which no program's argument or text encoder takes",
        ));
    }
    if raw.prompt.trim().is_empty() {
        errors.push(YamlError::at(
            loc_at(node, &["prompt"]),
            format!("{path}.prompt"),
            "an empty prompt: a case says in words what the video should show",
        ));
    }
    if raw.prompt.len() > MAX_PROMPT_BYTES {
        errors.push(YamlError::at(
            loc_at(node, &["prompt"]),
            format!("{path}.prompt"),
            format!(
                "{} bytes long, over the {MAX_PROMPT_BYTES} a prompt may be (a program's argument holds at most 128 KiB)",
                raw.prompt.len()
            ),
        ));
    }
    // A capability is `family.name`, the family non-empty (an empty or blank one published as a
    // nameless row of the limitations page).
    for (k, c) in raw.capabilities.iter().enumerate() {
        let family = videval_reports::results::capability_family(c);
        if family.trim().is_empty() || c.trim() != c {
            errors.push(YamlError::at(
                loc_at(node, &["capabilities"]),
                format!("{path}.capabilities[{k}]"),
                format!(
                    "\"{}\": expected family.name (like physics.gravity), with a family and no surrounding spaces",
                    c.escape_debug()
                ),
            ));
        }
    }
    // Each expectation with its index in the list, which an item that failed to parse leaves
    // out: a later check named the item before it.
    let mut expect = Vec::new();
    match node.get("expect").map(|n| &n.value) {
        None | Some(Value::Null) => {}
        Some(Value::Seq(items)) => {
            for (j, item) in items.iter().enumerate() {
                let epath = format!("{path}.expect[{j}]");
                match super::expect::decode(item, &epath) {
                    Ok(e) => {
                        for (field, msg) in e.problems() {
                            errors.push(YamlError::at(loc_at(item, &[field]), format!("{epath}.{field}"), msg));
                        }
                        expect.push((j, e));
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        Some(_) => errors.push(YamlError::at(
            loc_at(node, &["expect"]),
            format!("{path}.expect"),
            "expected a list of expectations",
        )),
    }
    let mut resolver = suite_gen.clone();
    if let Some(gnode) = node.get("generation") {
        resolver.apply(&raw.generation, gnode, &format!("{path}.generation"), errors);
    }
    let mut generation = resolver.generation;
    if raw.mode == Mode::Image {
        match raw.generation.frames {
            Some(f) if f != 1 => errors.push(YamlError::at(
                loc_at(node, &["generation", "frames"]),
                format!("{path}.generation.frames"),
                format!("mode image generates one frame, got frames: {f}"),
            )),
            _ => generation.frames = 1,
        }
    }
    let seeds = apply_seeds(suite_seeds, &raw.seeds);
    if raw.seeds.per_case.is_some() && !SEEDS_PER_CASE.contains(&seeds.per_case) {
        errors.push(YamlError::at(
            loc_at(node, &["seeds", "per_case"]),
            format!("{path}.seeds.per_case"),
            format!("expected 1..=1000 seeds per case, got {}", seeds.per_case),
        ));
    }
    check_inputs(node, path, raw.mode, raw.input.as_ref(), errors);
    check_held_fits(node, path, raw.mode, raw.input.as_ref(), generation.frames, errors);
    // Expectations the case's own request rules out: every video would fail them.
    for (j, e) in expect.iter().map(|(j, e)| (*j, e)) {
        let item = match node.get("expect").map(|n| &n.value) {
            Some(Value::Seq(items)) if j < items.len() => &items[j].loc,
            _ => loc_at(node, &["expect"]),
        };
        let epath = format!("{path}.expect[{j}]");
        if (generation.frames as usize) < e.min_frames() {
            errors.push(YamlError::at(
                item,
                epath.clone(),
                format!(
                    "probe {} reads motion over time, over at least {} frames; the case generates {}",
                    e.probe(),
                    e.min_frames(),
                    generation.frames
                ),
            ));
        }
        // Continuity judges an output against the input its mode holds: t2v, image and loop hold
        // none, so the check would be n/a on every video.
        if matches!(e, videval_metrics::probes::Expectation::Continuity(_))
            && matches!(raw.mode, Mode::T2v | Mode::Image | Mode::Loop)
        {
            errors.push(YamlError::at(
                item,
                epath.clone(),
                format!(
                    "probe continuity compares the output with the input its mode holds (i2v, extend-forward, extend-backward, interpolate, edit); mode {} holds none",
                    raw.mode.name()
                ),
            ));
        }
        if let videval_metrics::probes::Expectation::Aspect(a) = e
            && let Some(want) = videval_metrics::probes::parse_ratio(&a.ratio)
        {
            let asked = f64::from(generation.width) / f64::from(generation.height);
            if ((asked / want) - 1.0).abs() > a.tolerance {
                errors.push(YamlError::at(
                    item,
                    format!("{epath}.ratio"),
                    format!(
                        "the case asks for {}x{} ({asked:.3}:1), so a video made as asked fails ratio {} ({want:.3}:1)",
                        generation.width, generation.height, a.ratio
                    ),
                ));
            }
        }
    }
    // Input paths are relative to the suite file that names them (not to the working folder).
    if let Some(input) = raw.input.as_mut() {
        for m in [&mut input.image, &mut input.video, &mut input.video2].into_iter().flatten() {
            if let Some(p) = &m.path {
                m.file = Some(PathBuf::from(sibling(&node.loc.file, p)));
            }
        }
    }
    if let Some(scene) = &raw.scene {
        for (field, msg) in scene.problems() {
            let loc = node.get("scene").map_or(&node.loc, |s| loc_of_path(s, &field));
            errors.push(YamlError::at(loc, format!("{path}.scene.{field}"), msg));
        }
    }
    (errors.len() == before).then(|| Case {
        cluster: raw.cluster.unwrap_or_else(|| raw.id.clone()),
        id: raw.id,
        prompt: raw.prompt,
        tags: raw.tags,
        capabilities: raw.capabilities,
        mode: raw.mode,
        input: raw.input,
        generation,
        seeds,
        scene: raw.scene,
        expect: expect.into_iter().map(|(_, e)| e).collect(),
        vars,
    })
}

/// The frames a conditioned mode holds in its output (the image; the clip's range; both clips of
/// an interpolation), where the suite says how many, must fit in the frames it asks for: 17
/// held frames in a 5-frame extension failed every unit at generation or as "too few frames".
fn check_held_fits(
    node: &Node,
    path: &str,
    mode: Mode,
    input: Option<&Input>,
    frames: u32,
    errors: &mut Vec<YamlError>,
) {
    let Some(input) = input else { return };
    let count = |m: &Option<Media>| -> Option<u64> {
        let m = m.as_ref()?;
        match (m.frame, m.frames) {
            (Some(_), _) => Some(1),
            (None, Some([a, b])) if a <= b => Some(u64::from(b - a) + 1),
            _ => None,
        }
    };
    let (held, what) = match mode {
        Mode::ExtendForward | Mode::ExtendBackward | Mode::Edit => (count(&input.video), "input.video"),
        Mode::Interpolate => match (count(&input.video), count(&input.video2)) {
            (Some(a), Some(b)) => (Some(a + b), "input.video and input.video2"),
            _ => (None, ""),
        },
        Mode::I2v => (input.image.as_ref().map(|_| 1), "input.image"),
        Mode::T2v | Mode::Loop | Mode::Image => (None, ""),
    };
    // Every mode but edit makes frames of its own besides those it holds: holding them all
    // leaves nothing to generate, and `continuity` fails every unit ("nothing generated").
    let adds = mode != Mode::Edit;
    if let Some(n) = held.filter(|&n| n > u64::from(frames) || (adds && n == u64::from(frames))) {
        let why = if n == u64::from(frames) { "nothing is left to generate" } else { "it cannot hold them" };
        errors.push(YamlError::at(
            loc_at(node, &["input"]),
            format!("{path}.input"),
            format!(
                "mode {} holds the {n} frame(s) of {what} in its output, but the case asks for {frames}: {why}; ask for more frames or hold fewer",
                mode.name()
            ),
        ));
    }
}

fn check_inputs(node: &Node, path: &str, mode: Mode, input: Option<&Input>, errors: &mut Vec<YamlError>) {
    let empty = Input::default();
    let input = input.unwrap_or(&empty);
    let need = |field: &str, present: bool, errors: &mut Vec<YamlError>| {
        if !present {
            errors.push(YamlError::at(
                loc_at(node, &["input"]),
                format!("{path}.input.{field}"),
                format!("mode {} needs input.{field}", mode.name()),
            ));
        }
    };
    match mode {
        Mode::T2v | Mode::Loop | Mode::Image => {}
        Mode::I2v => need("image", input.image.is_some(), errors),
        Mode::ExtendForward | Mode::ExtendBackward => need("video", input.video.is_some(), errors),
        Mode::Edit => {
            need("video", input.video.is_some(), errors);
            match input.strength {
                None => need("strength", false, errors),
                Some(s) if !(s > 0.0 && s <= 1.0) => errors.push(YamlError::at(
                    loc_at(node, &["input", "strength"]),
                    format!("{path}.input.strength"),
                    format!("expected a strength in (0, 1], got {s}"),
                )),
                Some(_) => {}
            }
        }
        Mode::Interpolate => {
            need("video", input.video.is_some(), errors);
            need("video2", input.video2.is_some(), errors);
        }
    }
    // What a mode does not read is a mistake to say, not a setting to ignore (it still changed
    // the generation's key).
    let uses = |field: &str| match mode {
        Mode::T2v | Mode::Loop | Mode::Image => false,
        Mode::I2v => field == "image",
        Mode::ExtendForward | Mode::ExtendBackward => field == "video",
        Mode::Edit => matches!(field, "video" | "strength"),
        Mode::Interpolate => matches!(field, "video" | "video2"),
    };
    for (field, present) in [
        ("image", input.image.is_some()),
        ("video", input.video.is_some()),
        ("video2", input.video2.is_some()),
        ("strength", input.strength.is_some()),
    ] {
        if present && !uses(field) {
            errors.push(YamlError::at(
                loc_at(node, &["input", field]),
                format!("{path}.input.{field}"),
                format!("mode {} does not use input.{field}", mode.name()),
            ));
        }
    }
    for (field, media) in [("image", &input.image), ("video", &input.video), ("video2", &input.video2)] {
        let Some(Media { path: p, scene_of, frames, frame, .. }) = media else {
            continue;
        };
        let fpath = format!("{path}.input.{field}");
        if p.as_deref().is_some_and(|p| p.trim().is_empty()) {
            errors.push(YamlError::at(
                loc_at(node, &["input", field, "path"]),
                format!("{fpath}.path"),
                "an empty path",
            ));
        }
        if frame.is_some() && frames.is_some() {
            errors.push(YamlError::at(
                loc_at(node, &["input", field]),
                fpath.clone(),
                "give frame (one frame) or frames (a range), not both",
            ));
        }
        if p.is_some() == scene_of.is_some() {
            errors.push(YamlError::at(
                loc_at(node, &["input", field]),
                fpath.clone(),
                "give exactly one of path or scene_of",
            ));
        }
        // A scene renders a clip: the image is one frame of it, said (frame 0 went to a command
        // generator while the continuity check compared the whole clip, and failed).
        if field == "image" && scene_of.is_some() && frame.is_none() {
            errors.push(YamlError::at(
                loc_at(node, &["input", field]),
                fpath.clone(),
                "an image from a scene is one frame of its clip: give frame: N",
            ));
        }
        if field == "image" && frames.is_some() {
            errors.push(YamlError::at(
                loc_at(node, &["input", field, "frames"]),
                format!("{fpath}.frames"),
                "an image is one frame: give frame: N, not a range",
            ));
        }
        if let Some([a, b]) = frames {
            if a > b {
                errors.push(YamlError::at(
                    loc_at(node, &["input", field, "frames"]),
                    format!("{fpath}.frames"),
                    format!("frame range [{a}, {b}] is empty"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// A rendered id fits its template's literal parts in order, and nothing else does.
    #[test]
    fn rendered_ids_fit_their_templates() {
        use super::template_fits;
        assert!(template_fits("drop-{{ color }}-ball", "drop-red-ball"));
        assert!(template_fits("{{ a }}-{{ b }}", "x-y"));
        assert!(template_fits("plain", "plain") && !template_fits("plain", "plainer"));
        assert!(!template_fits("drop-{{ color }}-ball", "drop-red-cube"));
        assert!(!template_fits("a-{{ x }}-b-{{ y }}-c", "a-1-c"));
        assert!(!template_fits("ab{{ x }}ba", "aba"), "the ends may not overlap");
    }
}
