import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TEST_INTERNAL_SECRET } from "@hub/devkit";
import { jwtVerify } from "jose";

/** One POST the push endpoint received, with whether its bearer token was a valid push service token. */
export interface ReceivedPush {
  body: Record<string, unknown>;
  authorized: boolean;
}

/** What the endpoint does with a push: answer with a status, hang (never answer), or reset the connection. */
export type PushAnswer = number | "hang" | "reset";

/** A local node:http server standing in for the backend's push endpoint. */
export interface PushEndpoint {
  url: string;
  /** Every push received, in order. */
  readonly received: ReceivedPush[];
  /** Decides each answer (default 200); `count` is how many pushes of that event id and user came before. */
  answer: (body: Record<string, unknown>, count: number) => PushAnswer;
  /** The pushes to one user. */
  to(userId: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startPushEndpoint(): Promise<PushEndpoint> {
  const secret = new TextEncoder().encode(TEST_INTERNAL_SECRET);
  const hanging = new Set<ServerResponse>();
  const endpoint: PushEndpoint = {
    url: "",
    received: [],
    answer: () => 200,
    to: (userId) => endpoint.received.filter((p) => p.body.user_id === userId).map((p) => p.body),
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const authorized = await jwtVerify(token, secret, { audience: "hub-push", subject: "hub" }).then(
      () => true,
      () => false,
    );
    const count = endpoint.received.filter((p) => p.body.id === body.id && p.body.user_id === body.user_id).length;
    endpoint.received.push({ body, authorized });
    const answer = endpoint.answer(body, count);
    if (answer === "hang") hanging.add(res);
    else if (answer === "reset") req.socket.destroy();
    else res.writeHead(answer).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
  return endpoint;
}
