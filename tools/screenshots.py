"""Screenshots of the example site for the README (`make screenshots`).

Builds nothing: run `make site` first. Uses Debian's Chromium through Playwright.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAGE = "briefings/trump-putin-bomb-moscow/index.html"
SHOTS = [  # (file name, viewport width, height, colour scheme)
    ("briefing-desktop-light.png", 1280, 1000, "light"),
    ("briefing-phone-dark.png", 375, 812, "dark"),
]


def main(site: Path = REPO / "site", out: Path = REPO / "docs" / "screenshots") -> None:
    if not (site / PAGE).is_file():
        sys.exit(f"no built site at {site}: run `make site` first")
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, width, height, scheme in SHOTS:
            page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
            page.goto((site / PAGE).as_uri())
            page.screenshot(path=str(out / name))
            print(out / name)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
