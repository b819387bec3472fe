"""Headers every response carries, whoever in the app produced it."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# nosniff: a browser must not guess that a JSON error echoing user input, or a
# text/plain refusal, is HTML or script.
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Every scope goes through: only an HTTP response start carries headers.
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message["headers"] = [*kept, *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
