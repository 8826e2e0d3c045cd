"""The models an operator's command acts on: every model of a kind, or
those the operator names by `app_label.ModelName`, with an error listing
the choices for a name that is not one of them."""

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError


def chosen_models(
    labels: list[str], of_kind: Callable[[Any], bool], unknown_message: str
) -> list[Any]:
    """The models for which `of_kind(model)` holds, all of them (sorted by
    label) when `labels` is empty, else those named, in the order named.

    `unknown_message` is formatted with `unknown` (the names that are not
    such a model) and `choices` (those that are) for the CommandError.
    Example: `chosen_models(["patients.Patient"], is_caching, "...")`.
    """
    candidates = {
        model._meta.label_lower: model for model in apps.get_models() if of_kind(model)
    }
    if not labels:
        return [candidates[label] for label in sorted(candidates)]
    unknown = [label for label in labels if label.lower() not in candidates]
    if unknown:
        raise CommandError(
            unknown_message.format(
                unknown=", ".join(unknown),
                choices=", ".join(sorted(candidates)) or "none",
            )
        )
    return [candidates[label.lower()] for label in labels]
