// The contract has no such field: neither in a request body nor in an answer.
import type { components } from "../openapi";
import { buildRequest } from "../usage";

export const request = buildRequest("updateStopProfitLoss", {
  body: { leaderUserId: 123456789, symbolId: "BTC-SWAP-USDT", isLong: 1, takeProfitPrice: "7000" }, // expect TS2353
});

export function profit(leader: components["schemas"]["Leader"]): string {
  return leader.totalProfit; // expect TS2339
}
