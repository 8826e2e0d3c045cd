"""URLs of the core app, included under /core/ by config/urls.py.

- /core/view/: the architecture note's health endpoint: the readiness
  report, under readiness's access rules (an alias of /core/view/ready/).
- /core/view/live/: liveness (open to all; touches nothing).
- /core/view/ready/: readiness (allowed addresses or the health token);
  see core/view.py.
- /core/view/metrics/: metrics for Prometheus, with readiness's access rule.
- /core/auth/csrf/, /core/auth/login/, /core/auth/logout/: signing in and
  out of a lab; see core/auth/views.py.
- /core/pdf/: PDF reports (render, merge stored PDFs, background batches);
  see core/pdf_view.py.
- /core/pusher/auth/: private-channel subscriptions for pusher-js; see
  core/pusher_view.py.
- /core/files/<key>: stored files behind signed, expiring links (local
  storage only); see core/files_view.py.
"""

from django.urls import path

from core import files_view, pdf_view, pusher_view
from core.auth import views as auth_views
from core.view import LivenessView, MetricsView, ReadinessView

app_name = "core"

urlpatterns = [
    path("view/", ReadinessView.as_view(), name="health"),
    path("view/live/", LivenessView.as_view(), name="health-live"),
    path("view/ready/", ReadinessView.as_view(), name="health-ready"),
    path("view/metrics/", MetricsView.as_view(), name="health-metrics"),
    path("auth/csrf/", auth_views.csrf_token, name="auth-csrf"),
    path("auth/login/", auth_views.login, name="auth-login"),
    path("auth/logout/", auth_views.logout, name="auth-logout"),
    path("pdf/", pdf_view.pdf, name="pdf"),
    path("pusher/auth/", pusher_view.pusher_auth, name="pusher-auth"),
    path("files/<path:key>", files_view.serve_signed_file, name="signed-file"),
]
