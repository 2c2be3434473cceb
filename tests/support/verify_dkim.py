#!/usr/bin/env python3
"""Verify a message's DKIM signature with dkimpy, an implementation independent of ours.

    python3 tests/support/verify_dkim.py FILE.eml RSA_PUBLIC_KEY.pem [ED25519_PUBLIC_KEY.pem]

The public keys stand in for the DNS TXT records at SELECTOR._domainkey.DOMAIN. Checks
that the message carries one signature per key given (rsa-sha256, and ed25519-sha256 with
a second key, RFC 8463), that EVERY signature verifies, that each covers List-Unsubscribe
and List-Unsubscribe-Post, and that changing either of those headers (or the body) breaks
each. Exit 0 when all hold, 1 when not, 3 when dkimpy (or PyNaCl, which it verifies
Ed25519 with) is missing (install: python3 -m pip install dkimpy pynacl).
"""

import base64
import re
import sys

try:
    import dkim
except ImportError:
    print("dkimpy is not installed: python3 -m pip install dkimpy", file=sys.stderr)
    sys.exit(3)


def pem_body(pem_path):
    with open(pem_path) as f:
        body = "".join(l.strip() for l in f if not l.startswith("-----"))
    return base64.b64decode(body)  # a damaged key file should fail here, not in dkimpy


def txt_record(algorithm, pem_path):
    der = pem_body(pem_path)
    if algorithm == "ed25519":
        # RFC 8463: p= is the bare 32-byte key, not the SubjectPublicKeyInfo around it.
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:])
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def tags(field):
    value = re.sub(r"\s+", "", field.split(":", 1)[1])
    return dict(t.split("=", 1) for t in value.split(";") if "=" in t)


def main(eml, keys):
    algorithms = ["rsa", "ed25519"][: len(keys)]
    with open(eml, "rb") as f:
        raw = f.read()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    fields = re.findall(r"^DKIM-Signature:.*?(?=^\S)", head + "\r\nX:", re.M | re.S)
    sigs = [tags(f) for f in fields]
    problems = []
    if [s.get("a") for s in sigs] != [f"{a}-sha256" for a in algorithms]:
        problems.append(f"signatures a={[s.get('a') for s in sigs]}, expected {algorithms} sha256")
    records = {}
    for sig, algorithm, pem in zip(sigs, algorithms, keys):
        records[f"{sig.get('s')}._domainkey.{sig.get('d')}."] = txt_record(algorithm, pem)

    def dns(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return records.get(name if name.endswith(".") else name + ".")

    def verifies(message, idx, why=None):
        try:
            return dkim.DKIM(message).verify(idx=idx, dnsfunc=dns)
        except dkim.DKIMException as e:
            if why is not None:
                why.append(str(e))
            return False

    tampered = {
        "List-Unsubscribe": raw.replace(b"List-Unsubscribe: <", b"List-Unsubscribe: <https://evil.example/x>, <", 1),
        "List-Unsubscribe-Post": raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Click", 1),
        "the body": raw[:-8] + b"tampered" if len(raw) > 8 else raw,
    }
    for idx, sig in enumerate(sigs):
        label = f"signature {idx} ({sig.get('a')}, s={sig.get('s')})"
        why = []
        if not verifies(raw, idx, why):
            problems.append(f"{label} does not verify {why}")
        signed = [x.lower() for x in sig.get("h", "").split(":")]
        for name in ("list-unsubscribe", "list-unsubscribe-post", "from", "subject"):
            if name not in signed:
                problems.append(f"{label}: h= does not cover {name} (h={sig.get('h')})")
        for what, changed in tampered.items():
            if changed == raw:
                problems.append(f"could not tamper with {what}")
            elif verifies(changed, idx):
                problems.append(f"{label} still verifies after {what} was changed")
    if problems:
        for p in problems:
            print(f"{eml}: {p}", file=sys.stderr)
        return 1
    shown = ", ".join(f"{s.get('a')} s={s.get('s')}" for s in sigs)
    print(f"{eml}: every DKIM signature verifies ({shown}; h={sigs[0].get('h')})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if len(sys.argv) == 4:
        try:
            import nacl.signing  # noqa: F401  (dkimpy verifies Ed25519 with it)
        except ImportError:
            print("PyNaCl is not installed: python3 -m pip install pynacl", file=sys.stderr)
            sys.exit(3)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
