"""Renderers shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer


class MarkdownRenderer(BaseRenderer):
    """text/markdown for views that answer a Markdown string (deploy summaries, drill reports)."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, str):
            return data.encode(self.charset)
        return JSONRenderer().render(data)  # problem details keep their JSON body (their content type says JSON)
