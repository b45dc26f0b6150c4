from django import forms

from groups.models import ApiGroup


class GroupCreateForm(forms.ModelForm):
    class Meta:
        model = ApiGroup
        fields = ["name", "description"]
        help_texts = {
            "name": "Your organization's name, as it should appear on invoices."
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if len(name) < 2:
            raise forms.ValidationError("Enter a name of at least two characters.")
        return name
