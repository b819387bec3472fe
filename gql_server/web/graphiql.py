"""GraphiQL served entirely from our own origin, so it works on a network without internet.

Strawberry's default page loads React and GraphiQL from a CDN and is blank offline. This page
references only ``/static/graphiql/...``, served from ``gql_server/static/vendor/``, which
``scripts/fetch_graphiql_assets.py`` fills from the npm registry at install time (the bundles
are never committed; a wheel built after the fetch carries them as package data). When they
are missing the page says so instead of staying blank.

Subscriptions run over the same origin's websocket (graphql-transport-ws, through the
graphql-ws client bundled in graphiql.min.js), with the Headers tab as connection_init's
payload: the same ``{"X-API-Key": ...}`` authenticates both.

The header editor is open by default with an ``X-API-Key`` hint, because every operation
needs a key (see ``auth.py``); queries without one are answered in the browser with a hint
rather than sent, so loading the page never counts as a failed authentication.

The pasted key stays in the page's memory unless the user ticks “Remember headers in this
browser” above the IDE: a key left in localStorage outlives the session and is readable by
anyone who later uses that browser profile, so keeping it is opt-in, and unticking deletes it.
"""

import base64
import hashlib
import html
import logging
from pathlib import Path
from string import Template

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
STATIC_PREFIX = "/static/graphiql"
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
STYLESHEET = "graphiql.min.css"
FETCH_COMMAND = "python scripts/fetch_graphiql_assets.py"

log = logging.getLogger(__name__)

REMEMBER_HEADERS_ID = "remember-headers"
REMEMBER_HEADERS_LABEL = "Remember headers in this browser"

# The bar above the IDE follows GraphiQL's theme: GraphiQL marks <body> with graphiql-dark or
# graphiql-light when one is chosen, and follows the system setting otherwise.
_DARK = "background: hsl(219, 29%, 18%); color: hsl(219, 29%, 78%);"
_STYLE = (
    "body { margin: 0; height: 100vh; overflow: hidden; display: flex; flex-direction: column; }"
    " #remember-bar { flex: none; padding: 4px 12px; font: 14px system-ui, sans-serif; }"
    " #graphiql { flex: 1; min-height: 0; }"
    f" body.graphiql-dark {{ {_DARK} }}"
    f" @media (prefers-color-scheme: dark) {{ body:not(.graphiql-light) {{ {_DARK} }} }}"
)

