"""Transports: how samples leave the hub (WebSocket, plain HTTP routes on the same port)."""

from .http_routes import Router, json_response, text_response
from .websocket import WebSocketFanout

__all__ = ["Router", "WebSocketFanout", "json_response", "text_response"]
