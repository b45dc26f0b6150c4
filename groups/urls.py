from django.urls import path

from groups import views

app_name = "groups"

urlpatterns = [
    path("groups/new/", views.group_create, name="create"),
    path("g/<slug:group_slug>/", views.group_overview, name="overview"),
    path("g/<slug:group_slug>/settings/", views.group_settings, name="settings"),
    path("g/<slug:group_slug>/activity/", views.group_activity, name="activity"),
]
