from django.urls import path

from cases.pages import common
from grids.pages import outlines_geojson

app_name = "cases"
urlpatterns = [
    path("", common.case_list, name="list"),
    path("<int:pk>/", common.case_detail, name="detail"),
    path("<int:pk>/do/<str:name>/", common.case_action, name="action"),
    path("notifications/", common.notifications, name="notifications"),
    path("notifications/badge/", common.notification_badge, name="notification_badge"),
    path("map/", common.case_map, name="map"),
    path("map/grids.geojson", common.grids_geojson, name="grids_geojson"),
    path("map/cases.geojson", common.cases_geojson, name="cases_geojson"),
    path("map/outlines.geojson", outlines_geojson, name="outlines_geojson"),
]
