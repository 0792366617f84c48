"""Grid worker pages (phone first)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import path


@login_required
def home(request):
    return redirect("cases:list")


app_name = "worker"
urlpatterns = [path("", home, name="home")]
