"""Stateless utilities shared by every app; one concept per module."""
