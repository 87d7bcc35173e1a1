"""Browser test of handouts: from a pearl string's page, the PDF download button gives a PDF
whose text holds the pearls (Chromium through Playwright, ``expect_download``)."""

from __future__ import annotations

import io
import re

import pypdf
from browser_support import seed_string, shot
from playwright.sync_api import expect
from stock import CLUBHOUSE, HUB, SALON


def test_download_the_pdf_handout_from_the_string_page(page, watch, live, tmp_path):
    pearls = [(HUB.id, -1, "整篇案例作对照。"), (CLUBHOUSE.id, live.practice(CLUBHOUSE.id), "文化是入口。"),
              (SALON.id, live.practice(SALON.id), "")]
    string_id, _ = seed_string(live, "讲义下载：以文化凝聚白领", pearls, publish=True)
    page.goto(f"/pearls/{string_id}")  # published: public, no login
    buttons = page.locator(".handout-downloads")
    expect(buttons.get_by_role("link", name="Word")).to_be_visible()
    expect(buttons.get_by_role("link", name="Markdown")).to_be_visible()
    shot(page, "handouts-string-page")
    with page.expect_download() as info:
        buttons.get_by_role("link", name="PDF").click()
    download = info.value
    assert download.suggested_filename == "讲义下载：以文化凝聚白领-讲义.pdf"
    path = tmp_path / "handout.pdf"
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pages[2:]))  # after cover and contents
    # in the string's order, renumbered, the clubhouse practice without its "2、"
    at = [text.index(needle) for needle in (f"1.{HUB.title.replace(' ', '')}", "2.开展“会所文化”主题活动", "3.培育会所文化")]
    assert at == sorted(at)
    assert "2、开展“会所文化”主题活动" not in text and "文化是入口。" in text
    watch.assert_clean()
