// The gateway WebSocket: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with
// replay of missed events (INVALID_SESSION for sessions it does not know), and dispatches filtered by intents
// the way Discord filters them (MESSAGE_CONTENT blanks other users' message bodies).
import type { IncomingMessage, Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { Intent, type Core, type Dispatch } from './core.js';
import { guildCreateJson, memberJson, userJson } from './model.js';
import { DelayedStream } from './latency.js';

const Op = { Dispatch: 0, Heartbeat: 1, Identify: 2, PresenceUpdate: 3, VoiceStateUpdate: 4, Resume: 6, Reconnect: 7, RequestGuildMembers: 8, InvalidSession: 9, Hello: 10, HeartbeatAck: 11 } as const;
const Close = { UnknownOpcode: 4001, DecodeError: 4002, NotAuthenticated: 4003, AuthenticationFailed: 4004, AlreadyAuthenticated: 4005, InvalidApiVersion: 4012, InvalidIntents: 4013, DisallowedIntents: 4014 } as const;
const PRIVILEGED = { GuildMembers: Intent.GuildMembers, GuildPresences: Intent.GuildPresences, MessageContent: Intent.MessageContent } as const;

/** A gateway session outlives its connection, so a client can RESUME and get what it missed. */
interface Session {
  id: string;
  intents: number;
  seq: number;
  /** Sent dispatches, kept for replay on RESUME. */
  backlog: { s: number; payload: unknown }[];
  connection: Connection | null;
}

interface Connection {
  socket: WebSocket;
  session: Session | null;
  send(payload: unknown): void;
  /** Each direction is delayed by the fake's latency. */
  outgoing: DelayedStream;
  incoming: DelayedStream;
}

const BACKLOG_LIMIT = 1_000;

export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  private readonly onDispatch = (dispatch: Dispatch): void => this.broadcast(dispatch);

  constructor(private readonly core: Core, server: Server) {
    server.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    });
    core.bus.on('dispatch', this.onDispatch);
  }

  /** Connections with an identified or resumed session (a logged-in client has one). */
  get connected(): number {
    return [...this.connections].filter((c) => c.session !== null).length;
  }

  /**
   * Closes every connection with `code` (default 4000, which discord.js answers with RESUME).
   * With `invalidateSessions` the sessions are forgotten, so RESUME gets INVALID_SESSION.
   */
  disconnect(code = 4000, invalidateSessions = false): void {
    if (invalidateSessions) this.sessions.clear();
    for (const connection of this.connections) connection.socket.close(code, 'fake Discord disconnect');
  }

  close(): void {
    this.core.bus.off('dispatch', this.onDispatch);
    for (const connection of this.connections) connection.socket.terminate();
    this.connections.clear();
    this.sessions.clear();
    this.wss.close();
  }

  private accept(socket: WebSocket, req: IncomingMessage): void {
    const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    const latency = () => this.core.latencyMs;
    const outgoing = new DelayedStream(latency);
    const rawSend = makeSender(socket, query.get('compress'));
    const connection: Connection = { socket, session: null, send: (payload) => outgoing.push(() => rawSend(payload)), outgoing, incoming: new DelayedStream(latency) };
    this.connections.add(connection);
    const detach = (code?: number): void => {
      connection.outgoing.close();
      connection.incoming.close();
      this.connections.delete(connection);
      const session = connection.session;
      if (!session) return;
      session.connection = null;
      // A clean close (1000/1001) ends the session on Discord; anything else can be resumed.
      if (code === 1000 || code === 1001) this.sessions.delete(session.id);
    };
    socket.on('close', (code) => detach(code));
    socket.on('error', () => detach());
    if (query.get('v') !== '10') return socket.close(Close.InvalidApiVersion, 'Invalid API version');
    if (query.get('encoding') !== 'json') return socket.close(Close.DecodeError, 'Only encoding=json is supported by the fake');
    socket.on('message', (data) => connection.incoming.push(() => this.receive(connection, data)));
    connection.send({ op: Op.Hello, d: { heartbeat_interval: this.core.options.heartbeatIntervalMs ?? 41_250, _trace: ['["fake-gateway",{"micros":0}]'] }, s: null, t: null });
  }

  private receive(connection: Connection, data: RawData): void {
    let payload: { op?: number; d?: any };
    try {
      payload = JSON.parse(data.toString());
    } catch {
      return connection.socket.close(Close.DecodeError, 'Decode error');
    }
    switch (payload.op) {
      case Op.Heartbeat:
        return connection.send({ op: Op.HeartbeatAck, d: null, s: null, t: null });
      case Op.Identify:
        return this.identify(connection, payload.d ?? {});
      case Op.Resume:
        return this.resume(connection, payload.d ?? {});
      case Op.PresenceUpdate:
      case Op.VoiceStateUpdate:
        if (connection.session === null) return connection.socket.close(Close.NotAuthenticated, 'Not authenticated');
        return;
      case Op.RequestGuildMembers:
        if (connection.session === null) return connection.socket.close(Close.NotAuthenticated, 'Not authenticated');
        return this.sendMemberChunk(connection.session, payload.d ?? {});
      default:
        return connection.socket.close(Close.UnknownOpcode, 'Unknown opcode');
    }
  }

  /** RESUME: replay what the session missed, then RESUMED; an unknown session gets INVALID_SESSION. */
  private resume(connection: Connection, d: { token?: string; session_id?: string; seq?: number }): void {
    if (connection.session !== null) return connection.socket.close(Close.AlreadyAuthenticated, 'Already authenticated');
    const session = this.sessions.get(String(d.session_id));
    const token = String(d.token ?? '').replace(/^Bot /, '');
    if (!session || token !== this.core.token || session.connection !== null) {
      return connection.send({ op: Op.InvalidSession, d: false, s: null, t: null });
    }
    const from = typeof d.seq === 'number' ? d.seq : 0;
    if (session.backlog.length && session.backlog[0]!.s > from + 1) {
      return connection.send({ op: Op.InvalidSession, d: false, s: null, t: null }); // missed more than we kept
    }
    session.connection = connection;
    connection.session = session;
    for (const entry of session.backlog) if (entry.s > from) connection.send(entry.payload);
    this.send(session, 'RESUMED', {});
    this.core.events.record('gateway.resumed', session.id, { replayed: session.backlog.filter((e) => e.s > from).length });
  }

  private identify(connection: Connection, d: { token?: string; intents?: unknown }): void {
    const socket = connection.socket;
    if (connection.session !== null) return socket.close(Close.AlreadyAuthenticated, 'Already authenticated');
    const token = String(d.token ?? '').replace(/^Bot /, '');
    if (token !== this.core.token) return socket.close(Close.AuthenticationFailed, 'Authentication failed');
    if (typeof d.intents !== 'number' || d.intents < 0 || d.intents >= 2 ** 26) return socket.close(Close.InvalidIntents, 'Invalid intent(s)');
    const enabled = this.core.options.privilegedIntents ?? ['GuildMembers', 'GuildPresences', 'MessageContent'];
    for (const [name, bit] of Object.entries(PRIVILEGED)) {
      if (d.intents & bit && !enabled.includes(name as keyof typeof PRIVILEGED)) {
        return socket.close(Close.DisallowedIntents, 'Disallowed intent(s)');
      }
    }
    const session: Session = { id: randomBytes(16).toString('hex'), intents: d.intents, seq: 0, backlog: [], connection };
    connection.session = session;
    this.sessions.set(session.id, session);
    const core = this.core;
    const guilds = [...core.model.guilds.values()];
    this.send(session, 'READY', {
      v: 10,
      user: { ...userJson(core.bot), verified: true, mfa_enabled: false, flags: 0 },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: core.baseUrl.replace(/^http/, 'ws'),
      shard: [0, 1],
      application: { id: core.applicationId, flags: (1 << 19) | (1 << 15) },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      auth: {},
    });
    if (session.intents & Intent.Guilds) {
      const presences = (session.intents & Intent.GuildPresences) !== 0;
      for (const guild of guilds) this.send(session, 'GUILD_CREATE', guildCreateJson(core.model, guild, core.bot.id, presences));
    }
    core.events.record('gateway.ready', session.id, { intents: session.intents });
  }

  private sendMemberChunk(session: Session, d: { guild_id?: string; query?: string; limit?: number; user_ids?: string[] | string; nonce?: string }): void {
    const guild = this.core.model.guilds.get(String(d.guild_id));
    if (!guild) return;
    const ids = d.user_ids === undefined ? undefined : [d.user_ids].flat();
    const members = [...guild.members.values()].filter((m) => {
      if (ids) return ids.includes(m.userId);
      return this.core.model.user(m.userId).username.startsWith(d.query ?? '');
    });
    const limited = d.limit ? members.slice(0, d.limit) : members;
    this.send(session, 'GUILD_MEMBERS_CHUNK', {
      guild_id: guild.id, members: limited.map((m) => memberJson(this.core.model, m)), chunk_index: 0, chunk_count: 1,
      ...(ids ? { not_found: ids.filter((id) => !guild.members.has(id)) } : {}), ...(d.nonce ? { nonce: d.nonce } : {}),
    });
  }

  private broadcast(dispatch: Dispatch): void {
    for (const session of this.sessions.values()) {
      if (dispatch.intent !== undefined && !(session.intents & dispatch.intent)) continue;
      this.send(session, dispatch.t, this.withoutContentIfNotAllowed(session, dispatch));
    }
  }

  /** Without MESSAGE_CONTENT a bot sees the body only of its own messages, DMs and mentions. */
  private withoutContentIfNotAllowed(session: Session, dispatch: Dispatch): Record<string, unknown> {
    if (dispatch.messageAuthorId === undefined || session.intents & Intent.MessageContent) return dispatch.d;
    if (dispatch.messageAuthorId === this.core.bot.id) return dispatch.d;
    const mentions = dispatch.d.mentions as { id: string }[] | undefined;
    if (mentions?.some((u) => u.id === this.core.bot.id)) return dispatch.d;
    return { ...dispatch.d, content: '', embeds: [], attachments: [], components: [] };
  }

  /** Numbers the dispatch, keeps it for RESUME, and sends it if the session is connected. */
  private send(session: Session, t: string, d: unknown): void {
    const payload = { op: Op.Dispatch, t, s: ++session.seq, d };
    session.backlog.push({ s: payload.s, payload });
    if (session.backlog.length > BACKLOG_LIMIT) session.backlog.shift();
    session.connection?.send(payload);
  }
}

/** Plain JSON text frames, or one zlib stream flushed per payload when the client asked for zlib-stream. */
function makeSender(socket: WebSocket, compress: string | null): (payload: unknown) => void {
  if (compress !== 'zlib-stream') {
    return (payload) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
    };
  }
  const deflate = zlib.createDeflate();
  const chunks: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  let queue = Promise.resolve();
  return (payload) => {
    queue = queue.then(() => new Promise<void>((resolve) => {
      deflate.write(JSON.stringify(payload));
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const frame = Buffer.concat(chunks.splice(0));
        if (socket.readyState === socket.OPEN) socket.send(frame);
        resolve();
      });
    }));
  };
}
