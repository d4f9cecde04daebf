import type { Role } from '../../src/db/api-keys';
import type { TestApp } from './harness';

export interface RouteInfo {
  method: string;
  path: string;
  role?: Role;
}

/** Every route of the running app, with the role its requireRole middleware demands. */
export function discoverRoutes(app: TestApp): RouteInfo[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const express = app.abono.server!.listeners('request')[0] as any;
  const out: RouteInfo[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const role = layer.route.stack.map((l: { handle: { requiredRole?: Role } }) => l.handle.requiredRole).find(Boolean);
        const paths: unknown[] = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const m of Object.keys(layer.route.methods)) for (const p of paths) if (typeof p === 'string') out.push({ method: m.toUpperCase(), path: p, role });
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(express.router.stack);
  return out;
}
