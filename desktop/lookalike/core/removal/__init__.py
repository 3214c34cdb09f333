"""Removal: safe deletion (trash, quarantine, permanent) proven against the scan,
with its journal, undo and XMP sidecars."""
