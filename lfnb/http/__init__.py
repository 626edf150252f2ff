"""HTTP: the transport (auth, retries, errors) and the client-side rate limiter."""
