"""Customer web and public pages."""
