"""Running side effects only once the data they describe is committed."""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def run_after_commit(
    func: Callable[..., Any], *args: Any, using: str | None = None, **kwargs: Any
) -> None:
    """Call `func(*args, **kwargs)` after the surrounding transaction commits.

    - Inside `transaction.atomic()`: runs after the outermost block commits, and
      never if the block (or the savepoint it was registered in) rolls back.
    - Outside a transaction (autocommit): runs at once, since what came before
      is already committed.

    An exception from `func` is logged (logger `django.db.backends.base`, with
    the traceback) and not raised: the data is committed by then, and failing
    the request would tell the user their change was lost when it was not.
    Effects that must not be lost are enqueued as jobs, which retry.
    """
    callback = functools.partial(func, *args, **kwargs) if args or kwargs else func
    transaction.on_commit(callback, using=using, robust=True)
