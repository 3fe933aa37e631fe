"""Open a page in headless Chromium and record what it did, with the standard library only.

Chromium's DevTools protocol runs over a pair of pipes (``--remote-debugging-pipe``:
it reads commands on fd 3 and writes replies and events on fd 4, each message a
JSON object ended by a NUL byte), so no websocket client is needed.

``python -m tests.reports.browser REPORT.html OUT.png`` takes a screenshot of the
first screen (used for ``docs/report-first-screen.png``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    """What happened while a page loaded."""

    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    title: str = ""
    metrics: dict = field(default_factory=dict)


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int):
        self.write = os.fdopen(write_fd, "wb", buffering=0)
        self.read = os.fdopen(read_fd, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.write.write(json.dumps(message).encode() + b"\0")
        return self.next_id

    def receive(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = self.read.read(65536)
            if not chunk:
                raise ConnectionError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict:
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if message.get("method") == method:
                return message
            self.events.append(message)


def visit(
    url: str,
    *,
    width: int = 1280,
    height: int = 900,
    chromium: str | None = None,
    settle: float = 0.3,
    media: str | None = None,
) -> PageVisit:
    """Load ``url`` in a fresh headless Chromium; return requests, console errors and a screenshot.

    ``media="print"`` applies the print stylesheet (with ``width`` the printable width in CSS px).
    ``metrics`` has the document's ``width`` and ``height`` and the widest element's ``widest``
    (its right edge and tag), to find anything that would be cut off.
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="tracker-chromium-") as profile:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        args = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--mute-audio",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]

        def child_fds():  # the browser reads commands on fd 3 and writes on fd 4
            read_end, write_end = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        # close_fds runs after preexec_fn: keep 3 and 4, close the originals
        process = subprocess.Popen(
            args,
            pass_fds=(3, 4),
            preexec_fn=child_fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        pipe = _Pipe(to_browser_w, from_browser_r)
        result = PageVisit(url=url)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.call(f"{domain}.enable", session=session)
            pipe.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            if media:
                pipe.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
            pipe.call("Page.navigate", {"url": url}, session=session)
            pipe.wait_for("Page.loadEventFired")
            time.sleep(settle)
            result.title = pipe.call(
                "Runtime.evaluate", {"expression": "document.title"}, session=session
            )["result"].get("value", "")
            result.metrics = pipe.call(
                "Runtime.evaluate",
                {
                    "expression": "JSON.stringify({width: document.documentElement.scrollWidth, "
                    "height: document.documentElement.scrollHeight, svgs: document.querySelectorAll('svg').length, "
                    "widest: [...document.querySelectorAll('table, figure, svg, .flow')]"
                    ".map(e => [Math.round(e.getBoundingClientRect().right), e.tagName, e.closest('section') ? e.closest('section').id : ''])"
                    ".sort((a, b) => b[0] - a[0])[0]})",
                },
                session=session,
            )["result"]["value"]
            result.metrics = json.loads(result.metrics)
            shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=session)
            result.screenshot = base64.b64decode(shot["data"])
            pipe.call("Browser.close")
        finally:
            for event in pipe.events:
                method, params = event.get("method"), event.get("params", {})
                if method == "Network.requestWillBeSent":
                    result.requests.append(params["request"]["url"])
                elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                    "error",
                    "assert",
                ):
                    result.console_errors.append(
                        " ".join(
                            str(a.get("value", a.get("description", "")))
                            for a in params.get("args", [])
                        )
                    )
                elif method == "Runtime.exceptionThrown":
                    result.console_errors.append(
                        params["exceptionDetails"].get("text", "exception")
                    )
                elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                    result.console_errors.append(params["entry"].get("text", ""))
            pipe.write.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            pipe.read.close()
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.reports.browser REPORT.html OUT.png", file=sys.stderr)
        return 2
    report, out = Path(argv[0]).resolve(), Path(argv[1])
    page = visit(report.as_uri(), width=1280, height=900)
    out.write_bytes(page.screenshot)
    print(
        f"{out}: {len(page.screenshot)} bytes; requests {page.requests}; console errors {page.console_errors}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
