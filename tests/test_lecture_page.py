"""index.html in headless Chromium: clips play section by section, in order, driven by the keyboard.

Chromium is driven over the DevTools protocol through a pipe (--remote-debugging-pipe), so
the test needs no WebDriver package and opens no port. The page is opened from disk, as a
presenter would open it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from scenes.lecture.build import LectureRequest, build_lecture
from tracer.i18n import t

from .test_lecture_standin import SOURCE

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,720",
]
# Generous: a clip section is under a second long, but the machine may be busy.
WAIT_S = 30.0

KEYS = {
    "ArrowRight": ("ArrowRight", 39, ""),
    "ArrowLeft": ("ArrowLeft", 37, ""),
    "ArrowUp": ("ArrowUp", 38, ""),
    "ArrowDown": ("ArrowDown", 40, ""),
    "Home": ("Home", 36, ""),
    "End": ("End", 35, ""),
    " ": ("Space", 32, " "),
    "k": ("KeyK", 75, "k"),
    "s": ("KeyS", 83, "s"),
}


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """A headless Chromium with one page, spoken to with DevTools protocol messages over pipes."""

    def __init__(self, binary: str, profile: Path):
        # Chromium reads commands from fd 3 and writes replies to fd 4.
        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()

        def wire_pipes():
            os.dup2(command_read, 3)
            os.dup2(reply_write, 4)

        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4),
            preexec_fn=wire_pipes,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(command_read)
        os.close(reply_write)
        self._buffer = b""
        self._next_id = 0
        self.session = None

    def call(self, method: str, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._command_write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._reply_read, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.wait_for("window.lecturePlayer !== undefined")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = WAIT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"still false after {timeout} s: {expression}; state: {self.state()}")

    def state(self) -> dict:
        return self.evaluate("window.lecturePlayer.state()")

    def press(self, key: str) -> None:
        code, virtual, text = KEYS[key]
        common = {"key": key, "code": code, "windowsVirtualKeyCode": virtual, "nativeVirtualKeyCode": virtual}
        self.call("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    def screenshot(self, path: Path) -> None:
        import base64

        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (EOFError, OSError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._command_write)
        os.close(self._reply_read)


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium not found: install Debian's chromium package (scripts/setup.sh does)")
    return binary


def build_standin(out: Path, seconds: float, **request) -> Path:
    previous = os.environ.get("STANDIN_SECONDS")
    os.environ["STANDIN_SECONDS"] = str(seconds)
    try:
        report = build_lecture(LectureRequest(out_dir=out, trace=None, source=SOURCE, show_progress=False, **request))
    finally:
        if previous is None:
            del os.environ["STANDIN_SECONDS"]
        else:
            os.environ["STANDIN_SECONDS"] = previous
    assert report.failed == {}
    return out


@pytest.fixture(scope="module")
def lecture(tmp_path_factory) -> Path:
    """A stand-in lecture of two clips with two short sections each, rendered once for these tests."""
    return build_standin(tmp_path_factory.mktemp("lecture"), 1.2, scene_ids=["alpha", "gamma"], jobs=2)


@pytest.fixture(scope="module")
def slow_lecture(tmp_path_factory) -> Path:
    """Like `lecture`, with sections long enough (about 5 s) to press keys while one plays."""
    return build_standin(tmp_path_factory.mktemp("slow"), 10.0, scene_ids=["alpha", "gamma"], jobs=2)


@pytest.fixture()
def browser(chromium, tmp_path):
    browser = Browser(chromium, tmp_path / "profile")
    yield browser
    browser.close()


def expected_sections(folder: Path) -> list[tuple[int, int, str]]:
    manifest = json.loads((folder / "lecture.json").read_text(encoding="utf-8"))
    order = []
    for c, scene in enumerate(manifest["order"]):
        for s, section in enumerate(manifest["clips"][scene]["sections"]):
            order.append((c, s, (folder / section["file"]).resolve().as_uri()))
    return order


def test_page_plays_sections_in_order(lecture, browser):
    browser.open((lecture / "index.html").as_uri())
    expected = expected_sections(lecture)
    assert len(expected) == 4

    first = browser.state()
    assert first["phase"] == "ready"
    assert (first["clip"], first["section"]) == (0, 0)
    assert first["paused"] is True

    for number, (clip, section, src) in enumerate(expected):
        browser.press(" " if number == 0 else "ArrowRight")
        browser.wait_for(f"window.lecturePlayer.state().clip === {clip} && window.lecturePlayer.state().section === {section}")
        browser.wait_for("['waiting', 'end'].includes(window.lecturePlayer.state().phase)")
        state = browser.state()
        assert state["src"] == src
        assert state["ended"] is True
        # The player stays on the last frame until a key is pressed.
        time.sleep(0.5)
        assert browser.state()["phase"] == state["phase"]
        assert browser.state()["section"] == section

    assert browser.state()["phase"] == "end"
    assert [tuple(p) for p in browser.state()["played"]] == [(c, s) for c, s, _ in expected]


def test_page_keyboard_navigation(slow_lecture, browser):
    browser.open((slow_lecture / "index.html").as_uri())

    browser.press("ArrowDown")
    browser.wait_for("window.lecturePlayer.state().clip === 1")
    assert browser.state()["section"] == 0

    browser.press("ArrowLeft")
    browser.wait_for("window.lecturePlayer.state().clip === 0 && window.lecturePlayer.state().section === 1")

    browser.press("k")
    browser.wait_for("window.lecturePlayer.state().phase === 'paused'")
    assert browser.state()["paused"] is True
    browser.press(" ")
    browser.wait_for("window.lecturePlayer.state().phase !== 'paused'")

    browser.press("End")
    browser.wait_for("window.lecturePlayer.state().clip === 1 && window.lecturePlayer.state().section === 0")
    browser.press("Home")
    browser.wait_for("window.lecturePlayer.state().clip === 0 && window.lecturePlayer.state().section === 0")
    assert browser.evaluate("location.hash") == "#clip=1&section=1"

    browser.press("s")
    assert browser.evaluate("document.body.classList.contains('no-sidebar')") is True


def test_page_opens_at_position_in_hash(lecture, browser):
    browser.open((lecture / "index.html").as_uri() + "#clip=2&section=2")
    state = browser.state()
    assert (state["clip"], state["section"]) == (1, 1)
    assert state["phase"] == "ready"


def test_page_language_and_listing(chromium, tmp_path):
    out = build_standin(tmp_path / "zh", 1.2, scene_ids=["beta"], lang="zh")
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open((out / "index.html").as_uri())
        assert browser.evaluate("document.documentElement.lang") == "zh-CN"
        assert browser.evaluate("document.getElementById('hint').textContent") == t("lecture.page.hint_start", lang="zh")
        assert browser.evaluate("document.getElementById('claim').textContent") == "beta 的一句话结论。"
        assert browser.evaluate("document.querySelectorAll('#clips > li').length") == 1
        # Everything the page loads is beside it: no network address anywhere in the file.
        page = (out / "index.html").read_text(encoding="utf-8")
        assert "http://" not in page
        assert "https://" not in page
    finally:
        browser.close()
