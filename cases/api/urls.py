from cases.api import disputes, views
from govgrid.api import ApiRouter

router = ApiRouter()  # ids in URLs are digits: "abc" or "1e3" is a 404, not a 500
router.register("categories", views.CategoryViewSet, basename="category")
router.register("cases", views.CaseViewSet, basename="case")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("disputes", disputes.DisputeViewSet, basename="dispute")
router.register("screening-reports", disputes.ScreeningReportViewSet, basename="screening-report")
urlpatterns = router.urls
