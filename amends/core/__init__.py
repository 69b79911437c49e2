"""Operation: health, the worker loop and its heartbeat, the serve/run/demo commands."""
