"""Record: the mock API as a proxy to a real API, writing what passed (scrubbed) as mappings and HAR."""
