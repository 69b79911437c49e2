"""Django wiring only: settings from the environment, URLs, WSGI."""
