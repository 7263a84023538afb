"""Live BPF probes: C programs beside the Python that loads them and decodes their maps."""
