"""Callables for backfill tests: one decorated (usable), one not (refused)."""

from schemaplans.engine import backfill_callable


@backfill_callable
def copy_old_to_new(conn, lo, hi):
    return conn.execute("UPDATE bf_items SET new = old * 10, counter = counter + 1 WHERE id >= %s AND id < %s",
                        [lo, hi]).rowcount


def not_marked(conn, lo, hi):
    return 0
