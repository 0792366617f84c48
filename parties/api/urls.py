from govgrid.api import ApiRouter
from parties.api import views

router = ApiRouter()  # ids in URLs are digits: "abc" is a 404, not a 500
router.register("buildings", views.BuildingViewSet, basename="building")
router.register("houses", views.HouseViewSet, basename="house")
router.register("households", views.HouseholdViewSet, basename="household")
router.register("residents", views.ResidentViewSet, basename="resident")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("key-persons", views.KeyPersonViewSet, basename="key-person")
router.register("visits", views.VisitViewSet, basename="visit")
router.register("party-organisations", views.PartyOrganisationViewSet, basename="party-organisation")
router.register("party-members", views.PartyMemberViewSet, basename="party-member")

urlpatterns = router.urls
