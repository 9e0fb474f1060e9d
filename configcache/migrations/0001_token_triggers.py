"""The token table, and the triggers that replace an area's token whenever one of its tables changes."""

from django.db import migrations, models

# area -> the tables whose rows configcache.memo's callers read for it
TABLES = {
    "regions": ["regions_division", "regions_servicearea"],
    "sla": ["sla_policy", "sla_policytarget"],
    "webhooks": ["webhooks_subscriber"],
}

FUNCTION = """
CREATE OR REPLACE FUNCTION configcache_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO configcache_configversion (area, token) VALUES (TG_ARGV[0], gen_random_uuid())
    ON CONFLICT (area) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$;
"""

TRIGGERS = "".join(
    f"CREATE TRIGGER configcache_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION configcache_bump('{area}');\n"
    for area, tables in TABLES.items()
    for table in tables
)
DROP_TRIGGERS = "".join(
    f"DROP TRIGGER IF EXISTS configcache_{table} ON {table};\n" for tables in TABLES.values() for table in tables
)
SEED = "".join(
    f"INSERT INTO configcache_configversion (area, token) VALUES ('{area}', gen_random_uuid());\n"  # noqa: S608 - constants
    for area in TABLES
)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("regions", "0001_initial"),
        ("sla", "0003_deadline_breached_index"),
        ("webhooks", "0001_subscribers_events_deliveries"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfigVersion",
            fields=[
                ("area", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("token", models.UUIDField()),
            ],
        ),
        migrations.RunSQL(
            sql=FUNCTION + TRIGGERS + SEED,
            reverse_sql=DROP_TRIGGERS + "DROP FUNCTION IF EXISTS configcache_bump();",
        ),
    ]
