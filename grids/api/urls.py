from django.urls import path

from govgrid.api import ApiRouter
from grids.api import views

router = ApiRouter()  # ids in URLs are digits: "abc" or "1e3" is a 404, not a 500
router.register("areas", views.AreaViewSet, basename="area")
router.register("grids", views.GridViewSet, basename="grid")
router.register("departments", views.DepartmentViewSet, basename="department")

urlpatterns = [
    path("locate/", views.LocateView.as_view(), name="locate"),
    *router.urls,
]
