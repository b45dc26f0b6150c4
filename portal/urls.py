from django.contrib import admin
from django.urls import include, path

from groups.views import home
from portal.views import healthz

admin.site.site_header = "API Portal operations"
admin.site.site_title = "API Portal operations"

# Each app owns its paths; group-scoped ones live under /g/<group_slug>/. The
# metered API comes first: it is resolved on every call, far more often than pages.
urlpatterns = [
    path("", include("gateway.urls")),
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("groups.urls")),
    path("", include("members.urls")),
    path("", include("usage.urls")),
    path("", include("billing.urls")),
    path("", include("limits.urls")),
    path("", include("invoices.urls")),
    path("", include("apikeys.urls")),
]
