//! Quoted-printable (RFC 2045 §6.7) for the message's text and HTML parts.
//!
//! Every message is encoded afresh (its links and name differ), so this runs once per
//! recipient over some 15 KB. The general-purpose encoders went character by character
//! and made line endings CRLF by inserting into the string once per line, which made
//! encoding the largest cost of a send. This one makes one pass over the bytes.

const HEX: &[u8; 16] = b"0123456789ABCDEF";
/// Encoded characters per line, not counting the `=` of a soft break (RFC 2045: 76 with it).
const LINE: usize = 75;

/// `text` with CRLF line endings, encoded; lines of at most 76 characters, ASCII only.
pub fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        encode_line(line.as_bytes(), &mut out);
        if lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Characters that stand for themselves (a space or tab only inside a line).
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = matches!(b as u8, b'!'..=b'<' | b'>'..=b'~' | b' ' | b'\t');
        b += 1;
    }
    t
};

fn encode_line(line: &[u8], out: &mut Vec<u8>) {
    let n = line.len();
    let mut width = 0;
    let mut i = 0;
    while i < n {
        // A run of plain characters, copied at once, as far as the line has room.
        let end = n.min(i + (LINE - width));
        let mut j = i;
        while j < end && PLAIN[usize::from(line[j])] {
            j += 1;
        }
        // Spaces and tabs at the end of a line are encoded: transports strip them.
        if j == n && matches!(line[n - 1], b' ' | b'\t') {
            j -= 1;
        }
        out.extend_from_slice(&line[i..j]);
        width += j - i;
        i = j;
        if i == n {
            break;
        }
        let b = line[i];
        let last = i + 1 == n;
        let plain = PLAIN[usize::from(b)] && !(last && matches!(b, b' ' | b'\t'));
        let len = if plain { 1 } else { 3 };
        // The last character of a line needs no room for the `=` of a soft break.
        if width + len > LINE + usize::from(last) {
            out.extend_from_slice(b"=\r\n");
            width = 0;
            continue;
        }
        if plain {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        width += len;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::encode;

    fn decoded(encoded: &[u8]) -> String {
        let bytes = quoted_printable::decode(encoded, quoted_printable::ParseMode::Strict)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(encoded)));
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn encodes_as_the_rfc_says() {
        let long = "x".repeat(80);
        let cases = [
            ("", ""),
            ("plain ascii", "plain ascii"),
            ("a=b", "a=3Db"),
            ("Zażółć", "Za=C5=BC=C3=B3=C5=82=C4=87"),
            ("trailing space \nnext", "trailing space=20\r\nnext"),
            ("tab\t", "tab=09"),
            ("crlf\r\nkept", "crlf\r\nkept"),
            ("<a href=\"x\">", "<a href=3D\"x\">"),
        ];
        for (text, want) in cases {
            assert_eq!(String::from_utf8(encode(text)).unwrap(), want, "{text:?}");
        }
        let wrapped = String::from_utf8(encode(&long)).unwrap();
        assert_eq!(wrapped, format!("{}=\r\n{}", "x".repeat(75), "x".repeat(5)));
        let exact = "y".repeat(76);
        assert_eq!(String::from_utf8(encode(&exact)).unwrap(), exact);
    }

    /// Whatever goes in comes back out, in lines of at most 76 ASCII characters.
    #[test]
    fn round_trips_in_short_ascii_lines() {
        let texts = [
            "Dzień dobry, Pani Małgorzato!\nPotwierdź zgodę: https://r.example/r/AbC_123?x=1&y=2\n",
            &format!("{}\n", "ä=ö ".repeat(60)),
            &"é".repeat(40),
            &format!("{}=", "z".repeat(74)),
            &format!("{} ", "z".repeat(74)),
            "end with newline\n\n",
            "\u{1F600} emoji, \t tabs \t\nand = signs ==\n",
        ];
        for text in texts {
            let encoded = encode(text);
            assert!(encoded.is_ascii());
            for line in encoded.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                assert!(line.len() <= 76, "{}", String::from_utf8_lossy(line));
                assert!(!line.ends_with(b" ") && !line.ends_with(b"\t"));
            }
            assert_eq!(decoded(&encoded), text.replace('\n', "\r\n"), "{text:?}");
        }
    }

    /// The same over many texts drawn from the characters that need care.
    #[test]
    fn round_trips_generated_texts() {
        let alphabet = ['x', ' ', '\t', '=', 'ż', '\n', '.', '€'];
        let mut seed: u64 = 1;
        for len in 0..400 {
            let text: String = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    // Mostly plain, as real text is, so that lines fill up.
                    let k = (seed >> 33) as usize % 24;
                    alphabet.get(k).copied().unwrap_or('x')
                })
                .collect();
            let encoded = encode(&text);
            for line in encoded.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                assert!(line.len() <= 76 && line.is_ascii(), "{text:?}");
                assert!(!line.ends_with(b" ") && !line.ends_with(b"\t"), "{text:?}");
            }
            assert_eq!(decoded(&encoded), text.replace('\n', "\r\n"), "{text:?}");
        }
    }
}
