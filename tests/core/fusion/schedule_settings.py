"""Settings of the schedules' worker processes: the test settings plus the
schedules the test passes as JSON in TEST_FUSION_SCHEDULES."""

import json
import os

from config.settings.test import *  # noqa: F403

FUSION_SCHEDULES = json.loads(os.environ.get("TEST_FUSION_SCHEDULES", "{}"))
