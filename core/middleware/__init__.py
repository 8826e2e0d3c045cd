"""Request middleware of the core app, and what it stands on.

In settings.MIDDLEWARE order:

- `liveness.LivenessMiddleware`: liveness probes answered here, ahead of the
  rest of the stack;
- `request_id.RequestIdMiddleware`: the request id (X-Request-ID, logs,
  Sentry, activity entries) and the client address;
- `api_key.ApiKeyMiddleware`: `Authorization: Bearer lis_...` / `X-API-Key`;
- `lab_context.LabContextMiddleware`: `request.lab_id`, `request.lab_kind`,
  `request.child_lab_ids`;
- `activity_context.ActivityContextMiddleware`: the actor of activity entries;
- `api_errors.ApiErrorMiddleware`: errors as JSON on API routes.

Also here: `sessions` (the Redis session engine), `throttle` (failed
sign-ins), `rate_limit` and `counters` (limits per lab, user or address),
`cache_redis` (the cache service's Redis, shared by those three),
`signed_in_users` and `auth_backend` (the signed-in user of a request read
from Redis, settings.AUTHENTICATION_BACKENDS) and `security_events`
(sign-ins and API-key use in the activity log).
"""
