from django.dispatch import Signal

# Sent inside the transaction that moved a group's balance; kwargs: group_id,
# before_micros, after_micros, kind. Receivers defer side effects to on_commit.
balance_changed = Signal()
