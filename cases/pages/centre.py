"""Centre operator pages (desktop)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import path


@login_required
def inbox(request):
    return redirect("cases:list")


app_name = "centre"
urlpatterns = [
    path("", inbox, name="inbox"),
    path("board/", inbox, name="board"),
    path("approvals/", inbox, name="approvals"),
]
