"""Project-level pages: the home redirect by role, and login."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.scope import scope_for


@login_required
def home(request):
    """Each role lands where its day starts."""
    scope = scope_for(request.user)
    if scope.is_admin or scope.roles & set(CENTRE_ROLES):
        return redirect("centre:inbox")
    if scope.roles & set(GRID_ROLES):
        return redirect("worker:home")
    if Role.DEPT_HANDLER in scope.roles:
        return redirect("department:inbox")
    if Role.OFFICIAL in scope.roles:
        return redirect("cases:list")
    return redirect("cases:list")


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
