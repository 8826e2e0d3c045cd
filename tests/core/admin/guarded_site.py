"""A test admin site serving `GuardedInstrument` (tests/lifecycle) through
`BaseModelAdmin`, for the tests of model rules on the admin's form: the
URL configuration of `@pytest.mark.urls("tests.core.admin.guarded_site")`."""

from django.contrib.admin import AdminSite
from django.urls import path

from core.admin import BaseModelAdmin
from tests.lifecycle.models import GuardedInstrument

site = AdminSite(name="guarded")


class GuardedInstrumentAdmin(BaseModelAdmin):
    """Name and serial on the form; channels shown read-only."""

    fields = ("name", "serial", "channels")
    readonly_fields = (*BaseModelAdmin.readonly_fields, "channels")


site.register(GuardedInstrument, GuardedInstrumentAdmin)

urlpatterns = [path("guarded/", site.urls)]
