"""SQL that Django's schema has no words for (triggers), one text per database engine."""

from django.db import migrations


def run_sql(
    postgresql: str, postgresql_reverse: str, sqlite: list[str], sqlite_reverse: list[str]
) -> migrations.RunPython:
    """A migration step that runs the statements written for the engine in use, and their reverse."""

    def run(schema_editor, postgresql_sql: str, sqlite_sql: list[str]) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(postgresql_sql)
        elif schema_editor.connection.vendor == "sqlite":
            for statement in sqlite_sql:
                schema_editor.execute(statement)

    return migrations.RunPython(
        lambda apps, schema_editor: run(schema_editor, postgresql, sqlite),
        lambda apps, schema_editor: run(schema_editor, postgresql_reverse, sqlite_reverse),
    )
