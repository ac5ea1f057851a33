"""PCI userspace views: ``lspci`` as pciutils prints it, over a simulated kernel or sysfs."""
