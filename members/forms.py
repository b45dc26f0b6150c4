from django import forms

from groups.models import Role


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We email a link that works once and expires after a week.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MEMBER,
        help_text="Admins manage billing, keys, members and settings; "
        "members can only look.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class MemberFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or email"}
        ),
    )
    role = forms.ChoiceField(choices=[("", "All"), *Role.choices], required=False)

    def __init__(self, *args, **kwargs):
        # The invite form on the same page has a `role` too.
        kwargs.setdefault("auto_id", "id_filter_%s")
        super().__init__(*args, **kwargs)


class SignupDetailsForm(forms.Form):
    """The extra question on allauth's sign-up form: the person's name."""

    name = forms.CharField(
        label="Full name",
        max_length=150,
        required=False,
        help_text="Shown to the other members of your groups.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def signup(self, request, user) -> None:
        first, _, last = " ".join(self.cleaned_data["name"].split()).partition(" ")
        user.first_name = first[:150]
        user.last_name = last[:150]
        user.save(update_fields=["first_name", "last_name"])
