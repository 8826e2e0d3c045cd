"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # The first address a newcomer opens: the admin, where the demo is.
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("core/", include("core.urls")),
    path("api/patients/", include("patients.urls")),
]
