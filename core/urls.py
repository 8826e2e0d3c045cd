"""URLs of the core app, included under /core/ by config/urls.py.

- /core/view/live/: liveness (open to all; touches nothing).
- /core/view/ready/: readiness (allowed addresses or the health token);
  see core/view.py.
- /core/auth/csrf/, /core/auth/login/, /core/auth/logout/: signing in and
  out of a lab; see core/auth_views.py.
- /core/pdf/: PDF reports (render, merge stored PDFs, background batches);
  see core/pdf_view.py.
"""

from django.urls import path

from core import auth_views, pdf_view
from core.view import LivenessView, ReadinessView

app_name = "core"

urlpatterns = [
    path("view/live/", LivenessView.as_view(), name="health-live"),
    path("view/ready/", ReadinessView.as_view(), name="health-ready"),
    path("auth/csrf/", auth_views.csrf_token, name="auth-csrf"),
    path("auth/login/", auth_views.login, name="auth-login"),
    path("auth/logout/", auth_views.logout, name="auth-logout"),
    path("pdf/", pdf_view.pdf, name="pdf"),
]
