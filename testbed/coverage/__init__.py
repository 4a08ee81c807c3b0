"""State-machine coverage: which states and transitions of the ASL the test suite's executions took.

graph.py derives the transitions from the ASL file; attribution.py maps an execution's history
onto them; report.py aggregates per backend and writes JSON and HTML (svg.py draws the graph);
plugin.py records every execution of a pytest run (`-p testbed.coverage.plugin`), and
`python -m testbed.coverage` (`make coverage`) regenerates the report from the recorded data.
"""
