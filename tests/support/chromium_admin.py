"""Signs in to the dashboard in headless Chromium with the keyboard, opens the overview
and a campaign page at desktop width and at 375 px, waits until the running
campaign's figures have been fetched again by live.js, and saves screenshots.

Usage: chromium_admin.py BASE_URL TOKEN CAMPAIGN OUT_DIR
Prints one JSON object: {"errors", "overview", "campaign", "swapped", "focused", "url"}.
Every console error, uncaught exception and CSP violation is listed in "errors".
Drives Chromium over the DevTools protocol (stdlib + the `websockets` package)."""
import asyncio, base64, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

import websockets

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"

# Runs before any page script, outside the page's CSP: records what the CSP refuses.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def start_chromium(profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        sys.exit("chromium is not installed (scripts/test installs it)")
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--user-agent={UA}", "--window-size=1280,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(port_file):
            lines = open(port_file).read().split()
            if lines:
                return proc, int(lines[0])
        time.sleep(0.1)
    proc.kill()
    sys.exit("chromium did not open its DevTools port")


class Cdp:
    def __init__(self, ws):
        self.ws, self.next_id, self.events, self.errors = ws, 0, [], []

    def note(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append("console: " + " ".join(str(a.get("value")) for a in p["args"]))
        elif m == "Runtime.exceptionThrown":
            self.errors.append("exception: " + p["exceptionDetails"].get("text", ""))
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            self.errors.append("log: " + p["entry"]["text"])
        self.events.append(msg)

    async def recv(self):
        self.note(json.loads(await asyncio.wait_for(self.ws.recv(), 30)))

    async def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        await self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.note(msg)

    async def wait_event(self, name):
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    return self.events.pop(i)
            await self.recv()

    async def eval(self, expr):
        r = await self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")

    async def goto(self, url):
        self.events.clear()
        await self.call("Page.navigate", url=url)
        await self.wait_event("Page.loadEventFired")

    async def violations(self):
        for v in await self.eval("window.__violations || []") or []:
            self.errors.append("csp: " + v)


async def key(cdp, name, code, text=None):
    down = {"type": "keyDown", "key": name, "code": name, "windowsVirtualKeyCode": code}
    if text:
        down["text"] = text
    await cdp.call("Input.dispatchKeyEvent", **down)
    await cdp.call("Input.dispatchKeyEvent", type="keyUp", key=name, code=name,
                   windowsVirtualKeyCode=code)


async def shoot(cdp, out_dir, name, width):
    await cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
                   deviceScaleFactor=1, mobile=width < 500)
    # Two animation frames: the page has been laid out again at the new width.
    await cdp.call("Runtime.evaluate", awaitPromise=True,
                   expression="new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shot = await cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    with open(os.path.join(out_dir, f"admin-{name}.png"), "wb") as f:
        f.write(base64.b64decode(shot["data"]))


async def run(base, token, campaign, out_dir, port):
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
        cdp = Cdp(ws)
        for domain in ("Page", "Runtime", "Log"):
            await cdp.call(f"{domain}.enable")
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH)
        await cdp.goto(f"{base}/admin")
        out = {"login_url": await cdp.eval("location.href")}
        await shoot(cdp, out_dir, "login-375", 375)
        # The keyboard alone: the token field has the focus; type, then Enter.
        await cdp.call("Input.insertText", text=token)
        await key(cdp, "Enter", 13, text="\r")
        await cdp.wait_event("Page.loadEventFired")
        await cdp.violations()
        out["url"] = await cdp.eval("location.href")
        out["overview"] = await cdp.eval("document.querySelector('main').innerText")
        await shoot(cdp, out_dir, "overview", 1280)
        await shoot(cdp, out_dir, "overview-375", 375)
        tabs = []
        for _ in range(12):
            await key(cdp, "Tab", 9)
            tabs.append(await cdp.eval("document.activeElement.tagName"))
        out["focused"] = tabs
        await cdp.goto(f"{base}/admin/campaigns/{campaign}")
        await cdp.eval("document.getElementById('figures').__first = true")
        out["campaign"] = await cdp.eval("document.querySelector('main').innerText")
        deadline = time.time() + 15
        swapped = False
        while time.time() < deadline and not swapped:
            swapped = await cdp.eval(
                "!!document.getElementById('figures') && !document.getElementById('figures').__first")
            if not swapped:
                await asyncio.sleep(0.2)
        out["swapped"] = swapped
        await cdp.violations()
        await shoot(cdp, out_dir, "campaign", 1280)
        await shoot(cdp, out_dir, "campaign-375", 375)
        await cdp.goto(f"{base}/admin/campaigns/{campaign}/pause")
        await cdp.violations()
        await shoot(cdp, out_dir, "pause-375", 375)
        out["errors"] = cdp.errors
        print(json.dumps(out, ensure_ascii=False))


def main():
    base, token, campaign, out_dir = sys.argv[1:5]
    os.makedirs(out_dir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="reconsent-chromium-")
    proc, port = start_chromium(profile)
    try:
        asyncio.run(run(base, token, campaign, out_dir, port))
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


main()
