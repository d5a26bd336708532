"""What client and server agree on: the collections' schemas, the wire types and the clock."""
