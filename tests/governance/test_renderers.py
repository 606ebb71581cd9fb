"""The Markdown renderer shared by the deploy-summary and drill-report endpoints."""

import json
from datetime import UTC, datetime

from governance.api.renderers import MarkdownRenderer


def test_markdown_string__is_sent_as_utf8():
    assert MarkdownRenderer().render("# shop 1.2.0 — ✅\n") == "# shop 1.2.0 — ✅\n".encode()


def test_problem_details__keep_their_json_body_even_with_dates():
    body = {"title": "Not found", "status": 404, "at": datetime(2026, 1, 2, tzinfo=UTC)}
    assert json.loads(MarkdownRenderer().render(body)) == {"title": "Not found", "status": 404,
                                                          "at": "2026-01-02T00:00:00Z"}
