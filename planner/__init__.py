"""Programs as plans: the op and function registries, compile, canonicalize, execute, explain."""
