from django.dispatch import Signal

# Sent inside the transaction that created the group; kwargs: group, creator.
# Higher apps (billing) create their per-group records on it.
group_created = Signal()

# Sent when a group's overview page renders; kwargs: group, membership. Higher apps
# contribute a panel by returning {"template": ..., "context": {...}, "order": int},
# or None to show nothing for this caller.
overview_panels = Signal()
