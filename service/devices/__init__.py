"""Device model tables and their lookup (``service.devices.names``)."""
