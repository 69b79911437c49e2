"""Communications: the outbox of letters and notices (delivery comes with the comms issue)."""
