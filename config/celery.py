import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(**kwargs) -> None:
    # With CELERY_DB_REUSE_MAX set, connections outlive tasks; apply Django's own CONN_MAX_AGE and health rules,
    # as a request would, so a connection broken by a PostgreSQL restart is replaced rather than reused.
    from django.db import close_old_connections

    close_old_connections()
