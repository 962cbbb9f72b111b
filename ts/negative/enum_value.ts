// followMarginType is 0, 1 or 2 in the contract: 3 does not compile.
import { buildRequest } from "../usage";

export const request = buildRequest("updateFollowConfig", {
  body: {
    leaderUserId: 123456789,
    investAmount: "100",
    singlePlaceAmount: "10",
    dailyMaxInvestAmount: "50",
    leverage: "20",
    maxInvestRate: "0.5",
    stopProfitRate: "0.1",
    stopLossRate: "0.2",
    realInvestAmount: "100",
    followAmountMode: 1,
    stopLossDelay: 30,
    isolatedReservedAmount: "5",
    followMarginType: 3, // expect TS2322
    followSymbolIds: "BTC-SWAP-USDT",
    zeroSlippageSwitch: true,
  },
});
