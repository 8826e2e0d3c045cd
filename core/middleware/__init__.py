"""Request middleware of the core app, in settings.MIDDLEWARE order:

- `liveness.LivenessMiddleware`: liveness probes answered here, ahead of the
  rest of the stack;
- `request_id.RequestIdMiddleware`: the request id (X-Request-ID, logs,
  Sentry, activity entries) and the client address;
- `api_key.ApiKeyMiddleware`: `Authorization: Bearer lis_...` / `X-API-Key`;
- `lab_context.LabContextMiddleware`: `request.scope` (core.tenancy),
  re-authorised on every request;
- `sign_in_audit.SignInAuditMiddleware`: sign-ins and sign-outs by any view
  in the activity log;
- `activity_context.ActivityContextMiddleware`: the actor of activity entries;
- `api_errors.ApiErrorMiddleware`: errors as JSON on API routes.

What they stand on lives in packages named for it: core.auth (sessions,
the authentication backend, the sign-in throttle, security events),
core.ratelimit (counters, rate limits, leases), core.tenancy, core.http
(JSON error answers).
"""
