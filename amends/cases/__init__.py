"""Cases: customers, cases, the append-only audit trail, and the obligations (clocks)."""
