"""The request boundary: hostile input is refused once, for every route, before any handler.

Three things no handler should have to think about:

* **NUL characters.** PostgreSQL cannot store U+0000 in text, so a NUL that reaches a query
  was a 500 there (and silently stored on SQLite). The boundary refuses it in the path, the
  query string and a JSON body (where it travels as the escape ``\\u0000``) with a 422 that
  names the field. Nothing legitimate needs a NUL.
* **Nesting.** Litestar decodes a JSON body into plain Python values before converting it to
  the handler's Struct, and that generic decoder recurses: a body nested 100,000 levels deep
  was a ``RecursionError``, a 500. The boundary decodes such a body itself (Litestar keeps the
  decoded value, so it is still decoded once) and refuses more than ``MAX_DEPTH`` levels (400).
* **Content type.** Bodies were parsed as JSON whatever their content type, so a plain
  cross-site form POST (which needs no CORS preflight) reached JSON routes. A route whose
  handler declares a JSON body refuses a body that is not ``application/json`` or
  ``application/*+json`` (415); multipart routes keep their multipart.

Cost, because the hot list route goes through here: a request without a body pays two
substring scans of its path and query string. A JSON body is read (Litestar would read it
anyway) and scanned for ``\\u0000`` and brackets at C speed; only a body that holds the escape,
or more brackets than ``MAX_DEPTH``, is decoded here and walked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import ClientException, SerializationException
from litestar.types import ASGIApp, Receive, Scope, Send

from mas.core.platform.errors import BadRequest, FieldError, ValidationFailed

MAX_DEPTH = 32
NUL_MESSAGE = "must not contain NUL (U+0000) characters"

_NUL_ESCAPE = b"\\u0000"
_JSON = "json"
_FORM = "form"


def body_kind(handler: Any) -> str | None:
    """``"json"`` when the handler declares a JSON body, ``"form"`` for multipart or url-encoded
    data, ``None`` when it takes no body (read from the handler's parsed signature)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    media = getattr(getattr(data, "kwarg_definition", None), "media_type", None)
    return _FORM if media not in (None, RequestEncodingType.JSON) else _JSON


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return _header(scope, b"transfer-encoding") is not None


def _nul_refused(fields: list[str]) -> ValidationFailed:
    return ValidationFailed(
        f"NUL characters are not allowed in: {', '.join(fields)}",
        code="nul_character",
        errors=[FieldError(field, NUL_MESSAGE) for field in fields],
    )


def check_path_and_query(scope: Scope) -> None:
    """Refuse a NUL in a path parameter or a query parameter, naming it."""
    if "\x00" in scope.get("path", ""):
        params = scope.get("path_params") or {}
        named = [name for name, value in params.items() if "\x00" in str(value)]
        raise _nul_refused(named or ["path"])
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        named = sorted(
            {key.replace("\x00", "") or "query" for key, value in pairs if "\x00" in key + value}
        )
        raise _nul_refused(named or ["query"])


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_json(value: Any) -> None:
    """Walk a decoded body without recursion: refuse nesting deeper than ``MAX_DEPTH`` and
    name every string (member name or value) that holds a NUL."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    nul: list[str] = []
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                nul.append(path or "body")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise BadRequest(
                f"the body is nested more than {MAX_DEPTH} levels deep", code="body_too_deep"
            )
        if isinstance(item, dict):
            for key, member in item.items():
                where = _child(path, str(key).replace("\x00", ""))
                if "\x00" in str(key):
                    nul.append(where)
                stack.append((member, where, depth + 1))
        else:
            stack.extend((member, _child(path, i), depth + 1) for i, member in enumerate(item))
    if nul:
        raise _nul_refused(sorted(set(nul)))


async def check_form(scope: Scope, receive: Receive) -> None:
    """Refuse a NUL in a form's text fields (files are the import pipeline's business)."""
    form = await Request(scope, receive).form()  # kept in the connection state as well
    named = sorted(
        {key for key, value in form.multi_items() if isinstance(value, str) and "\x00" in value}
    )
    if named:
        raise _nul_refused(named)


async def check_json_body(scope: Scope, receive: Receive) -> None:
    request: Request[Any, Any, Any] = Request(scope, receive)
    body = await request.body()  # kept in the connection state: the handler reuses it
    if _NUL_ESCAPE not in body and body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return
    try:
        value = await request.json()  # kept too: the handler's extractor does not decode again
    except RecursionError:
        raise BadRequest(
            f"the body is nested more than {MAX_DEPTH} levels deep", code="body_too_deep"
        ) from None
    except SerializationException:
        return  # malformed JSON: the handler's extractor answers 400 malformed_body
    check_json(value)


def boundary(app: ASGIApp) -> ASGIApp:
    """Route middleware (it runs after routing, before guards and parameter parsing)."""

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            check_path_and_query(scope)
            kind = body_kind(scope["route_handler"])
            if kind == _JSON and _has_body(scope):
                if not is_json(_header(scope, b"content-type")):
                    raise ClientException(
                        "this route takes a JSON body: send it with "
                        "'Content-Type: application/json'",
                        status_code=415,
                    )
                await check_json_body(scope, receive)
            elif kind == _FORM and _has_body(scope):
                await check_form(scope, receive)
        await app(scope, receive, send)

    return handle


__all__ = ["MAX_DEPTH", "body_kind", "boundary", "check_json", "is_json"]
