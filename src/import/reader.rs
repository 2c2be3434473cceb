//! Reading an import file: CSV or JSON Lines, row by row, each row with the line it
//! starts on; the header (or each object's keys) mapped onto the import columns.

use super::columns::{near_miss, refusal};
use super::{COLUMNS, Fields, RowError};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

pub(super) type RowItem = Result<(u64, Fields), RowError>;

/// Reads rows of either format, each with the line it starts on.
pub(super) enum RowReader {
    Csv {
        rdr: csv::Reader<QuoteWatch<BufReader<File>>>,
        record: csv::ByteRecord,
        map: Vec<Option<usize>>,
        warnings: Vec<String>,
    },
    Jsonl {
        src: BufReader<File>,
        line: u64,
        buf: Vec<u8>,
        unknown: BTreeSet<String>,
        warned: bool,
    },
}

impl RowReader {
    pub(super) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut src = BufReader::with_capacity(1 << 20, file);
        let head = src
            .fill_buf()
            .with_context(|| format!("cannot read {}", path.display()))?;
        let bom = head.starts_with(b"\xEF\xBB\xBF");
        let head = if bom { &head[3..] } else { head };
        if head.iter().all(u8::is_ascii_whitespace) {
            bail!(
                "{} is empty: expected a header row with at least an 'email' column",
                path.display()
            );
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let jsonl = matches!(ext.as_str(), "jsonl" | "ndjson" | "json")
            || head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let delimiter = detect_delimiter(head);
        if bom {
            src.consume(3);
        }
        if jsonl {
            return Ok(RowReader::Jsonl {
                src,
                line: 0,
                buf: Vec::new(),
                unknown: BTreeSet::new(),
                warned: false,
            });
        }
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(QuoteWatch::new(src, delimiter));
        let mut header = csv::ByteRecord::new();
        if !rdr
            .read_byte_record(&mut header)
            .context("line 1: cannot read the header row")?
        {
            bail!("{} has no header row", path.display());
        }
        let (map, ignored) = header_map(&header, delimiter)?;
        let warnings = if ignored.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "line 1: ignored columns not among the import columns: {} (known: {})",
                ignored.join(", "),
                COLUMNS.join(", ")
            )]
        };
        Ok(RowReader::Csv {
            rdr,
            record: csv::ByteRecord::new(),
            map,
            warnings,
        })
    }

    /// Warnings about the file as a whole (ignored columns), once.
    pub(super) fn take_warnings(&mut self) -> Vec<String> {
        match self {
            RowReader::Csv { warnings, .. } => std::mem::take(warnings),
            RowReader::Jsonl {
                unknown, warned, ..
            } if !*warned && !unknown.is_empty() => {
                *warned = true;
                let keys: Vec<_> = unknown.iter().map(String::as_str).collect();
                vec![format!(
                    "ignored keys not among the import columns: {}",
                    keys.join(", ")
                )]
            }
            RowReader::Jsonl { .. } => Vec::new(),
        }
    }

    /// `Ok(None)` at the end; `Err` only when the file itself cannot be read.
    pub(super) fn next_row(&mut self) -> Result<Option<RowItem>> {
        match self {
            RowReader::Csv {
                rdr, record, map, ..
            } => loop {
                if !rdr
                    .read_byte_record(record)
                    .context("cannot read the file")?
                {
                    if let Some(opened) = rdr.get_ref().unclosed() {
                        bail!(
                            "line {opened}: a quote opens here and is never closed, so every \
                             row after it would be read into one cell (close the quote, or \
                             double it as \"\" inside a quoted cell)"
                        );
                    }
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                    continue;
                }
                return Ok(Some(csv_fields(line, record, map)));
            },
            RowReader::Jsonl {
                src,
                line,
                buf,
                unknown,
                ..
            } => loop {
                buf.clear();
                if src.read_until(b'\n', buf).context("cannot read the file")? == 0 {
                    return Ok(None);
                }
                *line += 1;
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return json_fields(*line, buf, unknown).map(Some);
            },
        }
    }
}

fn detect_delimiter(head: &[u8]) -> u8 {
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in first_line {
        if *b == b'"' {
            quoted = !quoted;
        }
        for (d, n) in counts.iter_mut() {
            if !quoted && b == d {
                *n += 1;
            }
        }
    }
    // Ties go to the comma, the first listed.
    counts
        .iter()
        .fold((b',', 0), |best, c| if c.1 > best.1 { *c } else { best })
        .0
}

