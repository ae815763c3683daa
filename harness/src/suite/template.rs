//! Suite fields as MiniJinja templates over a case's matrix, bounded in time and memory.
//!
//! A stranger's suite may hold any template, so rendering one must not take unbounded memory:
//! fuel bounds the steps, output goes into a capped buffer, the filters that multiply text check
//! their size first, and, before rendering, the template is read (MiniJinja's parser) and refused
//! if it holds what no bound can stop in time: `{% set %}` or a loop over text it builds (a
//! string doubled at every step), `*` or `**` on anything but numbers (`['a'] * 30000000` or
//! `'x' * 99999999` build hundreds of megabytes in one step), filters that allocate by their
//! argument (`batch`, `slice`) or materialise (`list`, `sort`), calls other than `range`, more
//! than MAX_NODES expressions or MAX_SOURCE bytes of template, or matrix values over MAX_VALUE
//! bytes; what a whole suite renders is bounded by MAX_SUITE_RENDERED.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::machinery::ast::{self, Expr, Stmt};
use minijinja::{Environment, UndefinedBehavior};

/// The environment suite fields render in: undefined names are errors, a template takes at
/// most TEMPLATE_FUEL steps, and the filters that can multiply text (`indent`, `join`,
/// `replace`, `format`) refuse before building more than MAX_RENDERED bytes (their output is
/// built whole, so a check of the rendered size alone came after a 10 TB allocation).
pub(super) fn env() -> Environment<'static> {
    use minijinja::value::{Kwargs, Rest, StringInput};
    use minijinja::{Error, ErrorKind, State, Value as JValue, filters};
    fn check(what: &str, bytes: u128) -> Result<(), Error> {
        if bytes <= MAX_RENDERED as u128 {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{what} would build {bytes} bytes, over the {} KiB a templated field may have", MAX_RENDERED >> 10),
        ))
    }
    fn indent(
        value: StringInput<'_>,
        width: Option<usize>,
        first: Option<bool>,
        blank: Option<bool>,
        kwargs: Kwargs,
    ) -> Result<JValue, Error> {
        let lines = value.as_str().lines().count() as u128 + 1;
        // The width may come as `width=` too (a keyword skipped this check).
        let width_kw: Option<usize> = kwargs.peek("width").ok();
        let w = width.or(width_kw).unwrap_or(4) as u128;
        check("indent", value.as_str().len() as u128 + lines * w)?;
        filters::indent(value, width, first, blank, kwargs)
    }
    fn join(state: &State, value: &JValue, joiner: Option<StringInput<'_>>) -> Result<JValue, Error> {
        let items = value.len().unwrap_or(0) as u128;
        check("join", items.saturating_sub(1) * joiner.as_ref().map_or(0, |j| j.as_str().len()) as u128)?;
        // The items themselves (a loop's list is at most range's 100,000 items).
        let texts: u128 = value.try_iter().into_iter().flatten().map(|v| v.to_string().len() as u128).sum();
        check("join", texts)?;
        filters::join(state, value, joiner)
    }
    fn replace(
        state: &State,
        value: StringInput<'_>,
        from: StringInput<'_>,
        to: StringInput<'_>,
    ) -> Result<JValue, Error> {
        let (text, pattern) = (value.as_str(), from.as_str());
        let hits = if pattern.is_empty() { text.chars().count() + 1 } else { text.matches(pattern).count() };
        check("replace", text.len() as u128 + hits as u128 * to.as_str().len() as u128)?;
        filters::replace(state, value, from, to)
    }
    fn format(state: &State, format: &JValue, args: Rest<JValue>) -> Result<JValue, Error> {
        // Each conversion may print the longest argument (`%(a)s` repeated prints a mapping's
        // value each time) padded to its width and precision.
        let text = format.as_str().unwrap_or_default();
        let longest = args.iter().map(|a| a.to_string().len() as u128).max().unwrap_or(0);
        let mut bytes = text.len() as u128;
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('%') {
                rest = after;
                continue;
            }
            if rest.starts_with('(') {
                rest = rest.find(')').map_or("", |end| &rest[end + 1..]);
            }
            rest = rest.trim_start_matches(['-', '+', ' ', '#', '0']);
            let number = |r: &str| -> (u128, usize) {
                let digits = r.bytes().take_while(u8::is_ascii_digit).count();
                (r[..digits].parse::<u128>().unwrap_or(if digits > 0 { u128::MAX >> 8 } else { 0 }), digits)
            };
            let (width, n) = number(rest);
            rest = &rest[n..];
            let precision = match rest.strip_prefix('.') {
                Some(r) => {
                    let (p, n) = number(r);
                    rest = &r[n..];
                    p
                }
                None => 0,
            };
            bytes = bytes.saturating_add(longest).saturating_add(width).saturating_add(precision);
        }
        check("format", bytes)?;
        filters::format(state, format, args)
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.add_filter("indent", indent);
    env.add_filter("join", join);
    env.add_filter("replace", replace);
    env.add_filter("format", format);
    env
}

