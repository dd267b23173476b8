"""How a send failed decides whether the task retries it."""


class SendError(Exception):
    """A code could not be delivered. The message never contains the code."""


class TransientSendError(SendError):
    """Worth retrying: connection refused, timeout, 4xx reply, provider throttling."""


class PermanentSendError(SendError):
    """Retrying cannot help: invalid address or number, rejected by the provider."""
