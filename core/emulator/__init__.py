"""Local emulators of the services notion-sync talks to, for tests, the demo and benchmarks."""
