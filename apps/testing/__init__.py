"""Real local servers and loopback fakes for the integration tests and the benchmarks (never used in production)."""
