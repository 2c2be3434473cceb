"""Signs in to the dashboard in headless Chromium, opens the campaign files and one
file's page (its e-mails in sandboxed frames), launches the campaign through the
question, then imports a file with one bad line (refused, the line named) and a good
one (dry run, then Import). Screenshots at desktop width and at 375 px.

Usage: chromium_admin_files.py BASE_URL TOKEN FILE BAD_CSV GOOD_CSV OUT_DIR
Prints one JSON object: {"errors", "files", "frames", "launched", "refused",
"after_refusal" (the contact page of the good line's address then), "dry", "imported"}.
Every console error, uncaught exception and CSP violation is listed in "errors".
Drives Chromium over the DevTools protocol (stdlib + the `websockets` package)."""
import asyncio, json, os, shutil, sys, tempfile, time, urllib.parse, urllib.request

import websockets

from cdp import WATCH_CSP, Cdp, key, press, shoot, start_chromium

# The address of the good file's one line, also the first line of the bad file.
NEW = "new.one@example.com"

# Besides the CSP watch: counts the frames that have loaded.
WATCH = WATCH_CSP + """
window.__frames = 0;
document.addEventListener('load', e => {
  if (e.target.tagName === 'IFRAME') window.__frames++;
}, true);
"""


async def both(cdp, out_dir, name):
    await shoot(cdp, out_dir, name, 1280)
    await shoot(cdp, out_dir, f"{name}-375", 375)
    await cdp.call("Emulation.clearDeviceMetricsOverride")


async def frames_loaded(cdp, want):
    """How many frames have loaded their e-mail, waiting up to 15 s for `want` of them."""
    deadline = time.time() + 15
    while True:
        done = await cdp.eval("window.__frames")
        if done >= want or time.time() > deadline:
            return done
        await asyncio.sleep(0.2)


async def upload(cdp, path):
    doc = await cdp.call("DOM.getDocument")
    node = await cdp.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="input[type=file]")
    await cdp.call("DOM.setFileInputFiles", files=[path], nodeId=node["nodeId"])
    await press(cdp, "form.upload button[type=submit]")


async def run(base, token, file, bad, good, out_dir, port):
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
        cdp = Cdp(ws)
        for domain in ("Page", "Runtime", "Log", "DOM"):
            await cdp.call(f"{domain}.enable")
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH)
        await cdp.goto(f"{base}/admin/login")
        await cdp.call("Input.insertText", text=token)
        await key(cdp, "Enter", 13, text="\r")
        await cdp.wait_event("Page.loadEventFired")
        out = {}
        await cdp.goto(f"{base}/admin/files")
        await cdp.violations()
        out["files"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "admin-files")
        await cdp.goto(f"{base}/admin/files/{file}")
        want = await cdp.eval("document.querySelectorAll('iframe[sandbox]').length")
        out["frames"] = [want, await frames_loaded(cdp, want)]
        await cdp.violations()
        await both(cdp, out_dir, "admin-files-page")
        await press(cdp, f"form[action='/admin/files/{file}/launch'] button")
        await both(cdp, out_dir, "admin-files-launch")
        await press(cdp, "form.ask button.primary")
        out["launched"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "admin-files-launched")
        await cdp.goto(f"{base}/admin/import")
        await cdp.violations()
        await both(cdp, out_dir, "admin-import")
        await upload(cdp, bad)
        out["refused"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "admin-import-refused")
        # Nothing of the refused file was written: its good line's contact is unknown.
        await cdp.goto(f"{base}/admin/contact?email={urllib.parse.quote(NEW)}")
        out["after_refusal"] = await cdp.eval("document.querySelector('main').innerText")
        await cdp.goto(f"{base}/admin/import")
        await upload(cdp, good)
        out["dry"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "admin-import-dry")
        await press(cdp, "form[action^='/admin/import/'] button.primary")
        out["imported"] = await cdp.eval("document.querySelector('main').innerText")
        await both(cdp, out_dir, "admin-import-done")
        await cdp.violations()
        out["errors"] = cdp.errors
        print(json.dumps(out, ensure_ascii=False))


def main():
    base, token, file, bad, good, out_dir = sys.argv[1:7]
    os.makedirs(out_dir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="reconsent-chromium-")
    proc, port = start_chromium(profile, "1280,900")
    try:
        asyncio.run(run(base, token, file, bad, good, out_dir, port))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


main()
