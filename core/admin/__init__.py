"""Core's admin: `BaseModelAdmin` (base.py, with its form in forms.py and
the History page in history.py, values read through change_display.py) for
every BaseModel, the pages of core's own records (records.py), of webhooks
(webhooks.py), of Fusion's jobs (fusion_jobs.py) and dead letters
(dead_letters.py), the read-only mixin of ledgers (read_only.py), and the
site's names (site.py).

Django's admin discovery imports this package; importing each module here
registers its pages. Domain apps subclass `core.admin.BaseModelAdmin`.
"""

from django.contrib import admin

from core.admin import dead_letters, fusion_jobs, records, webhooks
from core.admin.base import BaseModelAdmin
from core.admin.forms import BaseModelForm
from core.admin.site import name_the_site

name_the_site(admin.site)

__all__ = [
    "BaseModelAdmin",
    "BaseModelForm",
    "dead_letters",
    "fusion_jobs",
    "records",
    "webhooks",
]
