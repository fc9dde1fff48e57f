// The node-host's JSON-RPC methods (see api-types.ts): one implementation shared by the CLI's
// local socket and the VS Code extension's stdio channel.

import { JSONRPCErrorException } from "json-rpc-2.0";
import { Api, ApiMethod, ContactInfo, LookupHop, MemoryInfo, ValueRecordInfo } from "./api-types";
import { RpcErrors } from "./api-types";
import { PeershareNode, VERSION } from "../node";
import { isHexId, keyFromText, nodeIdFromPublicKey, toHex, xorDistance, Id } from "../dht/id";
import { TableEntry } from "../dht/routing-table";
import { ValueRecord } from "../dht/messages";
import { valueKey } from "../dht/records";
import { LookupOutcome } from "../dht/lookup";
import { isSettingName, SETTINGS } from "../config";
import { parseShareLink } from "../cas";
import { MAX_REPLICATION } from "../replication/factors";
import { contentStatus } from "../replication/status";
import { inviteHints } from "../security/team-cert";
import { blake3Implementation } from "../cas/object-hash";
import { clockProblem } from "../transport/clock-offset";
import { heapAfterGc } from "../platform/heap-after-gc";

export type ApiHandlers = { [M in ApiMethod]: (params: Api[M][0]) => Promise<Api[M][1]> | Api[M][1] };

function memoryInfo(): MemoryInfo {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers, heapAfterGcBytes: heapAfterGc() };
}

function invalid(message: string): never {
  throw new JSONRPCErrorException(message, RpcErrors.InvalidArgument);
}

function stringParam(params: unknown, name: string): string {
  const v = (params as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== "string" || v.length === 0) invalid(`"${name}" must be a non-empty string`);
  return v;
}

/** The content ID of a share link or bare ID; a bad one is an invalid-argument error. */
function contentIdParam(link: string): string {
  try {
    return parseShareLink(link).contentId;
  } catch (err) {
    invalid((err as Error).message);
  }
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value !== undefined && typeof value !== "string") invalid(`"${name}" must be a string`);
  return value as string | undefined;
}

function keyParam(params: unknown): Id {
  return keyFromText(stringParam(params, "key"));
}

function entryInfo(e: TableEntry, failuresBeforeOffline: number): ContactInfo {
  return {
    id: toHex(e.contact.id),
    host: e.contact.host,
    port: e.contact.port,
    lastSeen: e.lastSeen,
    rttMs: e.rttMs === null ? null : Math.round(e.rttMs * 100) / 100,
    state: e.failures === 0 ? "online" : e.failures >= failuresBeforeOffline ? "offline" : "suspect",
    failures: e.failures,
  };
}

