from django.urls import path
from rest_framework.routers import DefaultRouter

from grids.api import views

router = DefaultRouter()
router.register("areas", views.AreaViewSet, basename="area")
router.register("grids", views.GridViewSet, basename="grid")
router.register("departments", views.DepartmentViewSet, basename="department")

urlpatterns = [
    path("locate/", views.LocateView.as_view(), name="locate"),
    *router.urls,
]
