//! YAML → a tree of nodes that remember where they came from, and a serde deserializer over that
//! tree that reports every error with file, line, column and field path.
//!
//! Suites are merged from several files (`include:`) and expanded (`matrix:`) before they are
//! decoded, so locations must survive both steps: every node carries its own [`Loc`]. Parsing is
//! yaml-rust2's event parser; scalars are resolved with the YAML 1.2 core schema (plain `true`,
//! `null`, `12`, `1.5e3`; quoted scalars are always strings).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a source file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_loc: Loc,
    pub value: Node,
}

impl Node {
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short description of the node's type for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A located error: `file:line:col: path: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub loc: Option<Loc>,
    pub path: String,
    pub message: String,
}

impl YamlError {
    pub fn at(loc: &Loc, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { loc: Some(loc.clone()), path: path.into(), message: message.into() }
    }

    /// Fills in the location and path if nothing deeper has already set them.
    fn locate(mut self, loc: &Loc, path: &str) -> Self {
        if self.loc.is_none() {
            self.loc = Some(loc.clone());
            self.path = path.to_string();
        }
        self
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.loc {
            write!(f, "{loc}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", crate::error::printable(&self.path))?;
        }
        f.write_str(&crate::error::printable(&self.message))
    }
}

impl std::error::Error for YamlError {}

impl de::Error for YamlError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self { loc: None, path: String::new(), message: plain_words(&msg.to_string()) }
    }
}

/// serde's messages name Rust types ("expected struct SceneFile"); a user reads what the place
/// holds instead.
fn plain_words(msg: &str) -> String {
    let Some(at) = msg.find("expected struct ") else { return msg.to_string() };
    let rest = &msg[at + "expected struct ".len()..];
    let end = rest.find(|c: char| !c.is_alphanumeric() && c != '_').unwrap_or(rest.len());
    // A probe's bound is written as a mapping, which a bare number (`psnr: 20`) is not.
    let what = match &rest[..end] {
        "Bound" => "expected a bound: {min: a}, {max: b}, {min: a, max: b} or {between: [a, b]}",
        _ => "expected a mapping of fields",
    };
    format!("{}{what}{}", &msg[..at], &rest[end..])
}

/// The largest YAML file read (a suite of ten thousand cases is well under 1 MiB).
pub const MAX_BYTES: u64 = 8 << 20;
/// The deepest nesting of lists and mappings (suites nest five or six levels).
pub const MAX_DEPTH: usize = 64;
/// The most nodes aliases and anchors may copy (an alias's expansion, an anchor's kept copy),
/// counting each scalar's bytes in units of [`NODE_BYTES`]: this bounds what a "billion laughs"
/// file can add (~50 MB of nodes) to the nodes written out, which [`MAX_BYTES`] bounds.
pub const MAX_NODES: usize = 500_000;
/// What one node costs in the budget, and how many bytes of scalar text count as one node.
const NODE_BYTES: usize = 96;

/// Reads a text file of at most [`MAX_BYTES`] without reading more than that from it.
pub fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than the {} MiB a YAML file may be", MAX_BYTES >> 20),
        ));
    }
    // A UTF-16 file (Windows editors write it) said as one, not as its first odd byte.
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        // Where: the line and column of the first byte that is not UTF-8.
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
        let col = 1 + good.iter().rev().take_while(|&&b| b != b'\n').count();
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("line {line}, column {col}: a byte that is not UTF-8"),
        )
    })
}

/// The name of a YAML core-schema tag (`!!str` → "str"); None for a local or other tag.
fn core_tag(t: &yaml_rust2::parser::Tag) -> Option<&str> {
    (t.handle == "tag:yaml.org,2002:" || t.handle == "!!").then_some(t.suffix.as_str())
}

fn unsupported_tag(loc: &Loc, t: &yaml_rust2::parser::Tag) -> YamlError {
    let name = if core_tag(t).is_some() { format!("!!{}", t.suffix) } else { format!("{}{}", t.handle, t.suffix) };
    YamlError::at(
        loc,
        "",
        format!("the tag {name} is not supported here (only !!str, !!int, !!float, !!bool, !!null, !!seq and !!map)"),
    )
}

