// Answers carry leaderUserId as a string of digits; requests want an integer.
import type { components } from "../openapi";
import { buildRequest } from "../usage";

export function cancel(leader: components["schemas"]["Leader"]) {
  return buildRequest("cancelLeader", { path: { leaderUserId: leader.leaderUserId } }); // expect TS2322
}
