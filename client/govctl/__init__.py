"""govctl: the governance portal's CLI and flag SDK. Imports httpx and the standard library only."""

__version__ = "0.1.0"
