from django.urls import path

from usage import views

app_name = "usage"

urlpatterns = [
    path("g/<slug:group_slug>/usage/", views.usage_dashboard, name="dashboard"),
    path("g/<slug:group_slug>/usage/export.csv", views.usage_export, name="export"),
]
