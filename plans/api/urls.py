from govgrid.api import ApiRouter
from plans.api import campaigns, views

router = ApiRouter()
router.register("plans", views.WorkPlanViewSet, basename="plan")
router.register("tasks", views.PlanTaskViewSet, basename="plan-task")
router.register("negative-events", views.NegativeEventViewSet, basename="negative-event")
router.register("campaign-types", campaigns.CampaignTypeViewSet, basename="campaign-type")
router.register("campaigns", campaigns.CampaignViewSet, basename="campaign")
router.register("campaign-entries", campaigns.CampaignEntryViewSet, basename="campaign-entry")

urlpatterns = router.urls
