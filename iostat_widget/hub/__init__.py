"""Hub: one source per server, recent history, fan-out to every subscriber (samples and lines)."""
