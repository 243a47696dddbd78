"""Plain typed data shared by every layer: no I/O here."""
