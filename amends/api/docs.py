"""The API's reference page, ``/api/v1/docs``: every operation of the OpenAPI document with
its scope, parameters, an example request (and the curl line that sends it) and its answers.

Rendered on the server from the same document ``/api/v1/openapi.json`` serves, as plain HTML
(no script): it meets WCAG 2.2 AA like every other page, which the usual interactive viewers
do not (axe finds nested controls, low contrast and no page language in Swagger UI). Tools that
want the document itself (Postman, a client generator) read ``openapi.json``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import DocsBase

if TYPE_CHECKING:
    from ninja import NinjaAPI

_SAMPLE_FORMATS = {"date-time": "2026-11-30T09:15:00Z", "date": "2026-11-30", "email": "a@b.c"}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _resolve(components.get(ref.rsplit("/", 1)[-1], {}), components)
    return schema


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """The schema's own example, else a smallest valid value built from it."""
    schema = _resolve(schema, components)
    if depth > 6:
        return None
    for key in ("examples", "example"):
        value = schema.get(key)
        if key == "examples" and isinstance(value, list) and value:
            return value[0]
        if key == "example" and value is not None:
            return value
    if "default" in schema and schema["default"] not in (None, "", [], {}):
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, components).get("type") != "null"]
            if options:
                return example_of(options[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        return {
            name: example_of(prop, components, depth + 1)
            for name, prop in schema.get("properties", {}).items()
            if name in required or _resolve(prop, components).get("examples")
        }
    if kind == "array":
        item = example_of(schema.get("items", {}), components, depth + 1)
        return [] if item is None else [item]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "string":
        return _SAMPLE_FORMATS.get(str(schema.get("format")), "text")
    return None


def operations(schema: dict[str, Any], base: str) -> list[dict[str, Any]]:
    """What the page shows of each operation, in the document's order, grouped by tag."""
    components = schema.get("components", {}).get("schemas", {})
    shown = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            example = None
            if body:
                example = json.dumps(
                    example_of(body.get("schema", {}), components), indent=2, ensure_ascii=False
                )
            headers = [
                p for p in op.get("parameters", []) if p.get("in") == "header" and p.get("required")
            ]
            curl = [
                f"curl -X {method.upper()} '{base}{path}'",
                '  -H "Authorization: Bearer $TOKEN"',
            ]
            for header in headers:
                curl.append(f"  -H '{header['name']}: \"7\"'")
            if example is not None:
                curl.append('  -H "Content-Type: application/json"')
                curl.append("  -d '" + json.dumps(json.loads(example), ensure_ascii=False) + "'")
            shown.append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or ["other"])[0],
                    "summary": op.get("summary", ""),
                    "description": op.get("description", "").replace("``", ""),
                    "scope": op.get("x-scope") or "any",
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "example": example,
                    "curl": " \\\n".join(curl),
                    "responses": [
                        {"status": status, "description": answer.get("description", "")}
                        for status, answer in op.get("responses", {}).items()
                    ],
                }
            )
    return shown


class ReferencePage(DocsBase):
    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        schema = api.get_openapi_schema(path_params=kwargs)
        base = request.build_absolute_uri("/").rstrip("/")
        ops = operations(schema, base)
        tags: dict[str, list[dict[str, Any]]] = {}
        for op in ops:
            tags.setdefault(op["tag"], []).append(op)
        return render(
            request,
            "api/docs.html",
            {
                "title": schema["info"]["title"],
                "version": schema["info"]["version"],
                "description": schema["info"].get("description", ""),
                "tags": tags,
                "count": len(ops),
                "openapi_url": self.get_openapi_url(api, kwargs),
            },
        )
