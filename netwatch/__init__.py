"""netwatch: a full-screen terminal network monitor for Linux on eBPF tracepoints."""

__version__ = "0.1.0"
