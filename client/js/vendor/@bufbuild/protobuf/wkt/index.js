// Copyright 2021-2025 Buf Technologies, Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//      http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.
export * from "./timestamp.js";
export * from "./any.js";
export * from "./wrappers.js";
export * from "./gen/google/protobuf/any_pb.js";
export * from "./gen/google/protobuf/api_pb.js";
export * from "./gen/google/protobuf/cpp_features_pb.js";
export * from "./gen/google/protobuf/descriptor_pb.js";
export * from "./gen/google/protobuf/duration_pb.js";
export * from "./gen/google/protobuf/empty_pb.js";
export * from "./gen/google/protobuf/field_mask_pb.js";
export * from "./gen/google/protobuf/go_features_pb.js";
export * from "./gen/google/protobuf/java_features_pb.js";
export * from "./gen/google/protobuf/source_context_pb.js";
export * from "./gen/google/protobuf/struct_pb.js";
export * from "./gen/google/protobuf/timestamp_pb.js";
export * from "./gen/google/protobuf/type_pb.js";
export * from "./gen/google/protobuf/wrappers_pb.js";
export * from "./gen/google/protobuf/compiler/plugin_pb.js";
