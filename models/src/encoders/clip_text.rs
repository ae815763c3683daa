//! OpenAI CLIP's prompt cleaning, done before byte-pair encoding.
//!
//! OpenAI's `clip/simple_tokenizer.py` (and open_clip's `tokenizer.py`, which VBench's CLIP score
//! and most papers' CLIP numbers go through) encode `whitespace_clean(basic_clean(text)).lower()`
//! where `basic_clean` is `html.unescape(html.unescape(ftfy.fix_text(text))).strip()`. A Hugging
//! Face `tokenizer.json` cannot express those steps, so without them a prompt written with a
//! typographic apostrophe (`it’s`), an HTML entity (`&amp;`), a ligature (`ﬁ`), full-width letters
//! or a stray control character is tokenised differently from OpenAI's tokenizer, and its CLIP
//! score differs.
//!
//! [`clean_prompt`] does the same steps: ftfy 6.3's `fix_text` with its default settings
//! (`ftfy/__init__.py`, `fix_text` and `fix_and_explain`; `ftfy/fixes.py`; `ftfy/chardata.py`),
//! then Python's `html.unescape` twice, `strip`, whitespace collapsing and `lower`. One step of
//! ftfy is not reproduced: its mojibake repair (`fix_encoding`, a heuristic that re-decodes text
//! like `cafÃ©` as `café`); such text is cleaned as written. The corpus in
//! `models/tests/golden/clip_prompt.json` (from `clip_prompt_golden.py`) holds both results.

use unicode_normalization::UnicodeNormalization;

use super::clip_text_tables::{DECIMAL_DIGITS, HTML5, INVALID_CHARREFS, INVALID_CODEPOINTS, UPPERCASED};

/// ftfy's `max_decode_length`: longer lines are fixed in pieces of this many characters.
const MAX_SEGMENT_CHARS: usize = 1_000_000;

/// The text OpenAI's tokenizer encodes for `prompt` (module docs).
pub fn clean_prompt(prompt: &str) -> String {
    let fixed = fix_text(prompt);
    let unescaped = html_unescape(&html_unescape(&fixed));
    let mut out = String::with_capacity(unescaped.len());
    for word in unescaped.split(is_py_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.to_lowercase()
}

/// Python's `str.isspace` (what `\s` and `strip()` match): Unicode White_Space plus the
/// information separators U+001C–U+001F, which Python counts as whitespace.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// ftfy's `fix_text`: each line (with its newline) fixed on its own; HTML entities are left
/// alone from the first line that has a `<` on (the text is taken for HTML then).
fn fix_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut unescape = true;
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        if let Some((cut, _)) = rest[..end].char_indices().nth(MAX_SEGMENT_CHARS) {
            end = cut;
        }
        let segment = &rest[..end];
        unescape &= !segment.contains('<');
        out.push_str(&fix_segment(segment, unescape));
        rest = &rest[end..];
    }
    out
}

/// ftfy's `fix_and_explain` without `fix_encoding`: every fixer in turn, then NFC, until a pass
/// changes nothing.
fn fix_segment(segment: &str, unescape: bool) -> String {
    let mut text = segment.to_string();
    loop {
        let before = text.clone();
        if unescape {
            text = ftfy_unescape(&text);
        }
        text = text.chars().flat_map(fix_char).collect();
        text = text.replace("\r\n", "\n");
        text = text.replace(['\r', '\u{2028}', '\u{2029}', '\u{85}'], "\n");
        text = remove_terminal_escapes(&text);
        text.retain(|c| !is_removed_control(c));
        text = text.nfc().collect();
        if text == before {
            return text;
        }
    }
}

/// The character-by-character fixers, in ftfy's order: C1 controls read as Windows-1252,
/// Latin ligatures split, half- and full-width forms made plain, curly quotes straightened.
fn fix_char(c: char) -> Vec<char> {
    let c = c1_as_windows_1252(c);
    if let Some(split) = ligature(c) {
        return split.chars().map(uncurl).collect();
    }
    let wide: Vec<char> = match c {
        '\u{3000}' => vec![' '],
        '\u{ff01}'..='\u{ffef}' => c.to_string().nfkc().collect(),
        _ => vec![c],
    };
    wide.into_iter().map(uncurl).collect()
}

