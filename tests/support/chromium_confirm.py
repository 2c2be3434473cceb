"""Opens a confirm link in headless Chromium, clicks the confirm button with a real
mouse event, and reports what the thank-you page shows; saves a screenshot.

Usage: chromium_confirm.py URL SCREENSHOT.png [--keyboard]  (Tab to the button, Enter)
Prints one JSON object: {"request_title", "buttons", "title", "code", "lang", "url"}.
Drives Chromium over the DevTools protocol (stdlib + the `websockets` package)."""
import asyncio, base64, json, os, shutil, sys, tempfile, urllib.request

import websockets

from cdp import Cdp, key, start_chromium

KEYBOARD = "--keyboard" in sys.argv


async def run(url, png, port):
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
        cdp = Cdp(ws)
        await cdp.call("Page.enable")
        await cdp.call("Page.navigate", url=url)
        await cdp.wait_event("Page.loadEventFired")
        out = {"request_title": await cdp.eval("document.title"),
               "buttons": await cdp.eval("document.querySelectorAll('button').length")}
        if KEYBOARD:
            # Tab until the confirm button has the focus, then Enter: no mouse needed.
            for _ in range(10):
                await key(cdp, "Tab", 9)
                if await cdp.eval("document.activeElement.className") == "yes":
                    break
            out["focused"] = await cdp.eval("document.activeElement.textContent")
            await key(cdp, "Enter", 13, text="\r")
        else:
            box = await cdp.eval(
                "(() => { const r = document.querySelector('button.yes').getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
            for kind in ("mousePressed", "mouseReleased"):
                await cdp.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                               button="left", clickCount=1)
        await cdp.wait_event("Page.loadEventFired")
        out["title"] = await cdp.eval("document.title")
        out["code"] = await cdp.eval(
            "(document.getElementById('bonus-code') || {}).textContent || null")
        out["lang"] = await cdp.eval("document.documentElement.lang")
        out["url"] = await cdp.eval("location.href")
        shot = await cdp.call("Page.captureScreenshot", format="png")
        os.makedirs(os.path.dirname(png) or ".", exist_ok=True)
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(json.dumps(out, ensure_ascii=False))


def main():
    url, png = [a for a in sys.argv[1:] if not a.startswith("--")][:2]
    profile = tempfile.mkdtemp(prefix="reconsent-chromium-")
    proc, port = start_chromium(profile)
    try:
        asyncio.run(run(url, png, port))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


main()
