"""Where samples come from: the Source interface, live probes opened where a signal can
stop them, and the one read loop."""