/// ftfy's "sloppy" Windows-1252: bytes 0x80–0x9F as Windows-1252 has them, the five it leaves
/// undefined kept as the C1 control of the same number.
fn c1_as_windows_1252(c: char) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match c {
        '\u{80}'..='\u{9f}' => HIGH[c as usize - 0x80],
        _ => c,
    }
}

/// The Latin ligatures and digraphs ftfy splits (`chardata.LIGATURES`); it keeps æ, œ and the
/// like, which are used on purpose.
fn ligature(c: char) -> Option<&'static str> {
    Some(match c {
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        'ŉ' => "ʼn",
        'Ǳ' => "DZ",
        'ǲ' => "Dz",
        'ǳ' => "dz",
        'Ǆ' => "DŽ",
        'ǅ' => "Dž",
        'ǆ' => "dž",
        'Ǉ' => "LJ",
        'ǈ' => "Lj",
        'ǉ' => "lj",
        'Ǌ' => "NJ",
        'ǋ' => "Nj",
        'ǌ' => "nj",
        'ﬀ' => "ff",
        'ﬁ' => "fi",
        'ﬂ' => "fl",
        'ﬃ' => "ffi",
        'ﬄ' => "ffl",
        'ﬅ' => "ſt",
        'ﬆ' => "st",
        _ => return None,
    })
}

/// ftfy's `uncurl_quotes`.
fn uncurl(c: char) -> char {
    match c {
        '\u{2bc}' | '\u{2018}'..='\u{201b}' => '\'',
        '\u{201c}'..='\u{201f}' => '"',
        _ => c,
    }
}

/// The control characters ftfy's `remove_control_chars` drops.
fn is_removed_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{e}'..='\u{1f}' | '\u{7f}' | '\u{206a}'..='\u{206f}' | '\u{feff}'
        | '\u{fff9}'..='\u{fffc}')
}

