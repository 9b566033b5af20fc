"""Application services: the operations of the server, each one transaction, no HTTP here."""
