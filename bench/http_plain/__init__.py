"""The baselines of bench/bench_http.py: a minimal Django project whose views
do the same reads as core's endpoints, without core's middleware, sessions or
cache. `settings` has no middleware at all ("plain"); `django_settings` adds
the middleware of Django's project template ("django")."""
