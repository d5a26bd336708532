"""Schemas of the synced collections and of the wire messages (protocol version 1)."""
