"""governance.secret_scan: detect-secrets' detectors over every string of a payload, naming paths, never values."""

import pytest

from governance.secret_scan import CODE, SecretInEvidence, kinds_in, refuse_secrets, scan

# made-up credentials, assembled so that this file itself holds none in one piece
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS = "AKIA" + "Z7QW3RTY5UIO9PLK"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"


@pytest.mark.parametrize(("text", "kind"), [
    (GITHUB, "GitHub Token"),
    (f"aws_key={AWS}", "AWS Access Key"),
    (STRIPE, "Stripe Access Key"),
    ("https://deploy:" + "hunter2secret@ci.example.com/job/1", "Basic Auth Credentials"),
    ("-----BEGIN RSA " + "PRIVATE KEY-----", "Private Key"),
    ('password = "' + 's3cr3t-Value-42"', "Secret Keyword"),
])
def test_credentials__are_recognised_by_kind(text, kind):
    assert kinds_in(text) == [kind]


@pytest.mark.parametrize("text", [
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # artifact digests are evidence
    "c0ffee" + "0" * 34, "https://github.com/acme/shop/pull/9", "412 passed, 3 skipped",
    "- **cart:** save carts for later (#12) (a1b2c3d)\n- fix: password reset form", 'password = "${DB_PASSWORD}"',
    "deployed to 10.0.0.1 and 8.8.8.8",
])
def test_ordinary_evidence__is_not_a_secret(text):
    assert kinds_in(text) == []


def test_scan__names_json_paths_and_lines_in_document_order():
    payload = {"artifacts": {"env": ["PATH=/usr/bin", f"TOKEN={GITHUB}"], STRIPE: {"nested": "fine"}},
               "changelog": "## 1.0.0\n- feat: x\n- leaked " + AWS}
    found = [f.to_dict() for f in scan(payload)]
    assert found == [
        {"field": "artifacts.env[1]", "kind": "GitHub Token", "line": None},
        {"field": "artifacts.<key 1> (key)", "kind": "Stripe Access Key", "line": None},  # a key is never spelt out
        {"field": "changelog", "kind": "AWS Access Key", "line": 3},
    ]


def test_refuse__raises_with_the_code_and_without_the_value():
    with pytest.raises(SecretInEvidence) as caught:
        refuse_secrets({"components": [{"properties": [{"name": "k", "value": GITHUB}]}]}, field_prefix="sbom")
    error = caught.value
    assert error.get_codes() == {"sbom": [CODE]}
    assert error.problem_extra == {"secrets": [
        {"field": "sbom.components[0].properties[0].value", "kind": "GitHub Token", "line": None}]}
    assert GITHUB not in repr(error.detail) and GITHUB not in str(error.problem_extra)


def test_refuse__passes_clean_payloads_and_deep_ones_without_recursion():
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    refuse_secrets({"artifacts": deep, "summary": "ok"})


def test_govctl_secret_scan_summaries__are_not_themselves_refused():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from govctl.supplychain.secrets_scan import Finding as ScanFinding
    from govctl.supplychain.secrets_scan import summary

    findings = [ScanFinding(f"config/secrets/{i}.py", i, kind, "965fe3b8fc39fcc0aa121bbc736ed90d4a6e0d04")
                for i, kind in enumerate(sorted(get_mapping_from_secret_type_to_class()))]
    assert scan({"summary": summary(findings), "name": "secret-scan"}) == []
