"""The supply chain from the CLI: CycloneDX SBOMs of Python projects and secret scanning of changes. Their libraries
(cyclonedx-python-lib, detect-secrets) are imported only when `govctl sbom` / `govctl secrets` run."""
