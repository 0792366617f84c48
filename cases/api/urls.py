from rest_framework.routers import DefaultRouter

from cases.api import views

router = DefaultRouter()
router.register("categories", views.CategoryViewSet, basename="category")
router.register("cases", views.CaseViewSet, basename="case")
router.register("notifications", views.NotificationViewSet, basename="notification")
urlpatterns = router.urls
