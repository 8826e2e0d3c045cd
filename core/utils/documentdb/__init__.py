"""Integration logs per account: DocumentDB / MongoDB (pymongo) or a table.

- `client.DocumentDBClient`: one pooled pymongo client per account, built from
  that account's `core.models.DocumentDBConnection`.
- `database.DatabaseDocumentDBClient`: the embedded default, on the
  `core.models.IntegrationLog` table.

Both offer `write_log(...)` and `query_logs(...)`, scoped to their account.
Reach them through `get_client("docdb", account_id=...)`. This package
re-exports nothing: `core.models` imports `urls` from here, and importing the
clients (which import `core.models`) from this `__init__` would be circular.
"""
