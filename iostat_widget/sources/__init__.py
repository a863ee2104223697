"""Sources: where samples come from (psutil counters, cgroup files, a command's reports).

The contract every source meets is in :mod:`.base`; import each source from its own module.
"""
