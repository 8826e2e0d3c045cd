"""LabRelations: queries over the lab hierarchy.

This is the one place core asks "which labs does this lab see?". Descendants
at any depth come from one recursive query (PostgreSQL and SQLite both run
`WITH RECURSIVE`); UNION (not UNION ALL) makes it terminate even if a cycle
slipped into the table by hand.
"""

from django.db import connection

from admin.account.models import LabRelation


class LabRelations(LabRelation):
    """Proxy of LabRelation with the hierarchy queries."""

    class Meta:
        proxy = True
        verbose_name = "lab hierarchy"

    @classmethod
    def get_child_labs(cls, parent_lab_id: int) -> list[int]:
        """Ids of every descendant of `parent_lab_id` at any depth, sorted,
        without the lab itself. One query.

        Example: with 1 -> 2 -> 4 and 1 -> 3, `get_child_labs(1)` is [2, 3, 4]
        and `get_child_labs(2)` is [4].
        """
        return cls._walk(parent_lab_id, "parent_lab_id", "child_lab_id")

    @classmethod
    def get_parent_labs(cls, child_lab_id: int) -> list[int]:
        """Ids of every ancestor of `child_lab_id` at any depth, sorted."""
        return cls._walk(child_lab_id, "child_lab_id", "parent_lab_id")

    @classmethod
    def _walk(cls, start_id: int, from_column: str, to_column: str) -> list[int]:
        quote = connection.ops.quote_name
        table = quote(LabRelation._meta.db_table)
        source, target = quote(from_column), quote(to_column)
        # Identifiers come from model metadata, never from input; the lab id is
        # a bound parameter.
        sql = f"""
            WITH RECURSIVE reached(lab_id) AS (
                SELECT {target} FROM {table} WHERE {source} = %s
                UNION
                SELECT r.{target} FROM {table} r
                JOIN reached ON r.{source} = reached.lab_id
            )
            SELECT lab_id FROM reached ORDER BY lab_id
        """  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [start_id])
            return [row[0] for row in cursor.fetchall() if row[0] != start_id]
