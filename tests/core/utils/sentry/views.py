"""Test-only views that fail while handling patient data."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # posted by a test, not a browser form
def register_patient(request: HttpRequest) -> HttpResponse:
    """Fails after reading a patient's details and storing them in the session."""
    first_name = request.POST["first_name"]
    last_name = request.POST["last_name"]
    mobile = request.POST["mobile"]
    email = request.POST["email"]
    request.session["current_patient"] = {"name": f"{first_name} {last_name}"}
    raise ValueError(f"No sample for {first_name} {last_name} ({email}, {mobile})")


urlpatterns = [path("patients/register/", register_patient)]
