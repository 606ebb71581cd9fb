"""Where a text is stored: every table of the test database whose rows contain it (for "never stored" tests)."""

from django.db import connection


def tables_holding(text: str) -> list[str]:
    """Every table of the database in which some row's text contains `text`."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT 1 FROM "{table}" t WHERE t::text LIKE %s LIMIT 1', [f"%{text}%"])
            if cursor.fetchone():
                found.append(table)
    return found
