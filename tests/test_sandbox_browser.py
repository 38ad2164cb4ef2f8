"""`convene sandbox` in a real browser: headless Chromium (Debian's) driven by Playwright plays
the whole path a person would, and every assertion is on what the page shows.

/schedule → Start → the approval card → Approve → (the clock past the undo window) the email in
the prospect's inbox → their "Tuesday at 10 works" → the booking card → Approve → the invite in
the inbox and the meeting on the team calendar → a reply that declines → a decision card.
Screenshots of each step land in the test's tmp dir (SANDBOX_SCREENSHOT=path also keeps the
last full page, which is how the README's docs/sandbox.png is made).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from bot.sandbox.server import Sandbox, serve
from tests.support.services import CHROMIUM, require

TIMEOUT_MS = 20_000


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    running = Sandbox.start()
    server = serve(running, port=0)
    running.background()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        running.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    require("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Shots:
    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder, self.count = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


def _feed(page: Page) -> Locator:
    return page.locator('[data-region="dm"]')


def _last_card(page: Page, text: str) -> Locator:
    """The newest message showing `text`, pinned: later messages don't change which it is."""
    newest = _feed(page).locator(".msg", has_text=text).last
    expect(newest).to_be_visible()
    return _feed(page).locator(f'.msg[data-entry="{newest.get_attribute("data-entry")}"]')


def _reply_form(inbox: Locator, subject: str) -> Locator:
    thread = inbox.locator(".thread", has=inbox.page.locator("h3", has_text=subject)).first
    key = thread.get_attribute("data-thread")
    return inbox.locator(f'form.reply[data-reply="{key}"]')


def _advance_hour(page: Page) -> None:
    page.get_by_role("button", name="Advance 1 hour").click()


def test_the_whole_path_in_a_browser(sandbox_url: str, browser: Browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    shot = Shots(page, tmp_path / "screenshots")
    page.goto(sandbox_url)
    expect(page.locator('[data-region="timeline"]')).to_contain_text("No request yet")

    # The rep types the command; Convene answers with what it understood, only to them.
    page.locator("#composer-input").fill(
        '/schedule demo with john@acme.example next week 45m "Walk through SSO & <the> CRM sync"'
    )
    page.get_by_role("button", name="Send").click()
    confirm = _last_card(page, "Start a demo with john@acme.example?")
    expect(confirm).to_contain_text("Only visible to you")
    # Escaped on the way in and on the way out: the context shows as typed, no markup.
    expect(confirm).to_contain_text("Walk through SSO & <the> CRM sync")
    shot("confirm-card")
    confirm.get_by_role("button", name="Start").click()
    expect(_feed(page)).to_contain_text("ACME-1")

    # The approval card, then Approve: the undo window, then the clock past it.
    card = _last_card(page, "First scheduling email to john@acme.example")
    expect(card.get_by_role("button", name="Approve & send")).to_be_visible()
    shot("approval-card")
    card.get_by_role("button", name="Approve & send").click()
    expect(card).to_contain_text("you can still undo")
    inbox = page.locator('[data-region="inbox"]')
    expect(inbox).to_contain_text("Nothing from Northwind yet")
    _advance_hour(page)
    expect(card).to_contain_text("✅ Sent")
    expect(inbox).to_contain_text("Time for a quick demo?")
    expect(inbox).to_contain_text("sam@northwind.example → john@acme.example")
    shot("first-email")

    # The prospect answers in the thread, through the rep's mailbox and the clock's intake.
    reply = inbox.locator("form.reply").first
    reply.locator("textarea").fill("Tuesday at 10 works for me.")
    reply.get_by_role("button", name="Send reply").click()
    expect(inbox).to_contain_text("Tuesday at 10 works for me.")
    booking = _last_card(page, "Calendar invite to john@acme.example")
    expect(booking).to_contain_text("Book 45 min starting Tue")
    shot("booking-card")
    booking.get_by_role("button", name="Approve & send").click()
    expect(booking).to_contain_text("you can still undo")
    _advance_hour(page)
    expect(booking).to_contain_text("✅ Sent")

    # The invite in the inbox, the meeting on the team calendar.
    invite = inbox.locator(".invite").first
    expect(invite).to_contain_text("Invitation: Demo with john@acme.example")
    expect(invite).to_contain_text("10:00")
    calendar = page.locator('[data-region="calendar"]')
    booked = calendar.locator(".event.booked")
    if booked.count() == 0:  # the meeting may be in next week's view
        page.get_by_role("button", name="Next week").click()
    expect(booked.first).to_contain_text("Demo with john@acme.example · ACME-1")
    expect(booked.first).to_contain_text("10:00–10:45")
    timeline = page.locator('[data-region="timeline"]')
    expect(timeline).to_contain_text("meeting booked")
    shot("booked")

    # A reply that declines, in the first email's thread, becomes a decision card for the rep.
    reply = _reply_form(inbox, "Time for a quick demo?")
    reply.locator("textarea").fill(
        "Sorry Sam, we've decided to go with another vendor. Please cancel the meeting, "
        "we are not interested anymore."
    )
    reply.get_by_role("button", name="Send reply").click()
    decision = _last_card(page, "declined the meeting")
    expect(decision).to_contain_text("we've decided to go with another vendor")
    expect(decision.get_by_role("button", name="Cancel the request")).to_be_visible()
    shot("decision-card")
    if target := os.environ.get("SANDBOX_SCREENSHOT"):
        page.set_viewport_size({"width": 1360, "height": 860})  # keeps the PNG under 300 KB
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=target, full_page=False)
    assert len(list((tmp_path / "screenshots").iterdir())) == shot.count


def test_modals_open_and_submit_like_slack(sandbox_url: str, browser: Browser) -> None:
    """The form from `/schedule` alone, and Reject with a reason that names times: both are
    modals opened by views.open and answered with a signed view_submission."""
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(sandbox_url)

    page.locator("#composer-input").fill("/schedule")
    page.get_by_role("button", name="Send").click()
    form = page.get_by_role("dialog", name="New meeting")
    expect(form).to_contain_text("Our team (besides you)")
    # Teammates come from the workspace, as Slack's user picker offers them.
    expect(form.locator("option", has_text="Priya Shah")).to_have_count(1)
    form.get_by_role("button", name="Find times").click()
    # Nothing filled in: the app answers with errors and the form stays open.
    expect(page.locator(".modal-errors")).to_be_visible()
    expect(form).to_be_visible()
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_have_count(0)

    page.locator("#composer-input").fill("/schedule demo with john@acme.example next week 45m")
    page.get_by_role("button", name="Send").click()
    _last_card(page, "Start a demo").get_by_role("button", name="Start").click()
    card = _last_card(page, "First scheduling email to john@acme.example")
    card.get_by_role("button", name="Reject").click()
    modal = page.get_by_role("dialog", name="Reject draft")
    expect(modal).to_contain_text('Name times, e.g. "not Mondays"')
    modal.locator("textarea").fill("not Mondays please")
    modal.get_by_role("button", name="Reject").click()
    expect(modal).to_have_count(0)
    expect(card).to_contain_text("Rejected by @Sam Rivera")
    # A reason that names times brings the first email back, redrafted without Mondays.
    redrafted = _last_card(page, "Redrafted after your note “not Mondays please”")
    expect(redrafted.get_by_role("button", name="Approve & send")).to_be_visible()
    expect(redrafted).not_to_contain_text("Mon, ")
