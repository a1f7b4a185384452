// The page script of webrtc.browser.test.ts: one party of a real WebRTC call whose offer, answer
// and ICE candidates go through the hub only (hub.calls.signal and hub.calls.on), counted on both
// ends. The test drives it through window.peer and reads window.peer.state().
(() => {
  const state = {
    ready: false,
    callId: null,
    call: "idle",
    connectionState: "new",
    sent: { offer: 0, answer: 0, ice: 0 },
    received: { offer: 0, answer: 0, ice: 0 },
    errors: [],
  };
  let hub;
  let pc;
  /** Remote candidates that came before the remote description. */
  let pending = [];
  const fail = (error) => state.errors.push(String(error?.message ?? error));

  async function addRemote(candidate) {
    if (pc.remoteDescription) await pc.addIceCandidate(candidate);
    else pending.push(candidate);
  }

  async function setRemote(sdp) {
    await pc.setRemoteDescription(sdp);
    for (const candidate of pending) await pc.addIceCandidate(candidate);
    pending = [];
  }

  async function start({ token, user }) {
    hub = HubClient.connectHub({ url: location.origin, token, socketOptions: { transports: ["websocket"] } });
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    // No STUN or TURN server: the peers find each other through loopback host candidates.
    pc = new RTCPeerConnection({ iceServers: [] });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    pc.onconnectionstatechange = () => {
      state.connectionState = pc.connectionState;
    };
    pc.onicecandidate = (event) => {
      if (!event.candidate || !state.callId) return;
      state.sent.ice++;
      hub.calls.signal.iceCandidate(state.callId, event.candidate.toJSON()).catch(fail);
    };

    hub.calls.on("incoming", ({ call_id }) => {
      state.callId = call_id;
      state.call = "ringing";
      hub.calls.answer(call_id).catch(fail);
    });
    hub.calls.on("answered", async ({ call_id }) => {
      state.call = "active";
      if (state.role !== "caller") return;
      try {
        await pc.setLocalDescription(await pc.createOffer());
        state.sent.offer++;
        await hub.calls.signal.offer(call_id, pc.localDescription.toJSON());
      } catch (error) {
        fail(error);
      }
    });
    hub.calls.on("offer", async ({ call_id, sdp }) => {
      state.received.offer++;
      try {
        await setRemote(sdp);
        await pc.setLocalDescription(await pc.createAnswer());
        state.sent.answer++;
        await hub.calls.signal.answer(call_id, pc.localDescription.toJSON());
      } catch (error) {
        fail(error);
      }
    });
    hub.calls.on("answer", ({ sdp }) => {
      state.received.answer++;
      setRemote(sdp).catch(fail);
    });
    hub.calls.on("ice-candidate", ({ candidate }) => {
      state.received.ice++;
      addRemote(candidate).catch(fail);
    });
    hub.calls.on("ended", () => {
      state.call = "ended";
    });
    // Shares the subscription hub.calls made: tells when the user's webrtc topic is live.
    hub.subscribe(`webrtc:${user}`, {
      onEvent: () => {},
      onSubscribed: () => {
        state.ready = true;
      },
    });
  }

  async function call(to) {
    state.role = "caller";
    const { callId } = await hub.calls.initiate(to, { media: "video" });
    state.callId = callId;
    state.call = "ringing";
  }

  /** The call's state and what the peer connection received, from its stats. */
  async function snapshot() {
    const media = { audioBytes: 0, videoBytes: 0, framesDecoded: 0 };
    if (pc) {
      for (const report of (await pc.getStats()).values()) {
        if (report.type !== "inbound-rtp") continue;
        if (report.kind === "audio") media.audioBytes += report.bytesReceived ?? 0;
        if (report.kind === "video") {
          media.videoBytes += report.bytesReceived ?? 0;
          media.framesDecoded += report.framesDecoded ?? 0;
        }
      }
    }
    return { ...state, sent: { ...state.sent }, received: { ...state.received }, errors: [...state.errors], ...media };
  }

  function close() {
    pc?.close();
    hub?.close();
  }

  window.peer = { start, call, snapshot, close };
})();
