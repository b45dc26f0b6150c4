from django.urls import path

from apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("g/<slug:group_slug>/keys/", views.key_list, name="list"),
    path("g/<slug:group_slug>/keys/new/", views.key_create, name="create"),
    path("g/<slug:group_slug>/keys/<int:key_id>/", views.key_detail, name="detail"),
    path(
        "g/<slug:group_slug>/keys/<int:key_id>/revoke/",
        views.key_revoke,
        name="revoke",
    ),
    path(
        "g/<slug:group_slug>/keys/<int:key_id>/regenerate/",
        views.key_regenerate,
        name="regenerate",
    ),
]