/// YAML 1.2's `c-printable`: tab, line breaks, and every character but the other C0 and C1
/// controls, DEL, and U+FFFE/U+FFFF.
fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{fffd}' | '\u{10000}'..)
}

/// Parses one YAML document. `file` is the name used in locations (as the user wrote it).
///
/// Bounded: a text over [`MAX_BYTES`], nesting deeper than [`MAX_DEPTH`] or aliases and anchors
/// copying past [`MAX_NODES`] is a located error, found in time linear in the text.
pub fn parse(file: &str, text: &str) -> Result<Node, YamlError> {
    let file: Arc<str> = Arc::from(file);
    if text.len() as u64 > MAX_BYTES {
        let loc = Loc { file, line: 1, col: 1 };
        return Err(YamlError::at(
            &loc,
            "",
            format!("the document is {} bytes, over the {} MiB limit", text.len(), MAX_BYTES >> 20),
        ));
    }
    // YAML (like PyYAML) allows only printable characters in a stream; yaml-rust2 takes a NUL
    // for the end of the text, so a suite with one lost every case after it without a word.
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| !is_printable(c)) {
        let before = &text[..at];
        let line = 1 + before.matches('\n').count();
        let col = 1 + before.rsplit('\n').next().unwrap_or_default().chars().count();
        return Err(YamlError::at(
            &Loc { file, line, col },
            "",
            format!(
                "the control character U+{:04X}, which YAML does not allow in a file (inside double quotes it can be written as \"\\u{:04X}\")",
                c as u32, c as u32
            ),
        ));
    }
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        error: None,
        weight: 0,
        copied: 0,
    };
    // A BOM may open a YAML stream; it is not part of the first key.
    let mut parser = Parser::new_from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    // Events are read in a loop, not through the parser's `load`, which recurses once per level of
    // nesting: 50,000 nested block lists would overflow the stack before the depth check is reached.
    let mut documents = 0;
    while builder.error.is_none() {
        let (ev, mark) = parser.next_token().map_err(|e| {
            let m = e.marker();
            YamlError::at(
                &Loc { file: file.clone(), line: m.line(), col: m.col() + 1 },
                "",
                format!("invalid YAML: {}", e.info()),
            )
        })?;
        match ev {
            Event::StreamEnd => break,
            Event::DocumentStart if documents == 1 => {
                // Anything after the first document would otherwise be dropped unread.
                return Err(YamlError::at(
                    &builder.loc(mark),
                    "",
                    "a second YAML document ('---' or '...' then more): this file holds one document",
                ));
            }
            Event::DocumentStart => documents += 1,
            _ => {}
        }
        builder.on_event(ev, mark);
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Node { value: Value::Null, loc: Loc { file, line: 1, col: 1 } }))
}

/// What a node costs in the [`MAX_NODES`] budget: one per node, each scalar's bytes counted in
/// units of `NODE_BYTES`, as a document's weight is counted while it is read.
pub fn weight(node: &Node) -> usize {
    match &node.value {
        Value::Str(s) => 1 + s.len() / NODE_BYTES,
        Value::Seq(items) => 1 + items.iter().map(weight).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries.iter().map(|e| 1 + e.key.len() / NODE_BYTES + weight(&e.value)).sum::<usize>()
        }
        _ => 1,
    }
}

/// An open list or mapping; `start` is the builder's weight when it opened.
enum Frame {
    Seq { items: Vec<Node>, loc: Loc, anchor: usize, start: usize },
    Map { entries: Vec<Entry>, key: Option<(String, Loc)>, loc: Loc, anchor: usize, start: usize },
}

struct Builder {
    file: Arc<str>,
    stack: Vec<Frame>,
    /// Anchored nodes with their weight (what one alias to them adds).
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    /// The first error; events after it are ignored (nothing more is built).
    error: Option<YamlError>,
    /// Nodes built so far, aliases expanded, scalars weighed by their length.
    weight: usize,
    /// Copies made of nodes: an alias's expansion, and the copy an anchor keeps of its node (63
    /// nested anchors kept the inner list 63 times, 1.9 GB from 600 KB without one alias). The
    /// budget [`MAX_NODES`] bounds these; the nodes written out are bounded by the text's size
    /// (a suite of 100,000 plain cases was refused as a bomb).
    copied: usize,
}

