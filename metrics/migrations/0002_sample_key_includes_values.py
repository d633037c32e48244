"""The sample key also carries value and utc_offset (PostgreSQL's INCLUDE), so reading a
series (raw points, rollup refreshes, re-import comparisons) is an index-only scan. Django
cannot declare INCLUDE on a composite primary key, hence the SQL; SQLite keeps the plain
key."""

from django.db import migrations

WITH_VALUES = """
ALTER TABLE metrics_sample
    DROP CONSTRAINT metrics_sample_pkey,
    ADD CONSTRAINT metrics_sample_pkey
        PRIMARY KEY (data_source_id, metric, start, "end") INCLUDE (value, utc_offset)
"""
PLAIN = """
ALTER TABLE metrics_sample
    DROP CONSTRAINT metrics_sample_pkey,
    ADD CONSTRAINT metrics_sample_pkey PRIMARY KEY (data_source_id, metric, start, "end")
"""


def include_values(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WITH_VALUES)


def plain_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PLAIN)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]
    operations = [migrations.RunPython(include_values, plain_key)]
