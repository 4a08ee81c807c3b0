"""mockapi: a stub HTTP server standing in for the external API during local testbed runs.

Run it with `python -m mockapi`; see README.md for the stub format and the admin API.
"""
