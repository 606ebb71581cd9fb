"""A TCP proxy on 127.0.0.1 between a service and PostgreSQL, for network faults, in Toxiproxy's vocabulary.

Proxies (``name``, ``listen``, ``upstream``, ``enabled``) forward bytes both ways; toxics change that:

- ``latency`` {latency, jitter} (ms): each chunk is delayed by latency ± jitter;
- ``bandwidth`` {rate} (KB/s): the stream is throttled to that rate;
- ``timeout`` {timeout} (ms): no data gets through; the connection is closed after ``timeout`` (0: held open,
  stalled, until the toxic is removed);
- ``reset_peer`` {timeout} (ms): the connection is reset (TCP RST) ``timeout`` after the toxic applies to it;
- ``down``: not a toxic but the proxy disabled (``enabled: false``): new connections are refused, open ones
  closed.

Each toxic has a ``stream`` (``downstream``: upstream → client, the default; ``upstream``: client → upstream) and
a ``toxicity`` (0..1, default 1): the probability it applies to a connection, drawn once per connection.
Toxics apply to connections already open as well as new ones.

Control it in-process (:class:`NetProxy`) or over HTTP with Toxiproxy's API shape (:func:`serve_api`)::

    GET    /version                          POST /reset (enable every proxy, remove every toxic)
    GET    /proxies                          POST /proxies {name, listen, upstream, enabled?}
    GET    /proxies/{name}                   POST /proxies/{name} {enabled?, listen?, upstream?}   DELETE …
    GET    /proxies/{name}/toxics            POST /proxies/{name}/toxics {name?, type, stream?, toxicity?, attributes}
    GET    /proxies/{name}/toxics/{toxic}    POST … {toxicity?, attributes?}                      DELETE …

Run it on its own (no Django needed)::

    python -m chaos.netproxy --api 127.0.0.1:8474 --proxy postgres=127.0.0.1:15432:127.0.0.1:5432
"""

from chaos.netproxy.api import main, serve_api
from chaos.netproxy.proxy import STREAMS, TOXIC_TYPES, NetProxy, ProxyError, Toxic

__all__ = ["STREAMS", "TOXIC_TYPES", "NetProxy", "ProxyError", "Toxic", "main", "serve_api"]
