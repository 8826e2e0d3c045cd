"""The repository's root conftest: loads the project's pytest plugin
(tests/plugin.py: labs, the job worker, the Slack, Pusher and webhook
stand-ins) for every test, in tests/ and in any app's own tests/."""

pytest_plugins = ["tests.plugin"]
