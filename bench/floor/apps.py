from django.apps import AppConfig


class FloorConfig(AppConfig):
    """The bench's floor: the cheapest authenticated insert Django can serve (bench/intake.py)."""

    name = "bench.floor"
    label = "bench_floor"
    default_auto_field = "django.db.models.BigAutoField"