# Constant, so its CSP hash is computed once; settings reach it through data- attributes.
#
# Headers hold the API key, so by default nothing here or in GraphiQL writes them to the
# browser's storage. GraphiQL's own ``shouldPersistHeaders`` is always false: with it on,
# GraphiQL 3.8 empties its stored headers on every mount (so they survive one reload, not
# two), and with it off its history ("queries", "favorites") still stores each run's
# headers. So the page keeps the remembered headers itself, under its own key, only while
# the checkbox is on, and hands GraphiQL a storage that strips headers out of everything
# else it writes. Older versions of this page let GraphiQL persist headers unconditionally;
# loading this one scrubs them.
_BOOTSTRAP = Template("""
(function () {
  var root = document.getElementById("graphiql");
  var toggle = document.getElementById("$toggle_id");
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    root.textContent = root.getAttribute("data-missing");
    return;
  }
  var REMEMBER_KEY = "gql_server:rememberHeaders";
  var HEADERS_KEY = "gql_server:headers";
  var GRAPHIQL_PREFIX = "graphiql:";
  var DEFAULT_HEADERS = '{\\n  "X-API-Key": ""\\n}';
  // GraphiQL's keys whose JSON embeds "headers" fields; "graphiql:headers" is its editor.
  var HEADER_BEARING = ["graphiql:tabState", "graphiql:queries", "graphiql:favorites"];
  var local = null;
  try {
    local = window.localStorage;
    local.getItem(REMEMBER_KEY);
  } catch (unavailable) {
    local = null;
  }
  function remembering() {
    return local !== null && local.getItem(REMEMBER_KEY) === "true";
  }
  function withoutHeaders(key, value) {
    if (key === GRAPHIQL_PREFIX + "headers") return null;
    if (HEADER_BEARING.indexOf(key) < 0 || value === null) return value;
    try {
      return JSON.stringify(JSON.parse(value), function (name, field) {
        return name === "headers" ? null : field;
      });
    } catch (notJson) {
      return null;
    }
  }
  function put(key, value) {
    if (value === null) local.removeItem(key);
    else local.setItem(key, value);
  }
  function graphiqlKeys() {
    var keys = [];
    for (var i = 0; i < local.length; i++) {
      if (local.key(i).indexOf(GRAPHIQL_PREFIX) === 0) keys.push(local.key(i));
    }
    return keys;
  }
  function forgetHeaders() {
    local.removeItem(HEADERS_KEY);
    graphiqlKeys().forEach(function (key) {
      put(key, withoutHeaders(key, local.getItem(key)));
    });
  }
  // What GraphiQL reads and writes through (its StorageAPI adds the "graphiql:" prefix);
  // null, where the browser refuses localStorage, makes GraphiQL store nothing.
  var storage = local && {
    getItem: function (key) { return local.getItem(key); },
    setItem: function (key, value) {
      put(key, remembering() ? value : withoutHeaders(key, value));
    },
    removeItem: function (key) { local.removeItem(key); },
    clear: function () { graphiqlKeys().forEach(function (key) { local.removeItem(key); }); },
    get length() { return graphiqlKeys().length; }
  };
  var currentHeaders = remembering() ? local.getItem(HEADERS_KEY) : null;
  if (currentHeaders === null) currentHeaders = DEFAULT_HEADERS;
  if (local === null) {
    toggle.disabled = true;
  } else {
    toggle.checked = remembering();
    if (!toggle.checked) forgetHeaders();
    // Remembered headers live under HEADERS_KEY; GraphiQL's own slot would override them.
    local.removeItem(GRAPHIQL_PREFIX + "headers");
  }
  // Another tab of this page may tick or untick; what this one stores already follows.
  window.addEventListener("storage", function (event) {
    if (event.key === REMEMBER_KEY || event.key === null) toggle.checked = remembering();
  });
  toggle.addEventListener("change", function () {
    if (toggle.checked) {
      local.setItem(REMEMBER_KEY, "true");
      local.setItem(HEADERS_KEY, currentHeaders);
    } else {
      local.removeItem(REMEMBER_KEY);
      forgetHeaders();
    }
  });
  function rememberEdit(value) {
    currentHeaders = value;
    if (remembering()) local.setItem(HEADERS_KEY, value);
  }
  var keyHint = root.getAttribute("data-key-hint");
  // Subscriptions go over this origin's websocket; GraphiQL's bundled graphql-ws client
  // sends the Headers tab as connection_init's payload, which is where the key belongs.
  var socketUrl = (window.location.protocol === "https:" ? "wss://" : "ws://") +
    window.location.host + window.location.pathname;
  var post = GraphiQL.createFetcher({ url: window.location.pathname, subscriptionUrl: socketUrl });
  function hasKey(headers) {
    return Object.keys(headers || {}).some(function (name) {
      var lower = name.toLowerCase();
      var value = String(headers[name] || "").trim();
      return (lower === "x-api-key" || lower === "authorization") && value !== "";
    });
  }
  // GraphiQL parses the editor's text a moment after each edit, and its fetcher picks
  // the websocket from that document: a subscription run right after it was typed or
  // pasted would still carry the previous document and go over HTTP. The text run is
  // parsed again when the document is not of it.
  function withDocument(params, options) {
    var current = options && options.documentAST;
    var source = current && current.loc && current.loc.source;
    if (source && source.body === params.query) return options;
    try {
      var parsed = GraphiQL.GraphQL.parse(params.query);
      return Object.assign({}, options, { documentAST: parsed });
    } catch (error) {
      return options;  // a document that does not parse: the server says why
    }
  }
  function fetcher(params, options) {
    if (!hasKey(options && options.headers)) {
      return Promise.resolve({ errors: [{ message: keyHint }] });
    }
    return post(params, withDocument(params, options));
  }
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: "{\\n  viewer {\\n    name\\n  }\\n}\\n",
      defaultHeaders: currentHeaders,
      onEditHeaders: rememberEdit,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
""").substitute(toggle_id=REMEMBER_HEADERS_ID)

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="$prefix/$stylesheet">
<style>$style</style>
$scripts
</head>
<body>
<div id="remember-bar"><label><input type="checkbox" id="$toggle_id" autocomplete="off">
$toggle_label</label> (keeps the API key in this browser's storage: only on a device you
trust)</div>
<div id="graphiql" data-missing="$missing" data-key-hint="$key_hint">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript.</noscript>
<script>$bootstrap</script>
</body>
</html>
""")

_MISSING_PAGE = Template("""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>GraphiQL is not installed</title></head>
<body>
<h1>GraphiQL is not installed on this server</h1>
<p>$message</p>
</body>
</html>
""")


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        f"script-src 'self' {_csp_hash(_BOOTSTRAP)}",
        f"style-src 'self' {_csp_hash(_STYLE)}",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
KEY_HINT = (
    'Paste your API key into the Headers tab below as {"X-API-Key": "<your key>"}, then run '
    "the query. To load the schema for completion and docs, re-fetch it afterwards "
    "(Shift-Ctrl-R)."
)


def missing_assets() -> list[str]:
    """The vendor files that are absent; checked per request so a later fetch needs no
    restart."""
    return [name for name in (*SCRIPTS, STYLESHEET) if not (VENDOR_DIR / name).is_file()]


def _fix_hint(problem: str) -> str:
    # Two ways the files go missing: a source checkout where the script never ran, and a
    # wheel built before it ran (the bundles are package data only when present at build
    # time). The page is public, so it names the installed directory by its package path
    # rather than disclosing where this server lives on disk.
    return (
        f"{problem} The operator must run “{FETCH_COMMAND}” in the project's source tree "
        "(it downloads them from the npm registry into gql_server/static/vendor/) before "
        "“pip install .”, or with “--dest” naming the installed package's "
        "gql_server/static/vendor/ directory, and reload this page."
    )


def graphiql_html() -> str:
    """The page, with only same-origin asset URLs."""
    scripts = "\n".join(f'<script src="{STATIC_PREFIX}/{name}"></script>' for name in SCRIPTS)
    return _PAGE.substitute(
        prefix=STATIC_PREFIX,
        stylesheet=STYLESHEET,
        style=_STYLE,
        scripts=scripts,
        missing=html.escape(_fix_hint(f"GraphiQL's scripts did not load from {STATIC_PREFIX}/.")),
        key_hint=html.escape(KEY_HINT),
        toggle_id=REMEMBER_HEADERS_ID,
        toggle_label=html.escape(REMEMBER_HEADERS_LABEL),
        bootstrap=_BOOTSTRAP,
    )


def graphiql_response() -> HTMLResponse:
    """What ``GET /graphql`` returns to a browser: the IDE, or why it cannot be shown."""
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
    missing = missing_assets()
    if missing:
        problem = f"The GraphiQL files are missing: {', '.join(missing)}."
        page = _MISSING_PAGE.substitute(message=html.escape(_fix_hint(problem)))
        return HTMLResponse(page, status_code=503, headers=headers)
    return HTMLResponse(graphiql_html(), headers=headers)


class _VendorFiles(StaticFiles):
    """StaticFiles that answers 404, not 500, while the vendor directory does not exist yet,
    so the app starts (and the page explains itself) before the assets are fetched."""

    async def check_config(self) -> None:
        if VENDOR_DIR.is_dir():
            await super().check_config()


def graphiql_static_mount() -> Mount:
    """The ``/static/graphiql`` mount serving ``gql_server/static/vendor/``.

    Missing bundles are logged here, at start-up, because otherwise the operator learns of
    them only when someone opens the page (a wheel built before the fetch lacks them)."""
    missing = missing_assets()
    if missing:
        log.warning(
            "GraphiQL files missing from %s (%s): GET /graphql answers 503 until %s fills it",
            VENDOR_DIR,
            ", ".join(missing),
            FETCH_COMMAND,
        )
    files = _VendorFiles(directory=VENDOR_DIR, check_dir=False)
    return Mount(STATIC_PREFIX, app=files, name="graphiql-static")
