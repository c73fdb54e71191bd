"""HTTP conventions every router shares: responses, ETags, pages, idempotency, limits,
the Bearer header and middleware."""
