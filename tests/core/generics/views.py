"""A domain app's JSON endpoints as the generic views make them: the
`samples`-like tube of tests/lifecycle (barcode unique per lab), declared,
not written. Served with the project's URLs by test_generics.py."""

from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from core.generics import ListCreateView, RetrieveUpdateView
from tests.lifecycle.models import Tube


class TubeList(ListCreateView):
    model = Tube
    writable_fields = ("barcode", "collected_at")
    filter_fields = ("barcode",)


class TubeDetail(RetrieveUpdateView):
    model = Tube
    writable_fields = ("barcode", "collected_at")


urlpatterns = [
    *project_urlpatterns,
    path("api/tubes/", TubeList.as_view()),
    path("api/tubes/<int:pk>/", TubeDetail.as_view()),
]
