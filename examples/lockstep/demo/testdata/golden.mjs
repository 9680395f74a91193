// Golden driver for golden_test.go: reads cases as JSON on stdin, plays them
// with the browser page's sim.js and prints every frame's hash (decimal
// strings) and the inputs the sim refused, as JSON on stdout.
import { Sim } from "../../web/sim.js";

const chunks = [];
for await (const c of process.stdin) {
  chunks.push(c);
}
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const out = cases.map((c) => {
  const sim = new Sim(BigInt(c.seed), c.seats, c.frame);
  const hashes = [sim.hash().toString()];
  let refused = 0;
  for (const frame of c.frames) {
    for (const { slot, data } of frame) {
      if (!sim.input(slot, Uint8Array.from(data))) {
        refused++;
      }
    }
    sim.step();
    hashes.push(sim.hash().toString());
  }
  return { hashes, refused };
});
process.stdout.write(JSON.stringify(out));
