"""Transports: how samples leave the hub (WebSocket; long poll, health, page on one port)."""

from .http_routes import Router, bytes_response, json_response, text_response
from .long_poll import LongPoll
from .static_page import StaticPage
from .websocket import WebSocketFanout

__all__ = [
    "LongPoll",
    "Router",
    "StaticPage",
    "WebSocketFanout",
    "bytes_response",
    "json_response",
    "text_response",
]
