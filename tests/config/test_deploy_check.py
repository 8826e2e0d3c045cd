"""`manage.py check --deploy` on production settings, run as an operator
would: every warning it still gives is one the README's "Running in
production" section lists with the reason it is accepted, and the README
lists no warning it no longer gives."""

import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[2]
#: "?: (security.W005) You have not set ..." -> security.W005
CHECK_ID = re.compile(r"\(([a-z_]+\.[WE]\d{3})\)")
#: "- `security.W005` (HSTS without ...): why" in the README's list
EXPLAINED_ID = re.compile(r"^- `([a-z_]+\.W\d{3})`", re.MULTILINE)


def production_section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Running in production")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def explained_in_readme() -> set[str]:
    return set(EXPLAINED_ID.findall(production_section()))


def variables_the_readme_sets() -> set[str]:
    """The variables of the README's production command."""
    command = production_section().split("```sh", 1)[1].split("```", 1)[0]
    return set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", command))


def random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def production_env(tmp_path: Path) -> dict[str, str]:
    """The variables of the README's production command, with real-looking
    values (nothing is connected to: the checks only read settings)."""
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "lis.example.com",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "DATABASE_URL": "postgres://lis@127.0.0.1:5432/lis",
        "CACHE_REDIS_URL": "redis://127.0.0.1:6379/0",
        "LIS_ENCRYPTION_KEYS": f"k1:{random_key()}",
        "LIS_BLIND_INDEX_KEY": random_key(),
        "S3_BUCKET": "lis-files",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "PUSHER_APP_ID": "1",
        "PUSHER_KEY": "key",
        "PUSHER_SECRET": "secret",
        "LIS_LOCAL_SERVICES": "es,docdb",
        "LIS_DATA_DIR": str(tmp_path),
        "ACTIVITY_LOG_SIGNING_KEY_FILE": str(signing_key_file(tmp_path)),
        # An existing directory, as docs/operations.md says to create.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }


def signing_key_file(tmp_path: Path) -> Path:
    """A fresh Ed25519 key, as `openssl genpkey -algorithm ed25519` writes it."""
    path = tmp_path / "audit-signing.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def deploy_check(env: dict[str, str]) -> set[str]:
    """The ids `manage.py check --deploy` reports with exactly `env` set
    (besides the system's PATH and HOME), after failing on any error."""
    system = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO,
        env={**system, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return set(CHECK_ID.findall(output))


def test_the_check_runs_with_what_the_readme_tells_production_to_set(tmp_path):
    assert variables_the_readme_sets() <= set(production_env(tmp_path))
    assert explained_in_readme()  # the list is found where it should be


def test_every_warning_on_production_settings_is_explained_in_the_readme(tmp_path):
    reported = deploy_check(production_env(tmp_path))

    explained = explained_in_readme()
    assert reported - explained == set(), "explain these in the README or fix them"
    assert explained - reported == set(), "the README explains warnings gone"


@pytest.mark.parametrize(
    ("variable", "value", "warning"),
    [
        ("DJANGO_SECURE_HSTS_SECONDS", "0", "security.W004"),
        ("DJANGO_SECURE_SSL_REDIRECT", "0", "security.W008"),
        ("DJANGO_SECURE_PROXY_SSL_HEADER", "", "core.W030"),
    ],
)
def test_a_production_that_turns_protection_off_gets_an_unexplained_warning(
    tmp_path, variable, value, warning
):
    # given the README's production settings with one protection off
    env = {**production_env(tmp_path), variable: value}

    # then check --deploy says so, and the test above would fail on it
    assert warning in deploy_check(env) - explained_in_readme()


def test_a_production_left_on_a_log_only_slack_does_not_start(tmp_path):
    # Given the README's production variables but no Slack configured
    env = production_env(tmp_path)
    del env["SLACK_BOT_TOKEN"]
    system = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO, env={**system, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip

    # then the check fails, naming the service and how to choose
    assert result.returncode != 0
    assert "(core.E040) settings.SERVICES['slack'] is LogSlackClient" in result.stderr
    assert "LIS_LOCAL_SERVICES=slack" in result.stderr
