"""Widget: the ``Monitor`` and the kernel-side machinery that feeds it."""
