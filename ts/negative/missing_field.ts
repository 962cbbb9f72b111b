// symbolId is required in the body of updateStopProfitLoss: leaving it out does not compile.
import type { components } from "../openapi";

export const body: components["schemas"]["StopProfitLossUpdate"] = { // expect TS2741
  leaderUserId: 123456789,
  isLong: 1,
  stopLossRate: "0.2",
};
