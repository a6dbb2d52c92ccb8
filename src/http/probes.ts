/** `GET /health`, `GET /ready` and `GET /metrics`, served by the web process and by lone workers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** What the probes look at. */
export interface ProbeSources {
  /** Resolves with the reasons the process is not ready; empty when it is. */
  notReadyReasons(): Promise<string[]>;
  registry: Registry;
}

/** A route as Bolt's `customRoutes` takes it. */
export interface ProbeRoute {
  path: string;
  method: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** The three probe routes. */
export function probeRoutes(sources: ProbeSources): ProbeRoute[] {
  return [
    {
      path: '/health',
      method: 'GET',
      handler: (_req, res) => send(res, 200, 'application/json', JSON.stringify({ status: 'ok' })),
    },
    {
      path: '/ready',
      method: 'GET',
      handler: (_req, res) => {
        sources.notReadyReasons().then(
          (reasons) =>
            reasons.length === 0
              ? send(res, 200, 'application/json', JSON.stringify({ status: 'ready' }))
              : send(res, 503, 'application/json', JSON.stringify({ status: 'not ready', reasons })),
          (err: unknown) =>
            send(
              res,
              503,
              'application/json',
              JSON.stringify({ status: 'not ready', reasons: [String(err)] }),
            ),
        );
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: (_req, res) => {
        sources.registry.metrics().then(
          (text) => send(res, 200, sources.registry.contentType, text),
          (err: unknown) => send(res, 500, 'text/plain', String(err)),
        );
      },
    },
  ];
}

/** A bare HTTP server with only the probe routes (for `capstan worker`). */
export async function startProbeServer(sources: ProbeSources, port: number, host: string): Promise<Server> {
  const routes = probeRoutes(sources);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes.find((r) => r.path === path && r.method === req.method);
    if (route) route.handler(req, res);
    else send(res, 404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
