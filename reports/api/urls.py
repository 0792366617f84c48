from django.urls import path

from reports.api import views

urlpatterns = [
    path("kpis/", views.KpiView.as_view(), name="report-kpis"),
    path("trend/", views.TrendView.as_view(), name="report-trend"),
    path("departments/", views.DepartmentLeagueView.as_view(), name="report-departments"),
    path("overdue/", views.OverdueView.as_view(), name="report-overdue"),
    path("safety/", views.SafetyIndexView.as_view(), name="report-safety"),
    path("scores/workers/", views.WorkerScoresView.as_view(), name="report-worker-scores"),
    path("evaluation/", views.EvaluationView.as_view(), name="report-evaluation"),
    path("scores/departments/", views.DepartmentScoresView.as_view(), name="report-department-scores"),
]
