"""The OpenAPI document generates without warnings and is served with a docs page."""

from django.core.management import call_command


def test_schema__validates_without_warnings(db, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/whoami" in text and "bearerToken" in text


def test_schema_and_docs__are_served(client, db):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
