from govgrid.api import ApiRouter
from plans.api import views

router = ApiRouter()
router.register("plans", views.WorkPlanViewSet, basename="plan")
router.register("tasks", views.PlanTaskViewSet, basename="plan-task")
router.register("negative-events", views.NegativeEventViewSet, basename="negative-event")

urlpatterns = router.urls
