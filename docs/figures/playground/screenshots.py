"""Regenerate the screenshots of docs/playground.md and measure the page's update rate.

    PYTHONPATH=src python docs/figures/playground/screenshots.py

Needs Playwright (the ``dev`` extra) and Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from deltaprop.playground.server import PlaygroundServer

OUT = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def until(page, expression: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > end:
            raise TimeoutError(expression)
        time.sleep(0.05)


def epochs(page, n: int) -> None:
    page.get_by_test_id("play").click()
    until(page, f"Number(document.querySelector('[data-testid=epoch]').textContent) >= {n}")
    page.get_by_test_id("play").click()
    until(page, "!window.playground.playing")
    time.sleep(0.3)


def rate(page, query: str, seconds: float = 5.0) -> float:
    """Frames per second arriving at the page while playing."""
    page.goto(page.base + query)
    until(page, "window.playground && window.playground.frames > 0")
    page.get_by_test_id("play").click()
    until(page, "window.playground.frames > 30")
    n0, t0 = page.evaluate("window.playground.frames"), time.monotonic()
    time.sleep(seconds)
    fps = (page.evaluate("window.playground.frames") - n0) / (time.monotonic() - t0)
    page.get_by_test_id("play").click()
    return fps


def main() -> None:
    server = PlaygroundServer("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.base = server.url
        if "--rate" in sys.argv:
            print(f"default network (circle, 2-4-2-2 tanh): {rate(page, ''):.1f} updates/s")
            print(f"6x8 network (circle, 2-8-8-8-8-8-8-2 tanh): "
                  f"{rate(page, '?layers=8,8,8,8,8,8'):.1f} updates/s")
        else:
            page.goto(server.url + "?learning_rate=0.1")
            until(page, "window.playground && window.playground.frames > 0")
            epochs(page, 300)
            page.screenshot(path=OUT / "circle.png")
            page.goto(server.url + "?dataset=spiral3&layers=8,8,8&activation=relu"
                      "&optimizer=adam&learning_rate=0.01&features=x1,x2,sinx1,sinx2")
            until(page, "window.playground && window.playground.frames > 0")
            epochs(page, 400)
            page.get_by_test_id("points").click(position={"x": 150, "y": 80})
            page.get_by_test_id("probe").wait_for(state="visible")
            page.set_viewport_size({"width": 1400, "height": 1300})
            page.screenshot(path=OUT / "spiral3-probe.png", full_page=True)
            page.set_viewport_size({"width": 1400, "height": 860})
            page.goto(server.url + "?dataset=bumps&layers=8,8&activation=tanh&optimizer=adam"
                      "&learning_rate=0.02&noise=0.05")
            until(page, "window.playground && window.playground.frames > 0")
            epochs(page, 300)
            page.screenshot(path=OUT / "regression.png")
            page.get_by_test_id("upload").set_input_files(
                {"name": "bad.csv", "mimeType": "text/csv",
                 "buffer": b"x1,x2,label\n0.5,1.2,a\n0.1,n/a,b\n"})
            page.get_by_test_id("error").wait_for(state="visible")
            page.screenshot(path=OUT / "bad-csv.png", clip={"x": 0, "y": 0, "width": 1400,
                                                           "height": 260})
        browser.close()
    server.stop()


if __name__ == "__main__":
    main()
