//! Bar charts as inline SVG, drawn on the server: a label and its number above each
//! bar, so the text stays readable on a phone. Colours come from the stylesheet
//! (`.t-NAME`), the same for a bar and its legend.

use maud::{Markup, html};

/// The drawing's width in SVG units; it scales to the page.
const WIDTH: f64 = 360.0;
const ROW: f64 = 44.0;
const BAR: f64 = 14.0;

pub struct Bar<'a> {
    pub label: &'a str,
    pub value: u64,
    /// A colour of the stylesheet: `t-{tone}`.
    pub tone: &'a str,
}

/// The length of a bar of `value` when `max` fills the width; a bar of at least one
/// unit shows that something is there (pure).
pub fn length(value: u64, max: u64, width: f64) -> f64 {
    if value == 0 || max == 0 {
        return 0.0;
    }
    (value as f64 / max as f64 * width).clamp(1.0, width)
}

fn fmt_len(x: f64) -> String {
    format!("{x:.1}")
}

/// What a chart shows, in words: its title, then each label and number.
fn summary<'a>(title: &str, rows: impl Iterator<Item = (&'a str, u64)>) -> String {
    let parts: Vec<String> = rows.map(|(l, n)| format!("{l} {n}")).collect();
    format!("{title}: {}", parts.join(", "))
}

/// One bar per item, against the largest.
pub fn bars(title: &str, id: &str, items: &[Bar<'_>]) -> Markup {
    let max = items.iter().map(|b| b.value).max().unwrap_or(0);
    let said = summary(title, items.iter().map(|b| (b.label, b.value)));
    let height = ROW * items.len() as f64;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby=(id)
            viewBox={ "0 0 " (WIDTH) " " (height) } {
            title id=(id) { (said) }
            @for (i, b) in items.iter().enumerate() {
                @let y = ROW * i as f64;
                text.label x="0" y=(fmt_len(y + 15.0)) { (b.label) }
                text.value x=(WIDTH) y=(fmt_len(y + 15.0)) text-anchor="end" { (b.value) }
                rect.track x="0" y=(fmt_len(y + 22.0)) width=(WIDTH) height=(BAR) rx="2" {}
                rect class={ "t-" (b.tone) } x="0" y=(fmt_len(y + 22.0))
                    width=(fmt_len(length(b.value, max, WIDTH))) height=(BAR) rx="2" {}
            }
        }
    }
}

/// One bar per row, split into parts of the `tones`' colours, against the largest row.
pub fn stacked(title: &str, id: &str, rows: &[(String, Vec<u64>)], tones: &[&str]) -> Markup {
    let total = |parts: &[u64]| parts.iter().sum::<u64>();
    let max = rows.iter().map(|(_, p)| total(p)).max().unwrap_or(0);
    let height = ROW * rows.len() as f64;
    let said = summary(title, rows.iter().map(|(l, p)| (l.as_str(), total(p))));
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby=(id)
            viewBox={ "0 0 " (WIDTH) " " (height) } {
            title id=(id) { (said) }
            @for (i, (label, parts)) in rows.iter().enumerate() {
                @let y = ROW * i as f64;
                text.label x="0" y=(fmt_len(y + 15.0)) { (label) }
                text.value x=(WIDTH) y=(fmt_len(y + 15.0)) text-anchor="end" { (total(parts)) }
                rect.track x="0" y=(fmt_len(y + 22.0)) width=(WIDTH) height=(BAR) rx="2" {}
                @let starts = parts.iter().scan(0u64, |acc, n| { let s = *acc; *acc += n; Some(s) });
                @for ((n, start), tone) in parts.iter().zip(starts).zip(tones) {
                    @if *n > 0 {
                        rect class={ "t-" (tone) } x=(fmt_len(length(start, max, WIDTH)))
                            y=(fmt_len(y + 22.0)) width=(fmt_len(length(*n, max, WIDTH))) height=(BAR) {}
                    }
                }
            }
        }
    }
}

/// The colours of a chart and what they mean, as a list.
pub fn legend(items: &[(&str, &str)]) -> Markup {
    html! {
        ul.legend {
            @for (tone, label) in items {
                li { span class={ "swatch t-" (tone) } aria-hidden="true" {} (label) }
            }
        }
    }
}

