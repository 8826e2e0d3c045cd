"""A test-only app whose models exercise BaseModel's lifecycle."""

from django.apps import AppConfig


class LifecycleTestsConfig(AppConfig):
    name = "tests.lifecycle"
    label = "lifecycle_tests"
