"""URLs of the plain baseline (bench/bench_http.py)."""

from django.urls import path

from bench.http_plain import views

urlpatterns = [
    path("live/", views.liveness),
    path("labs/<int:lab_id>/patients/<int:patient_id>/", views.patient),
]
