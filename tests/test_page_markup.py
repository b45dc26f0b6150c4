"""Markup every page shares: ids are unique, so each label names its own input."""

import re
from collections import Counter

import pytest
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
