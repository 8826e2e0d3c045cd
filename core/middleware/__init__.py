"""Request middleware of the core app."""
