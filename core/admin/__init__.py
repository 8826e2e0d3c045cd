"""Core's admin: `BaseModelAdmin` (base.py) for every BaseModel, and the
pages of core's own records (records.py) and of webhooks (webhooks.py).

Django's admin discovery imports this package; importing each module here
registers its pages. Domain apps subclass `core.admin.BaseModelAdmin`.
"""

from core.admin import records, webhooks
from core.admin.base import BaseModelAdmin, BaseModelForm

__all__ = ["BaseModelAdmin", "BaseModelForm", "records", "webhooks"]
