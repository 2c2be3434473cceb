"""A real SMTP server (aiosmtpd) that answers by recipient, for tests:
  bounce*@…  550 5.1.1 (no such user)       policy*@…  550 5.7.26 (DMARC)
  defer*@…   451 4.3.0 (try later)          anything else: accepted into the Maildir.
  …@busy.*   421 4.7.0 (slow down) to the first BUSY_DEFERRALS (default 3) recipients at
             busy.* domains, then accepted: a provider throttling the sender.
  With DELAY (seconds), every message is stored at once and answered DELAY later: a
  slow server, so that a sender killed meanwhile leaves messages truly in flight.
  With SMTPUTF8=1 in the environment, the server offers SMTPUTF8 (RFC 6531).
Usage: python3 smtp_server.py PORT MAILDIR [DELAY]"""
import asyncio, mailbox, os, sys
from aiosmtpd.controller import Controller

class Handler:
    def __init__(self, maildir, delay):
        self.box = mailbox.Maildir(maildir, create=True)
        self.delay = delay
        self.busy_left = int(os.environ.get("BUSY_DEFERRALS", "3"))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("bounce"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local.startswith("policy"):
            return "550 5.7.26 Unauthenticated email from this domain is not accepted due to DMARC policy"
        if local.startswith("defer"):
            return "451 4.3.0 Temporary lookup failure, try again later"
        if address.split("@")[-1].lower().startswith("busy.") and self.busy_left > 0:
            self.busy_left -= 1
            return "421 4.7.0 Too many messages from your IP, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content or envelope.content)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK: queued"

async def main(port, maildir, delay):
    controller = Controller(Handler(maildir, delay), hostname="127.0.0.1", port=port,
                            enable_SMTPUTF8=os.environ.get("SMTPUTF8") == "1")
    controller.start()
    print("READY", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0))
