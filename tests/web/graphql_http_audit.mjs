// Runs the `graphql-http` package's server audits against a live gql_server and prints
// one JSON array: [{id, name, status, reason}], status being ok, notice, warn, error or
// fatal (the audit threw instead of failing an assertion).
//
//   node graphql_http_audit.mjs <node_modules prefix> <graphql url> <api key>
//
// The audits know nothing of authentication, so every request they send gets the key.
// They run one after another, each request bounded by a timeout.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [prefix, url, apiKey] = process.argv.slice(2);
const { serverAudits } = createRequire(join(prefix, 'package.json'))('graphql-http');
const REQUEST_TIMEOUT_MS = 10000;

function fetchWithKey(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('x-api-key', apiKey);
  return fetch(input, {
    ...init,
    headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

const results = [];
for (const { id, name, fn } of serverAudits({ url, fetchFn: fetchWithKey })) {
  try {
    const result = await fn();
    results.push({ id, name, status: result.status, reason: result.reason ?? null });
  } catch (error) {
    results.push({ id, name, status: 'fatal', reason: String(error) });
  }
}
process.stdout.write(JSON.stringify(results));
