"""The CareRounds app: state, the local encrypted store and the sync engine (no UI code)."""
