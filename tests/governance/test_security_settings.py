"""Production settings: refuse a default SECRET_KEY, and `check --deploy` is clean."""

import os
import subprocess
import sys

from tests.conftest import ROOT

PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-for-this-test-only-0123456789",
    "ALLOWED_HOSTS": "portal.example.com",
    "AUDIT_SIGNING_KEY": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",  # base64 of 32 bytes: for this test only
    "DJANGO_SETTINGS_MODULE": "governance.settings",
}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_production__refuses_the_default_secret_key():
    result = _manage("check", env={**PROD_ENV, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production__refuses_to_start_without_an_audit_signing_key():
    result = _manage("check", env={**PROD_ENV, "AUDIT_SIGNING_KEY": ""})
    assert result.returncode != 0
    assert "AUDIT_SIGNING_KEY must be set" in result.stderr


def test_production__check_deploy_is_clean():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_admin__is_served_at_the_configured_path():
    code = ("from django.urls import reverse; print(reverse('admin:index'))")
    result = _manage("shell", "-c", code, env={"ADMIN_PATH": "ops-console-x7/"})
    assert result.stdout.strip().endswith("/ops-console-x7/")
