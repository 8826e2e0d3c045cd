"""Accounts: labs, the lab hierarchy and users."""
