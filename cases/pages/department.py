"""Department handler pages (desktop)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import path


@login_required
def inbox(request):
    return redirect("cases:list")


app_name = "department"
urlpatterns = [path("", inbox, name="inbox")]
