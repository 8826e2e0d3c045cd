"""Metrics in Prometheus's exposition format (prometheus_client).

- `families.py`: every metric family this project records, and the fixed
  label values they take. Code that does the work counts it there (the
  instance cache, Fusion's attempts, webhook deliveries, PDF renders, the
  sign-in throttle, activity-log shipping); the HTTP middleware
  (core/middleware/metrics.py) counts requests by route name.
- `exposition.py`: the text a scrape gets, summed over every process that
  wrote to PROMETHEUS_MULTIPROC_DIR when it is set (gunicorn workers, Fusion
  workers), else this process's own.

Gauges that describe a backlog (jobs, log shipping, sealing, disabled
webhook endpoints) are computed at scrape time from the database by
core/health/gauges.py; /core/view/metrics/ (core/view.py) serves it all.

This package imports nothing of the project: every layer may count here.
"""

from core.metrics.exposition import exposition, multiprocess_dir

__all__ = ["exposition", "multiprocess_dir"]