/// ftfy's `remove_terminal_escapes`: ESC `[`, any decimal digits (in any script, as Python's
/// `\d`) and semicolons, then one ASCII letter.
fn remove_terminal_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let params = after.find(|c: char| !(c == ';' || is_decimal_digit(c))).unwrap_or(after.len());
        match after[params..].chars().next() {
            Some(letter) if letter.is_ascii_alphabetic() => rest = &after[params + 1..],
            _ => {
                out.push('\u{1b}');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Unicode general category Nd (Python's `\d`); `char::to_digit` knows only ASCII.
fn is_decimal_digit(c: char) -> bool {
    let i = DECIMAL_DIGITS.partition_point(|&(_, end)| end < c);
    DECIMAL_DIGITS.get(i).is_some_and(|&(start, _)| start <= c)
}

/// ftfy's `unescape_html`: `&`, an optional `#`, 1–24 ASCII letters or digits, `;`. Known names
/// (and all-lowercase names written in capitals) become their text; a numeric reference
/// becomes what `html.unescape` makes of it unless that still has a `;`.
fn ftfy_unescape(text: &str) -> String {
    replace_references(text, |after| {
        let body_start = usize::from(after.starts_with('#'));
        let body_len = after[body_start..].bytes().take_while(u8::is_ascii_alphanumeric).count();
        let len = body_start + body_len;
        if !(1..=24).contains(&body_len) || !after[len..].starts_with(';') {
            return None;
        }
        let name = &after[..len + 1];
        let text = if body_start == 0 {
            lookup(HTML5, name).or_else(|| lookup(UPPERCASED, name)).map(str::to_string)
        } else {
            Some(html_unescape(&format!("&{name}"))).filter(|u| !u.contains(';'))
        };
        text.map(|t| (len + 1, t))
    })
}

fn lookup(table: &'static [(&'static str, &'static str)], name: &str) -> Option<&'static str> {
    table.binary_search_by(|(n, _)| (*n).cmp(name)).ok().map(|i| table[i].1)
}

/// Python's `html.unescape` (`Lib/html/__init__.py`): numeric references (decimal or `x`/`X`
/// hex, `;` optional) and named references of up to 32 characters, a name without its `;`
/// decoded by its longest known prefix (`&copy2025` is `©2025`), as HTML5 parsers do.
fn html_unescape(text: &str) -> String {
    replace_references(text, charref)
}

/// `text` with each `&` that `reference` reads (given what follows the `&`, it says how many
/// bytes of that the reference takes and its text) replaced; any other `&` kept. A reference
/// holds no `&`, so scanning on from the next `&` is what both unescapers' regexes do.
fn replace_references(text: &str, reference: impl Fn(&str) -> Option<(usize, String)>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match reference(after) {
            Some((len, replacement)) => {
                out.push_str(&replacement);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The reference at the start of `s` (just after a `&`): its length and its text.
fn charref(s: &str) -> Option<(usize, String)> {
    if let Some(num) = s.strip_prefix('#') {
        let (hex, digits) = match num.strip_prefix(['x', 'X']) {
            Some(h) => (true, h),
            None => (false, num),
        };
        let radix = if hex { 16 } else { 10 };
        let n = digits.bytes().take_while(|b| (*b as char).is_digit(radix)).count();
        if n == 0 {
            return None;
        }
        let semicolon = usize::from(digits[n..].starts_with(';'));
        let len = 1 + usize::from(hex) + n + semicolon;
        // Python's integers do not overflow; anything past U+10FFFF is U+FFFD all the same.
        let value = u32::from_str_radix(&digits[..n], radix).unwrap_or(u32::MAX);
        return Some((len, numeric(value)));
    }
    let name_len: usize = s
        .chars()
        .take_while(|c| !matches!(c, '\t' | '\n' | '\u{c}' | ' ' | '<' | '&' | '#' | ';'))
        .take(32)
        .map(char::len_utf8)
        .sum();
    if name_len == 0 {
        return None;
    }
    let semicolon = usize::from(s[name_len..].starts_with(';'));
    let len = name_len + semicolon;
    let name = &s[..len];
    if let Some(value) = lookup(HTML5, name) {
        return Some((len, value.to_string()));
    }
    // The longest known prefix of at least two characters, the rest kept as written.
    let bounds: Vec<usize> = name.char_indices().map(|(i, _)| i).skip(2).collect();
    for &cut in bounds.iter().rev() {
        if let Some(value) = lookup(HTML5, &name[..cut]) {
            return Some((len, format!("{value}{}", &name[cut..])));
        }
    }
    None
}

/// A numeric reference's text, with html.unescape's replacements and refusals.
fn numeric(value: u32) -> String {
    if let Ok(i) = INVALID_CHARREFS.binary_search_by_key(&value, |(n, _)| *n) {
        return INVALID_CHARREFS[i].1.to_string();
    }
    if (0xd800..=0xdfff).contains(&value) || value > 0x10ffff {
        return "\u{fffd}".to_string();
    }
    if INVALID_CODEPOINTS.binary_search(&value).is_ok() {
        return String::new();
    }
    char::from_u32(value).map_or_else(|| "\u{fffd}".to_string(), String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every prompt of the committed corpus cleans to what OpenAI's tokenizer (open_clip's copy,
    /// ftfy 6.3.1, Python 3.11) gives, or, where that repairs mojibake, to the same text without
    /// the repair.
    #[test]
    fn cleaning_matches_openai_simple_tokenizer_on_the_corpus() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/clip_prompt.json");
        let golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let rows = golden["prompts"].as_array().unwrap();
        assert!(rows.len() > 100);
        let mut wrong = Vec::new();
        for row in rows {
            let prompt = row["prompt"].as_str().unwrap();
            let want = row.get("without_mojibake_repair").unwrap_or(&row["cleaned"]).as_str().unwrap();
            let got = clean_prompt(prompt);
            if got != want {
                wrong.push(format!("{prompt:?}: {got:?}, expected {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{} of {} differ:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
    }

    #[test]
    fn typographic_quotes_entities_and_ligatures_are_plain_text() {
        assert_eq!(clean_prompt("It’s a “dog”"), "it's a \"dog\"");
        assert_eq!(clean_prompt("Fish &amp;amp; chips"), "fish & chips");
        assert_eq!(clean_prompt("a ﬁsh\u{a0}in ＡＢＣ\u{7}"), "a fish in abc");
        // A `<` makes ftfy take the line for HTML; html.unescape still decodes twice.
        assert_eq!(clean_prompt("x < y &amp;amp;amp; z"), "x < y &amp; z");
    }

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(HTML5.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(UPPERCASED.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(INVALID_CHARREFS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(INVALID_CODEPOINTS.windows(2).all(|w| w[0] < w[1]));
        assert!(DECIMAL_DIGITS.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(
            is_decimal_digit('7') && is_decimal_digit('\u{663}') && !is_decimal_digit('a') && !is_decimal_digit('½')
        );
    }
}
