"""One module per screen; thin functions of the client state."""
