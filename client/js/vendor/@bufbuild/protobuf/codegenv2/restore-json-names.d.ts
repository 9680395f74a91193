import type { DescriptorProto } from "../wkt/gen/google/protobuf/descriptor_pb.js";
/**
 * @private
 */
export declare function restoreJsonNames(message: DescriptorProto): void;
