import re
from typing import Any, cast

from django import forms

from groups.models import ApiGroup, AuditAction
from portal.text import refuse_bidi_controls


def clean_group_name(name: str) -> str:
    name = refuse_bidi_controls(name.strip())
    if len(name) < 2:
        raise forms.ValidationError("Enter a name of at least two characters.")
    return name


class GroupCreateForm(forms.ModelForm):
    class Meta:
        model = ApiGroup
        fields = ["name", "description"]
        help_texts = {
            "name": "Your organization's name, as it should appear on invoices."
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self) -> str:
        return clean_group_name(self.cleaned_data["name"])


class GroupSettingsForm(forms.ModelForm):
    """The organization details printed on invoices."""

    class Meta:
        model = ApiGroup
        fields = list(ApiGroup.DETAIL_FIELDS)
        help_texts = {
            "name": "As it should appear on invoices.",
            "tax_id": "VAT, GST or EIN number, printed on invoices. Optional.",
            "description": "Optional; shown to the members of the group.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        country = cast(forms.ChoiceField, self.fields["country"])
        # django-stubs types choices read back as any input they accept; Django
        # has made them an iterable of pairs by then.
        countries = list(country.choices)[1:]  # type: ignore[arg-type]
        country.choices = [("", "Choose a country"), *countries]
        autocomplete = {
            "name": "organization",
            "address_line1": "address-line1",
            "address_line2": "address-line2",
            "city": "address-level2",
            "region": "address-level1",
            "postal_code": "postal-code",
            "country": "country",
        }
        for name, token in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = token

    def clean_name(self) -> str:
        return clean_group_name(self.cleaned_data["name"])

    def clean_postal_code(self) -> str:
        code = " ".join(self.cleaned_data["postal_code"].split()).upper()
        if code and not POSTAL_CODE.fullmatch(code):
            raise forms.ValidationError(
                "Use letters, digits, spaces and hyphens only, e.g. 94105 or SW1A 1AA."
            )
        return code

    def clean_tax_id(self) -> str:
        tax_id = self.cleaned_data["tax_id"].strip().upper()
        if tax_id and not TAX_ID.fullmatch(tax_id):
            raise forms.ValidationError(
                "Use letters, digits, spaces, dots, slashes and hyphens only, "
                "e.g. DE123456789."
            )
        return tax_id

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        has_address = any(
            data.get(name)
            for name in ("address_line1", "address_line2", "city", "postal_code")
        )
        if has_address:
            # An invoice address must at least say where the street, town and
            # country are.
            required = {
                "address_line1": "Enter the street address.",
                "city": "Enter the city.",
                "country": "Choose the country.",
            }
            for name, message in required.items():
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        return data


POSTAL_CODE = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,18}[A-Z0-9]")
TAX_ID = re.compile(r"[A-Z0-9][A-Z0-9 ./-]{1,38}[A-Z0-9]")


class ActivityFilterForm(forms.Form):
    action = forms.ChoiceField(
        label="Action",
        choices=[("", "All actions"), *AuditAction.choices],
        required=False,
    )
