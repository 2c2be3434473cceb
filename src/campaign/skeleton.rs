//! The fast path of rendering: a message pre-rendered per locale and wave with markers
//! where the per-contact values go, filled in per contact.
//!
//! Handlebars copies the whole context at every partial call, which made a request
//! e-mail cost ~170 µs to render; filling a skeleton costs a few. It is only used where
//! it gives exactly what the full render gives:
//!
//! - every template only inserts values or tests them for truth (`{{x}}`, `{{#if x}}`,
//!   `{{#each}}`, `{{#with}}`, partials): no helper computes on a value, so a marker
//!   stands in for any value ([`value_blind`]);
//! - truth is kept: a skeleton is made with and without a name, and the other
//!   per-contact values are never empty on this path;
//! - at setup, for every skeleton, probe contacts with `&`, `<` and quotes in their
//!   values render the same both ways (the renderer checks this before keeping one).

/// A per-contact value the skeleton leaves a marker for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Name,
    ConfirmUrl,
    LeaveUrl,
    BonusCode,
    Deadline,
}

pub const SLOTS: [Slot; 5] = [
    Slot::Name,
    Slot::ConfirmUrl,
    Slot::LeaveUrl,
    Slot::BonusCode,
    Slot::Deadline,
];

// Private-use code points: HTML escaping leaves them alone and no campaign text uses them.
const OPEN: char = '\u{F8F0}';
const CLOSE: char = '\u{F8F1}';

/// The marker rendered in place of a slot's value.
pub fn marker(slot: Slot) -> String {
    let i = SLOTS.iter().position(|s| *s == slot).unwrap_or(0);
    format!("{OPEN}{i}{CLOSE}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Text(String),
    Value(usize),
}

/// One rendered output (subject, HTML or text) split at its markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    segs: Vec<Seg>,
    /// Bytes of fixed text, to size the output once.
    fixed: usize,
}

impl Skeleton {
    /// Splits a render made with markers; `None` if anything marker-like is malformed.
    pub fn parse(rendered: &str) -> Option<Skeleton> {
        let mut segs = Vec::new();
        let mut fixed = 0;
        let mut rest = rendered;
        while let Some(i) = rest.find(OPEN) {
            let (text, tail) = rest.split_at(i);
            let mut chars = tail[OPEN.len_utf8()..].chars();
            let index = chars.next()?.to_digit(10)? as usize;
            if index >= SLOTS.len() || chars.next()? != CLOSE {
                return None;
            }
            if !text.is_empty() {
                fixed += text.len();
                segs.push(Seg::Text(text.to_string()));
            }
            segs.push(Seg::Value(index));
            rest = chars.as_str();
        }
        if rest.contains(CLOSE) {
            return None;
        }
        if !rest.is_empty() {
            fixed += rest.len();
            segs.push(Seg::Text(rest.to_string()));
        }
        Some(Skeleton { segs, fixed })
    }

    /// The output with `values` (in [`SLOTS`] order) in place, HTML-escaped if `escape`.
    pub fn fill(&self, values: &[&str; 5], escape: bool) -> String {
        let mut out = String::with_capacity(self.fixed + 512);
        for seg in &self.segs {
            match seg {
                Seg::Text(t) => out.push_str(t),
                Seg::Value(i) if escape => out.push_str(&handlebars::html_escape(values[*i])),
                Seg::Value(i) => out.push_str(values[*i]),
            }
        }
        out
    }
}

/// Does this template source only insert values and test them for truth? (See the
/// module documentation.) Quoted hash values, e.g. partial labels, may say anything.
pub fn value_blind(source: &str) -> bool {
    let mut rest = source;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        if let Some(comment) = after.strip_prefix("!--") {
            let Some(end) = comment.find("--}}") else {
                return false;
            };
            rest = &comment[end + 4..];
            continue;
        }
        let Some(end) = after.find("}}") else {
            return false;
        };
        let expr = &after[..end];
        rest = after[end + 2..]
            .strip_prefix('}')
            .unwrap_or(&after[end + 2..]);
        if expr.starts_with('!') {
            continue;
        }
        if !expression_blind(expr.trim_matches(|c: char| c == '{' || c == '~' || c.is_whitespace()))
        {
            return false;
        }
    }
    true
}

fn expression_blind(expr: &str) -> bool {
    let bare = without_quoted(expr);
    if bare.contains('(') {
        return false;
    }
    let words: Vec<&str> = bare.split_whitespace().collect();
    let Some(first) = words.first() else {
        return true;
    };
    if first.starts_with('>') || first.starts_with("#>") || first.starts_with('/') {
        return true;
    }
    match *first {
        "else" => words.len() == 1 || (words.len() == 3 && matches!(words[1], "if" | "unless")),
        "#if" | "#unless" => words.len() == 2,
        "#each" | "#with" => words.len() == 2 || (words.len() >= 4 && words[2] == "as"),
        // A bare path; anything with arguments is a helper computing on values.
        path => words.len() == 1 && !path.starts_with('#'),
    }
}

/// The expression with the insides of its quoted strings removed.
fn without_quoted(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    for c in expr.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_fills() {
        let rendered = format!(
            "Hi {}, <a href=\"{}\">x</a>{}",
            marker(Slot::Name),
            marker(Slot::ConfirmUrl),
            marker(Slot::Deadline)
        );
        let sk = Skeleton::parse(&rendered).unwrap();
        let values = [
            "Zoë & Ola",
            "https://r.example/r/T?a=1&b=2",
            "",
            "C",
            "15 June",
        ];
        assert_eq!(
            sk.fill(&values, true),
            "Hi Zoë &amp; Ola, <a href=\"https://r.example/r/T?a&#x3D;1&amp;b&#x3D;2\">x</a>15 June"
        );
        assert_eq!(
            sk.fill(&values, false),
            "Hi Zoë & Ola, <a href=\"https://r.example/r/T?a=1&b=2\">x</a>15 June"
        );
        assert_eq!(
            Skeleton::parse("plain").unwrap().fill(&values, true),
            "plain"
        );
    }

    #[test]
    fn refuses_malformed_markers() {
        for bad in [
            "\u{F8F0}",
            "\u{F8F0}9\u{F8F1}",
            "\u{F8F0}1",
            "a\u{F8F1}",
            "\u{F8F0}x\u{F8F1}",
        ] {
            assert_eq!(Skeleton::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tells_value_blind_templates() {
        let blind = [
            "{{sender.name}} {{{purpose}}} {{~greeting_name~}}",
            "{{#if greeting_name}} {{greeting_name}}{{/if}}",
            "{{#if wave.last}}A{{else if wave.reminder}}B{{else}}C{{/if}}",
            "{{#each benefits}}<li>{{this}}</li>{{/each}}{{#with bonus as |b|}}{{b.code}}{{/with}}",
            "{{> buttons confirm_label=\"Yes (really)\" leave_label='No (thanks)'}}",
            "{{#> layout lang=\"en\" title=\"Hi\"}}x{{> @partial-block}}{{/layout}}",
            "{{!-- {{eq a b}} --}}{{! plain comment }}",
        ];
        for t in blind {
            assert!(value_blind(t), "{t}");
        }
        let computing = [
            "{{#if (eq contact.name \"Jan\")}}x{{/if}}",
            "{{lookup benefits 0}}",
            "{{upper contact.name}}",
            "{{#if a b}}x{{/if}}",
            "{{unclosed",
        ];
        for t in computing {
            assert!(!value_blind(t), "{t}");
        }
    }
}
