"""Prints one JSON object per message in a Maildir (or a folder of .eml files):
the recipient, subject, Message-ID, the HTML part's lang attribute and the links of
the text part. Parsed with Python's own e-mail package, independently of the engine."""
import email, email.policy, json, os, re, sys

def messages(root):
    for sub in ("new", "cur", ""):
        d = os.path.join(root, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if os.path.isfile(path) and not name.startswith("."):
                yield path

for path in messages(sys.argv[1]):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    html_s = html.get_content() if html else ""
    text_s = text.get_content() if text else ""
    lang = re.search(r'<html[^>]*\blang="([^"]+)"', html_s)
    print(json.dumps({
        "to": str(msg["To"].addresses[0].addr_spec) if msg["To"] else None,
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "lang": lang.group(1) if lang else None,
        "links": re.findall(r"https?://\S+/(?:r|u)/[A-Za-z0-9_-]+", text_s),
        "list_unsubscribe": str(msg["List-Unsubscribe"]),
        # aiosmtpd's record of the envelope sender: the return path (VERP).
        "mail_from": msg["X-MailFrom"],
        "postmark_token": msg["X-PM-Metadata-reconsent-token"],
    }, ensure_ascii=False))
