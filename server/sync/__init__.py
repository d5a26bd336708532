"""Sync: the merge rule, the change log and cursor, and who receives what."""
