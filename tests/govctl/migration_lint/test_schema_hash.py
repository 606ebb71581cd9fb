"""schema_hash: one value per set of migrations, whatever the checkout, editor or operating system."""

from __future__ import annotations

import hashlib

import pytest
from govctl.migration_lint import schema_hash

FILES = {
    "migrations/0001_init.sql": b"CREATE TABLE a (id bigint);\n",
    "migrations/0002_add_b.sql": b"ALTER TABLE a ADD COLUMN b text;\n",
}


def test_same_files__same_hash_whatever_the_order() -> None:
    assert schema_hash(FILES) == schema_hash(dict(reversed(list(FILES.items()))))


def test_hash__is_pinned_so_a_format_change_is_noticed() -> None:
    """The value is recorded with every release: changing the algorithm must be deliberate (bump the v1 prefix)."""
    digest = hashlib.sha256(b"govctl-schema-hash-v1\n")
    for path in sorted(FILES):
        digest.update(b"%d:%s%d:%s" % (len(path), path.encode(), len(FILES[path]), FILES[path]))

    assert schema_hash(FILES) == digest.hexdigest()
    assert schema_hash(FILES) == "50afd86b62bc9b55be4bf0fbe4320b7729a5aa7d5f5f051775dbbfe61af2de35"


@pytest.mark.parametrize(
    "variant",
    [
        b"CREATE TABLE a (id bigint);\r\n",
        b"\xef\xbb\xbfCREATE TABLE a (id bigint);\n",
        b"CREATE TABLE a (id bigint);   \n\n\n",
        b"CREATE TABLE a (id bigint);",
        b"CREATE TABLE a (id bigint);\t\r",
    ],
)
def test_editor_noise__does_not_change_the_hash(variant: bytes) -> None:
    assert schema_hash({**FILES, "migrations/0001_init.sql": variant}) == schema_hash(FILES)


@pytest.mark.parametrize(
    "path", ["./migrations/0001_init.sql", "migrations\\0001_init.sql", "migrations//0001_init.sql"]
)
def test_path_spelling__does_not_change_the_hash(path: str) -> None:
    files = {path: FILES["migrations/0001_init.sql"], "migrations/0002_add_b.sql": FILES["migrations/0002_add_b.sql"]}

    assert schema_hash(files) == schema_hash(FILES)


def test_changed_content__changes_the_hash() -> None:
    changed = {**FILES, "migrations/0002_add_b.sql": b"ALTER TABLE a ADD COLUMN b bigint;\n"}

    assert schema_hash(changed) != schema_hash(FILES)


def test_leading_indentation_and_comments__count() -> None:
    indented = {**FILES, "migrations/0002_add_b.sql": b"  ALTER TABLE a ADD COLUMN b text;\n"}
    annotated = {**FILES, "migrations/0002_add_b.sql": b"-- emc: expand\nALTER TABLE a ADD COLUMN b text;\n"}

    assert len({schema_hash(FILES), schema_hash(indented), schema_hash(annotated)}) == 3


def test_renamed_file__changes_the_hash() -> None:
    renamed = {"migrations/0001_init.sql": FILES["migrations/0001_init.sql"], "migrations/0003_add_b.sql": FILES[
        "migrations/0002_add_b.sql"
    ]}  # fmt: skip

    assert schema_hash(renamed) != schema_hash(FILES)


def test_moving_bytes_between_name_and_content__cannot_collide() -> None:
    assert schema_hash({"a": b"bc"}) != schema_hash({"ab": b"c"})


def test_added_or_removed_file__changes_the_hash() -> None:
    assert schema_hash({**FILES, "migrations/0003.sql": b""}) != schema_hash(FILES)
    assert schema_hash({"migrations/0001_init.sql": FILES["migrations/0001_init.sql"]}) != schema_hash(FILES)


def test_no_files__has_a_hash() -> None:
    assert schema_hash({}) == hashlib.sha256(b"govctl-schema-hash-v1\n").hexdigest()


@pytest.mark.parametrize("path", ["/abs/0001.sql", "C:/repo/0001.sql", "../0001.sql", "a/../../b.sql", "", "."])
def test_absolute_or_escaping_path__is_refused(path: str) -> None:
    with pytest.raises(ValueError):
        schema_hash({path: b"SELECT 1;\n"})


def test_two_spellings_of_one_path__are_refused() -> None:
    with pytest.raises(ValueError, match="same path"):
        schema_hash({"a/0001.sql": b"x", "./a/0001.sql": b"y"})
