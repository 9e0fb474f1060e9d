"""The default policy of DESIGN §5; every target is editable in the admin afterwards."""

from datetime import timedelta

from django.db import migrations

DEFAULT_TARGETS = [
    # kind, target, warn this long before it
    ("response", timedelta(minutes=30), timedelta(minutes=10)),  # the advertised 30-minute response; warn at 20
    ("offer_accept", timedelta(minutes=5), timedelta(minutes=1)),
    ("arrival", timedelta(minutes=90), timedelta(minutes=15)),  # urgent lock-outs; appointments fix their own due
    ("resolution", timedelta(hours=24), timedelta(hours=2)),
    ("complaint_acknowledge", timedelta(minutes=60), timedelta(minutes=15)),
    ("technician_statement", timedelta(hours=24), timedelta(hours=4)),
    ("complaint_decision", timedelta(hours=48), timedelta(hours=8)),
]


def create_default_policy(apps, schema_editor):
    Policy = apps.get_model("sla", "Policy")
    PolicyTarget = apps.get_model("sla", "PolicyTarget")
    policy, created = Policy.objects.get_or_create(name="全国默认 Nationwide default", defaults={"priority": 1000})
    if created:
        PolicyTarget.objects.bulk_create(
            PolicyTarget(policy=policy, kind=kind, target=target, warning_lead=lead)
            for kind, target, lead in DEFAULT_TARGETS
        )


def remove_default_policy(apps, schema_editor):
    apps.get_model("sla", "Policy").objects.filter(name="全国默认 Nationwide default").delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    operations = [migrations.RunPython(create_default_policy, remove_default_policy)]
