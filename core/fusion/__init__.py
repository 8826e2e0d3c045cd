"""Fusion's engines: the stateful half of the job queue.

The embedded database engine (django-tasks-db; db_backend.py, db_worker.py)
and the broker engine (Celery on RabbitMQ; broker_*.py, celery_app.py) run
the jobs that `@job` (core/utils/fusion/, the seed's package) declares. They
read and write the FusionJob and FusionDeadLetter tables, so they sit above
core's models (README, "Layers"); settings.TASKS and SERVICES["fusion"] name
them by class path. `get_client("fusion")` (client.py) enqueues, reports
health, counts jobs by state and queue (status.py) and re-runs or discards
dead letters (dead_letters.py).
"""
