// getFollowConfig requires the query parameter leaderUserId.
import { buildRequest } from "../usage";

export const request = buildRequest("getFollowConfig", { query: { recvWindow: 5000 } }); // expect TS2741
