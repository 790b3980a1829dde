/**
 * An MCP server for one room: the room's tools ({@link ROOM_TOOLS}, the same ones an
 * agent loop uses), and the room's documents and shared context as resources. Used by
 * `confab mcp`; needs the `@modelcontextprotocol/sdk` package (an optional peer).
 *
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
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
