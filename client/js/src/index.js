// The zinxgame browser client: Zinx framing, a reconnecting WebSocket
// connection with keep-alive, and the lockstep protocol's client. In a page,
// load it through the import map jsclient.ImportMap gives; in Node, import
// the package (a socket factory from `ws`).
export { HEAD_LEN, encodePacket, Decoder, FramingError } from "./framing.js";
export { backoffDelay } from "./backoff.js";
export { Emitter } from "./emitter.js";
export { Connection, DEFAULT_IDS, DEFAULT_BACKOFF } from "./connection.js";
export { LockstepClient, RequestError, MsgID, expandBatch } from "./lockstep.js";
export * as commonpb from "../gen/commonpb/common_pb.js";
export * as lspb from "../gen/lspb/lockstep_pb.js";
export * as mmopb from "../gen/mmopb/msg_pb.js";
export { create, toBinary, fromBinary } from "@bufbuild/protobuf";
