import type { CallEvents, CallMediaKind, PayloadOf, ReplyOf } from "@hub/events";
import { uuidv7 } from "@hub/events";
import { type AnyListener, addListener, callEach, OwnTopic, type OwnTopicTransport } from "./own-topic.js";
import type { Retrier } from "./retrier.js";

/** The listener names of `hub.calls.on`, and the event of the user's `webrtc:` topic each one is. */
const CALL_EVENTS = {
  incoming: "call:incoming",
  answered: "call:answered",
  rejected: "call:rejected",
  ended: "call:ended",
  missed: "call:missed",
  busy: "call:busy",
  offer: "webrtc:offer",
  answer: "webrtc:answer",
  "ice-candidate": "webrtc:ice-candidate",
  "toggle-audio": "call:toggle-audio",
  "toggle-video": "call:toggle-video",
} as const satisfies Record<string, keyof CallEvents>;

const NAME_OF = new Map<string, CallEventName>(Object.entries(CALL_EVENTS).map(([name, event]) => [event, name as CallEventName]));

/** What `hub.calls.on` listens to: `incoming`, `answered`, ..., `offer`, `ice-candidate`, `toggle-audio`. */
export type CallEventName = keyof typeof CALL_EVENTS;

/** The envelope of a call event, e.g. `Envelope<{ call_id; from; media }>` for `incoming`. */
export type CallEnvelopeOf<K extends CallEventName> = Parameters<CallEvents[(typeof CALL_EVENTS)[K]]>[0];

/** A listener of `hub.calls.on(event, ...)`: the event's data (always with `call_id`), then its envelope. */
export type CallListener<K extends CallEventName> = (data: CallEnvelopeOf<K>["data"], envelope: CallEnvelopeOf<K>) => void;

export interface InitiateOptions {
  media: CallMediaKind;
  /** The call's id; every retry of this `initiate` sends it, so the hub rings once. @default a fresh UUIDv7 */
  callId?: string;
}

/** What `hub.calls.initiate` resolves with. */
export interface CallStarted {
  callId: string;
  /** The callee was on another call: nothing rang (`busy` listeners hear it too). */
  busy: boolean;
}

/**
 * One-to-one calls (`hub.calls`): the call requests, WebRTC signalling relayed by the hub to the
 * other party only, and listeners on the user's own `webrtc:{user_id}` topic, which the SDK
 * subscribes to while any listener is registered (and again after every reconnect, replaying what
 * was missed). Failures reject with a `HubError` (`call_in_progress`, `forbidden`, `not_found`, ...).
 *
 * @example
 * const pc = new RTCPeerConnection();
 * hub.calls.on("incoming", ({ call_id, from }) => confirm(`${from} calls`) ? hub.calls.answer(call_id) : hub.calls.reject(call_id));
 * hub.calls.on("answer", ({ sdp }) => pc.setRemoteDescription(sdp as RTCSessionDescriptionInit));
 * hub.calls.on("ice-candidate", ({ candidate }) => pc.addIceCandidate(candidate as RTCIceCandidateInit));
 * const { callId } = await hub.calls.initiate("bob", { media: "video" });
 * pc.onicecandidate = (e) => e.candidate && hub.calls.signal.iceCandidate(callId, e.candidate.toJSON());
 */
export interface HubCalls {
  /** Rings `to` (of your org). Transient failures are retried with the same call id until `publishTimeoutMs`. */
  initiate(to: string, options: InitiateOptions): Promise<CallStarted>;
  /** The callee answers a ringing call: both parties hear `answered`. */
  answer(callId: string): Promise<void>;
  /** The callee declines a ringing call: both parties hear `rejected`. */
  reject(callId: string): Promise<void>;
  /** Either party hangs up (ringing or active): both hear `ended`. */
  end(callId: string): Promise<void>;
  /** The other party hears `toggle-audio`. */
  toggleAudio(callId: string, enabled: boolean): Promise<void>;
  /** The other party hears `toggle-video`. */
  toggleVideo(callId: string, enabled: boolean): Promise<void>;
  /** WebRTC signalling, relayed in order to the other party (who hears `offer`, `answer`, `ice-candidate`). */
  readonly signal: {
    offer(callId: string, sdp: unknown): Promise<void>;
    answer(callId: string, sdp: unknown): Promise<void>;
    iceCandidate(callId: string, candidate: unknown): Promise<void>;
  };
  /** Listens to an event of your calls; returns the function that stops listening. */
  on<K extends CallEventName>(event: K, listener: CallListener<K>): () => void;
}

type CallRequestName =
  | "call:initiate"
  | "call:answer"
  | "call:reject"
  | "call:end"
  | "call:toggle-audio"
  | "call:toggle-video"
  | SignalName;
type SignalName = "webrtc:offer" | "webrtc:answer" | "webrtc:ice-candidate";

export interface CallsTransport extends OwnTopicTransport {
  request<E extends CallRequestName>(event: E, payload: PayloadOf<E>): Promise<ReplyOf<E>>;
}

/** {@link HubCalls} over the connection's requests and subscriptions. */
export class Calls implements HubCalls {
  readonly #transport: CallsTransport;
  readonly #retrier: Retrier;
  readonly #listeners = new Map<CallEventName, Set<AnyListener>>();
  readonly #topic: OwnTopic;

  readonly signal = {
    offer: (callId: string, sdp: unknown) => this.#send("webrtc:offer", { call_id: callId, sdp }),
    answer: (callId: string, sdp: unknown) => this.#send("webrtc:answer", { call_id: callId, sdp }),
    iceCandidate: (callId: string, candidate: unknown) => this.#send("webrtc:ice-candidate", { call_id: callId, candidate }),
  };

  constructor(transport: CallsTransport, retrier: Retrier) {
    this.#transport = transport;
    this.#retrier = retrier;
    this.#topic = new OwnTopic("webrtc", transport, (event, envelope) => {
      const name = NAME_OF.get(event);
      if (name) callEach(this.#listeners.get(name), envelope.data, envelope);
    });
  }

  async initiate(to: string, { media, callId = uuidv7() }: InitiateOptions): Promise<CallStarted> {
    const ok = await this.#retrier.run(() => this.#transport.request("call:initiate", { to, media, call_id: callId }));
    return { callId: ok.call_id, busy: ok.busy === true };
  }

  answer = (callId: string) => this.#send("call:answer", { call_id: callId });
  reject = (callId: string) => this.#send("call:reject", { call_id: callId });
  end = (callId: string) => this.#send("call:end", { call_id: callId });
  toggleAudio = (callId: string, enabled: boolean) => this.#send("call:toggle-audio", { call_id: callId, enabled });
  toggleVideo = (callId: string, enabled: boolean) => this.#send("call:toggle-video", { call_id: callId, enabled });

  on<K extends CallEventName>(event: K, listener: CallListener<K>): () => void {
    return addListener(this.#listeners, event, listener as AnyListener, this.#topic.want());
  }

  /** Connected: subscribes the user's topic if it waited for the user id. */
  online(): void {
    this.#topic.online();
  }

  close(): void {
    this.#topic.close();
    this.#listeners.clear();
  }

  async #send<E extends Exclude<CallRequestName, "call:initiate">>(event: E, payload: PayloadOf<E>): Promise<void> {
    await this.#transport.request(event, payload);
  }
}
