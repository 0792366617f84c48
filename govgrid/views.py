"""Project-level pages: the home redirect by role, and login."""

from __future__ import annotations

import contextlib
import hashlib

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect
from django.utils.translation import gettext as _

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


LOGIN_FAILURES_ALLOWED = 10
LOGIN_LOCK_SECONDS = 15 * 60


class LoginView(auth_views.LoginView):
    """Login with throttling: after 10 failed attempts for one username from one address, that pair
    waits 15 minutes. Counted in the cache (Redis); if Redis is down, logins are not throttled
    rather than refused."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def _key(self) -> str:
        username = (self.request.POST.get("username") or "").strip().lower()[:150]
        address = self.request.META.get("REMOTE_ADDR", "")
        return "login-failures:" + hashlib.sha256(f"{username}|{address}".encode()).hexdigest()

    def _failures(self) -> int:
        try:
            return int(cache.get(self._key(), 0))
        except Exception:  # the cache is down: do not lock everybody out
            return 0

    def post(self, request, *args, **kwargs):
        if self._failures() >= LOGIN_FAILURES_ALLOWED:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _("Too many failed attempts. Try again in %(minutes)d minutes.")
                           % {"minutes": LOGIN_LOCK_SECONDS // 60})
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        with contextlib.suppress(Exception):  # the cache is down: count nothing
            key = self._key()
            cache.add(key, 0, LOGIN_LOCK_SECONDS)
            cache.incr(key)
        return super().form_invalid(form)

    def form_valid(self, form):
        with contextlib.suppress(Exception):
            cache.delete(self._key())
        return super().form_valid(form)
