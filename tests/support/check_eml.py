#!/usr/bin/env python3
"""Parse a request e-mail with Python's own MIME parser and check what DESIGN §2.4 asks of it.

    python3 tests/support/check_eml.py FILE.eml

Exits 1 with the reasons when the message lacks anything; otherwise prints one JSON
object with the decoded headers and the links of each part, for the calling test to
compare with what it expects. Standard library only, so it is independent of the Rust
code that wrote the file.
"""

import email
import email.policy
import json
import re
import sys
from html.parser import HTMLParser


class Hrefs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def main(path):
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    head = raw.split(b"\r\n\r\n", 1)[0]
    need(b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "line endings are not all CRLF")
    need(all(b < 128 for b in head), "the top-level headers are not 7-bit ASCII (RFC 2047 missing)")
    for h in ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
              "List-Unsubscribe", "List-Unsubscribe-Post"]:
        need(msg[h] is not None, f"no {h} header")
    need(msg.get_content_type() == "multipart/alternative",
         f"Content-Type is {msg.get_content_type()}, not multipart/alternative")
    need(str(msg["List-Unsubscribe-Post"]).strip() == "List-Unsubscribe=One-Click",
         "List-Unsubscribe-Post is not List-Unsubscribe=One-Click")
    lu = re.sub(r"\s+", " ", str(msg["List-Unsubscribe"] or ""))
    targets = re.findall(r"<([^>]+)>", lu)
    need(any(t.startswith("https://") or t.startswith("http://") for t in targets),
         f"List-Unsubscribe has no web address: {lu}")
    need(any(t.startswith("mailto:") for t in targets), f"List-Unsubscribe has no mailto: {lu}")
    mid = str(msg["Message-ID"] or "")
    need(re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid.strip()) is not None, f"Message-ID {mid!r} malformed")
    need(msg["Date"] is not None and msg["Date"].datetime is not None, "Date does not parse")

    parts = {}
    if msg.is_multipart():
        for part in msg.iter_parts():
            parts[part.get_content_type()] = part.get_content()
    need(set(parts) == {"text/plain", "text/html"},
         f"the parts are {sorted(parts)}, not text/plain and text/html")
    text = parts.get("text/plain", "")
    html = parts.get("text/html", "")
    parser = Hrefs()
    parser.feed(html)
    url = re.compile(r"https?://\S+")

    if problems:
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
        return 1
    print(json.dumps({
        "subject": str(msg["Subject"]),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "message_id": mid,
        "list_unsubscribe": targets,
        "text_urls": url.findall(text),
        "html_hrefs": parser.hrefs,
        "text": text,
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
