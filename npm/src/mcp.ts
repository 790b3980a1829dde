/**
 * An MCP server for one room: the room's tools ({@link ROOM_TOOLS}, the same ones an
 * agent loop uses), and the room's documents and shared context as resources. Used by
 * `confab mcp`; needs the `@modelcontextprotocol/sdk` package (an optional peer).
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  isInitializeRequest,
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ConfabError, toConfabError } from "./errors.js";
import type { Room } from "./room.js";
import { ROOM_TOOLS, ToolSession } from "./tools.js";

/** The package's version, as the server reports it. */
const VERSION = "0.1.0";

/** An MCP server over `room`, not yet connected to a transport. */
export function roomMcpServer(room: Room): Server {
  const server = new Server(
    { name: "confab-room", version: VERSION },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        "Tools for one live Confab room shared with people and other agents. Read a document before writing it and pass the read's `base`, or take a lease with acquire_lock and pass its `fence`: a change someone made meanwhile is then never overwritten.",
    },
  );
  const session = new ToolSession();
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: ROOM_TOOLS.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const tool = ROOM_TOOLS.find((t) => t.name === request.params.name);
    try {
      if (!tool) throw new ConfabError("not_found", `no tool \`${request.params.name}\`; the room's tools are ${ROOM_TOOLS.map((t) => t.name).join(", ")}`);
      const result = await tool.run(room, request.params.arguments ?? {}, session);
      return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: result as Record<string, unknown> };
    } catch (err) {
      // A refusal is the tool's answer, with its code and reason: never lost, never a crash.
      const e = toConfabError(err);
      return { isError: true, content: [{ type: "text", text: `${e.code}: ${e.message}` }] };
    }
  });
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: [
      ...room.docs.list().map((d) => ({
        uri: `confab://document/${encodeURIComponent(d.id)}`,
        name: d.title,
        description: `The shared document ${d.id}`,
        mimeType: "text/plain",
      })),
      { uri: "confab://context", name: "Shared AI context", description: "The room's accepted and proposed context entries", mimeType: "application/json" },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    if (uri === "confab://context") {
      return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(room.context.shared()) }] };
    }
    const doc = /^confab:\/\/document\/(.+)$/.exec(uri);
    const id = doc ? decodeURIComponent(doc[1]!) : undefined;
    if (id === undefined || !room.docs.list().some((d) => d.id === id)) {
      throw new ConfabError("not_found", `no resource ${uri}`);
    }
    return { contents: [{ uri, mimeType: "text/plain", text: room.docs.text(id) }] };
  });
  return server;
}

/** Serve `room`'s tools over `transport` (for example the SDK's stdio transport). */
export async function serveRoom(room: Room, transport: Transport): Promise<Server> {
  const server = roomMcpServer(room);
  await server.connect(transport);
  return server;
}

/**
 * Serve `room`'s tools over MCP's Streamable HTTP at `http://127.0.0.1:<port>/mcp`, one
 * MCP session per client (each with its own server, all on the same room). Only
 * 127.0.0.1 listens, and requests naming another host are refused (DNS rebinding).
 * Resolves with the listening server and the port (pass 0 for a free one).
 */
export async function serveRoomHttp(room: Room, port: number): Promise<{ server: HttpServer; port: number }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let hosts: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      if (new URL(req.url ?? "/", "http://127.0.0.1").pathname !== "/mcp") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: MCP is served at /mcp\n");
        return;
      }
      let body: unknown;
      if (req.method === "POST") {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          res.writeHead(400, { "content-type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32700, message: "the request body is not JSON" }, id: null }));
          return;
        }
      }
      const id = req.headers["mcp-session-id"];
      let transport = typeof id === "string" ? sessions.get(id) : undefined;
      if (!transport) {
        if (req.method !== "POST" || !isInitializeRequest(body)) {
          res.writeHead(typeof id === "string" ? 404 : 400, { "content-type": "application/json" });
          const message = typeof id === "string" ? `no MCP session ${id} (it ended, or the server restarted)` : "start with an initialize request";
          res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => void sessions.set(sid, created),
          enableDnsRebindingProtection: true,
          allowedHosts: hosts,
        });
        created.onclose = () => {
          if (created.sessionId) sessions.delete(created.sessionId);
        };
        await roomMcpServer(room).connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`internal error: ${toConfabError(err).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  hosts = [`127.0.0.1:${bound}`, `localhost:${bound}`];
  return { server, port: bound };
}
