"""Replay: WireMock mapping files and HAR files served by the mock API, matched strictly if asked."""
