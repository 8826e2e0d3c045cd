"""Utilities and service clients shared by every app, one concept per module:
the client registry (`clients.get_client`) and one package per service,
dates, encryption, JSON input, PDF and image handling, translation. Some
packages here keep state in the database (Fusion's job engines, webhook
delivery, the activity log's sealing and shipping); each says so in its
docstring."""
