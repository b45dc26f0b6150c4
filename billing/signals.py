from django.dispatch import Signal

# Sent when a ledger entry moved a group's balance, inside its transaction where it
# has one; kwargs: group_id, before_micros, after_micros, kind, entry_id, and on
# the fast usage path threshold_micros (the top-up threshold, read in the debit).
# Receivers defer side effects (tasks, emails) with transaction.on_commit.
balance_changed = Signal()
