"""Python drivers for the simulated kernel, written like their Linux twins."""