/// Renders one templated field into at most MAX_RENDERED bytes (a loop that writes more stops
/// there, rather than after building all of it).
pub(super) fn render(
    env: &Environment,
    source: &str,
    vars: &BTreeMap<&str, serde_json::Value>,
    rendered: &std::cell::Cell<usize>,
) -> Result<String, String> {
    let code = source_outside_raw(source);
    if code > MAX_SOURCE {
        return Err(format!(
            "{code} bytes of template (outside {{% raw %}} blocks), over the {} KiB a field may have",
            MAX_SOURCE >> 10
        ));
    }
    if rendered.get() > MAX_SUITE_RENDERED {
        return Err(format!("the suite's templates render to over {} MiB in all", MAX_SUITE_RENDERED >> 20));
    }
    check(source, vars)?;
    struct Capped(Vec<u8>, bool);
    impl std::io::Write for Capped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0.len() + buf.len() > MAX_RENDERED {
                self.1 = true;
                return Err(std::io::Error::other("too long"));
            }
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let template = env.template_from_str(source).map_err(detail)?;
    let mut out = Capped(Vec::new(), false);
    match template.render_captured_to(vars, &mut out) {
        Ok(_) => {
            rendered.set(rendered.get() + out.0.len());
            String::from_utf8(out.0).map_err(|e| e.to_string())
        }
        Err(_) if out.1 => Err(format!("it renders to over the {} KiB a templated field may have", MAX_RENDERED >> 10)),
        Err(e) => Err(detail(e)),
    }
}

/// What went wrong in a template, in MiniJinja's words.
fn detail(e: minijinja::Error) -> String {
    e.detail().map_or_else(|| e.kind().to_string(), str::to_string)
}

/// Steps one templated string may take to render (a `for` loop's iterations count).
const TEMPLATE_FUEL: u64 = 20_000;
/// Template text one field may hold outside `{% raw %}` blocks: MiniJinja's parser recurses on
/// operators and frees a long expression recursively (20,000 `not`s overflowed the stack).
const MAX_SOURCE: usize = 8 << 10;
/// What all templated fields of a suite may render to together: each matrix row keeps its own
/// copy (380 fields of 64 KiB over 10,000 rows asked for 240 GB).
const MAX_SUITE_RENDERED: usize = 64 << 20;
/// The longest matrix value a template may use (a prompt list's prompts fit).
const MAX_VALUE: usize = 16 << 10;
/// The longest text one templated string may render to.
const MAX_RENDERED: usize = 64 << 10;

/// Bytes of a template outside its `{% raw %}…{% endraw %}` blocks.
fn source_outside_raw(source: &str) -> usize {
    let tag_word = |at: usize| {
        let tag = source[at + 2..].trim_start_matches(['-', '+', '~']).trim_start();
        tag.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>()
    };
    let (mut code, mut from, mut raw) = (0, 0, false);
    for (at, _) in source.match_indices("{%") {
        match (raw, tag_word(at).as_str()) {
            (false, "raw") => {
                code += at - from;
                raw = true;
            }
            (true, "endraw") => {
                from = at;
                raw = false;
            }
            _ => {}
        }
    }
    if !raw {
        code += source.len() - from;
    }
    code
}

/// Refuses a template holding `{% set %}` or any statement but `if` and `for`, a loop over
/// text it builds, a filter, test or call not allowed, more than MAX_NODES expressions, a
/// matrix value over MAX_VALUE bytes, or `*`/`**` on anything that is not a number (see
/// [`is_number`]).
fn check(source: &str, vars: &BTreeMap<&str, serde_json::Value>) -> Result<(), String> {
    let parsed =
        minijinja::machinery::parse(source, "field", Default::default(), Default::default()).map_err(detail)?;
    let numbers: BTreeSet<&str> = vars.iter().filter(|(_, v)| v.is_number()).map(|(k, _)| *k).collect();
    for (name, value) in vars {
        let bytes = value.to_string().len();
        if bytes > MAX_VALUE {
            return Err(format!(
                "the matrix value of `{name}` is {bytes} bytes, over the {} KiB a templated field may use",
                MAX_VALUE >> 10
            ));
        }
    }
    let mut scope = Scope { nodes: 0, numbers, loops: Vec::new() };
    stmt(&parsed, &mut scope)
}

