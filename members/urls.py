from django.urls import path

from members import views

app_name = "members"

group_prefix = "g/<slug:group_slug>/members/"

urlpatterns = [
    path(group_prefix, views.member_list, name="list"),
    path(f"{group_prefix}invite/", views.invite, name="invite"),
    path(f"{group_prefix}leave/", views.leave, name="leave"),
    path(
        f"{group_prefix}<int:membership_id>/role/",
        views.change_role,
        name="change-role",
    ),
    path(f"{group_prefix}<int:membership_id>/remove/", views.remove, name="remove"),
    path(
        f"{group_prefix}invitations/<int:invitation_id>/resend/",
        views.resend_invitation,
        name="resend-invitation",
    ),
    path(
        f"{group_prefix}invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke-invitation",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
