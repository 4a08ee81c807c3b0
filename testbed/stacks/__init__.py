"""Running a stack: the backend interface, the embedded and docker backends, their processes."""
