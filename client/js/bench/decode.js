// Frame decoding throughput in Node: live FrameBatch packets (1012) through
// the Decoder, fromBinary and the client's frame expansion (expandBatch), as
// LockstepClient does for each WebSocket message. Reports frames per second,
// the median of 5 runs. Run: node client/js/bench/decode.js
import { create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { Decoder, encodePacket } from "../src/framing.js";
import { expandBatch, MsgID } from "../src/lockstep.js";
import { FrameBatchSchema } from "../gen/lspb/lockstep_pb.js";

const now = () => performance.now();

// One message per packet, as the server sends live frames: `fpp` frames of
// `players` inputs of 2 bytes each (the demo's input), every frame busy.
function messages(n, fpp, players) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const busy = [];
    for (let o = 0; o < fpp; o++) {
      const inputs = [];
      for (let s = 0; s < players; s++) inputs.push({ slot: s, data: new Uint8Array([i & 0xff, s]), seq: i * fpp + o + 1 });
      busy.push({ offset: o, inputs });
    }
    const b = toBinary(FrameBatchSchema, create(FrameBatchSchema, { firstFrame: 1 + i * fpp, count: fpp, busy }));
    out.push(encodePacket(MsgID.Frames, b));
  }
  return out;
}

function run(msgs) {
  const d = new Decoder();
  let frames = 0;
  let inputs = 0;
  const t0 = now();
  for (const m of msgs) {
    for (const p of d.push(m)) {
      const batch = fromBinary(FrameBatchSchema, p.data);
      for (const f of expandBatch(batch, false, 0)) {
        frames++;
        inputs += f.inputs.length;
      }
    }
  }
  const ms = now() - t0;
  return { fps: (frames / ms) * 1000, frames, inputs };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const [fpp, players] of [[1, 4], [1, 16], [4, 4]]) {
  const msgs = messages(20000, fpp, players);
  run(msgs); // warm up the JIT
  const runs = [];
  let info;
  for (let i = 0; i < 5; i++) {
    info = run(msgs);
    runs.push(info.fps);
  }
  const bytes = msgs.reduce((n, m) => n + m.length, 0) / msgs.length;
  console.log(`frames_per_packet=${fpp} players=${players} (${bytes.toFixed(0)} B/packet, ${info.frames} frames/run): ` +
    `median ${Math.round(median(runs)).toLocaleString("en")} frames/s (runs: ${runs.map((r) => Math.round(r)).join(", ")})`);
}
