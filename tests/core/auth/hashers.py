"""A password hasher for tests that counts password checks and makes each
take a while, so that parallel sign-in attempts overlap in time as they do
against a real, slow hasher."""

import threading
import time

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingSlowMD5PasswordHasher(MD5PasswordHasher):
    """Django's MD5 hasher (test settings store passwords with it), whose
    `verify` sleeps CHECK_SECONDS and counts itself in `checks`."""

    CHECK_SECONDS = 0.05
    checks = 0
    _lock = threading.Lock()

    def verify(self, password: str, encoded: str) -> bool:
        with CountingSlowMD5PasswordHasher._lock:
            CountingSlowMD5PasswordHasher.checks += 1
        time.sleep(self.CHECK_SECONDS)
        return super().verify(password, encoded)
