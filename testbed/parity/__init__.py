"""Parity with AWS: replay Step Functions executions recorded on real AWS against a stack.

The cases live outside the repository (PARITY_CASES; see cases.py); only a baseline of the
hashed ids of the cases that matched is committed (baseline.py).
"""
