// The leader config query answers the cool-down timestamps as strings (usually) or null;
// the update wants JSON integers: sending the answer back unconverted does not compile.
import type { components } from "../openapi";

type Schemas = components["schemas"];

export function resend(
  config: Schemas["LeaderConfig"],
  update: Schemas["LeaderConfigUpdate"],
): Schemas["LeaderConfigUpdate"] {
  return { ...update, unLeadStartTime: config.unLeadStartTime }; // expect TS2322
}
