"""Userspace MMIO on a real Linux machine: the backends and what they discover.

- :mod:`.pci`: PCI functions in sysfs (``/sys/bus/pci/devices``): BARs through
  ``resourceN``/``resourceN_wc``, config space through ``config``;
- :mod:`.uio`: ``/sys/class/uio`` maps and ``/dev/uioX`` interrupts;
- :mod:`.vfio`: VFIO containers, groups and devices (``/dev/vfio``);
- :mod:`.devmem`: physical ranges through ``/dev/mem``;
- :mod:`.procfs`: ``/proc/iomem``, who owns which range;
- :mod:`.dt`: device-tree nodes from ``/proc/device-tree``;
- :mod:`.diagnose`: why a mapping failed, in words a person can act on.

Every function takes ``root`` (default ``/``) so tests can hand it a fake tree.
"""
