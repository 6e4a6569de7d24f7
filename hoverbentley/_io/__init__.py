"""File-system helpers shared by every module that writes files (no network)."""