impl Builder {
    fn loc(&self, m: Marker) -> Loc {
        Loc { file: self.file.clone(), line: m.line(), col: m.col() + 1 }
    }

    fn fail(&mut self, e: YamlError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Adds `w` to the document's weight, and to its copies when `copy` (an alias's expansion);
    /// false (and an error at `loc`) when the copies are past the budget.
    fn weigh(&mut self, w: usize, loc: &Loc, copy: bool) -> bool {
        self.weight = self.weight.saturating_add(w);
        if copy {
            self.copied = self.copied.saturating_add(w);
        }
        self.within_budget(loc)
    }

    /// Whether the copies are within [`MAX_NODES`]; else an error at `loc`.
    fn within_budget(&mut self, loc: &Loc) -> bool {
        if self.copied > MAX_NODES {
            self.fail(YamlError::at(
                loc,
                "",
                format!(
                    "aliases and anchors expand this document past {MAX_NODES} nodes (~{} MB); a suite \
                     never needs that many, so the file is refused (a YAML bomb?)",
                    MAX_NODES * NODE_BYTES / 1_000_000
                ),
            ));
            return false;
        }
        true
    }

    fn push(&mut self, node: Node, anchor: usize, weight: usize) {
        if anchor > 0 {
            self.copied = self.copied.saturating_add(weight);
            if !self.within_budget(&node.loc.clone()) {
                return;
            }
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some((k, key_loc)) => entries.push(Entry { key: k, key_loc, value: node }),
                None => {
                    let k = match node.value {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::UInt(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        _ => {
                            if self.error.is_none() {
                                self.error = Some(YamlError::at(&node.loc, "", "mapping keys must be plain scalars"));
                            }
                            String::new()
                        }
                    };
                    *key = Some((k, node.loc));
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let loc = self.loc(mark);
        let start = self.weight;
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let w = 1 + text.len() / NODE_BYTES;
                if !self.weigh(w, &loc, false) {
                    return;
                }
                // A tag is honoured or refused, never dropped: `!!binary aGVsbG8=` was read as the
                // text "aGVsbG8=" and `!custom x` as "x".
                let core = tag.as_ref().map(|t| (core_tag(t), t));
                let value = match core {
                    None if style == TScalarStyle::Plain => resolve(&text),
                    None | Some((Some("str"), _)) => Value::Str(text),
                    Some((Some(kind @ ("int" | "float" | "bool" | "null")), _)) => {
                        let v = resolve(&text);
                        let ok = matches!(
                            (kind, &v),
                            ("int", Value::Int(_) | Value::UInt(_))
                                | ("float", Value::Float(_) | Value::Int(_) | Value::UInt(_))
                                | ("bool", Value::Bool(_))
                                | ("null", Value::Null)
                        );
                        if !ok {
                            return self.fail(YamlError::at(&loc, "", format!("!!{kind} {text:?}: not a YAML {kind}")));
                        }
                        match (kind, v) {
                            ("float", Value::Int(i)) => Value::Float(i as f64),
                            ("float", Value::UInt(u)) => Value::Float(u as f64),
                            (_, v) => v,
                        }
                    }
                    Some((_, t)) => return self.fail(unsupported_tag(&loc, t)),
                };
                self.push(Node { value, loc }, anchor, w);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(YamlError::at(&loc, "", format!("lists and mappings nest deeper than {MAX_DEPTH} levels")));
            }
            Event::SequenceStart(_, Some(t)) | Event::MappingStart(_, Some(t))
                if !matches!(core_tag(&t), Some("seq" | "map")) =>
            {
                self.fail(unsupported_tag(&loc, &t));
            }
            Event::SequenceStart(anchor, _) => {
                if self.weigh(1, &loc, false) {
                    self.stack.push(Frame::Seq { items: Vec::new(), loc, anchor, start })
                }
            }
            Event::MappingStart(anchor, _) => {
                if self.weigh(1, &loc, false) {
                    self.stack.push(Frame::Map { entries: Vec::new(), key: None, loc, anchor, start })
                }
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { items, loc, anchor, start }) => {
                    let w = self.weight - start;
                    self.push(Node { value: Value::Seq(items), loc }, anchor, w)
                }
                Some(Frame::Map { entries, loc, anchor, start, .. }) => {
                    // A block mapping's start mark can sit past its first key; the first key is
                    // where a reader looks for the mapping.
                    let loc = entries.first().map_or(loc, |e| e.key_loc.clone());
                    let mut keys = std::collections::HashSet::with_capacity(entries.len());
                    if let Some(dup) = entries.iter().find(|e| !keys.insert(e.key.as_str())) {
                        let e = YamlError::at(&dup.key_loc, "", format!("duplicate key \"{}\" in mapping", dup.key));
                        return self.fail(e);
                    }
                    // A merge key was read as a field named "<<" (and the fields it meant to
                    // bring were "missing").
                    if let Some(merge) = entries.iter().find(|e| e.key == "<<") {
                        let e = YamlError::at(
                            &merge.key_loc,
                            "",
                            "YAML merge keys (<<: *anchor) are not supported: write the fields out, or share them through include: and defaults:",
                        );
                        return self.fail(e);
                    }
                    let w = self.weight - start;
                    self.push(Node { value: Value::Map(entries), loc }, anchor, w)
                }
                None => {}
            },
            Event::Alias(id) => match self.anchors.get(&id).map(|(_, w)| *w) {
                // Weighed before it is cloned: a bomb stops at the first alias over the budget.
                Some(w) => {
                    if self.weigh(w, &loc, true) {
                        let node = self.anchors[&id].0.clone();
                        self.push(node, 0, w)
                    }
                }
                None => self.fail(YamlError::at(&loc, "", "alias to an unknown anchor")),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
pub fn resolve(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
        if let Ok(u) = text.trim_start_matches('+').parse::<u64>() {
            return Value::UInt(u);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Int(i);
        }
    }
    let looks_numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if looks_numeric {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

/// Reads, parses and decodes a whole YAML file (model specs, gate policies, scene files); every
/// problem is a configuration error located in the file.
pub fn load_file<T: de::DeserializeOwned>(path: &std::path::Path) -> crate::error::Result<T> {
    let node = load_node(path)?;
    decode(&node, "").map_err(|e| crate::error::Error::Config(e.to_string()))
}

/// Reads and parses a whole YAML file that holds a mapping, for [`load_file`] or a caller that
/// looks at the document before it decodes it.
pub fn load_node(path: &std::path::Path) -> crate::error::Result<Node> {
    use crate::error::Error;
    let text = read_text(path).map_err(Error::input(path))?;
    let node = parse(&path.to_string_lossy(), &text).map_err(|e| Error::Config(e.to_string()))?;
    // Every file read this way (a model spec, a gate policy, a sweep, a training config, a scene)
    // is a mapping: an empty one was "invalid type: unit value".
    if matches!(node.value, Value::Null) {
        return Err(Error::Config(format!(
            "{}: empty (no YAML document, only comments, or null); expected a mapping of fields",
            path.display()
        )));
    }
    Ok(node)
}

/// Decodes `node` into `T`, with `path` as the field path of `node` in the document.
pub fn decode<T: de::DeserializeOwned>(node: &Node, path: &str) -> Result<T, YamlError> {
    T::deserialize(NodeDe { node, path: path.to_string() })
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// A serde deserializer over a [`Node`] that attaches the innermost location to any error.
pub struct NodeDe<'a> {
    node: &'a Node,
    path: String,
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = YamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        let node = self.node;
        let result = match &node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::UInt(u) => visitor.visit_u64(*u),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => {
                let mut seq = SeqDe { items: items.iter().enumerate(), path: &self.path };
                visitor.visit_seq(&mut seq).and_then(|v| {
                    // A fixed-size list (a position, a pair) reads what it needs: more items are
                    // a mistake to report, not data to drop.
                    let read = items.len() - seq.items.len();
                    if read < items.len() {
                        Err(de::Error::custom(format!("expected {read} items, found {}", items.len())))
                    } else {
                        Ok(v)
                    }
                })
            }
            Value::Map(entries) => {
                visitor.visit_map(MapDe { entries: entries.iter(), current: None, path: &self.path })
            }
        };
        result.map_err(|e| e.locate(&node.loc, &self.path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        let loc = self.node.loc.clone();
        let path = self.path.clone();
        let result = match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        };
        result.map_err(|e| e.locate(&loc, &path))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, YamlError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        let node = self.node;
        let result = match &node.value {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Map(entries) if entries.len() == 1 => {
                visitor.visit_enum(EnumDe { entry: &entries[0], path: &self.path })
            }
            _ => Err(de::Error::custom(format!("expected a name or a one-key mapping, found {}", node.kind()))),
        };
        result.map_err(|e| e.locate(&node.loc, &self.path))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct SeqDe<'a, I> {
    items: I,
    path: &'a str,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Node)>> de::SeqAccess<'de> for SeqDe<'a, I> {
    type Error = YamlError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, YamlError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => seed.deserialize(NodeDe { node, path: format!("{}[{i}]", self.path) }).map(Some),
        }
    }
}

struct MapDe<'a, I> {
    entries: I,
    current: Option<&'a Entry>,
    path: &'a str,
}

impl<'de, 'a, I: Iterator<Item = &'a Entry>> de::MapAccess<'de> for MapDe<'a, I> {
    type Error = YamlError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, YamlError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let key: de::value::StrDeserializer<'_, YamlError> = entry.key.as_str().into_deserializer();
        seed.deserialize(key).map(Some).map_err(|e| e.locate(&entry.key_loc, &child_path(self.path, &entry.key)))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, YamlError> {
        let entry = self.current.take().ok_or_else(|| de::Error::custom("value requested before its key"))?;
        seed.deserialize(NodeDe { node: &entry.value, path: child_path(self.path, &entry.key) })
    }
}

struct EnumDe<'a> {
    entry: &'a Entry,
    path: &'a str,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumDe<'a> {
    type Error = YamlError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, NodeDe<'a>), YamlError> {
        let key: de::value::StrDeserializer<'_, YamlError> = self.entry.key.as_str().into_deserializer();
        let path = child_path(self.path, &self.entry.key);
        let v = seed.deserialize(key).map_err(|e| e.locate(&self.entry.key_loc, &path))?;
        Ok((v, NodeDe { node: &self.entry.value, path }))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_> {
    type Error = YamlError;

    fn unit_variant(self) -> Result<(), YamlError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, YamlError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, YamlError> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], visitor: V) -> Result<V::Value, YamlError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

/// Converts a node to JSON (for canonical hashing and display). Floats that JSON cannot hold
/// (NaN, ±inf) become null.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(entries.iter().map(|e| (e.key.clone(), to_json(&e.value))).collect()),
    }
}

