"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

from core.utils.aws.views import serve_signed_file
from core.utils.pusher.views import pusher_auth

urlpatterns = [
    path("admin/", admin.site.urls),
    path("core/pusher/auth/", pusher_auth, name="core-pusher-auth"),
    path("core/files/<path:key>", serve_signed_file, name="core-signed-file"),
    path("core/", include("core.urls")),
    path("api/patients/", include("patients.urls")),
]
