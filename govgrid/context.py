"""Template context for every page: what the user's roles let them reach, and their unread notices."""

from __future__ import annotations

from django.conf import settings

from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.scope import scope_for


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"MAP_TILE_URL": settings.MAP_TILE_URL}
    scope = scope_for(user)
    roles = scope.roles
    return {
        "MAP_TILE_URL": settings.MAP_TILE_URL,
        "nav": {
            "worker": bool(roles & set(GRID_ROLES)),
            "centre": scope.is_admin or bool(roles & set(CENTRE_ROLES)),
            "department": bool(roles & {Role.DEPT_HANDLER}),
            "official": scope.is_admin or Role.OFFICIAL in roles or bool(roles & set(CENTRE_ROLES)),
            "admin": user.is_staff,
        },
    }
