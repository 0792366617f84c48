from django.urls import path

from bench.floor.views import insert_one
from govgrid.urls import urlpatterns as govgrid_urlpatterns

# The floor first, then every GovGrid route unchanged: one server answers both bench runs.
urlpatterns = [path("bench/floor/", insert_one, name="bench-floor"), *govgrid_urlpatterns]
