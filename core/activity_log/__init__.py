"""The activity log: its append-only tables (models.py), each lab's hash
chain (chain.py), shipping to the search store (shipping.py, index.py),
reading (reading.py) and retention (retention.py).

Every model writes entries from its save, so this subsystem sits below
core's models and imports none of them (README, "Layers"); core.models
re-exports its tables so Django registers them in the `core` app. Who is
acting (the request's actor) is core/utils/activity_log/context.py, the
seed's package.
"""
