"""Who is acting: the request's actor and request context that every
activity-log entry records (context.py). The log itself, its chain,
shipping and reading, is core/activity_log/."""
