"""Flag signing keys with ids: the portal names the key it signs with, SDKs verify with a key set."""

import subprocess
import sys

import pytest
from govctl.flags.snapshot import parse_keys, sign_snapshot, signature_problem, verify_snapshot
from govctl.sdk.client import _signing_keys

from flags import delivery

URL = "/api/v1/flags/snapshot"
SHOP_PROD = {"service": "shop", "environment": "production"}
BODY = {"version": 2, "service": "shop", "environment": "production", "revision": 3, "features": []}


def _signed(body, kid, secret):
    body = {**body, **({"kid": kid} if kid else {})}
    return {**body, "signature": sign_snapshot(body, secret)}


def test_parse_keys__reads_the_set_and_names_the_bad_entry_without_its_secret():
    assert parse_keys(" a:one , b-2:two:with:colons,") == {"a": "one", "b-2": "two:with:colons"}
    assert parse_keys("") == {}
    for text, problem in [("a", "entry 1: expected KEY_ID:SECRET"), ("a:x,a:y", "key id 'a' appears twice"),
                          ("a:x,b c:hidden", "entry 2: key id 'b c'")]:
        with pytest.raises(ValueError, match=problem) as caught:
            parse_keys(text)
        assert "hidden" not in str(caught.value)


def test_key_set__verifies_by_key_id_and_accepts_bodies_signed_before_key_ids():
    keys = {"k1": "s1", "k2": "s2"}
    assert signature_problem(_signed(BODY, "k2", "s2"), keys) == ""
    assert signature_problem(_signed(BODY, None, "s1"), keys) == ""  # an old last-known-good file still loads
    assert "which this client does not know (known: k1, k2)" in signature_problem(_signed(BODY, "k3", "s3"), keys)
    assert "does not verify with key 'k1'" in signature_problem(_signed(BODY, "k1", "s2"), keys)
    tampered = {**_signed(BODY, "k1", "s1"), "kid": "k2"}  # the key id is signed too
    assert not verify_snapshot(tampered, keys)
    assert "carries no signature" in signature_problem(BODY, keys)


def test_one_secret__still_verifies_and_says_when_the_portal_moved_to_key_ids():
    assert verify_snapshot(_signed(BODY, None, "s1"), "s1")
    assert verify_snapshot(_signed(BODY, "k1", "s1"), "s1")  # same secret, now with an id: fine
    assert "configure the key set" in signature_problem(_signed(BODY, "k2", "s2"), "s1")


def test_sdk_environment__key_set_or_the_deprecated_single_secret():
    assert _signing_keys({"GOVERNANCE_FLAGS_KEYS": "k1:s1,k2:s2"}) == {"k1": "s1", "k2": "s2"}
    assert _signing_keys({"GOVERNANCE_FLAGS_SECRET": "s1"}) == "s1"
    assert _signing_keys({}) is None
    with pytest.raises(ValueError, match="not both"):
        _signing_keys({"GOVERNANCE_FLAGS_KEYS": "k1:s1", "GOVERNANCE_FLAGS_SECRET": "s1"})
    with pytest.raises(ValueError, match="GOVERNANCE_FLAGS_KEYS: entry 1"):
        _signing_keys({"GOVERNANCE_FLAGS_KEYS": "k1"})


@pytest.mark.parametrize("env, problem", [
    ({"FLAGS_SIGNING_KEYS": "k1:s1", "FLAGS_SIGNING_KEY_ID": "k2"}, "FLAGS_SIGNING_KEY_ID 'k2' must name one of"),
    ({"FLAGS_SIGNING_KEYS": "k1:s1"}, "FLAGS_SIGNING_KEY_ID '' must name one of"),
    ({"FLAGS_SIGNING_KEYS": "k1"}, "FLAGS_SIGNING_KEYS: entry 1"),
])
def test_portal_settings__refuse_a_current_key_outside_the_set(env, problem):
    code = "import django; django.setup()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "governance.settings", **env})
    assert result.returncode != 0 and problem in result.stderr


@pytest.mark.django_db
def test_snapshot__carries_the_current_key_id_inside_what_is_signed(api, reader, settings, service):
    settings.FLAGS_SIGNING_KEYS = {"2026-01": "old", "2026-07": "new"}
    settings.FLAGS_SIGNING_KEY_ID = "2026-07"
    delivery.reset()
    body = api(reader).get(URL, SHOP_PROD).json()
    assert body["kid"] == "2026-07"
    assert verify_snapshot(body, {"2026-07": "new"}) and not verify_snapshot(body, {"2026-01": "old"})
    settings.FLAGS_SIGNING_KEYS, settings.FLAGS_SIGNING_KEY_ID = {}, ""
    delivery.reset()
    legacy = api(reader).get(URL, SHOP_PROD).json()
    assert "kid" not in legacy and verify_snapshot(legacy, settings.FLAGS_SIGNING_SECRET)
