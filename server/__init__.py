"""The Process Café application: HTTP API, persistence, jobs and the command line."""
