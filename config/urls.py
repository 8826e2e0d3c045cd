"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("core/", include("core.urls")),
    path("api/patients/", include("patients.urls")),
]
