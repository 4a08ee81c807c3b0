"""Harness and CLI of the API-template testbed: stacks (embedded, docker), seed, executions."""
