from cases.api import views
from cases.api.patrols import PatrolViewSet
from govgrid.api import ApiRouter

router = ApiRouter()  # ids in URLs are digits: "abc" or "1e3" is a 404, not a 500
router.register("categories", views.CategoryViewSet, basename="category")
router.register("cases", views.CaseViewSet, basename="case")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("patrols", PatrolViewSet, basename="patrol")
urlpatterns = router.urls
