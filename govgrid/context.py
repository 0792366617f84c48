"""Template context for every page: what the user's roles let them reach, and their unread notices."""

from __future__ import annotations

from django.conf import settings

from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.scope import scope_for


def map_tile_url() -> str:
    """MAP_TILE_URL as the browser gets it: the key filled in, and {s} fixed to the first of
    MAP_TILE_SUBDOMAINS unless they are Leaflet's own default (abc)."""
    url = settings.MAP_TILE_URL.replace("{key}", settings.MAP_TILE_KEY).replace("{tk}", settings.MAP_TILE_KEY)
    if settings.MAP_TILE_SUBDOMAINS and settings.MAP_TILE_SUBDOMAINS != "abc":
        url = url.replace("{s}", settings.MAP_TILE_SUBDOMAINS[0])
    return url


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"MAP_TILE_URL": map_tile_url(), "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION}
    scope = scope_for(user)
    roles = scope.roles
    return {
        "MAP_TILE_URL": map_tile_url(),
        "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION,
        "nav": {
            "worker": bool(roles & set(GRID_ROLES)),
            "centre": scope.is_admin or bool(roles & set(CENTRE_ROLES)),
            "department": bool(roles & {Role.DEPT_HANDLER}),
            "official": scope.is_admin or Role.OFFICIAL in roles or bool(roles & set(CENTRE_ROLES)),
            "admin": user.is_staff,
        },
    }
