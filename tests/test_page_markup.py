"""Markup every page shares: ids are unique, so each label names its own input."""

import re
from collections import Counter

import pytest
from django.template import Context, Origin, Template
from django.urls import reverse

SECTIONS = [
    "groups:overview",
    "groups:settings",
    "groups:activity",
    "usage:dashboard",
    "limits:limits",
    "apikeys:list",
    "apikeys:create",
    "members:list",
    "billing:overview",
    "invoices:list",
]


@pytest.mark.parametrize("name", SECTIONS)
def test_admin_pages_have_unique_ids_and_labels_that_point_somewhere(
    name, admin_client, group
):
    response = admin_client.get(reverse(name, args=[group.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
    for target in re.findall(r'<label[^>]*\sfor="([^"]+)"', html):
        assert target in ids, f"label for #{target} points at nothing"


def _described_by_points_at_elements(html: str) -> None:
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    described = re.findall(r'\saria-describedby="([^"]+)"', html)
    for target in (t for value in described for t in value.split()):
        assert target in ids, f"aria-describedby #{target} points at nothing"


@pytest.mark.parametrize("name", [*SECTIONS, "members:invite"])
def test_form_fields_are_described_by_their_help_and_errors(name, admin_client, group):
    response = admin_client.get(reverse(name, args=[group.slug]), follow=True)
    assert response.status_code == 200
    _described_by_points_at_elements(response.content.decode())


@pytest.mark.parametrize(
    "path", ["/groups/new/", "/accounts/login/", "/accounts/signup/"]
)
def test_account_forms_are_described_by_their_help(path, client, admin_client):
    page_client = client if "/accounts/" in path else admin_client
    response = page_client.get(path)
    assert response.status_code == 200
    _described_by_points_at_elements(response.content.decode())


def test_fields_with_errors_are_described_by_their_help_and_errors(admin_client, group):
    usage = admin_client.get(f"/g/{group.slug}/usage/?start=2026-01-01")
    assert usage.status_code == 400
    html = usage.content.decode()
    assert 'aria-describedby="id_start_helptext id_start_error"' in html
    _described_by_points_at_elements(html)
    create = admin_client.post(f"/g/{group.slug}/keys/new/", {"name": ""})
    assert (
        'aria-describedby="id_name_helptext id_name_error"' in create.content.decode()
    )
    _described_by_points_at_elements(create.content.decode())


def test_fields_allauth_builds_by_hand_are_described_by_their_help():
    html = Template(
        "{% load allauth %}"
        '{% element field type="email" name="email" id="id_email" %}'
        "{% slot label %}Email{% endslot %}"
        "{% slot help_text %}Where we write to you.{% endslot %}"
        "{% endelement %}",
        origin=Origin("inline", template_name="inline.html"),
    ).render(Context())
    assert 'aria-describedby="id_email_helptext"' in html
    _described_by_points_at_elements(html)
