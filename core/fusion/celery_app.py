"""Entry point for Celery's own command line, like `manage.py` for Django:

    DJANGO_SETTINGS_MODULE=config.settings.base FUSION_ENGINE=celery \\
        celery -A core.fusion.celery_app worker -Q fusion.default \\
            --without-gossip --without-mingle --without-heartbeat

(`broker_worker.WORKER_OPTIONS` says why those three.) `manage.py
fusion_worker` does the same with the queues and options filled in.
`FUSION_TASK_BACKEND` names the settings.TASKS alias (default "default").
Importing this module sets Django up; nothing else in the project imports it.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
django.setup()

from core.fusion.broker_app import celery_app_for  # noqa: E402 - after setup

app = celery_app_for(os.environ.get("FUSION_TASK_BACKEND", "default"))
