// The lockstep demo page: wires the browser client (client/js) to the game
// (sim.js), the keyboard and a canvas. See index.html for the URL
// parameters. window.zinxgameDemo is the page's live state, read by
// tests/browser.
import { LockstepClient, lspb } from "/client/src/index.js";
import { DemoGame, encodeInput, WorldSize } from "/sim.js";

const params = new URLSearchParams(location.search);
const maxLatencies = 1000; // input→frame samples kept (the latest)
const maxPending = 256; // inputs waiting for their frame
const maxHashes = 64; // reported hashes kept, for tests to compare

// view is window.zinxgameDemo. 64-bit IDs and hashes are decimal strings:
// a bigint does not survive JSON (or a test reading it).
const view = {
  state: "loading",
  name: "",
  frame: 0,
  slot: -1,
  roomId: "0",
  matchId: "0",
  resumed: 0, // matches resumed (after a reload or a reconnection)
  desyncs: 0,
  hashesReported: 0,
  hashes: [], // the latest reported: {frame, hash}
  rttMs: 0,
  inputsSent: 0,
  inputLatencyMs: [],
  matchEnded: false,
  notice: null, // the latest server notice, "code: reason"
  error: null,
};
window.zinxgameDemo = view;

// A name per tab: kept in sessionStorage, so a reload keeps it (and so its
// token, and its seat) while another tab gets a seat of its own.
function playerName() {
  const given = params.get("name");
  if (given) {
    return given;
  }
  try {
    let n = sessionStorage.getItem("zinxgame.name");
    if (!n) {
      n = "web-" + Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, "0");
      sessionStorage.setItem("zinxgame.name", n);
    }
    return n;
  } catch {
    return "web-" + Math.floor(Math.random() * 0x1000000).toString(16);
  }
}

// tokenStore keeps the login token in localStorage ("zinxgame.token.<name>"),
// or in memory where storage is refused (a private window).
function tokenStore(name) {
  const key = "zinxgame.token." + name;
  let mem = null;
  return {
    get() {
      try {
        return localStorage.getItem(key);
      } catch {
        return mem;
      }
    },
    set(token) {
      mem = token || null;
      try {
        if (token) {
          localStorage.setItem(key, token);
        } else {
          localStorage.removeItem(key);
        }
      } catch {
        // kept in memory only
      }
    },
  };
}

function showError(err) {
  console.warn(err);
  view.error = String((err && err.message) || err);
  document.getElementById("error").textContent = view.error;
}

