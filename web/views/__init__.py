"""Web UI pages, one module per screen."""
