"""Device models: register files that behave like the hardware."""
