"""Stand-ins: small local servers that play a service which cannot run here.

Each one listens on a free 127.0.0.1 port, checks every request it gets (path,
auth or signature, body), records it for assertions, and answers like the
real service, or with the failure a test asks for.
"""
