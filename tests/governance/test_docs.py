"""Docs stay true: every environment variable the settings read is in README and .env.example."""

import re

from tests.conftest import ROOT


def test_every_setting_variable__is_documented():
    source = "\n".join(p.read_text() for p in (ROOT / "governance").glob("settings*.py"))
    names = set(re.findall(r'env\.(?:str|bool|int|float|list|path|db_url)\(\s*"([A-Z0-9_]+)"', source))
    assert len(names) > 10
    readme, example = (ROOT / "README.md").read_text(), (ROOT / ".env.example").read_text()
    assert {n for n in names if f"`{n}`" not in readme} == set()
    assert {n for n in names if not re.search(rf"^{n}=", example, re.M)} == set()


def test_readme__starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make run") < readme.index("make test") < readme.index("## Environment variables")
