"""Seed the retrain schedules (django-celery-beat's database scheduler; editable in the admin)."""

from __future__ import annotations

import json
from typing import Any

from django.db import migrations

TASK = "recommender.tasks.model_retrain_task"
# (periodic task name, model, crontab: minute, hour, day_of_week, day_of_month)
SCHEDULES = [
    # every day at 03:00: the user-preference model, on the day's new events
    ("retrain user_preference (daily)", "user_preference", ("0", "3", "*", "*")),
    # every Monday at 04:00: the group model
    ("retrain group (weekly)", "group", ("0", "4", "1", "*")),
    # on the 1st of every month at 05:00: the content model
    ("retrain content (monthly)", "content", ("0", "5", "*", "1")),
]


def seed(apps: Any, schema_editor: Any) -> None:
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, model, (minute, hour, day_of_week, day_of_month) in SCHEDULES:
        crontab, _ = crontab_model.objects.get_or_create(
            minute=minute, hour=hour, day_of_week=day_of_week, day_of_month=day_of_month,
            month_of_year="*", timezone="UTC",
        )  # fmt: skip
        task_model.objects.get_or_create(
            name=name,
            defaults={"task": TASK, "crontab": crontab, "args": json.dumps([model])},
        )


def unseed(apps: Any, schema_editor: Any) -> None:
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task_model.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0007_retrain_run"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
