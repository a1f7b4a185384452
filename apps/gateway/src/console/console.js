// The hub's web console: sign in with a token, follow topics live, watch presence, chat in a
// conversation, drive an inhouse queue, place a call (calls.js). It runs on the @hub/client browser bundle (global
// HubClient), which resubscribes every topic from its last offset after a reconnect, so the lists
// below neither miss nor repeat events, and retries a chat message with the same id until acknowledged.
// Everything that comes from the hub or the token is rendered as text (textContent, attributes):
// nothing is ever parsed as markup.

(() => {
  /** Events kept per topic, newest first. */
  const EVENTS_PER_TOPIC = 200;
  const LOG_LINES = 50;
  /** Subscribe failures the SDK retries by itself (HubErrorCode). */
  const TRANSIENT = new Set(["timeout", "unavailable", "rate_limited", "internal"]);
  const TOKEN_KEY = "hub-console-token";
  const QUEUE_EVENTS = new Set(["queue_updated", "check_in_expired", "session_started"]);
  /** Messages kept in the chat panel, oldest first. */
  const CHAT_MESSAGES = 200;
  /** A typing:start with no typing:stop (the sender's tab closed) is forgotten after this long. */
  const TYPING_FORGET_MS = 8000;

  const $ = (id) => document.getElementById(id);

  /** An element with text-only children: strings become text nodes, never markup. */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes ?? {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    node.append(...children.filter((child) => child !== undefined && child !== null));
    return node;
  }

  const clock = (ms) => (typeof ms === "number" ? new Date(ms).toLocaleTimeString() : "?");

  function pretty(data) {
    const text = JSON.stringify(data, null, 2) ?? String(data);
    return text.length > 4000 ? `${text.slice(0, 4000)}\n... (${text.length} characters)` : text;
  }

  /** The JWT's claims, read without verifying (the hub verifies); undefined when it is not a JWT. */
  function readClaims(token) {
    const part = token.split(".")[1];
    if (!part) return undefined;
    try {
      const base64 = part
        .replace(/-/g, "+")
        .replace(/_/g, "/")
        .padEnd(Math.ceil(part.length / 4) * 4, "=");
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return claims && typeof claims === "object" ? claims : undefined;
    } catch {
      return undefined;
    }
  }

  function showNotice(text) {
    $("notice").textContent = text;
    $("notice").hidden = false;
  }

  function hideNotice() {
    $("notice").hidden = true;
  }

  function setConnection(state, detail) {
    const badge = $("connection");
    badge.dataset.state = state;
    badge.textContent = detail ? `${state}: ${detail}` : state;
  }

  /** The signed-in session; undefined when signed out. */
  let session;

  function signIn(token) {
    if (typeof HubClient === "undefined") {
      showNotice("The client bundle did not load: run `pnpm --filter @hub/client build` where the hub runs, then reload.");
      return;
    }
    const claims = readClaims(token) ?? {};
    const user = claims.org_id !== undefined && claims.org_id !== null;
    const hub = HubClient.connectHub({
      url: location.origin,
      token,
      // A console should come back quickly after a gateway restart.
      socketOptions: { reconnectionDelay: 500, reconnectionDelayMax: 3000 },
    });
    const current = {
      hub,
      claims,
      user,
      cards: new Map(),
      queues: new Map(),
      offs: [],
      countdown: undefined,
      stopQueue: undefined,
      chat: undefined,
    };
    session = current;
    sessionStorage.setItem(TOKEN_KEY, token);
    hideNotice();
    setConnection("connecting");
    current.offs.push(
      hub.on("connect", () => {
        setConnection("connected");
        hideNotice();
      }),
      hub.on("disconnect", (reason) => {
        setConnection("reconnecting", reason);
        for (const card of current.cards.values()) setStatus(card, "offline", "waiting for the connection");
      }),
      hub.on("error", (error) => showNotice(`${error.code}: ${error.message}`)),
    );
    // With a fixed token a refused handshake is final: back to the sign-in form.
    hub.ready().catch((error) => {
      if (session !== current) return;
      signOut();
      setConnection("refused", error.code);
      showNotice(`The hub refused the token (${error.code}: ${error.message}). Sign in with another one.`);
    });

    $("identity").textContent = describe(claims);
    $("sign-in").hidden = true;
    $("workspace").hidden = false;
    $("sign-out").hidden = false;
    renderSuggestions(claims, user);
    startQueuePanel(current);
    startChatPanel(current);
    window.HubConsoleCalls?.start(hub, claims, user);
  }

  function signOut() {
    const current = session;
    session = undefined;
    sessionStorage.removeItem(TOKEN_KEY);
    if (current) {
      for (const card of current.cards.values()) card.stop();
      current.stopQueue?.();
      leaveChat(current);
      window.HubConsoleCalls?.stop();
      clearInterval(current.countdown);
      for (const off of current.offs) off();
      current.hub.close();
    }
    $("topics").replaceChildren();
    $("queue-log").replaceChildren();
    $("chat-messages").replaceChildren();
    $("chat-typing").textContent = "";
    $("identity").textContent = "";
    $("sign-in").hidden = false;
    $("workspace").hidden = true;
    $("sign-out").hidden = true;
    setConnection("signed-out");
    renderQueue();
  }

  function describe(claims) {
    const who = claims.org_id !== undefined ? `user ${claims.sub} · org ${claims.org_id}` : `service ${claims.sub ?? "?"}`;
    return typeof claims.exp === "number" ? `${who} · token expires ${new Date(claims.exp * 1000).toLocaleString()}` : who;
  }

  function renderSuggestions(claims, user) {
    const topics = user ? [`org:${claims.org_id}`, `inhouse:${claims.org_id}`, `notifications:${claims.sub}`] : [];
    const buttons = topics.map((topic) => {
      const button = el("button", { type: "button", class: "link" }, topic);
      button.addEventListener("click", () => addTopic(topic));
      return button;
    });
    $("suggestions").replaceChildren(...(user ? ["Your topics: ", ...buttons] : ["A service token may subscribe to any topic."]));
  }

  // ---- topics ---------------------------------------------------------------------------------

  function addTopic(topic) {
    const current = session;
    if (!current || current.cards.has(topic)) return;
    const status = el("span", { class: "status", "data-state": "subscribing" }, "subscribing");
    const count = el("span", { class: "count" }, "0 events");
    const close = el("button", { type: "button" }, "Unsubscribe");
    const presenceList = el("ul", { class: "presence-list" });
    const presenceTitle = el("h4", {}, "Presence");
    const presence = el("div", { class: "presence", hidden: "" }, presenceTitle, presenceList);
    const events = el("ol", { class: "events" });
    const node = el(
      "article",
      { class: "topic", "data-topic": topic },
      el("header", {}, el("h3", {}, topic), status, count, close),
      presence,
      events,
    );
    const card = {
      topic,
      node,
      status,
      count,
      events,
      presence,
      presenceTitle,
      presenceList,
      total: 0,
      members: new Map(),
      pending: undefined,
    };
    card.stop = current.hub.subscribe(topic, {
      onEvent: (event, envelope) => onTopicEvent(card, event, envelope),
      onSubscribed: (info) => {
        if (info.recovered === false) setStatus(card, "gap", "events were missed (outside the recovery window): reload from the backend");
        else setStatus(card, "live", info.recovered ? "recovered every missed event" : "");
        void loadPresence(current, card);
      },
      onRecoveryFailed: () => setStatus(card, "gap", "events were missed (outside the recovery window): reload from the backend"),
      onError: (error) => setStatus(card, TRANSIENT.has(error.code) ? "retrying" : "refused", `${error.code}: ${error.message}`),
    });
    close.addEventListener("click", () => {
      card.stop();
      current.cards.delete(topic);
      node.remove();
    });
    current.cards.set(topic, card);
    $("topics").prepend(node);
  }

  function setStatus(card, state, detail) {
    card.status.dataset.state = state;
    card.status.textContent = state;
    card.status.title = detail ?? "";
  }

  function onTopicEvent(card, event, envelope) {
    if (event === "presence.join" || event === "presence.leave") onPresenceChange(card, event, envelope.data);
    card.total += 1;
    card.count.textContent = `${card.total} event${card.total === 1 ? "" : "s"}${card.total > EVENTS_PER_TOPIC ? ` (last ${EVENTS_PER_TOPIC} shown)` : ""}`;
    const meta = el(
      "div",
      { class: "meta" },
      el("span", { class: "name" }, event),
      envelope.type !== event ? el("span", { class: "type" }, envelope.type) : undefined,
      typeof envelope.offset === "number" ? el("span", { class: "offset" }, `#${envelope.offset}`) : undefined,
      el("time", {}, clock(envelope.ts)),
      el("span", { class: "id" }, envelope.id),
    );
    const item = el(
      "li",
      { class: "event", "data-type": event, "data-id": envelope.id, "data-offset": envelope.offset },
      meta,
      el("pre", { class: "data" }, pretty(envelope.data)),
    );
    card.events.prepend(item);
    while (card.events.childElementCount > EVENTS_PER_TOPIC) card.events.lastElementChild.remove();
  }

  // ---- presence -------------------------------------------------------------------------------

  /** Asks for the topic's presence (after every (re)subscribe: changes during a disconnect were missed). */
  async function loadPresence(current, card) {
    const request = {};
    card.request = request;
    card.pending = []; // changes that arrive while the request is out, applied on top of its answer
    try {
      const users = await current.hub.presence(card.topic);
      if (card.request !== request) return;
      card.members = new Map(users.map((member) => [member.user_id, member]));
      for (const change of card.pending) applyChange(card.members, change);
      card.presence.hidden = false;
      renderPresence(card);
    } catch (error) {
      if (card.request !== request) return;
      // bad_request: a namespace without presence; nothing to show.
      card.presence.hidden = error.code === "bad_request";
      card.presenceTitle.textContent = `Presence unavailable (${error.code})`;
    } finally {
      if (card.request === request) card.pending = undefined;
    }
  }

  function onPresenceChange(card, event, data) {
    const change = { join: event === "presence.join", user_id: String(data?.user_id), joined_at: data?.joined_at };
    card.pending?.push(change);
    applyChange(card.members, change);
    renderPresence(card);
  }

  function applyChange(members, change) {
    if (!change.join) members.delete(change.user_id);
    else if (!members.has(change.user_id))
      members.set(change.user_id, { user_id: change.user_id, connections: 1, joined_at: change.joined_at });
  }

  function renderPresence(card) {
    const members = [...card.members.values()].sort((a, b) => (a.joined_at ?? 0) - (b.joined_at ?? 0));
    card.presenceTitle.textContent = `Presence (${members.length})`;
    card.presenceList.replaceChildren(
      ...members.map((member) =>
        el(
          "li",
          { "data-user": member.user_id },
          member.user_id,
          el(
            "span",
            { class: "muted" },
            ` ${member.connections} connection${member.connections === 1 ? "" : "s"} · since ${clock(member.joined_at)}`,
          ),
        ),
      ),
    );
  }

  // ---- inhouse queue --------------------------------------------------------------------------

  function startQueuePanel(current) {
    $("queue-unavailable").hidden = current.user;
    for (const control of $("queue-form").elements) control.disabled = !current.user;
    renderQueue();
    const badge = $("queue-topic");
    badge.textContent = "";
    badge.dataset.state = "idle";
    if (!current.user) return;
    const topic = `inhouse:${current.claims.org_id}`;
    const card = { status: badge };
    current.offs.push(current.hub.on("disconnect", () => setStatus(card, "offline", "waiting for the connection")));
    setStatus(card, "subscribing");
    current.stopQueue = current.hub.subscribe(topic, {
      onSubscribed: () => setStatus(card, "live", `following ${topic}`),
      onEvent: (event, envelope) => {
        if (!QUEUE_EVENTS.has(event)) return;
        remember(current, envelope.data?.queue);
        if (event === "check_in_expired")
          log(`check-in expired on ${envelope.data.queue?.id}; removed: ${(envelope.data.removed ?? []).join(", ") || "nobody"}`);
        if (event === "session_started") log(`session started on ${envelope.data.queue?.id}`);
      },
      onError: (error) => {
        setStatus(card, TRANSIENT.has(error.code) ? "retrying" : "refused", `${error.code}: ${error.message}`);
        log(`${topic}: ${error.code}: ${error.message}`);
      },
    });
  }

  function remember(current, queue) {
    if (!queue || queue.id === undefined) return;
    const id = String(queue.id);
    const known = current.queues.get(id);
    if (known && known.version > queue.version) return;
    current.queues.set(id, queue);
    if (id === $("queue-id").value.trim()) renderQueue();
  }

  function renderQueue() {
    const current = session;
    const queue = current?.queues.get($("queue-id").value.trim());
    $("queue-view").dataset.status = queue?.status ?? "unknown";
    $("queue-status").textContent = queue?.status ?? "no update seen yet";
    $("queue-count").textContent = queue ? `${queue.players.length} / ${queue.capacity}` : "-";
    $("queue-version").textContent = queue ? String(queue.version) : "-";
    $("queue-players").replaceChildren(
      ...(queue?.players ?? []).map((player) =>
        el(
          "li",
          {
            "data-user": player.user_id,
            "data-checked-in": player.checked_in,
            class: player.user_id === String(current.claims.sub) ? "me" : undefined,
          },
          player.user_id,
          el("span", { class: "muted" }, player.checked_in ? " checked in" : " not checked in"),
        ),
      ),
    );
    if (!current) return;
    clearInterval(current.countdown);
    current.countdown = undefined;
    const deadline = queue?.status === "check_in" ? queue.check_in_deadline : null;
    const countdown = $("queue-countdown");
    countdown.hidden = typeof deadline !== "number";
    if (countdown.hidden) {
      delete countdown.dataset.deadline;
      return;
    }
    countdown.dataset.deadline = String(deadline);
    const tick = () => {
      const left = deadline - Date.now();
      countdown.dataset.remainingMs = String(Math.max(0, left));
      countdown.textContent = left > 0 ? `check in within ${duration(left)}` : "check-in deadline passed; waiting for the hub";
    };
    tick();
    current.countdown = setInterval(tick, 250);
  }

  const duration = (ms) => {
    const seconds = Math.ceil(ms / 1000);
    return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };

  function log(text) {
    const list = $("queue-log");
    list.prepend(el("li", {}, el("time", {}, clock(Date.now())), ` ${text}`));
    while (list.childElementCount > LOG_LINES) list.lastElementChild.remove();
  }

  async function sendQueueCommand(command) {
    const current = session;
    const queueId = $("queue-id").value.trim();
    if (!current) return;
    if (!queueId) return log("enter a queue id first");
    const label = { join: "join", checkIn: "check in", leave: "leave" }[command];
    try {
      const id = await current.hub.inhouse[command](queueId);
      if (session === current) log(`${label} ${queueId}: accepted (command ${id})`);
    } catch (error) {
      if (session === current) log(`${label} ${queueId}: failed, ${error.code}: ${error.message}`);
    }
  }

  // ---- chat -----------------------------------------------------------------------------------

  function startChatPanel(current) {
    $("chat-unavailable").hidden = current.user;
    for (const control of $("chat-join-form").elements) control.disabled = !current.user;
    setChatEnabled(false);
    setStatus({ status: $("chat-status") }, "idle");
    $("chat-error").textContent = "";
  }

  function setChatEnabled(enabled) {
    $("chat-text").disabled = !enabled;
    $("chat-send").disabled = !enabled;
  }

  /** Joins a conversation with its subscription token: the SDK sends the token again on every resubscribe. */
  function joinChat(current, topic, token) {
    leaveChat(current);
    $("chat-messages").replaceChildren();
    $("chat-error").textContent = "";
    const card = { status: $("chat-status") };
    const chat = { topic, card, typers: new Map(), stop: undefined, typing: undefined, offDisconnect: undefined };
    current.chat = chat;
    setStatus(card, "subscribing", topic);
    chat.stop = current.hub.subscribe(topic, {
      token,
      onSubscribed: (info) => {
        setStatus(card, "live", info.recovered === false ? "some messages were missed" : topic);
        setChatEnabled(true);
      },
      onRecoveryFailed: () => setStatus(card, "gap", "messages were missed (outside the recovery window)"),
      onEvent: (event, envelope) => onChatEvent(chat, event, envelope),
      onError: (error) => {
        setStatus(card, TRANSIENT.has(error.code) ? "retrying" : "refused", `${error.code}: ${error.message}`);
        $("chat-error").textContent = `${topic}: ${error.code}: ${error.message}`;
        if (!TRANSIENT.has(error.code)) setChatEnabled(false);
      },
    });
    chat.typing = current.hub.typing(topic, { onError: () => {} });
    chat.offDisconnect = current.hub.on("disconnect", () => setStatus(card, "offline", "waiting for the connection"));
  }

  function leaveChat(current) {
    const chat = current.chat;
    if (!chat) return;
    current.chat = undefined;
    chat.offDisconnect();
    chat.typing.close();
    chat.stop();
    for (const timer of chat.typers.values()) clearTimeout(timer);
    chat.typers.clear();
    setChatEnabled(false);
    renderTyping(chat);
  }

  function onChatEvent(chat, event, envelope) {
    const sender = String(envelope.sender_id ?? "?");
    if (event === "message:new") {
      forgetTyper(chat, sender);
      const text = typeof envelope.data?.text === "string" ? envelope.data.text : pretty(envelope.data);
      const list = $("chat-messages");
      list.append(
        el(
          "li",
          { class: "message", "data-id": envelope.id, "data-sender": sender, "data-offset": envelope.offset },
          el("span", { class: "sender" }, sender),
          el("time", {}, clock(envelope.ts)),
          el("span", { class: "text" }, text),
        ),
      );
      while (list.childElementCount > CHAT_MESSAGES) list.firstElementChild.remove();
      list.lastElementChild.scrollIntoView({ block: "nearest" });
    } else if (event === "typing:start") {
      clearTimeout(chat.typers.get(sender));
      chat.typers.set(
        sender,
        setTimeout(() => forgetTyper(chat, sender), TYPING_FORGET_MS),
      );
      renderTyping(chat);
    } else if (event === "typing:stop") {
      forgetTyper(chat, sender);
    }
  }

  function forgetTyper(chat, sender) {
    if (!chat.typers.has(sender)) return;
    clearTimeout(chat.typers.get(sender));
    chat.typers.delete(sender);
    renderTyping(chat);
  }

  function renderTyping(chat) {
    const typers = [...chat.typers.keys()].sort();
    const line = $("chat-typing");
    line.dataset.users = typers.join(",");
    line.textContent = typers.length === 0 ? "" : `${typers.join(", ")} ${typers.length === 1 ? "is" : "are"} typing…`;
  }

  async function sendChatMessage(current) {
    const chat = current.chat;
    const input = $("chat-text");
    const text = input.value.trim();
    if (!chat || !text) return;
    chat.typing.stop();
    input.value = "";
    // A message that timed out may have reached the hub with only its ack lost: sending the same
    // text again reuses its id (the hub keeps ids 5 minutes), so it is never shown twice.
    const retry = chat.unsent?.text === text && Date.now() - chat.unsent.at < 4 * 60_000 ? chat.unsent.id : undefined;
    // getRandomValues works outside secure contexts too (randomUUID does not).
    const id = retry ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    try {
      // Retried with the same id through disconnects until the hub acknowledges it: shown once.
      await current.hub.publish(chat.topic, "message:send", { text }, { id });
      chat.unsent = undefined;
      if (current.chat === chat) $("chat-error").textContent = "";
    } catch (error) {
      chat.unsent = { text, id, at: retry ? chat.unsent.at : Date.now() };
      if (current.chat !== chat) return;
      $("chat-error").textContent = `not sent (${error.code}: ${error.message})`;
      if (!input.value) input.value = text;
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------

  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (token) signIn(token);
  });
  $("sign-out").addEventListener("click", signOut);
  $("subscribe-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const topic = $("topic").value.trim();
    if (topic) addTopic(topic);
    $("topic").value = "";
  });
  $("queue-form").addEventListener("submit", (event) => event.preventDefault());
  $("queue-form").addEventListener("click", (event) => {
    const command = event.target.closest("button")?.dataset.command;
    if (command) void sendQueueCommand(command);
  });
  $("queue-id").addEventListener("input", renderQueue);
  $("chat-join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const topic = $("chat-topic").value.trim();
    const token = $("chat-token").value.trim();
    if (session?.user && topic && token) joinChat(session, topic, token);
  });
  $("chat-send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (session) void sendChatMessage(session);
  });
  $("chat-text").addEventListener("input", () => {
    if ($("chat-text").value) session?.chat?.typing.start();
    else session?.chat?.typing.stop();
  });

  if (typeof HubClient === "undefined") {
    showNotice("The client bundle did not load: run `pnpm --filter @hub/client build` where the hub runs, then reload.");
  } else {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved);
  }
})();