/// The filters a suite's template may use: none builds more than its input and arguments, or
/// each checks its size ([`env`]); `batch`, `slice`, `list`, `sort` and the like are left out
/// (`[1]|batch(10**12)` asked for 24 TB at once).
const FILTERS: &[&str] = &[
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "replace",
    "default",
    "d",
    "round",
    "int",
    "float",
    "abs",
    "length",
    "count",
    "string",
    "first",
    "last",
    "join",
    "indent",
    "format",
    "escape",
    "e",
    "safe",
    "split",
    "lines",
    "min",
    "max",
    "bool",
];

/// The tests (`is …`) a suite's template may use.
const TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "true",
    "false",
    "boolean",
    "odd",
    "even",
    "number",
    "integer",
    "float",
    "string",
    "sequence",
    "mapping",
    "in",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "lower",
    "upper",
    "startingwith",
    "endingwith",
    "containing",
];

/// Expressions one field's template may hold: with matrix values of at most MAX_VALUE bytes, no
/// expression builds more than MAX_NODES × MAX_VALUE bytes (4 MiB), and a chain of `~` copies
/// at most half its square.
const MAX_NODES: usize = 256;

struct Scope<'a> {
    /// Expressions seen so far.
    nodes: usize,
    /// Matrix variables holding numbers.
    numbers: BTreeSet<&'a str>,
    /// Each enclosing loop's variables, and whether they are numbers (`for i in range(n)`).
    loops: Vec<(Vec<&'a str>, bool)>,
}

impl Scope<'_> {
    fn is_number(&self, name: &str) -> bool {
        // The innermost binding of the name decides.
        for (names, numeric) in self.loops.iter().rev() {
            if names.contains(&name) {
                return *numeric;
            }
        }
        self.numbers.contains(name)
    }
}

fn stmts<'a>(body: &'a [Stmt<'a>], scope: &mut Scope<'a>) -> Result<(), String> {
    body.iter().try_for_each(|s| stmt(s, scope))
}

fn stmt<'a>(s: &'a Stmt<'a>, scope: &mut Scope<'a>) -> Result<(), String> {
    match s {
        Stmt::Template(t) => stmts(&t.children, scope),
        Stmt::EmitExpr(e) => expr(&e.expr, scope),
        Stmt::EmitRaw(_) => Ok(()),
        Stmt::ForLoop(f) => {
            // A loop runs over what the suite gives (a matrix variable, `range(n)`, a list of
            // literals, a variable's `split` or `lines`), never over text it builds: `for b in
            // [a ~ a]` nested doubles a string at every level.
            fn given(e: &Expr<'_>) -> bool {
                match e {
                    Expr::Var(_) | Expr::Const(_) => true,
                    Expr::Call(c) => matches!(&c.expr, Expr::Var(v) if v.id == "range"),
                    Expr::List(l) => l.items.iter().all(given),
                    Expr::Filter(g) => g.expr.as_ref().is_some_and(given),
                    _ => false,
                }
            }
            if !given(&f.iter) {
                return Err(
                    "a `for` loop in a suite's template runs over matrix variables, `range(n)`, literals or lists of them, through filters"
                        .into(),
                );
            }
            expr(&f.iter, scope)?;
            let numeric = match &f.iter {
                Expr::Call(c) => matches!(&c.expr, Expr::Var(v) if v.id == "range"),
                Expr::List(l) => l.items.iter().all(|i| is_number(i, scope)),
                _ => false,
            };
            let mut names = Vec::new();
            target_names(&f.target, &mut names);
            scope.loops.push((names, numeric));
            let inner = f.filter_expr.iter().try_for_each(|e| expr(e, scope)).and_then(|()| stmts(&f.body, scope));
            scope.loops.pop();
            inner?;
            stmts(&f.else_body, scope)
        }
        Stmt::IfCond(i) => {
            expr(&i.expr, scope)?;
            stmts(&i.true_body, scope)?;
            stmts(&i.false_body, scope)
        }
        Stmt::Set(_) | Stmt::SetBlock(_) => Err(
            "`{% set %}` is not allowed in a suite: a field's template may use its matrix variables, expressions, `if` and `for`".into(),
        ),
        _ => Err("only expressions, `if` and `for` are allowed in a suite's templates".into()),
    }
}

fn target_names<'a>(target: &'a Expr<'a>, names: &mut Vec<&'a str>) {
    match target {
        Expr::Var(v) => names.push(v.id),
        Expr::List(l) => l.items.iter().for_each(|i| target_names(i, names)),
        _ => {}
    }
}

