"""``python -m chaos.netproxy``: run the proxy and its HTTP API (see chaos.netproxy)."""

from chaos.netproxy.api import main

raise SystemExit(main())
