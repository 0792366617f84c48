from django.urls import path
from rest_framework.routers import DefaultRouter

app_name = "grids-api"
router = DefaultRouter()
urlpatterns = router.urls
