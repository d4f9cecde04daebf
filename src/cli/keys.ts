// `npm run cli -- keys create|list|revoke`: API keys, written and read through db/api-keys.ts.
import { createApiKey, findApiKey, listApiKeys, revokeApiKey, type Role, roleRank } from '../db/api-keys';
import { CliError, Parsed, UUID, UsageError, allowOnly, iso, noExtraArgs, out, table, withDatabase } from './common';

export const ROLES = Object.keys(roleRank) as Role[];

function parseRole(value: string | undefined): Role {
  if (value === undefined) throw new UsageError(`--role is required (one of ${ROLES.join(', ')})`);
  if (!(ROLES as string[]).includes(value)) throw new UsageError(`unknown role "${value}" (expected one of ${ROLES.join(', ')})`);
  return value as Role;
}

function parseName(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--name is required (who or what will use the key)');
  const name = value.trim();
  if (!name) throw new UsageError('--name must not be empty');
  if (name.length > 100) throw new UsageError('--name must be at most 100 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new UsageError('--name must not contain control characters');
  return name;
}

async function keysCreate(p: Parsed, rest: string[]) {
  allowOnly(p, 'keys create', ['role', 'name', 'json']);
  noExtraArgs(rest, 'keys create');
  const role = parseRole(p.values.role);
  const name = parseName(p.values.name);
  const created = await withDatabase((ds) => createApiKey(ds, name, role));
  if (p.values.json) {
    out(JSON.stringify({ id: created.id, name: created.name, role: created.role, key: created.key }));
    return;
  }
  out(`created ${created.role} key "${created.name}"`);
  out(`id:  ${created.id}`);
  out(`key: ${created.key}`);
  out('Store the key now: it is shown only once and cannot be recovered (only its hash is kept).');
}

interface KeyRow {
  id: string;
  name: string;
  role: Role;
  created_at: unknown;
  last_used_at: unknown;
  revoked_at: unknown;
}

async function keysList(p: Parsed, rest: string[]) {
  allowOnly(p, 'keys list', ['json']);
  noExtraArgs(rest, 'keys list');
  const rows: KeyRow[] = await withDatabase(listApiKeys);
  // Only these columns leave the database; listApiKeys never selects key_hash, and neither do we print it.
  const keys = rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: iso(r.created_at),
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
    status: r.revoked_at ? 'revoked' : 'active',
  }));
  if (p.values.json) {
    out(JSON.stringify(keys, null, 2));
    return;
  }
  if (keys.length === 0) {
    out('no API keys');
    return;
  }
  out(
    table(
      ['ID', 'NAME', 'ROLE', 'STATUS', 'CREATED', 'LAST USED', 'REVOKED'],
      keys.map((k) => [k.id, k.name, k.role, k.status, k.createdAt ?? '-', k.lastUsedAt ?? '-', k.revokedAt ?? '-']),
    ),
  );
}

async function keysRevoke(p: Parsed, rest: string[]) {
  allowOnly(p, 'keys revoke', []);
  const [id, ...extra] = rest;
  if (id === undefined) throw new UsageError('keys revoke needs the id of the key (see `keys list`)');
  noExtraArgs(extra, 'keys revoke');
  if (!UUID.test(id)) throw new UsageError(`"${id}" is not a key id (a UUID, as \`keys list\` shows)`);
  await withDatabase(async (ds) => {
    const found = await findApiKey(ds, id);
    if (!found) throw new CliError(`no API key with id ${id}`);
    if (await revokeApiKey(ds, id)) {
      out(`revoked ${found.role} key "${found.name}" (${id})`);
    } else {
      out(`key "${found.name}" (${id}) was already revoked at ${iso(found.revoked_at)}`);
    }
  });
}

export async function keysCommand(p: Parsed, rest: string[]): Promise<void> {
  const [sub, ...args] = rest;
  if (sub === 'create') await keysCreate(p, args);
  else if (sub === 'list') await keysList(p, args);
  else if (sub === 'revoke') await keysRevoke(p, args);
  else if (sub === undefined) throw new UsageError('missing keys command (create, list, revoke)');
  else throw new UsageError(`unknown keys command "${sub}" (expected create, list or revoke)`);
}