/// A YAML double-quoted scalar that reads back as exactly `s`: quotes, backslashes and every
/// character YAML refuses raw or folds (C0, DEL, C1, the line and paragraph separators, the BOM,
/// U+FFFE/U+FFFF) escaped. Suites written by import and Kubernetes manifests use it.
pub fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Every control character (C0, DEL, C1: a cat\u{92}s toy, mojibake for ’), line and
            // paragraph separators, BOM and the two non-characters YAML refuses raw.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        n: u32,
        #[serde(default)]
        f: Option<f64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        items: Vec<Inner>,
    }

    fn err(text: &str) -> String {
        let node = parse("t.yaml", text).unwrap();
        decode::<Outer>(&node, "").unwrap_err().to_string()
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let n = parse("t.yaml", "a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: hello\ng: -3\nh: 1e3\n").unwrap();
        let kinds: Vec<_> = n.entries().unwrap().iter().map(|e| e.value.value.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Value::Int(1),
                Value::Float(1.5),
                Value::Bool(true),
                Value::Null,
                Value::Str("1".into()),
                Value::Str("hello".into()),
                Value::Int(-3),
                Value::Float(1000.0)
            ]
        );
    }

    #[test]
    fn decodes_and_locates_errors_at_the_innermost_node() {
        let ok = parse("t.yaml", "name: x\nitems:\n  - {n: 1}\n  - n: 2\n    f: 0.5\n").unwrap();
        assert_eq!(
            decode::<Outer>(&ok, "").unwrap(),
            Outer { name: "x".into(), items: vec![Inner { n: 1, f: None }, Inner { n: 2, f: Some(0.5) }] }
        );
        assert_eq!(
            err("name: x\nitems:\n  - n: 1\n  - n: 2\n    g: 0.5\n"),
            "t.yaml:5:5: items[1].g: unknown field `g`, expected `n` or `f`"
        );
        assert_eq!(
            err("name: x\nitems:\n  - n: -4\n"),
            "t.yaml:3:8: items[0].n: invalid value: integer `-4`, expected u32"
        );
        assert_eq!(err("name: x\nitems:\n  - f: 1\n"), "t.yaml:3:5: items[0]: missing field `n`");
        assert_eq!(err("name: [1]\nitems: []\n"), "t.yaml:1:7: name: invalid type: sequence, expected a string");
    }

    #[test]
    fn errors_name_what_a_place_holds_not_rust_types() {
        assert_eq!(err("hello\n"), "t.yaml:1:1: invalid type: string \"hello\", expected a mapping of fields");
        assert_eq!(
            plain_words("invalid type: string \"x\", expected struct ModelSpec"),
            "invalid type: string \"x\", expected a mapping of fields"
        );
    }

    /// A fixed-size list with items to spare (`pos: [0.5, 0.15, 9]`) was read and its extra
    /// items dropped without a word.
    #[test]
    fn extra_items_of_a_fixed_size_list_are_refused() {
        #[derive(Debug, Deserialize)]
        struct Pos {
            #[allow(dead_code)]
            pos: [f64; 2],
        }
        let node = parse("t.yaml", "pos: [0.5, 0.15, 9]\n").unwrap();
        assert_eq!(decode::<Pos>(&node, "").unwrap_err().to_string(), "t.yaml:1:6: pos: expected 2 items, found 3");
        let node = parse("t.yaml", "pos: [0.5]\n").unwrap();
        assert!(decode::<Pos>(&node, "").unwrap_err().to_string().starts_with("t.yaml:1:6: pos: invalid length 1"));
        assert!(decode::<Pos>(&parse("t.yaml", "pos: [0.5, 0.25]\n").unwrap(), "").is_ok());
        assert_eq!(decode::<Vec<u8>>(&parse("t.yaml", "[1, 2, 3]\n").unwrap(), "").unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_are_located() {
        let e = parse("t.yaml", "a: [1, 2\nb: 3\n").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:"), "{e}");
        assert!(e.contains("invalid YAML"), "{e}");
        assert_eq!(
            parse("t.yaml", "a: 1\nb: 2\na: 3\n").unwrap_err().to_string(),
            "t.yaml:3:1: duplicate key \"a\" in mapping"
        );
        let e = parse("t.yaml", "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:3:3: YAML merge keys (<<: *anchor) are not supported"), "{e}");
    }

    /// 50,000 nested block lists overflowed the stack in the parser's recursive loader; now the
    /// depth limit answers. A second document is refused, never dropped unread; a BOM is skipped.
    #[test]
    fn deep_block_nesting_a_second_document_and_a_bom() {
        let deep = format!("x:\n  {}a\n", "- ".repeat(50_000));
        let e = parse("t.yaml", &deep).unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:2:") && e.contains("nest deeper than 64 levels"), "{e}");
        let e = parse("t.yaml", "a: 1\n---\nb: 2\n").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:2:1:") && e.contains("a second YAML document"), "{e}");
        assert!(parse("t.yaml", "---\na: 1\n...\n").is_ok(), "one explicit document");
        let n = parse("t.yaml", "\u{feff}# a comment\na: 1\n").unwrap();
        assert_eq!(n.entries().unwrap()[0].key, "a");
    }
}
