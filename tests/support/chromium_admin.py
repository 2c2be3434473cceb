"""Signs in to the dashboard in headless Chromium with the keyboard, opens the overview
and a campaign page at desktop width and at 375 px, waits until the running
campaign's figures have been fetched again by live.js, and saves screenshots.

Usage: chromium_admin.py BASE_URL TOKEN CAMPAIGN OUT_DIR
Prints one JSON object: {"errors", "overview", "campaign", "swapped", "focused", "url"}.
Every console error, uncaught exception and CSP violation is listed in "errors".
Drives Chromium over the DevTools protocol (stdlib + the `websockets` package)."""
import asyncio, json, os, shutil, sys, tempfile, time, urllib.request

import websockets

from cdp import WATCH_CSP, Cdp, key, press, shoot, start_chromium

async def run(base, token, campaign, out_dir, port):
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
        cdp = Cdp(ws)
        for domain in ("Page", "Runtime", "Log"):
            await cdp.call(f"{domain}.enable")
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH_CSP)
        await cdp.goto(f"{base}/admin")
        out = {"login_url": await cdp.eval("location.href")}
        await shoot(cdp, out_dir, "admin-login-375", 375)
        # The keyboard alone: the token field has the focus; type, then Enter.
        await cdp.call("Input.insertText", text=token)
        await key(cdp, "Enter", 13, text="\r")
        await cdp.wait_event("Page.loadEventFired")
        await cdp.violations()
        out["url"] = await cdp.eval("location.href")
        out["overview"] = await cdp.eval("document.querySelector('main').innerText")
        await shoot(cdp, out_dir, "admin-overview", 1280)
        await shoot(cdp, out_dir, "admin-overview-375", 375)
        tabs = []
        for _ in range(12):
            await key(cdp, "Tab", 9)
            tabs.append(await cdp.eval("document.activeElement.tagName"))
        out["focused"] = tabs
        await cdp.goto(f"{base}/admin/campaigns/{campaign}")
        await cdp.eval("document.getElementById('figures').__first = true")
        out["campaign"] = await cdp.eval("document.querySelector('main').innerText")
        figures = "document.getElementById('figures') ? document.getElementById('figures').innerText : ''"
        first_figures = await cdp.eval(figures)
        deadline = time.time() + 15
        swapped = False
        while time.time() < deadline and not swapped:
            swapped = await cdp.eval(
                "!!document.getElementById('figures') && !document.getElementById('figures').__first")
            if not swapped:
                await asyncio.sleep(0.2)
        out["swapped"] = swapped
        # The campaign sends while the page is open: its figures change by themselves.
        deadline = time.time() + 20
        changed = False
        while time.time() < deadline and not changed:
            changed = (await cdp.eval(figures)) != first_figures
            if not changed:
                await asyncio.sleep(0.3)
        out["changed"] = changed
        await cdp.violations()
        await shoot(cdp, out_dir, "admin-campaign", 1280)
        await shoot(cdp, out_dir, "admin-campaign-375", 375)
        # Pause and resume with the page's own buttons: the question, then yes.
        state = "document.querySelector('h1 .state').className"
        for action in ("pause", "resume"):
            await cdp.eval(f"document.querySelector('button.act-{action}').click()")
            await cdp.wait_event("Page.loadEventFired")
            await cdp.violations()
            await shoot(cdp, out_dir, f"admin-{action}-375", 375)
            await cdp.eval(f"document.querySelector('button.primary.act-{action}').click()")
            await cdp.wait_event("Page.loadEventFired")
            await cdp.violations()
            out[f"after_{action}"] = await cdp.eval(state)
        # The longest words: German and Polish, on a phone.
        for lang in ("de", "pl"):
            await cdp.goto(f"{base}/admin?lang={lang}")
            await shoot(cdp, out_dir, f"admin-overview-{lang}-375", 375)
            await cdp.goto(f"{base}/admin/campaigns/{campaign}")
            await shoot(cdp, out_dir, f"admin-campaign-{lang}-375", 375)
        out["lang"] = await cdp.eval("document.documentElement.lang")
        await cdp.violations()
        out["errors"] = cdp.errors
        print(json.dumps(out, ensure_ascii=False))


def main():
    base, token, campaign, out_dir = sys.argv[1:5]
    os.makedirs(out_dir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="reconsent-chromium-")
    proc, port = start_chromium(profile, "1280,900")
    try:
        asyncio.run(run(base, token, campaign, out_dir, port))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


main()
