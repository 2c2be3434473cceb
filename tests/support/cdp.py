"""Headless Chromium over the DevTools protocol, for the browser tests' drivers
(stdlib + the `websockets` package)."""
import asyncio, base64, json, os, shutil, subprocess, sys, time

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def start_chromium(profile, size="800,900"):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        sys.exit("chromium is not installed (scripts/test installs it)")
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--user-agent={UA}", f"--window-size={size}", "about:blank"],
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


# Runs before any page script, outside the page's CSP: records what the CSP refuses.
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


async def shoot(cdp, out_dir, name, width):
    """A screenshot of the whole page at `width`, saved as OUT_DIR/NAME.png."""
    await cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
                   deviceScaleFactor=1, mobile=width < 500)
    # Two animation frames: the page has been laid out again at the new width.
    await cdp.call("Runtime.evaluate", awaitPromise=True,
                   expression="new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shot = await cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    with open(os.path.join(out_dir, f"{name}.png"), "wb") as f:
        f.write(base64.b64decode(shot["data"]))


async def press(cdp, selector):
    """Presses what `selector` finds, as a user would, and waits for the next page."""
    cdp.events.clear()
    await cdp.eval(f"document.querySelector({json.dumps(selector)}).click()")
    await cdp.wait_event("Page.loadEventFired")
