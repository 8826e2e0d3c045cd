"""Limits on how much a caller may do: windowed counters (rate limits and the
sign-in throttle's counts), rate limits per lab, user or address, and leases
capping work that may run only so many times at once."""
