"""Recording the real API through the mock API, writing it scrubbed, and checking it for drift (docs/recording.md)."""
