"""The vehicle API: a Redis 8 on every edge node that vehicles write their measurements to."""
