"""Clients: read a server's sample stream (the kernel side of the widget, or your own code)."""
