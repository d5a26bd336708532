"""The CareRounds sync server: accounts, administration and the sync endpoint."""
