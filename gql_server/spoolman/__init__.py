"""Spoolman (the filament spool inventory farms run beside Moonraker): its HTTP API."""
