from django.conf import settings
from django.db import models


class FloorRow(models.Model):
    """One row per request to the floor view: who posted it, when, and the body's text."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    client_uuid = models.UUIDField(null=True)
    description = models.TextField()

    def __str__(self) -> str:
        return f"{self.pk} {self.created_at:%H:%M:%S}"
