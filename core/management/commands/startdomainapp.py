"""`manage.py startdomainapp NAME [DIRECTORY] [--model MODEL]`: a new domain
app in the project's conventions, from core/management/templates/domainapp
(Django's own `startapp` machinery renders it):

- a model on BaseModel with LabScopedMixin (a code unique per lab, a status,
  Slack told by a job when it turns urgent), and its first migration;
- its admin on BaseModelAdmin (the History page reads the activity log);
- lab-scoped JSON endpoints from core/generics.py, and their URLs;
- tests: lab isolation, every problem of a body in one answer, a duplicate's
  409, and the Slack message sent by the job worker, with the project's
  pytest plugin (tests/plugin.py).

docs/domain-apps.md walks through what to change next.
"""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.core.management.templates import TemplateCommand

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "domainapp"


class Command(TemplateCommand):
    help = (
        "Create a domain app in the project's conventions: a lab-scoped model "
        "on BaseModel with its migration, admin, JSON endpoints, URLs and "
        "tests. See docs/domain-apps.md."
    )
    missing_args_message = "Give the app's name, e.g. `startdomainapp samples`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Django's startapp arguments, and --model."""
        super().add_arguments(parser)
        parser.add_argument(
            "--model",
            help="The model's class name (default: the app's name in CamelCase, "
            "without a final s: samples -> Sample).",
        )

    # Django's own startapp overrides handle() the same way: the command line
    # gives the name and directory as options, not positionally.
    def handle(self, **options: Any) -> None:  # type: ignore[override]
        """Render the template for the app `name` and say what comes next."""
        name, target = options.pop("name"), options.pop("directory")
        model = options.pop("model") or model_name_for(name)
        if not model.isidentifier() or not model[0].isupper():
            raise CommandError(
                f"--model must be a class name, such as Sample; got {model!r}."
            )
        options["template"] = str(TEMPLATE)
        super().handle(
            "app", name, target, model_name=model, model_lower=model.lower(),
            model_verbose=_words(model), **options,
        )  # fmt: skip
        self.stdout.write(
            f"Created the app {name!r} with the model {model}. Next:\n"
            f'  1. add "{name}" to INSTALLED_APPS (config/settings/base.py);\n'
            f'  2. add path("api/{name}/", include("{name}.urls")) to config/urls.py,\n'
            f"     and its URL names to tests/test_every_url_isolated.py and\n"
            f"     tests/fuzz/endpoints.py (the isolation and fuzz tests ask);\n"
            f"  3. manage.py migrate, then pytest {name}/tests.\n"
            "docs/domain-apps.md says what to change first."
        )


def model_name_for(app_name: str) -> str:
    """`samples` -> `Sample`, `test_orders` -> `TestOrder`."""
    camel = "".join(part.capitalize() for part in app_name.split("_"))
    return camel[:-1] if camel.endswith("s") and len(camel) > 1 else camel


def _words(model: str) -> str:
    """`TestOrder` -> `test order`."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in model).strip()
