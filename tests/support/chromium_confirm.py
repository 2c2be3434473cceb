"""Opens a confirm link in headless Chromium, clicks the confirm button with a real
mouse event, and reports what the thank-you page shows; saves a screenshot.

Usage: chromium_confirm.py URL SCREENSHOT.png [--keyboard]  (Tab to the button, Enter)
Prints one JSON object: {"request_title", "buttons", "title", "code", "lang", "url"}.
Drives Chromium over the DevTools protocol (stdlib + the `websockets` package)."""
import asyncio, base64, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

import websockets

KEYBOARD = "--keyboard" in sys.argv
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def start_chromium(profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        sys.exit("chromium is not installed (scripts/test installs it)")
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--user-agent={UA}", "--window-size=800,900", "about:blank"],
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
        self.ws, self.next_id, self.events = ws, 0, []

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
            self.events.append(msg)

    async def wait_event(self, name):
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    return self.events.pop(i)
            self.events.append(json.loads(await asyncio.wait_for(self.ws.recv(), 30)))

    async def eval(self, expr):
        r = await self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")


async def key(cdp, name, code, text=None):
    down = {"type": "keyDown", "key": name, "code": name, "windowsVirtualKeyCode": code}
    if text:
        down["text"] = text
    await cdp.call("Input.dispatchKeyEvent", **down)
    await cdp.call("Input.dispatchKeyEvent", type="keyUp", key=name, code=name,
                   windowsVirtualKeyCode=code)


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
