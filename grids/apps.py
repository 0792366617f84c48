from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("governance map")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from grids import tiles
        from grids.models import Area
        from grids.signals import area_moved

        # The grid tiles are cached: any change to an area (an edit, an import, a move) bumps their version.
        post_save.connect(tiles.areas_changed, sender=Area, dispatch_uid="grids_tiles_saved")
        post_delete.connect(tiles.areas_changed, sender=Area, dispatch_uid="grids_tiles_deleted")
        area_moved.connect(tiles.areas_changed, dispatch_uid="grids_tiles_moved")
