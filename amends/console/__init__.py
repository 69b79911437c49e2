"""Staff web: sign in, queues and case pages (later issues)."""
