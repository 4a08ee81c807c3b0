"""Inspecting runs: executions, the dry run, masking, the timeline (model, sources, view)."""
