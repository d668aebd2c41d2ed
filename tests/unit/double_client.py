"""A client for the Zoom API double running in process, and its check against the OpenAPI document."""

from __future__ import annotations

import http.client
import json
from typing import Any, Dict, List, Tuple

import zoom_api_double as zd


def call(double, method: str, path: str, body: Any = None, token: str | None = "issue",
         headers: Dict[str, str] | None = None) -> Tuple[int, Dict[str, str], Any]:
    """(status, headers in lower case, JSON body). token "issue" gets a fresh one; None sends none."""
    conn = http.client.HTTPConnection(double.host, double.port, timeout=10)
    all_headers = dict(headers or {})
    if token == "issue":
        token = double.state.issue_token()
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=all_headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw) if raw else None


def spec_problems(running: Any, openapi: zd.OpenApiCheck) -> List[str]:
    """Every way the recorded /v2 answers differ from the OpenAPI document. A request the document
    calls invalid has no documented answer, so only valid ones are checked."""
    checked = [ex for ex in running.state.exchanges if not openapi.request_errors(ex)]
    return [p for ex in checked for p in openapi.response_errors(ex)]
