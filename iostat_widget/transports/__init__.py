"""Transports: how samples leave the hub (WebSocket; long poll, health, metrics, page on one port).

Each path the server answers is an :class:`~.endpoint.Endpoint`; import each from its own module.
"""
