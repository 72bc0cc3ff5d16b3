"""A small WSGI application for the proxy tests, served by gunicorn.

GET /app/hello answers what it saw (method, path, query, the forwarding
fields); POST /app/echo answers the body it read (Content-Length or
chunked, through wsgi.input); GET /app/big?n=N answers N bytes in pieces
(gunicorn sends them chunked).
"""


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/app/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/app/big":
        n = int(environ.get("QUERY_STRING", "n=0").split("=", 1)[1])
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        piece = b"g" * 65536
        return (piece[:min(65536, n - i)] for i in range(0, n, 65536))
    lines = ["%s %s?%s" % (environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""))]
    for key in ("HTTP_HOST", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO",
                "HTTP_FORWARDED", "HTTP_CONNECTION", "HTTP_X_PRIVATE"):
        lines.append("%s=%s" % (key, environ.get(key, "-")))
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
