"""Plain data and pure functions: rows, samples, sorting, filtering, formats. No Textual, no BCC."""
