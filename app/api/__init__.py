"""HTTP conventions every router shares: responses, ETags, pages, idempotency, limits,
middleware and the hot reads."""
