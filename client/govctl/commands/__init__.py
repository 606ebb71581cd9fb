"""Sub-commands of govctl; each module has `register(subparsers)`."""
