"""Make ``docs/three-way-call.png``: three browsers in one room, seen by one of them.

The same harness as the page tests (tests/support/browser.py): a real ``loop-server`` on
a free port, Debian's Chromium with fake cameras. ``--phone`` also writes
``docs/three-way-call-phone.png`` at a phone's viewport, to check the layout by eye.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page  # noqa: E402

from tests.support.browser import Owner, Pages, chromium, loop_server, wait_for_video  # noqa: E402

DESKTOP = (1280, 760)
PHONE = (390, 844)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "three-way-call.png")
    parser.add_argument("--phone", action="store_true", help="also a phone-sized screenshot")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, loop_server(Path(data)) as origin:
        with chromium() as browser:
            pages = Pages(browser)
            link, _ = Owner(origin).create_room("Thursday book club", max_size=4)
            viewer = join(pages, link, "Ann", DESKTOP)
            others = [join(pages, link, name, (640, 480)) for name in ("Bob", "Cat")]
            wait_for_video([viewer, *others], peers=2)
            others[0].get_by_label("Message").fill("Can everyone hear me?")
            others[0].get_by_role("button", name="Send").click()
            viewer.get_by_text("Bob: Can everyone hear me?").wait_for()
            viewer.get_by_label("Message").fill("Loud and clear!")
            viewer.get_by_role("button", name="Send").click()
            args.output.parent.mkdir(parents=True, exist_ok=True)
            viewer.screenshot(path=args.output)
            print(f"wrote {args.output}")
            if args.phone:
                viewer.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
                phone = args.output.with_name(args.output.stem + "-phone.png")
                viewer.screenshot(path=phone, full_page=True)
                print(f"wrote {phone}")
            pages.close()


def join(pages: Pages, link: str, name: str, viewport: tuple[int, int]) -> Page:
    page = pages.open(link, viewport=viewport)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join the conversation").click()
    return page


if __name__ == "__main__":
    main()
