"""govctl's HTTP client: an answer that is not the portal's JSON is one clear error, not a traceback."""

from __future__ import annotations

import httpx
import pytest
from govctl.api import Client, Config, GovctlError


def _client(response: httpx.Response) -> Client:
    return Client(Config(url="https://sso.example.com", token="gov_x_y"),
                  transport=httpx.MockTransport(lambda request: response), retries=0)


@pytest.mark.parametrize("call", [lambda c: c.get("/api/v1/whoami"), lambda c: c.post("/api/v1/services", {})])
def test_a_2xx_html_page__is_a_clear_error_naming_the_url(call):
    # e.g. GOVERNANCE_URL points at a single-sign-on proxy that answers its login page with 200
    client = _client(httpx.Response(200, text="<html><body>Sign in</body></html>",
                                    headers={"Content-Type": "text/html"}))
    with pytest.raises(GovctlError, match="not JSON") as error:
        call(client)
    assert error.value.exit_code == 3
    assert "GOVERNANCE_URL" in str(error.value)


def test_json_answers_and_empty_posts__still_read():
    assert _client(httpx.Response(200, json={"name": "ci"})).get("/api/v1/whoami") == {"name": "ci"}
    assert _client(httpx.Response(204)).post("/api/v1/x", {}) is None
