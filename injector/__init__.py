"""The vehicle injector: replays recorded drives into the edge vehicle API (Redis)."""
