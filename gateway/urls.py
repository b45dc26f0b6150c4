from django.urls import path, re_path

from gateway import views
from portal.env import env_bool

app_name = "gateway"

urlpatterns = [
    path("v1/chat/completions", views.chat_completions, name="chat-completions"),
    path("v1/models", views.list_models, name="models"),
]

# The benchmark's reference views exist only when the benchmark asks for them.
if env_bool("PORTAL_BENCH_VIEWS", False):
    from gateway.bench_views import bare_json, durable_floor

    urlpatterns += [
        path("v1/bench/bare", bare_json, name="bench-bare"),
        path("v1/bench/floor", durable_floor, name="bench-floor"),
    ]

# Last, so that it only catches what no route above answers: a client that gets a
# path wrong still gets the API's JSON error, never a page.
urlpatterns += [re_path(r"^v1(?:/.*)?$", views.unknown_path, name="unknown-path")]