/// Column positions, and the names of columns that are not import columns.
fn header_map(
    header: &csv::ByteRecord,
    delimiter: u8,
) -> Result<(Vec<Option<usize>>, Vec<String>)> {
    let mut map = Vec::with_capacity(header.len());
    let mut seen = [false; COLUMNS.len()];
    let mut ignored = Vec::new();
    let mut mistaken = Vec::new();
    for raw in header.iter() {
        let name = std::str::from_utf8(raw)
            .context("line 1: the header is not valid UTF-8 text (save the file as UTF-8)")?
            .trim()
            .to_ascii_lowercase();
        let idx = COLUMNS.iter().position(|c| *c == name);
        if let Some(i) = idx {
            if seen[i] {
                bail!("line 1: the column '{name}' appears twice in the header");
            }
            seen[i] = true;
        } else if let Some(meant) = near_miss(&name) {
            mistaken.push(refusal(1, &name, meant));
        } else if !name.is_empty() {
            ignored.push(name);
        }
        map.push(idx);
    }
    if !mistaken.is_empty() {
        bail!("{}", mistaken.join("; "));
    }
    if !seen[0] {
        let d = match delimiter {
            b';' => "semicolons",
            b'\t' => "tabs",
            _ => "commas",
        };
        bail!(
            "line 1: the header has no 'email' column (read as separated by {d}; the header is: {})",
            String::from_utf8_lossy(header.as_slice())
                .chars()
                .take(120)
                .collect::<String>()
        );
    }
    Ok((map, ignored))
}

fn csv_fields(line: u64, record: &csv::ByteRecord, map: &[Option<usize>]) -> RowItem {
    if record.len() != map.len() {
        return Err(RowError {
            line,
            error: format!(
                "{} fields where the header has {} (check the separator and the quotes)",
                record.len(),
                map.len()
            ),
        });
    }
    let mut fields: Fields = Default::default();
    for (raw, idx) in record.iter().zip(map) {
        let Some(i) = idx else { continue };
        let text = std::str::from_utf8(raw).map_err(|_| RowError {
            line,
            error: format!(
                "{}: not valid UTF-8 text (save the file as UTF-8)",
                COLUMNS[*i]
            ),
        })?;
        fields[*i] = Some(text.to_string());
    }
    Ok((line, fields))
}

/// One object's cells; `Err` (the whole file refused) for a key that is almost a column.
fn json_fields(line: u64, buf: &[u8], unknown: &mut BTreeSet<String>) -> Result<RowItem> {
    let err = |error: String| Ok(Err(RowError { line, error }));
    let Ok(text) = std::str::from_utf8(buf) else {
        return err("not valid UTF-8 text (save the file as UTF-8)".into());
    };
    let object: HashMap<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(object) => object,
        Err(e) => return err(format!("not a JSON object: {e}")),
    };
    let mut fields: Fields = Default::default();
    for (key, value) in object {
        let name = key.to_ascii_lowercase();
        let Some(i) = COLUMNS.iter().position(|c| *c == name) else {
            if let Some(meant) = near_miss(&name) {
                bail!("{}", refusal(line, &key, meant));
            }
            if unknown.len() < 100 {
                unknown.insert(key);
            }
            continue;
        };
        fields[i] = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => return err(format!("{name}: expected text, a number or true/false")),
        };
    }
    Ok(Ok((line, fields)))
}

/// Follows the CSV reader's quoting over the bytes it takes, to name the line where a
/// quote opened that never closes: the reader itself would read the rest of the file
/// into that one cell and say nothing.
pub(super) struct QuoteWatch<R> {
    inner: R,
    delimiter: u8,
    state: Quoting,
    line: u64,
    opened: u64,
}

/// Where the reader stands, as the `csv` crate's reader decides it: a quote opens a
/// quoted cell only as a cell's first byte; inside, `""` is a quote; elsewhere a quote
/// is an ordinary byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    CellStart,
    Plain,
    Quoted,
    QuoteInQuoted,
}

impl<R> QuoteWatch<R> {
    fn new(inner: R, delimiter: u8) -> Self {
        Self {
            inner,
            delimiter,
            state: Quoting::CellStart,
            line: 1,
            opened: 0,
        }
    }

    fn step(&mut self, b: u8) {
        use Quoting::*;
        let ends_cell = b == self.delimiter || b == b'\n' || b == b'\r';
        self.state = match (self.state, b) {
            (Quoted, b'"') => QuoteInQuoted,
            (Quoted, _) => Quoted,
            (QuoteInQuoted, b'"') => Quoted,
            (CellStart, b'"') => {
                self.opened = self.line;
                Quoted
            }
            _ if ends_cell => CellStart,
            _ => Plain,
        };
        if b == b'\n' {
            self.line += 1;
        }
    }

    /// The line of a quote still open at the end of what was read.
    fn unclosed(&self) -> Option<u64> {
        (self.state == Quoting::Quoted).then_some(self.opened)
    }
}

impl<R: Read> Read for QuoteWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.step(b);
        }
        Ok(n)
    }
}
