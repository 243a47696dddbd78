"""`gitward server`: the HTTP API over Applications, its live stream, auth and metrics."""
