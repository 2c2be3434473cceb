//! Mail security scanners: who fetches links without a person behind them.
//!
//! Answers from these are still recorded (a scanner POSTing a form is rare, and a person
//! can share a user agent with a tool), but flagged `suspect` and counted apart. The
//! list is deliberately short: a signature belongs here only when no person's browser
//! sends it.

/// (lower-case substring of the User-Agent, who it is).
const SIGNATURES: &[(&str, &str)] = &[
    ("bingpreview", "Microsoft Safe Links (BingPreview)"),
    ("safelinks", "Microsoft Safe Links"),
    ("mimecast", "Mimecast"),
    ("barracuda", "Barracuda"),
    ("proofpoint", "Proofpoint"),
    ("python-requests", "python-requests"),
    ("python-urllib", "Python urllib"),
    ("curl/", "curl"),
    ("wget/", "Wget"),
    ("go-http-client", "Go HTTP client"),
    ("headlesschrome", "headless Chrome"),
];

/// The scanner a user agent names, if any; a missing user agent counts as one, since
/// every browser sends it.
pub fn scanner(user_agent: Option<&str>) -> Option<&'static str> {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return Some("no user agent");
    };
    let ua = ua.to_ascii_lowercase();
    SIGNATURES
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scanners_and_real_browsers() {
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (
                Some(
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
                ),
                None,
            ),
            (
                Some(
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                ),
                None,
            ),
            (
                Some(
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
                ),
                None,
            ),
            (
                Some(
                    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) BingPreview/1.0b",
                ),
                Some("Microsoft Safe Links (BingPreview)"),
            ),
            (Some("Mimecast URL Protect"), Some("Mimecast")),
            (Some("Barracuda Sentinel (EE)"), Some("Barracuda")),
            (Some("Proofpoint URL Defense"), Some("Proofpoint")),
            (Some("python-requests/2.31.0"), Some("python-requests")),
            (Some("curl/8.5.0"), Some("curl")),
            (
                Some(
                    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 Safari/537.36",
                ),
                Some("headless Chrome"),
            ),
            (None, Some("no user agent")),
            (Some("  "), Some("no user agent")),
        ];
        for (ua, want) in cases {
            assert_eq!(scanner(*ua), *want, "{ua:?}");
        }
    }
}