async function main() {
  const resp = await fetch("/config.json", { cache: "no-store" });
  if (!resp.ok) {
    throw new Error(`config.json: HTTP ${resp.status}`);
  }
  const cfg = await resp.json();
  const players = Number(params.get("players")) || cfg.players || 4;
  const tickMs = 1000 / (cfg.tickRate || 30);
  view.name = playerName();

  const game = new DemoGame();
  const pending = new Map(); // input seq -> performance.now() when sent
  const client = new LockstepClient({
    url: cfg.wsUrl,
    socketFactory: (u) => new WebSocket(u),
    name: view.name,
    tokenStore: tokenStore(view.name),
    maxPayload: cfg.maxPayload,
    bigEndian: cfg.bigEndian,
    ids: cfg.ids,
    keepAliveMs: cfg.ids.ping ? 2000 : 0,
    // The client asks for the hash every hash_interval frames and reports
    // it: counted and kept here on the way.
    game: {
      start: (m) => game.start(m),
      step: (f) => game.step(f),
      hash: () => {
        const h = game.hash();
        view.hashesReported++;
        view.hashes.push({ frame: game.sim ? game.sim.frame : 0, hash: h.toString() });
        if (view.hashes.length > maxHashes) {
          view.hashes.shift();
        }
        return h;
      },
    },
  });
  window.zinxgameClient = client; // for a developer's console

  client.on("state", (e) => {
    console.info(`state ${e.state}`);
    view.state = e.state;
    if (e.error) {
      showError(e.error);
    }
  });
  client.on("roomState", (rs) => {
    if (rs.room) {
      view.roomId = String(rs.room.roomId);
    }
  });
  client.on("matchStart", ({ match, resumed }) => {
    document.getElementById("ready").disabled = true;
    console.info(`match ${match.matchId} slot ${match.yourSlot}${resumed ? " (resumed)" : ""}`);
    view.slot = match.yourSlot;
    view.matchId = String(match.matchId);
    view.matchEnded = false;
    if (resumed) {
      view.resumed++;
    }
    pending.clear();
  });
  client.on("frame", (f) => {
    view.frame = f.number;
    if (f.catchUp) {
      return; // inputs from before a reload: not ours to time
    }
    // f.at: when its packet arrived (performance.now()), before any game work.
    const now = typeof f.at === "number" ? f.at : performance.now();
    for (const input of f.inputs) {
      if (input.slot !== view.slot) {
        continue;
      }
      const sent = pending.get(input.seq);
      if (sent !== undefined) {
        pending.delete(input.seq);
        view.inputLatencyMs.push(now - sent);
        if (view.inputLatencyMs.length > maxLatencies) {
          view.inputLatencyMs.shift();
        }
      }
    }
  });
  client.on("desync", (d) => {
    view.desyncs++;
    console.warn("desync", d);
  });
  client.on("matchEnd", () => {
    view.matchEnded = true;
  });
  client.on("rtt", (ms) => {
    view.rttMs = typeof ms === "number" ? ms : client.rtt;
  });
  client.on("error", (e) => showError(e));
  // The server's notices: an operator's announcement, maintenance, a ban,
  // a shutdown. Shown as they come; the latest stays up.
  client.on("notice", (n) => {
    console.info(`notice ${n.code}: ${n.reason}`);
    view.notice = `${n.code}: ${n.reason}`;
    document.getElementById("notice").textContent = n.reason || n.code;
  });

  // send applies the throttle a player's keyboard repeat needs (one input
  // a tick is all a frame can show) and times the input to its frame.
  let lastSent = -Infinity;
  const send = (dx, dy) => {
    if (!client.match || view.matchEnded || view.state === "reconnecting") {
      return;
    }
    const now = performance.now();
    if (now - lastSent < tickMs) {
      return;
    }
    lastSent = now;
    let seq;
    try {
      seq = client.input(encodeInput(dx, dy));
    } catch (err) {
      showError(err);
      return;
    }
    if (!seq) {
      return; // not sent: no socket, or the seat is being resumed
    }
    view.inputsSent++;
    pending.set(seq, now);
    if (pending.size > maxPending) {
      pending.delete(pending.keys().next().value); // the oldest: lost or refused
    }
  };

  const keys = {
    ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
    a: [-1, 0], d: [1, 0], w: [0, -1], s: [0, 1],
  };
  addEventListener("keydown", (e) => {
    const k = keys[e.key.length === 1 ? e.key.toLowerCase() : e.key];
    if (k) {
      e.preventDefault();
      send(k[0], k[1]);
    }
  });
  if (params.get("auto") === "1") {
    // Random inputs like the Go bots', about 10 a second.
    const auto = () => {
      send(Math.floor(Math.random() * 3) - 1, Math.floor(Math.random() * 3) - 1);
      setTimeout(auto, 80 + Math.random() * 40);
    };
    auto();
  }

  startDrawing(game, client);

  await client.connect();
  // A stored token whose seat is still held resumes it inside connect:
  // the room is known (c.room) and, when its match runs, MatchStart and
  // the catch-up frames follow. No join then.
  if (!client.room) {
    const options = { maxPlayers: players, tickRate: cfg.tickRate || 0 };
    if (params.get("room")) {
      await client.join(BigInt(params.get("room")));
    } else {
      await client.joinOrCreate(params.get("label") || "demo", options);
    }
  }
  // A full room starts by itself; "start now" (Ready) starts it with those
  // present once every one of them is ready.
  const readyButton = document.getElementById("ready");
  readyButton.disabled = false;
  readyButton.addEventListener("click", () => {
    if (client.room?.room?.status === lspb.RoomStatus.OPEN) {
      client.ready(true);
      readyButton.disabled = true;
    }
  });
}

// startDrawing draws the world on every animation frame and the status a
// few times a second.
function startDrawing(game, client) {
  const canvas = document.getElementById("world");
  const ctx = canvas.getContext("2d");
  const draw = () => {
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const sim = game.sim;
    if (sim) {
      sim.units.forEach((u, i) => {
        const x = (u.x / WorldSize) * w;
        const y = (u.y / WorldSize) * h;
        ctx.fillStyle = `hsl(${(i * 97) % 360} 70% 60%)`;
        ctx.beginPath();
        ctx.arc(x, y, 7, 0, 2 * Math.PI);
        ctx.fill();
        if (i === view.slot) {
          ctx.strokeStyle = "#fff";
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.arc(x, y, 12, 0, 2 * Math.PI);
          ctx.stroke();
        }
      });
      ctx.fillStyle = "#888";
      ctx.font = "12px monospace";
      ctx.fillText(`frame ${sim.frame}  wind ${sim.wind[0]},${sim.wind[1]}`, 8, h - 8);
    }
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);

  const text = (id, s, cls) => {
    const el = document.getElementById(id);
    el.textContent = s;
    if (cls !== undefined) {
      el.className = cls;
    }
  };
  setInterval(() => {
    text("st-state", view.state);
    text("st-room", view.roomId);
    text("st-slot", view.slot < 0 ? "-" : String(view.slot));
    text("st-frame", String(view.frame));
    view.rttMs = client.rtt || view.rttMs;
    text("st-rtt", `${(view.rttMs || 0).toFixed(1)} ms`);
    const lat = [...view.inputLatencyMs].sort((a, b) => a - b);
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    text("st-lat", lat.length ? `${q(0.5).toFixed(1)} / ${q(0.99).toFixed(1)} ms (${lat.length})` : "-");
    text("st-hash", String(view.hashesReported));
    text("st-sync", view.desyncs ? `DESYNC ×${view.desyncs}` : "in sync", view.desyncs ? "bad" : "ok");
  }, 200);
}

main().catch((err) => {
  view.state = "error";
  showError(err);
});
