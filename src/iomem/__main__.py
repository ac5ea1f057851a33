"""``python -m iomem``: the same as the ``iomem`` command."""

from iomem.cli.main import main

if __name__ == "__main__":
    main()
