"""Audit proofs checked offline: the hash chain of an audit export and its Ed25519 signatures (`govctl audit verify`)."""
