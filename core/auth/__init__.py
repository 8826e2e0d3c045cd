"""Signing in and staying signed in: the authentication backend (the one gate
of password checks), the sign-in throttle, security events in the activity
log, the session engine on Redis, the signed-in user cache, and the sign-in
views (/core/auth/). Request-time scoping to a lab is core.tenancy's."""
