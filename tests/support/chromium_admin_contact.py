"""Signs in to the dashboard in headless Chromium, looks up a contact, reads its
evidence through the JSON link, forgets it through the question, and opens the purge
page and its question; screenshots at desktop width and at 375 px.

Usage: chromium_admin_contact.py BASE_URL TOKEN EMAIL OUT_DIR
Prints one JSON object: {"errors", "wide", "contact", "class", "evidence",
"evidence_csv", "erased", "purge", "purged", "report_url", "reloaded"}; "wide" names the
pages wider than 375 px at that width.
Every console error, uncaught exception and CSP violation is listed in "errors".
Drives Chromium over the DevTools protocol (stdlib + the `websockets` package)."""
import asyncio, json, os, shutil, sys, tempfile, time, urllib.request

import websockets

from cdp import WATCH_CSP, Cdp, key, press, shoot, start_chromium

WIDE = []


async def both(cdp, out_dir, name):
    await shoot(cdp, out_dir, f"admin-{name}", 1280)
    await shoot(cdp, out_dir, f"admin-{name}-375", 375)
    # Nothing wider than the phone: no sideways scrolling of the whole page.
    width = await cdp.eval("document.documentElement.scrollWidth")
    if width > 375:
        WIDE.append(f"{name}: {width} px")


async def run(base, token, email, out_dir, port):
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
        cdp = Cdp(ws)
        for domain in ("Page", "Runtime", "Log"):
            await cdp.call(f"{domain}.enable")
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH_CSP)
        await cdp.goto(f"{base}/admin")
        await cdp.call("Input.insertText", text=token)
        await key(cdp, "Enter", 13, text="\r")
        await cdp.wait_event("Page.loadEventFired")
        out = {}
        # From the header's link to the lookup form, as a marketer would.
        await press(cdp, "header a[href='/admin/contact']")
        await cdp.eval(f"document.getElementById('email').value = {json.dumps(email)}")
        await press(cdp, "form.lookup button")
        out["contact"] = await cdp.eval("document.querySelector('main').innerText")
        out["class"] = await cdp.eval("document.getElementById('class').dataset.class")
        await both(cdp, out_dir, "contact")
        href = await cdp.eval("document.getElementById('evidence-json').href")
        got = await cdp.call("Runtime.evaluate", awaitPromise=True, returnByValue=True,
                             expression=f"fetch({json.dumps(href)}).then(r => r.json())")
        out["evidence"] = got["result"].get("value")
        href = await cdp.eval("document.getElementById('evidence-csv').href")
        got = await cdp.call("Runtime.evaluate", awaitPromise=True, returnByValue=True,
                             expression=f"fetch({json.dumps(href)}).then(r => r.text())")
        out["evidence_csv"] = got["result"].get("value")
        await press(cdp, "#forget")
        await both(cdp, out_dir, "contact-forget")
        await press(cdp, "#confirm-forget")
        out["erased"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "contact-erased")
        await cdp.violations()
        # The silent fall due a moment after the server started: wait until they are listed.
        deadline = time.time() + 20
        while True:
            await cdp.goto(f"{base}/admin/purge")
            if await cdp.eval("!!document.getElementById('would-list')") or time.time() > deadline:
                break
            await asyncio.sleep(0.3)
        out["purge"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "purge")
        await cdp.goto(f"{base}/admin/purge?lang=de")
        await shoot(cdp, out_dir, "admin-purge-de-375", 375)
        await cdp.goto(f"{base}/admin/purge/now?lang=en")
        await both(cdp, out_dir, "purge-ask")
        await press(cdp, "#confirm-purge")
        out["purged"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "purge-done")
        # A reload shows the report again; it does not purge again.
        out["report_url"] = await cdp.eval("location.pathname")
        cdp.events.clear()
        await cdp.call("Page.reload")
        await cdp.wait_event("Page.loadEventFired")
        out["reloaded"] = await cdp.eval("document.querySelector('main').innerText")
        await cdp.violations()
        out["errors"] = cdp.errors
        out["wide"] = WIDE
        print(json.dumps(out, ensure_ascii=False))


def main():
    base, token, email, out_dir = sys.argv[1:5]
    os.makedirs(out_dir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="reconsent-chromium-")
    proc, port = start_chromium(profile, "1280,900")
    try:
        asyncio.run(run(base, token, email, out_dir, port))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


main()