/// One column per period, its parts stacked in the `tones`' colours, against the
/// tallest; each column says its label and numbers in its own `<title>`. Labels under
/// the columns are thinned to `MAX_LABELS` so they never overlap.
pub fn columns(
    title: &str,
    id: &str,
    labels: &[String],
    series: &[(&str, &str, Vec<u64>)],
) -> Markup {
    const HEIGHT: f64 = 120.0;
    const MAX_LABELS: usize = 4;
    let n = labels.len();
    let total = |i: usize| {
        series
            .iter()
            .map(|s| s.2.get(i).copied().unwrap_or(0))
            .sum::<u64>()
    };
    let max = (0..n).map(total).max().unwrap_or(0);
    let step = WIDTH / n.max(1) as f64;
    let every = n.div_ceil(MAX_LABELS).max(1);
    let said = summary(
        title,
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), total(i))),
    );
    html! {
        svg.chart.columns xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby=(id)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT + 20.0) } {
            title id=(id) { (said) }
            @for (i, label) in labels.iter().enumerate() {
                @let x = step * i as f64;
                g.col {
                    title {
                        (label) ": "
                        @for (j, (_, name, values)) in series.iter().enumerate() {
                            @if j > 0 { ", " }
                            (name) " " (values.get(i).copied().unwrap_or(0))
                        }
                    }
                    @let tops = series.iter().scan(0u64, |acc, s| { *acc += s.2.get(i).copied().unwrap_or(0); Some(*acc) });
                    @for ((tone, _, values), top) in series.iter().zip(tops) {
                        @let v = values.get(i).copied().unwrap_or(0);
                        @if v > 0 {
                            rect class={ "t-" (tone) } x=(fmt_len(x + step * 0.1))
                                y=(fmt_len(HEIGHT - length(top, max, HEIGHT)))
                                width=(fmt_len(step * 0.8)) height=(fmt_len(length(v, max, HEIGHT))) {}
                        }
                    }
                    @if i % every == 0 {
                        text.label x=(fmt_len(x)) y=(fmt_len(HEIGHT + 15.0)) { (label) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_never_vanish() {
        let cases = [
            (0, 10, 0.0),
            (10, 10, 360.0),
            (5, 10, 180.0),
            (1, 1_000_000, 1.0),
            (3, 0, 0.0),
            (20, 10, 360.0),
        ];
        for (value, max, want) in cases {
            assert_eq!(length(value, max, WIDTH), want, "{value} of {max}");
        }
    }

    #[test]
    fn a_chart_has_a_title_and_a_bar_per_item() {
        let svg = bars(
            "Contacts",
            "c",
            &[
                Bar {
                    label: "valid <x>",
                    value: 3,
                    tone: "valid",
                },
                Bar {
                    label: "stale",
                    value: 0,
                    tone: "stale",
                },
            ],
        )
        .into_string();
        assert!(
            svg.contains("<title id=\"c\">Contacts: valid &lt;x&gt; 3, stale 0</title>"),
            "the title says every number: {svg}"
        );
        assert!(svg.contains("valid &lt;x&gt;"), "labels are escaped: {svg}");
        assert_eq!(svg.matches("class=\"t-").count(), 2, "{svg}");
        assert!(
            !svg.contains("style="),
            "no inline style under the CSP: {svg}"
        );
    }

    #[test]
    fn columns_draw_one_group_per_period_with_its_numbers() {
        let labels: Vec<String> = (1..=3).map(|d| format!("11-0{d}")).collect();
        let svg = columns(
            "Answers",
            "a",
            &labels,
            &[
                ("valid", "confirmed", vec![2, 0, 1]),
                ("withdrawn", "left", vec![1, 0, 0]),
            ],
        )
        .into_string();
        assert_eq!(svg.matches("<g class=\"col\">").count(), 3, "{svg}");
        assert!(
            svg.contains("<title>11-01: confirmed 2, left 1</title>"),
            "{svg}"
        );
        assert_eq!(
            svg.matches("class=\"t-").count(),
            3,
            "no rect for a zero: {svg}"
        );
        assert!(svg.contains("Answers: 11-01 3, 11-02 0, 11-03 1"), "{svg}");
    }
}
