from django.urls import path, re_path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("map.json", views.map_json, name="map_json"),
    path("screen/", views.screen, name="screen"),
    re_path(r"^export/(?P<table>[a-z]+)\.(?P<fmt>csv|xlsx)$", views.export_table, name="export_table"),
    re_path(r"^exports/(?P<export_id>[0-9a-f]{32})/$", views.export_status, name="export_status"),
    re_path(r"^exports/(?P<export_id>[0-9a-f]{32})/download/$", views.export_download, name="export_download"),
    path("monthly/", views.monthly, name="monthly"),
    path("evaluation/", views.evaluation, name="evaluation"),
    path("evaluation.xlsx", views.evaluation_xlsx, name="evaluation_xlsx"),
    path("monthly/go/", views.monthly_go, name="monthly_go"),
    re_path(r"^monthly/(?P<month>\d{4}-\d{2})/(?P<code>[0-9A-Za-z_-]+)\.pdf$", views.monthly_pdf,
            name="monthly_pdf"),
]
