"""``manage.py demo_logins --url URL``: print where GovGrid runs and how to log in as each role."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from grids.seed import PERSONAS, demo_password


class Command(BaseCommand):
    help = "Print the URL and the demo logins of the demo city."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url: str, **options) -> None:
        users = {
            user.username: user
            for user in get_user_model().objects.filter(username__in=[p[0] for p in PERSONAS])
            .prefetch_related("memberships__area", "memberships__department")
        }
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("GovGrid is starting at %(url)s") % {"url": url}))
        self.stdout.write(_("  admin: %(url)sadmin/   API: %(url)sapi/v1/   API docs: %(url)sapi/docs/   "
                            "health: %(url)shealthz") % {"url": url})
        if not users:
            self.stdout.write(_("  No demo logins in this database (it was not seeded with --preset demo)."))
            return
        self.stdout.write(_("  Demo logins (password for all: %(password)s):") % {"password": demo_password()})
        for username, name, role in PERSONAS:
            user = users.get(username)
            if user is None:
                continue
            places = ", ".join(str(m.place or _("everything")) for m in user.memberships.all()) or "-"
            self.stdout.write(f"    {username:<18} {role.label!s:<14} {name:<10} {places}")
        self.stdout.write("")
