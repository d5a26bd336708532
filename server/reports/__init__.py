"""The lead's reports: computed with the same rules as the phones' due lists (shared.schedule)."""
