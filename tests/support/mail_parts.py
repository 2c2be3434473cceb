"""Prints one JSON object per .eml file in a folder: the recipient, subject, plain-text
and HTML parts as a mail client shows them, parsed with Python's own e-mail package."""
import email, email.policy, json, os, sys

root = sys.argv[1]
for name in sorted(os.listdir(root)):
    if not name.endswith(".eml"):
        continue
    with open(os.path.join(root, name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    print(json.dumps({
        "to": msg["To"].addresses[0].addr_spec.lower(),
        "subject": str(msg["Subject"]),
        "text": text.get_content() if text else None,
        "html": html.get_content() if html else None,
    }, ensure_ascii=False))
