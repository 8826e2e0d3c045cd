"""Settings packages: `base` (every environment, read from the environment with
embedded defaults) and `test` (the test suite)."""
