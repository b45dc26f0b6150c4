"""Gapless document numbers: `INV-2026-000042`, one series per prefix and year."""

from django.db import transaction

from invoices.models import DocumentSequence, format_number


def lock_sequence(series: str, year: int) -> DocumentSequence:
    """Lock the series' counter row until the caller's transaction ends.

    Whoever holds the lock is the only one issuing in this series, so a check for
    an existing document made after taking it is not a race.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_sequence must run inside a transaction")
    # get_or_create survives two workers creating the first row of a year at once.
    DocumentSequence.objects.get_or_create(series=series, year=year)
    return DocumentSequence.objects.select_for_update().get(series=series, year=year)


def take_number(sequence: DocumentSequence) -> str:
    """Hand out the locked sequence's next number.

    The increment commits or rolls back with the document that uses it, so a
    failed insert never leaves a hole.
    """
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return format_number(sequence.series, sequence.year, sequence.last_value)
