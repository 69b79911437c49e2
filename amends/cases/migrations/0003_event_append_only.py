"""Events are append-only in the database itself: an UPDATE or DELETE of ``cases_event`` is
refused by a trigger on PostgreSQL and on SQLite, whoever sends it (``QuerySet.update()``,
``delete()``, a console session, another program).

The one exception is a deliberate purge (the test suite's flush between tests, a future
retention job): on PostgreSQL the session setting ``amends.purge_events = 'on'``, on SQLite the
connection function ``amends_purge_allowed()`` (registered by this app on every connection,
see ``amends.cases.events.events_purge_allowed``) let a DELETE or TRUNCATE through. An UPDATE
is never allowed. Whatever is purged, the sealed checkpoints kept outside the database still
show it (``amends audit verify``).
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION amends_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'UPDATE' AND current_setting('amends.purge_events', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'events are append-only: % of cases_event refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON cases_event
    FOR EACH ROW EXECUTE FUNCTION amends_event_append_only();
CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON cases_event
    FOR EACH STATEMENT EXECUTE FUNCTION amends_event_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS event_no_truncate ON cases_event;
DROP TRIGGER IF EXISTS event_append_only ON cases_event;
DROP FUNCTION IF EXISTS amends_event_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER event_no_update BEFORE UPDATE ON cases_event
    BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE of cases_event refused'); END;""",
    """CREATE TRIGGER event_no_delete BEFORE DELETE ON cases_event
    WHEN NOT amends_purge_allowed()
    BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE of cases_event refused'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS event_no_update;",
    "DROP TRIGGER IF EXISTS event_no_delete;",
]


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # A cursor without parameters: the function's RAISE uses a literal '%'.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES_UP)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_core_contract")]

    operations = [migrations.RunPython(up, down)]
