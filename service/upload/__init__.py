"""Client side of `shindan upload-symbols`: discovery, upload planning, HTTP and release checks."""