fn expr<'a>(e: &'a Expr<'a>, scope: &mut Scope<'a>) -> Result<(), String> {
    scope.nodes += 1;
    if scope.nodes > MAX_NODES {
        return Err(format!("over {MAX_NODES} expressions in one field's template"));
    }
    match e {
        Expr::Var(_) | Expr::Const(_) => Ok(()),
        Expr::Slice(s) => {
            expr(&s.expr, scope)?;
            [&s.start, &s.stop, &s.step].into_iter().flatten().try_for_each(|e| expr(e, scope))
        }
        Expr::UnaryOp(u) => expr(&u.expr, scope),
        Expr::BinOp(b) => {
            if matches!(b.op, ast::BinOpKind::Mul | ast::BinOpKind::Pow)
                && !(is_number(&b.left, scope) && is_number(&b.right, scope))
            {
                return Err(
                    "`*` and `**` may only multiply numbers in a suite's templates (repeating text or a list has no bound); write the text out, or use a `for` loop".into(),
                );
            }
            expr(&b.left, scope)?;
            expr(&b.right, scope)
        }
        Expr::Compare(c) => {
            expr(&c.expr, scope)?;
            c.ops.iter().try_for_each(|o| expr(&o.expr, scope))
        }
        Expr::IfExpr(i) => {
            expr(&i.test_expr, scope)?;
            expr(&i.true_expr, scope)?;
            i.false_expr.iter().try_for_each(|e| expr(e, scope))
        }
        Expr::Filter(f) => {
            if !FILTERS.contains(&f.name) {
                return Err(format!(
                    "the filter `{}` is not allowed in a suite's templates (allowed: {})",
                    f.name,
                    FILTERS.join(", ")
                ));
            }
            f.expr.iter().try_for_each(|e| expr(e, scope))?;
            args(&f.args, scope)
        }
        Expr::Test(t) => {
            // `divisibleby(0)` panics inside MiniJinja.
            if !TESTS.contains(&t.name) {
                return Err(format!(
                    "the test `{}` is not allowed in a suite's templates (allowed: {})",
                    t.name,
                    TESTS.join(", ")
                ));
            }
            expr(&t.expr, scope)?;
            args(&t.args, scope)
        }
        Expr::GetAttr(g) => expr(&g.expr, scope),
        Expr::GetItem(g) => {
            expr(&g.expr, scope)?;
            expr(&g.subscript_expr, scope)
        }
        Expr::Call(c) => {
            if !matches!(&c.expr, Expr::Var(v) if v.id == "range") {
                return Err("the only function a suite's template may call is `range`".into());
            }
            args(&c.args, scope)
        }
        Expr::List(l) => l.items.iter().try_for_each(|i| expr(i, scope)),
        Expr::Map(m) => m.keys.iter().chain(&m.values).try_for_each(|i| expr(i, scope)),
    }
}

fn args<'a>(list: &'a [ast::CallArg<'a>], scope: &mut Scope<'a>) -> Result<(), String> {
    list.iter().try_for_each(|a| match a {
        ast::CallArg::Pos(e) | ast::CallArg::Kwarg(_, e) | ast::CallArg::PosSplat(e) | ast::CallArg::KwargSplat(e) => {
            expr(e, scope)
        }
    })
}

/// Whether an expression is a number whatever the matrix row holds.
fn is_number(e: &Expr<'_>, scope: &Scope<'_>) -> bool {
    match e {
        Expr::Const(c) => c.value.kind() == minijinja::value::ValueKind::Number,
        Expr::Var(v) => scope.is_number(v.id),
        Expr::GetAttr(g) => {
            matches!(&g.expr, Expr::Var(v) if v.id == "loop")
                && matches!(g.name, "index" | "index0" | "revindex" | "revindex0" | "length" | "depth" | "depth0")
        }
        Expr::UnaryOp(u) => matches!(u.op, ast::UnaryOpKind::Neg) && is_number(&u.expr, scope),
        Expr::BinOp(b) => {
            matches!(
                b.op,
                ast::BinOpKind::Add
                    | ast::BinOpKind::Sub
                    | ast::BinOpKind::Mul
                    | ast::BinOpKind::Div
                    | ast::BinOpKind::FloorDiv
                    | ast::BinOpKind::Rem
                    | ast::BinOpKind::Pow
            ) && is_number(&b.left, scope)
                && is_number(&b.right, scope)
        }
        Expr::Filter(f) => match f.name {
            "int" | "float" | "round" | "abs" | "length" | "count" => true,
            // Of numbers, a number: `[a, b]|max`, `n|default(1)`.
            "max" | "min" | "first" | "last" => f.expr.as_ref().is_some_and(|e| match e {
                Expr::List(l) => !l.items.is_empty() && l.items.iter().all(|i| is_number(i, scope)),
                _ => false,
            }),
            "default" | "d" => {
                f.expr.as_ref().is_some_and(|e| is_number(e, scope))
                    && f.args.iter().all(|a| matches!(a, ast::CallArg::Pos(e) if is_number(e, scope)))
            }
            _ => false,
        },
        Expr::IfExpr(i) => is_number(&i.true_expr, scope) && i.false_expr.as_ref().is_some_and(|f| is_number(f, scope)),
        _ => false,
    }
}
