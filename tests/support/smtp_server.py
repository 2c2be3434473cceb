"""A real SMTP server (aiosmtpd) that answers by recipient, for tests:
  bounce*@…  550 5.1.1 (no such user)       policy*@…  550 5.7.26 (DMARC)
  defer*@…   451 4.3.0 (try later)          anything else: accepted into the Maildir.
Usage: python3 smtp_server.py PORT MAILDIR"""
import asyncio, mailbox, sys
from aiosmtpd.controller import Controller

class Handler:
    def __init__(self, maildir):
        self.box = mailbox.Maildir(maildir, create=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("bounce"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if local.startswith("policy"):
            return "550 5.7.26 Unauthenticated email from this domain is not accepted due to DMARC policy"
        if local.startswith("defer"):
            return "451 4.3.0 Temporary lookup failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content or envelope.content)
        return "250 2.0.0 OK: queued"

async def main(port, maildir):
    controller = Controller(Handler(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
