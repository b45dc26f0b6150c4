from django.urls import path

from groups import views

app_name = "groups"

urlpatterns = [
    path("groups/new/", views.group_create, name="create"),
    path("g/<slug:group_slug>/", views.group_overview, name="overview"),
]
