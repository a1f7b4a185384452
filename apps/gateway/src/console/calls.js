// The console's call panel: call a user id of your org, answer or reject an incoming call, mute,
// hang up, all through the @hub/client browser bundle's hub.calls. It carries the call's signalling
// state only (no camera, no microphone): enough to watch a call ring, start and end across gateways.
// console.js starts it with the signed-in hub and stops it on sign-out.

(() => {
  const $ = (id) => document.getElementById(id);
  /** The panel's session: undefined when signed out. */
  let panel;

  function setStatus(state, detail) {
    const status = $("call-status");
    status.dataset.state = state;
    status.textContent = detail ? `${state} · ${detail}` : state;
    const call = panel?.callId !== undefined;
    $("call-answer").hidden = state !== "incoming";
    $("call-reject").hidden = state !== "incoming";
    $("call-hangup").hidden = !(call && (state === "active" || state === "ringing"));
    $("call-mute").hidden = !(call && state === "active");
    $("call-camera").hidden = !(call && state === "active");
    $("call-start").disabled = !panel || state === "active" || state === "ringing" || state === "incoming";
  }

  function showError(error) {
    $("call-error").textContent = error ? `${error.code ?? "error"}: ${error.message ?? error}` : "";
  }

  /** An event about another call than the shown one is ignored. */
  const ours = (callId) => panel !== undefined && panel.callId === callId;

  function start(hub, claims, user) {
    stop();
    $("call-unavailable").hidden = user;
    if (!user) return;
    panel = { hub, callId: undefined, peer: undefined, audio: true, video: true, offs: [] };
    const on = (event, handler) => panel.offs.push(hub.calls.on(event, handler));
    on("incoming", ({ call_id, from, media }) => {
      if (panel.callId !== undefined) return;
      Object.assign(panel, { callId: call_id, peer: from, audio: true, video: true });
      setStatus("incoming", `${from} (${media})`);
    });
    on("answered", ({ call_id }) => ours(call_id) && setStatus("active", panel.peer));
    on("rejected", ({ call_id }) => ours(call_id) && finish("rejected"));
    on("ended", ({ call_id, by, reason }) => ours(call_id) && finish("ended", by === null ? reason : `${reason} by ${by}`));
    on("missed", ({ call_id }) => ours(call_id) && finish("missed"));
    on("busy", ({ call_id, to }) => ours(call_id) && finish("busy", to));
    on("toggle-audio", ({ call_id, enabled }) => {
      if (ours(call_id)) $("call-peer").textContent = enabled ? "" : `${panel.peer} muted`;
    });
    // Shares hub.calls' subscription of the user's webrtc topic: "ready" once calls can reach this tab.
    panel.offs.push(
      hub.subscribe(`webrtc:${claims.sub}`, { onEvent: () => {}, onSubscribed: () => panel?.callId === undefined && setStatus("ready") }),
    );
    setStatus("connecting");
  }

  function finish(state, detail) {
    panel.callId = undefined;
    $("call-peer").textContent = "";
    setStatus(state, detail);
  }

  function stop() {
    if (panel) for (const off of panel.offs) off();
    panel = undefined;
    showError();
    $("call-peer").textContent = "";
    setStatus("idle");
  }

  /** Runs a hub.calls request, showing its HubError (`call_in_progress`, `not_found`, ...). */
  async function run(action) {
    showError();
    try {
      await action(panel.hub.calls);
    } catch (error) {
      showError(error);
    }
  }

  $("call-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const to = $("call-to").value.trim();
    if (!panel || !to) return;
    void run(async (calls) => {
      const { callId, busy } = await calls.initiate(to, { media: "audio" });
      if (busy) return setStatus("busy", to);
      Object.assign(panel, { callId, peer: to, audio: true, video: true });
      // The answer may have come before initiate resolved.
      if ($("call-status").dataset.state !== "active") setStatus("ringing", to);
    });
  });
  $("call-answer").addEventListener("click", () => void run((calls) => calls.answer(panel.callId)));
  $("call-reject").addEventListener("click", () => void run((calls) => calls.reject(panel.callId)));
  $("call-hangup").addEventListener("click", () => void run((calls) => calls.end(panel.callId)));
  $("call-mute").addEventListener("click", () =>
    run(async (calls) => {
      await calls.toggleAudio(panel.callId, !panel.audio);
      panel.audio = !panel.audio;
      $("call-mute").textContent = panel.audio ? "Mute" : "Unmute";
    }),
  );
  $("call-camera").addEventListener("click", () =>
    run(async (calls) => {
      await calls.toggleVideo(panel.callId, !panel.video);
      panel.video = !panel.video;
      $("call-camera").textContent = panel.video ? "Camera off" : "Camera on";
    }),
  );

  window.HubConsoleCalls = { start, stop };
})();
