from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("g/<slug:group_slug>/billing/", views.overview, name="overview"),
    path("g/<slug:group_slug>/billing/cards/new/", views.add_card, name="add-card"),
    path("g/<slug:group_slug>/billing/cards/", views.save_card, name="save-card"),
    path(
        "g/<slug:group_slug>/billing/cards/<int:card_id>/default/",
        views.make_default_card,
        name="card-default",
    ),
    path(
        "g/<slug:group_slug>/billing/cards/<int:card_id>/remove/",
        views.remove_card,
        name="card-remove",
    ),
    path("g/<slug:group_slug>/billing/credits/", views.buy_credits, name="buy-credits"),
    path(
        "g/<slug:group_slug>/billing/payments/<int:payment_id>/authenticate/",
        views.authenticate_payment,
        name="payment-authenticate",
    ),
    path(
        "g/<slug:group_slug>/billing/payments/<int:payment_id>/finish/",
        views.finish_authentication,
        name="payment-finish",
    ),
    path(
        "g/<slug:group_slug>/billing/top-up/",
        views.update_top_up,
        name="top-up-settings",
    ),
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
]
