"""The pure core of Amends: plain Python, never Django (an import-linter contract enforces it)."""
