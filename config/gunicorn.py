"""gunicorn settings of the production command (README, "Running in
production"): `gunicorn -c config/gunicorn.py config.wsgi:application ...`.

`post_worker_init`: each worker renders one small PDF as soon as it has
loaded the app (core.pdf_sync.warm_up). WeasyPrint's first render in a
process sets up fonts and libraries (~0.2 s); done here, no request waits
for it (during it the worker's other threads would), and every render
process the worker forks starts warm.
"""

from typing import Any


def post_worker_init(worker: Any) -> None:
    """Warm the worker's PDF renderer up; see the module docstring."""
    # Imported here: gunicorn reads this file before the app (and Django) load.
    from core.pdf_sync import warm_up

    warm_up()
