"""Dialogs: export, kept runs and settings."""
