from cases.api import disputes, sweeps, views
from cases.api.emergency import ActivationViewSet
from cases.api.patrols import PatrolViewSet
from govgrid.api import ApiRouter

router = ApiRouter()  # ids in URLs are digits: "abc" or "1e3" is a 404, not a 500
router.register("categories", views.CategoryViewSet, basename="category")
router.register("cases", views.CaseViewSet, basename="case")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("sweep-tasks", sweeps.SweepTaskViewSet, basename="sweep-task")
router.register("activations", ActivationViewSet, basename="activation")
router.register("patrols", PatrolViewSet, basename="patrol")
router.register("disputes", disputes.DisputeViewSet, basename="dispute")
router.register("screening-reports", disputes.ScreeningReportViewSet, basename="screening-report")

urlpatterns = router.urls
