"""Contract check results of a test run: the pytest plugin and the contract report (issue 19)."""
