from django.urls import path

from limits import views

app_name = "limits"

urlpatterns = [
    path("g/<slug:group_slug>/limits/", views.limits_page, name="limits"),
]
