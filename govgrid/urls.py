from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cases.media import ROUTE as PHOTO_ROUTE
from cases.media import case_photo
from cases.pages import patrols, sweeps
from cases.tiles import cases_tile_view
from govgrid import offline, views
from govgrid.health import healthz
from grids.tiles import grids_tile_view
from reports import live

# Error pages: JSON under /api/ like every other API error (a client reads `detail`), a styled page in
# the user's language elsewhere (govgrid/views.py).
handler400 = "govgrid.views.bad_request"
handler403 = "govgrid.views.permission_denied"
handler404 = "govgrid.views.page_not_found"
handler500 = "govgrid.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/", include("cases.pages.urls")),
    path("m/sweeps/", include(sweeps.worker_urls)),  # sweep tasks 排查任务 on the phone
    path("m/sw.js", offline.service_worker, name="service_worker"),  # the phone's offline queue and pages
    path("m/patrol/", include((patrols.phone_urls, "patrol"))),  # patrols 巡查: the phone, and the centre's list
    path("patrols/", include((patrols.desk_urls, "patrols"))),
    path("m/", include("cases.pages.worker")),
    path("", include("parties.urls")),  # /m/grid/… on the phone, /people/… the registry
    path("", include("parties.import_views")),  # /people/import/: residents' import and export page
    path("centre/sweeps/", include(sweeps.centre_urls)),  # sweep tasks: list, send, progress board
    path("centre/hotline/", include("cases.pages.hotline")),  # the 12345 hotline desk
    path("centre/", include("cases.pages.centre")),
    path("dept/", include("cases.pages.department")),
    path("disputes/", include("cases.pages.disputes")),
    path("reports/", include("reports.urls")),
    path("plans/", include("plans.views")),  # work plans 任务清单: list, board, tasks, a unit's own
    # The live command screen (a page of the web process) and its event stream (the `live` process).
    path("command/live/", live.screen, name="live_screen"),
    path("command/live/counters.json", live.screen_counters, name="live_counters"),
    path("live/stream/", live.stream, name="live_stream"),


    path("emergency/", include("cases.pages.emergency")),
    # The map at city scale: vector tiles of the cases and grids in the user's scope (govgrid.tiles).
    path("tiles/cases/<int:z>/<int:x>/<int:y>.mvt", cases_tile_view, name="tiles_cases"),
    path("tiles/grids/<int:z>/<int:x>/<int:y>.mvt", grids_tile_view, name="tiles_grids"),
    path("healthz", healthz, name="healthz"),
    path("csp-report/", views.csp_report, name="csp_report"),
    # MEDIA_URL (settings) + the stored name of a case photo; scoped, in production too.
    path("media/" + PHOTO_ROUTE, case_photo, name="case-photo"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("open311/v2/", include("cases.open311.urls")),
    path("appeal/", include("cases.pages.public")),  # citizens' appeal form and follow page (no login)
    path("captcha/", include("captcha.urls")),  # citizens' appeals: Open311 GeoReport v2
    path("api/v1/", include("grids.api.urls")),
    path("api/v1/", include("cases.api.urls")),
    path("api/v1/", include("parties.import_api")),  # residents' import and masked export (parties)
    path("api/v1/", include("parties.api.urls")),  # people and places registry (parties)
    path("api/v1/plans/", include("plans.api.urls")),  # work plans (plans)
    path("api/v1/reports/", include("reports.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's set-up as a script file; its template keeps one small <style>.
    path("api/docs/", csp_update({"style-src": [UNSAFE_INLINE]})(
        SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
]
