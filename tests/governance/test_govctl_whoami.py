"""govctl against a real portal server on 127.0.0.1: whoami, a refused token, an unreachable portal."""

import json
import socket

import pytest
from govctl import __version__
from govctl.cli import main


@pytest.fixture
def env(monkeypatch, live_server):
    def set_env(token: str, url: str | None = None):
        monkeypatch.setenv("GOVERNANCE_URL", url or live_server.url)
        monkeypatch.setenv("GOVERNANCE_TOKEN", token)

    return set_env


def test_version__prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"govctl {__version__}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_whoami__shows_the_token(env, make_token, capsys):
    env(make_token("releases:write", "checks:write", name="shop CI"))
    assert main(["whoami"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "shop CI"
    assert shown["scopes"] == ["checks:write", "releases:write"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_whoami__refused_token_is_a_clear_error(env, capsys):
    env("gov_deadbeef_not-a-real-token")
    assert main(["whoami"]) == 4
    err = capsys.readouterr().err
    assert "refused the token (401)" in err and "invalid, expired or revoked" in err


def test_whoami__unreachable_portal_is_a_clear_error(monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    monkeypatch.setenv("GOVERNANCE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GOVERNANCE_TOKEN", "gov_x_y")
    from govctl import api

    monkeypatch.setattr(api.time, "sleep", lambda s: None)
    assert main(["whoami"]) == 3
    assert f"cannot reach the portal at http://127.0.0.1:{port}" in capsys.readouterr().err


def test_missing_configuration__is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("GOVERNANCE_URL", raising=False)
    monkeypatch.setenv("GOVERNANCE_TOKEN", "x")
    assert main(["whoami"]) == 2
    assert "GOVERNANCE_URL is not set" in capsys.readouterr().err
