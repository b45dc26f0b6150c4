from django.dispatch import Signal

# Sent inside the transaction that created the group; kwargs: group, creator.
# Higher apps (billing) create their per-group records on it.
group_created = Signal()
