//! The one place that prints. Two rules for everything the commands say:
//!
//! - What came from a user (addresses, names, cells quoted in errors, ledger details)
//!   cannot drive the terminal: control characters but line feed and tab, and invisible
//!   format characters (zero-width, bidi overrides), are shown escaped, as `\u{1b}`.
//!   In `--json` output they are JSON escapes (`\u202e`), so the document stays valid.
//! - A reader that goes away (`reconsent audit --json | head -c 10`) is not an error: the
//!   command finishes what it started, and what it would still print is dropped. The
//!   broken pipe is handled here rather than by restoring SIGPIPE, which would also kill
//!   the process on a socket that `send` or `serve` must see fail as an error.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Prints a line on stdout: `outln!("{n} contacts")`.
macro_rules! outln {
    () => {
        $crate::print::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::print::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints on stdout without ending the line.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::print::stdout(format_args!($($arg)*))
    };
}

/// Prints a line on stderr: warnings, refusals, notes beside a `--json` document.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::print::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, out, outln};

/// Writes to stdout, escaped; after a broken pipe, writes nothing.
pub fn stdout(args: fmt::Arguments<'_>) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let text = args.to_string();
    let mut out = io::stdout().lock();
    let written = out
        .write_all(escape(&text).as_bytes())
        .and_then(|()| out.flush());
    if written.is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
    }
}

/// Writes to stderr, escaped. A closed stderr leaves nobody to tell, so it is ignored.
pub fn stderr(args: fmt::Arguments<'_>) {
    let text = args.to_string();
    let _ = io::stderr().lock().write_all(escape(&text).as_bytes());
}

/// Writes our own terminal codes (a progress line redrawn in place) to stderr unescaped.
pub fn progress(raw: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(raw.as_bytes()).and_then(|()| err.flush());
}

/// One JSON document on stdout, pretty-printed, hidden characters as JSON escapes.
pub fn json(value: &serde_json::Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    stdout(format_args!("{}\n", json_escape(&text)));
}

/// JSON text already serialised (JSON Lines) on stdout, hidden characters as JSON escapes.
pub fn json_text(text: &str) {
    stdout(format_args!("{}", json_escape(text)));
}

/// Characters that must not reach a terminal as they are.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c.general_category() == GeneralCategory::Format
}

/// `text` with each hidden character written as `\u{…}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            let _ = write!(s, "\\u{{{:x}}}", u32::from(c));
        } else {
            s.push(c);
        }
    }
    Cow::Owned(s)
}

/// serde_json escapes controls in strings but leaves format characters as they are; they
/// can only stand inside strings, so each is replaced by its `\uXXXX` escape (a surrogate
/// pair beyond the first plane).
fn json_escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(s, "\\u{unit:04x}");
            }
        } else {
            s.push(c);
        }
    }
    Cow::Owned(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_escaped() {
        let cases = [
            ("plain text, ąę ß 用户", "plain text, ąę ß 用户"),
            ("two\nlines\tand a tab", "two\nlines\tand a tab"),
            ("\u{1b}[31mred\u{1b}[0m", "\\u{1b}[31mred\\u{1b}[0m"),
            ("\u{1b}]0;title\u{7}", "\\u{1b}]0;title\\u{7}"),
            ("over\rwrite", "over\\u{d}write"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("ja\u{200b}n@example.pl", "ja\\u{200b}n@example.pl"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
        ];
        for (input, shown) in cases {
            assert_eq!(escape(input), shown, "{input:?}");
        }
    }

    #[test]
    fn json_stays_json() {
        let value = serde_json::json!({
            "name": "abc\u{202e}fed\u{1b}",
            "tag": "x\u{e0041}",
        });
        let text = serde_json::to_string(&value).unwrap();
        let escaped = json_escape(&text);
        assert!(!escaped.chars().any(hidden), "{escaped}");
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }
}
