//! Result file types and the renderers that turn them into documents people read.
//!
//! Reports read result files only ([`results::Results`], the run manifest and the generation
//! records), so a report can be re-rendered without re-running anything. Templates are compiled
//! into the binary and fed typed context structs.

pub mod agreement;
pub mod chart;
pub mod compare;
pub mod format;
pub mod html;
pub mod limitations;
pub mod results;
pub mod scaling;

pub use results::Results;

/// The template environment every page renders in: HTML auto-escaping, and control characters
/// in text (a program's stderr: colour codes, a progress line's carriage returns) and text
/// direction overrides written as `\u{1b}`, as the Markdown and JUnit files write them, not
/// passed into the page raw ([`shown_as_code`]).
pub(crate) fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() && s.chars().any(shown_as_code) => {
            let shown: String = s
                .chars()
                .map(|c| if shown_as_code(c) { format!("\\u{{{:x}}}", c as u32) } else { c.to_string() })
                .collect();
            minijinja::escape_formatter(out, state, &minijinja::Value::from(shown))
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env
}

/// A character that pages, files and terminals write as its code (`\u{202e}`), not as itself:
/// controls other than line breaks and tabs, and the embeddings, overrides and isolates that
/// reorder the text after them (U+202A–202E, U+2066–2069). A model named with a right-to-left
/// override showed the plan hash beside it reversed, and a checkpoint "\u{202e}kcehc" read
/// "check". The marks U+200E/U+200F (right-to-left text's own punctuation) stay.
pub fn shown_as_code(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    /// A program's stderr with a colour code and a progress line's carriage return reaches a page
    /// escaped, HTML and controls alike; markup a page builds itself passes as it is.
    #[test]
    fn pages_write_control_characters_as_codes() {
        let mut env = super::environment();
        env.add_template("t.html", "{{ s }}|{{ m }}").unwrap();
        let ctx = minijinja::context! {
            s => "10%\r100% \u{1b}[31m<failed>\u{1b}[0m\n\tnext",
            m => minijinja::Value::from_safe_string("<b>\r</b>".into()),
        };
        let html = env.get_template("t.html").unwrap().render(ctx).unwrap();
        assert_eq!(html, "10%\\u{d}100% \\u{1b}[31m&lt;failed&gt;\\u{1b}[0m\n\tnext|<b>\r</b>");
    }

    /// A name that would reverse what follows it on the page is shown with its override as a
    /// code; right-to-left text itself, with its marks, is shown as it is.
    #[test]
    fn pages_write_direction_overrides_as_codes() {
        let mut env = super::environment();
        env.add_template("t.html", "{{ s }} · {{ r }}").unwrap();
        let ctx = minijinja::context! { s => "\u{202e}kcehc\u{2067}x\u{2069}", r => "لعبة\u{200f} שלום" };
        let html = env.get_template("t.html").unwrap().render(ctx).unwrap();
        assert_eq!(html, "\\u{202e}kcehc\\u{2067}x\\u{2069} · لعبة\u{200f} שלום");
    }
}
