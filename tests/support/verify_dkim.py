#!/usr/bin/env python3
"""Verify a message's DKIM signature with dkimpy, an implementation independent of ours.

    python3 tests/support/verify_dkim.py FILE.eml PUBLIC_KEY.pem

The public key stands in for the DNS TXT record at SELECTOR._domainkey.DOMAIN. Checks
that the signature verifies, that it covers List-Unsubscribe and List-Unsubscribe-Post,
and that changing either of those headers (or the body) breaks it. Exit 0 when all hold,
1 when not, 3 when dkimpy is missing (install: python3 -m pip install dkimpy).
"""

import base64
import re
import sys

try:
    import dkim
except ImportError:
    print("dkimpy is not installed: python3 -m pip install dkimpy", file=sys.stderr)
    sys.exit(3)


def txt_record(pem_path):
    with open(pem_path) as f:
        body = "".join(l.strip() for l in f if not l.startswith("-----"))
    base64.b64decode(body)  # a damaged key file should fail here, not in dkimpy
    return f"v=DKIM1; k=rsa; p={body}".encode()


def main(eml, pem):
    record = txt_record(pem)

    def dns(name, timeout=5):
        return record

    with open(eml, "rb") as f:
        raw = f.read()
    problems = []
    if not dkim.verify(raw, dnsfunc=dns):
        problems.append("the signature does not verify")
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    sig = re.search(r"^DKIM-Signature:(.*?)(?=^\S)", head + "\r\nX:", re.M | re.S)
    signed = []
    if sig:
        h = re.search(r"\bh=([^;]+)", re.sub(r"\s+", "", sig.group(1)))
        signed = [x.lower() for x in h.group(1).split(":")] if h else []
    else:
        problems.append("no DKIM-Signature header")
    for name in ("list-unsubscribe", "list-unsubscribe-post", "from", "subject"):
        if name not in signed:
            problems.append(f"h= does not cover {name} (h={':'.join(signed)})")
    tampered = {
        "List-Unsubscribe": raw.replace(b"List-Unsubscribe: <", b"List-Unsubscribe: <https://evil.example/x>, <", 1),
        "List-Unsubscribe-Post": raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Click", 1),
        "the body": raw[:-8] + b"tampered" if len(raw) > 8 else raw,
    }
    for what, changed in tampered.items():
        if changed == raw:
            problems.append(f"could not tamper with {what}")
        elif dkim.verify(changed, dnsfunc=dns):
            problems.append(f"the signature still verifies after {what} was changed")
    if problems:
        for p in problems:
            print(f"{eml}: {p}", file=sys.stderr)
        return 1
    print(f"{eml}: DKIM signature verifies (h={':'.join(signed)})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