/** Valid UTF-8 without control characters other than tab and line breaks. */
function isUtf8Text(b: Buffer): boolean {
  const s = b.toString("utf8");
  if (!Buffer.from(s, "utf8").equals(b)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

function recordInfo(r: ValueRecord): ValueRecordInfo {
  const text = isUtf8Text(r.value);
  return {
    key: toHex(valueKey(r.publisher, r.name)),
    publisher: toHex(nodeIdFromPublicKey(r.publisher)),
    name: r.name,
    value: text ? r.value.toString("utf8") : r.value.toString("base64"),
    encoding: text ? "utf8" : "base64",
    seq: r.seq,
    expires: r.expires,
  };
}

function hops(lookup: LookupOutcome | null, key: Id): LookupHop[] {
  if (!lookup) return [];
  return lookup.queried.map((q) => ({
    id: toHex(q.contact.id),
    host: q.contact.host,
    port: q.contact.port,
    distance: toHex(xorDistance(q.contact.id, key)),
    hop: q.hop,
    rttMs: q.rttMs === null ? null : Math.round(q.rttMs * 100) / 100,
    ok: q.ok,
    pending: q.pending,
  }));
}

export function createApi(node: PeershareNode, requestStop: () => void): ApiHandlers {
  const dht = node.dht;
  const misses = () => node.config.offlineAfterMisses;
  const contactInfo = (id: Id): ContactInfo | undefined => {
    const e = dht.table.get(id);
    return e ? entryInfo(e, misses()) : undefined;
  };
  const bareContact = (c: { id: Id; host: string; port: number }): ContactInfo => contactInfo(c.id) ?? { id: toHex(c.id), host: c.host, port: c.port, lastSeen: 0, rttMs: null, state: "online", failures: 0 };

  return {
    "node.info": () => ({
      id: toHex(node.identity.id),
      publicKey: node.identity.publicKey.toString("hex"),
      host: node.transport.local.host,
      port: node.transport.local.port,
      dataDir: node.dataDir,
      version: VERSION,
      pid: process.pid,
      startedAt: node.startedAt,
      peers: dht.table.size,
      keyStore: { kind: node.keys.kind, location: node.keys.location },
      native: { webrtc: node.bulk.webrtc, blake3: blake3Implementation() },
      nat: node.nat.status(),
      memory: memoryInfo(),
      clock: { ...node.transport.clock.status(), problem: clockProblem(node.transport.clock.status()) },
      mainline: node.mainlineStatus(),
      stats: {
        ...node.transport.stats,
        values: dht.records.valueCount,
        providers: dht.records.providerCount,
        tlsBytesIn: node.bulk.stats.tls.bytesIn,
        tlsBytesOut: node.bulk.stats.tls.bytesOut,
        webrtcBytesIn: node.bulk.stats.webrtc.bytesIn,
        webrtcBytesOut: node.bulk.stats.webrtc.bytesOut,
        bulkRequestsServed: node.bulk.stats.requestsServed,
        bulkProtocolErrors: node.bulk.stats.protocolErrors,
        bulkHandshakeFailures: node.bulk.stats.handshakeFailures,
        // LAN discovery's counters (lanSent, lanAccepted, lanDroppedStale, …), while it runs
        ...Object.fromEntries(Object.entries(node.lanDiscovery?.stats ?? {}).map(([k, v]) => [`lan${k[0].toUpperCase()}${k.slice(1)}`, v])),
      },
    }),

    "node.stop": () => {
      setImmediate(requestStop);
      return { stopping: true };
    },

    "dht.peers": () => {
      const onLan = (c: ContactInfo): ContactInfo => (node.lanDiscovery?.foundOnLan(c.id) ? { ...c, via: "lan" } : c);
      const withRoute = (c: ContactInfo): ContactInfo => {
        const route = node.bulk.client.routeOf?.(Buffer.from(c.id, "hex"));
        return route ? { ...c, route } : c;
      };
      const online = dht.table.entries().map((e) => withRoute(onLan(entryInfo(e, misses()))));
      const offline = [...dht.offline.entries()].map(([, o]): ContactInfo => ({
        id: toHex(o.contact.id),
        host: o.contact.host,
        port: o.contact.port,
        lastSeen: o.lastSeen,
        rttMs: o.rttMs,
        state: "offline",
        failures: misses(),
      }));
      return [...online, ...offline];
    },

    "dht.routing": () => ({
      self: toHex(dht.id),
      k: dht.settings.k,
      size: dht.table.size,
      buckets: dht.table.bucketsInUse().map((b) => ({
        index: b.index,
        replacements: b.replacements,
        lastRefreshed: b.lastRefreshed,
        contacts: b.entries.map((e) => ({ ...entryInfo(e, misses()), distance: toHex(xorDistance(e.contact.id, dht.id)) })),
      })),
    }),

    "dht.lookup": async (params) => {
      const key = keyParam(params);
      const started = performance.now();
      // always asks the network, so the hops are shown even when this node holds the value
      const { record, lookup } = await dht.findValue(key, { network: true });
      // no value under the key: it may be a content key, so look for providers
      const providers = record ? null : await dht.findProviders(key);
      const used = providers?.lookup ?? lookup;
      return {
        key: toHex(key),
        value: record ? recordInfo(record) : null,
        providers: (providers?.providers ?? []).map((p) => ({ id: toHex(p.provider.id), host: p.provider.host, port: p.provider.port, expires: p.expires })),
        closest: (used?.closest ?? []).map(bareContact),
        hops: used?.hops ?? 0,
        queried: hops(used, key),
        vouched: used?.vouched ?? 0,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      };
    },

    "dht.closest": async (params) => {
      const key = keyParam(params);
      const n = (params as { n?: unknown }).n ?? dht.settings.k;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 256) invalid("n must be a whole number from 1 to 256");
      const started = performance.now();
      const lookup = await dht.lookupNodes(key);
      // the lookup finds k; include this node itself, since it is part of the network too
      const self = { id: dht.id, host: node.transport.local.host, port: node.transport.local.port };
      const all = [...lookup.closest, self].sort((a, b) => Buffer.compare(xorDistance(a.id, key), xorDistance(b.id, key)));
      return {
        key: toHex(key),
        closest: all.slice(0, n).map((c) => ({ ...bareContact(c), distance: toHex(xorDistance(c.id, key)) })),
        hops: lookup.hops,
        queried: lookup.queried.length,
        vouched: lookup.vouched,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      };
    },

    "dht.put": async (params) => {
      const name = stringParam(params, "name");
      const value = (params as { value?: unknown }).value;
      if (typeof value !== "string") invalid('"value" must be a string');
      try {
        const { key, record, storedOn } = await dht.putValue(name, Buffer.from(value, "utf8"));
        return { key: toHex(key), name, storedOn, seq: record.seq, expires: record.expires };
      } catch (err) {
        if (err instanceof RangeError) invalid(err.message);
        throw err;
      }
    },

    "dht.get": async (params) => {
      const key = keyParam(params);
      const { record } = await dht.findValue(key);
      if (!record) throw new JSONRPCErrorException(`no value found under ${toHex(key)}`, RpcErrors.NotFound);
      return recordInfo(record);
    },

    "config.get": (params) => {
      const key = (params as { key?: unknown } | undefined)?.key;
      const all = node.config as unknown as Record<string, number | string | string[]>;
      if (key === undefined) return { ...all };
      if (typeof key !== "string" || !isSettingName(key)) invalid(`unknown setting "${String(key)}"; known: ${Object.keys(SETTINGS).join(", ")}`);
      return { [key]: all[key] };
    },

    "content.share": async (params) => {
      const filePath = stringParam(params, "path");
      const replication = (params as { replication?: unknown }).replication ?? node.config.replication;
      if (typeof replication !== "number" || !Number.isInteger(replication) || replication < 1 || replication > MAX_REPLICATION) invalid(`replication must be a whole number from 1 to ${MAX_REPLICATION}`);
      const teams = (params as { teams?: unknown }).teams;
      if (teams !== undefined && (!Array.isArray(teams) || !teams.every((t) => typeof t === "string"))) invalid('"teams" must be a list of team names');
      const p = params as { public?: unknown; force?: unknown; confirmed?: unknown; hints?: unknown };
      const shared = await node.content.share(filePath, { public: p.public === true, force: p.force === true, confirmed: p.confirmed === true, replication, teams: teams as string[] | undefined });
      return p.hints === false ? shared : { ...shared, link: await node.linkWithHints(shared.link) };
    },

    "content.status": async (params) => {
      const contentId = contentIdParam(stringParam(params, "link"));
      const id = Buffer.from(contentId, "hex");
      const status = await contentStatus(node.replicator, id);
      return { ...status, shortfall: status.met ? null : node.repair.shortfallOf(id), repair: node.repair.stateOf(id, node.config.repairIntervalMs) };
    },

    "content.repair": async (params) => {
      const contentId = contentIdParam(stringParam(params, "link"));
      const r = await node.repair.repairNow(Buffer.from(contentId, "hex"));
      return { contentId, ...r };
    },

    "content.fetch": (params) => {
      const out = (params as { out?: unknown }).out;
      if (out !== undefined && typeof out !== "string") invalid('"out" must be a path');
      const transferId = (params as { transferId?: unknown }).transferId;
      if (transferId !== undefined && (typeof transferId !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(transferId))) invalid('"transferId" must be 1 to 64 letters, digits, "-" or "_"');
      const cache = (params as { cache?: unknown }).cache;
      if (cache !== undefined && typeof cache !== "boolean") invalid('"cache" must be true or false');
      const filePath = optionalString((params as { path?: unknown }).path, "path");
      return node.content.fetch(stringParam(params, "link"), out, transferId, { cache: cache === true, path: filePath });
    },

    "content.info": (params) => node.content.info(stringParam(params, "link")),
    "content.link": async (params) => {
      const link = stringParam(params, "link");
      contentIdParam(link); // a bad link is an invalid argument
      return { link: await node.linkWithHints(link) };
    },
    "content.list": (params) => node.content.list(stringParam(params, "link")),
    "content.ls": () => node.content.ls(),
    "content.verify": () => node.content.verify(),
    "content.gc": () => node.content.gc(),
    "transfer.list": () => node.content.transfers.list(),
    "transfer.pause": (params) => node.content.pause(stringParam(params, "id")),
    "transfer.resume": (params) => node.content.resume(stringParam(params, "id")),
    "transfer.cancel": (params) => node.content.cancel(stringParam(params, "id")),

    "audit.list": (params) => {
      const content = optionalString((params as { content?: unknown } | undefined)?.content, "content");
      const contentId = content === undefined ? undefined : contentIdParam(content);
      const { entries: held, firstBadSeq } = node.audit.read(contentId);
      const entries = held.map(({ seq, time, contentId, node, outcome }) => ({ seq, time, contentId, node, outcome }));
      return { entries, intact: firstBadSeq === null, firstBadSeq };
    },
    "team.create": async (params) => {
      const created = await node.teams.create(stringParam(params, "name"));
      node.dht.credentialsChanged();
      node.teamsChanged();
      return created;
    },
    "team.invite": async (params) => {
      const p = params as { team?: unknown; role?: unknown; expiresInMs?: unknown; forNode?: unknown };
      const role = p.role ?? "read";
      if (role !== "read" && role !== "write") invalid('"role" is "read" or "write"');
      const ttl = p.expiresInMs;
      if (ttl !== undefined && (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 60_000 || ttl > 366 * 24 * 3600_000)) invalid("an invite expires after 1 minute to 1 year");
      const forNode = optionalString(p.forNode, "forNode");
      if (forNode !== undefined && !isHexId(forNode)) invalid('the node to invite ("forNode", on the CLI --for) is a node ID: 64 hex digits (`peershare id` on that node)');
      const hints = (params as { hints?: unknown }).hints === false ? null : await node.addressHints();
      return node.teams.invite(optionalString(p.team, "team"), role, ttl, forNode === undefined ? null : Buffer.from(forNode, "hex"), hints);
    },
    "team.join": async (params) => {
      const invite = stringParam(params, "invite");
      const joined = await node.teams.join(invite);
      await node.bulk.client.reconnect(); // peers learn the new membership from the next HELLOs
      node.dht.credentialsChanged(); // and from the next records this node stores
      node.teamsChanged(); // a new team topic for the Mainline rendezvous
      const hints = inviteHints(invite);
      const followed = hints ? await node.followInviteHints(hints) : null; // a node that knows nobody joins the network through them
      await node.tellAdmin(Buffer.from(joined.teamKey, "hex"), followed?.reached); // and the admin at once, who places copies of the team's shares
      return followed ? { ...joined, hints: followed.hints, bootstrapAdded: followed.bootstrapAdded } : joined;
    },
    "team.list": () => node.teams.summaries(),
    "team.members": (params) => node.teams.members(optionalString((params as { team?: unknown } | undefined)?.team, "team")),
    "team.revoke": async (params) => {
      const result = await node.teams.revoke(optionalString((params as { team?: unknown }).team, "team"), stringParam(params, "nodeId"));
      await node.bulk.client.reconnect(); // peers get the new revocation list with the next HELLOs
      return result;
    },

    "config.set": (params) => {
      const key = stringParam(params, "key");
      const raw = (params as { value?: unknown }).value;
      try {
        const { value, appliedLive } = node.setSetting(key, raw);
        return { key, value, appliedLive };
      } catch (err) {
        invalid((err as Error).message);
      }
    },
  };
}
