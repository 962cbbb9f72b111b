/**
 * Proof that a TypeScript team can build on openapi.yaml: a small client that builds
 * every request of the seventeen operations (server time, the seven of a follower and
 * the nine of a leader) and reads every response, through nothing but
 * the types openapi-typescript generates from the contract (ts/openapi.d.ts, written by
 * `make generate`). `tsc --noEmit --strict` checks it in `make test`
 * (tests/test_typescript.py); ts/negative/ holds what must not compile.
 *
 * It names only what the contract declares, so an additive change (a new optional
 * field, a new error code) keeps it compiling, and a breaking one (a field removed,
 * renamed or retyped, a new required request field, an operation moved) does not.
 * Money stays the exchange's decimal string; it is never turned into a float.
 */
import type { components, operations, paths } from "./openapi";

// ------------------------------------------------------------------ contract types
type Schemas = components["schemas"];
type OperationId = keyof operations;
type Op<K extends OperationId> = operations[K];
type Responses<K extends OperationId> = Op<K>["responses"];
type ErrorStatus<K extends OperationId> = Exclude<keyof Responses<K>, 200>;
// (distributes over a union of responses)
type JsonContent<R> = R extends { content: { "application/json": infer B } } ? B : never;

type Answer<K extends OperationId> = JsonContent<Responses<K>[200]>;
/** The body of the operation's 200 answer when it succeeds: a 200 may also carry the error
 * envelope (a gateway's), which `call` turns into an ApiError. A write's success has the
 * error envelope's shape itself (`data` null or absent), so it stays as it is. */
export type Success<K extends OperationId> = [Exclude<Answer<K>, Schemas["ErrorResponse"]>] extends [never]
  ? Answer<K>
  : Exclude<Answer<K>, Schemas["ErrorResponse"]>;
/** The JSON body of any of the operation's error answers. */
export type Failure<K extends OperationId> = JsonContent<Responses<K>[ErrorStatus<K>]>;

// A part of the request is required exactly when the contract requires it.
type Part<Name extends string, T> = [T] extends [undefined]
  ? { [N in Name]?: never }
  : undefined extends T
    ? { [N in Name]?: Exclude<T, undefined> }
    : { [N in Name]: T };
type BodyPart<K extends OperationId> = Op<K>["requestBody"] extends {
  content: { "application/json": infer B };
}
  ? { body: B }
  : { body?: never };
export type RequestParts<K extends OperationId> = Part<"query", Op<K>["parameters"]["query"]> &
  Part<"path", Op<K>["parameters"]["path"]> &
  BodyPart<K>;

// Every error answer of every operation is the one error envelope.
type Assert<T extends true> = T;
export type EveryErrorIsTheEnvelope = Assert<
  { [K in OperationId]: Failure<K> extends Schemas["ErrorResponse"] ? true : false }[OperationId]
>;

// ------------------------------------------------------------------ routes
type Method = "get" | "put" | "delete";
/** The [method, path] under which `paths` declares operation K, and no other. */
type RouteOf<K extends OperationId> = {
  [P in keyof paths]: {
    [M in Method]: [paths[P][M]] extends [Op<K>]
      ? [Op<K>] extends [paths[P][M]]
        ? readonly [M, P]
        : never
      : never;
  }[Method];
}[keyof paths];

/** Each operation at the method and path the contract gives it. */
export const ROUTES = {
  getServerTime: ["get", "/api/v1/time"],
  listCurrentOrders: ["get", "/api/v2/copy-trading/follower/orders/current"],
  listHistoryOrders: ["get", "/api/v2/copy-trading/follower/orders/history"],
  updateStopProfitLoss: ["put", "/api/v2/copy-trading/follower/positions/stop-profit-loss"],
  getFollowConfig: ["get", "/api/v2/copy-trading/follower/config"],
  updateFollowConfig: ["put", "/api/v2/copy-trading/follower/config"],
  listLeaders: ["get", "/api/v2/copy-trading/follower/leaders"],
  cancelLeader: ["delete", "/api/v2/copy-trading/follower/leaders/{leaderUserId}"],
  listCurrentLeadOrders: ["get", "/api/v2/copy-trading/leader/orders/current"],
  listHistoryLeadOrders: ["get", "/api/v2/copy-trading/leader/orders/history"],
  getTradeData: ["get", "/api/v2/copy-trading/leader/trade-data"],
  listProfitSharingHistory: ["get", "/api/v2/copy-trading/leader/profit-sharings/history"],
  listLeaderSymbols: ["get", "/api/v2/copy-trading/leader/symbols"],
  getLeaderConfig: ["get", "/api/v2/copy-trading/leader/config"],
  updateLeaderConfig: ["put", "/api/v2/copy-trading/leader/config"],
  listFollowers: ["get", "/api/v2/copy-trading/leader/followers"],
  removeFollower: ["delete", "/api/v2/copy-trading/leader/followers/{followerUserId}"],
} as const satisfies { [K in OperationId]: RouteOf<K> };

// ------------------------------------------------------------------ the wire
export interface HttpRequest {
  method: "GET" | "PUT" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body?: string;
}
export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>; // names in lower case
  body: string;
}
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;
/** Lowercase hex HMAC-SHA256 of `message` with the API secret (the caller's crypto). */
export type Signer = (message: string) => string;

export interface Credentials {
  apiKey: string;
  sign: Signer;
  now: () => number; // epoch ms, corrected by the server time offset
}

type Scalar = string | number | boolean;

/** Method, URL, headers and body of operation K; signed when credentials are given. */
export function buildRequest<K extends OperationId>(
  operation: K,
  parts: RequestParts<K>,
  credentials?: Credentials,
  baseUrl = "https://api.toobit.com",
): HttpRequest {
  const [method, template] = ROUTES[operation];
  const given = parts as { query?: object; path?: object; body?: object };
  const pathParams = (given.path ?? {}) as Record<string, Scalar>;
  const path = template.replace(/\{(\w+)\}/g, (_match, name: string) =>
    encodeURIComponent(String(pathParams[name])),
  );
  const query = Object.entries((given.query ?? {}) as Record<string, Scalar | undefined>)
    .filter((entry): entry is [string, Scalar] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  const body = given.body === undefined ? undefined : JSON.stringify(given.body); // compact
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (credentials) {
    // signing: timestamp in the query, then signature = HMAC(query as sent + body), last
    query.push(`timestamp=${credentials.now()}`);
    const signature = credentials.sign(query.join("&") + (body ?? ""));
    query.push(`signature=${signature}`);
    headers["X-BB-APIKEY"] = credentials.apiKey;
  }
  const url = baseUrl + path + (query.length ? `?${query.join("&")}` : "");
  const request: HttpRequest = { method: method.toUpperCase() as HttpRequest["method"], url, headers };
  if (body !== undefined) request.body = body;
  return request;
}

// ------------------------------------------------------------------ answers
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: Schemas["ErrorCode"] | undefined, // undefined: a gateway's HTML page
    message: string,
  ) {
    super(message);
  }
}

/** The rate-limit headers every answer carries, as the contract types them. */
export interface RateLimit {
  remaining: Responses<"listLeaders">[200]["headers"]["X-Api-Limit-Status"];
  limit: Responses<"listLeaders">[200]["headers"]["X-Api-Limit"];
  resetAt: Responses<"listLeaders">[200]["headers"]["X-Api-Limit-Reset-Timestamp"];
  retryAfter: Responses<"listLeaders">[429]["headers"]["Retry-After"];
}

export function readRateLimit(response: HttpResponse): RateLimit {
  const number = (name: string): number => Number(response.headers[name] ?? Number.NaN);
  const retryAfter = response.headers["retry-after"];
  return {
    remaining: number("x-api-limit-status"),
    limit: number("x-api-limit"),
    resetAt: number("x-api-limit-reset-timestamp"),
    retryAfter: retryAfter === undefined ? undefined : Number(retryAfter),
  };
}

/** An error answer: the envelope's code and message, or a gateway's HTML page (5XX). */
export function readError(response: HttpResponse): ApiError {
  const html: Responses<"listLeaders">["5XX"]["content"]["text/html"] = response.body;
  if (response.status >= 500 && html.trimStart().startsWith("<")) {
    return new ApiError(response.status, undefined, "gateway error page");
  }
  const error: Schemas["ErrorResponse"] = JSON.parse(response.body);
  const code: number = error.code; // an open set: unknown codes are handled by status
  return new ApiError(response.status, code, `${code} ${error.msg}`);
}

/** Sends operation K and returns its typed 200 body, or throws ApiError. */
export async function call<K extends OperationId>(
  transport: Transport,
  operation: K,
  parts: RequestParts<K>,
  credentials?: Credentials,
): Promise<{ body: Success<K>; rateLimit: RateLimit }> {
  const response = await transport(buildRequest(operation, parts, credentials));
  if (response.status !== 200) throw readError(response);
  const body: unknown = JSON.parse(response.body);
  // an error may come with HTTP 200: the envelope's code decides (server time has none)
  if (typeof body === "object" && body !== null && "code" in body && body.code !== 200) {
    throw readError(response);
  }
  return { body: body as Success<K>, rateLimit: readRateLimit(response) };
}

// ------------------------------------------------------------------ reading answers
// Answers are liberal (the contract's "Reading answers"): a decimal may be unset ("" or
// null), an enum may hold a value the page does not list yet. Requests are strict.

/** `value` when the request's enum lists it (`values`): an answer's enum is open. */
function listed<T extends number>(value: number, values: readonly T[], name: string): T {
  const found = values.find((known) => known === value);
  if (found === undefined) throw new Error(`${name}=${value} is not a value a request may send`);
  return found;
}

/** An answer's decimal, or undefined when it is not set. */
function decimal(value: Schemas["DecimalString"]): string | undefined {
  return value === null || value === "" ? undefined : value;
}

/** An answer's decimal sent back in a request: it must be set. */
function required(value: Schemas["DecimalString"], name: string): string {
  const text = decimal(value);
  if (text === undefined) throw new Error(`${name} is not set`);
  return text;
}

// ------------------------------------------------------------------ every operation
const LEADER: Schemas["LeaderUserIdParam"] = 123456789;
const SYMBOL: Schemas["SymbolId"] = "BTC-SWAP-USDT";
const LONG: Schemas["IsLong"] = 1;

export async function serverTime(transport: Transport): Promise<number> {
  const { body } = await call(transport, "getServerTime", {}); // public: unsigned
  const serverTime: number = body.serverTime;
  return serverTime;
}

export async function currentOrders(transport: Transport, credentials: Credentials): Promise<string[]> {
  const { body } = await call(transport, "listCurrentOrders", { query: { recvWindow: 5000 } }, credentials);
  return body.data.map((order: Schemas["CurrentOrder"]) => {
    const side: "long" | "short" = order.isLong === 1 ? "long" : "short";
    const positionType: number = order.positionType;
    const unset = (value: Schemas["DecimalString"]): string => decimal(value) ?? "not set";
    return [
      order.leaderUserId, order.leaderNickname ?? "-", order.leaderAvatar ?? "-", order.symbolId,
      side, positionType, unset(order.leverage), unset(order.openAvgPrice),
      unset(order.markPrice), unset(order.currentPrice), unset(order.quantity),
      unset(order.margin), unset(order.liquidationPrice), unset(order.unrealizedProfit),
      unset(order.unrealizedProfitRate), unset(order.stopProfitRate), unset(order.stopLossRate),
    ].join(" ");
  });
}

export async function historyOrders(transport: Transport, credentials: Credentials): Promise<string[]> {
  const rows: string[] = [];
  for (let page = 1; ; page += 1) {
    const { body } = await call(transport, "listHistoryOrders", { query: { page, size: 100 } }, credentials);
    const history: Schemas["HistoryOrdersPage"] = body.data;
    for (const closed of history.list) {
      const side: number = closed.isLong; // 0 short, 1 long, or a value not listed yet
      const closeStatus: number = closed.closeStatus;
      const positionType: number = closed.positionType;
      rows.push(
        [
          closed.symbolId, positionType, closed.leverage, side, closed.leaderNickname,
          closed.leaderAvatar, closed.openTimeMs, closed.lastCloseTimeMs, closed.openAvgPrice,
          closed.closeAvgPrice, closed.maxPositionQuantity, closed.closedQuantity,
          closed.realizedProfit, closeStatus,
        ].join(" "),
      );
    }
    const pages: Schemas["Int64"] = history.pages; // digits, usually; or a JSON number
    if (page >= Number(pages) || rows.length >= Number(history.total)) return rows;
  }
}

export async function updateStopProfitLoss(transport: Transport, credentials: Credentials): Promise<null> {
  const body: Schemas["StopProfitLossUpdate"] = {
    leaderUserId: LEADER,
    symbolId: SYMBOL,
    isLong: LONG,
    stopProfitRate: "0.1",
    stopLossRate: "0.2",
    stopLossDelay: 30,
  };
  const answer = await call(transport, "updateStopProfitLoss", { body }, credentials);
  const data: null | undefined = answer.body.data; // null, or left out
  return data ?? null;
}

export async function followConfig(transport: Transport, credentials: Credentials): Promise<Schemas["FollowConfigUpdate"]> {
  const { body } = await call(transport, "getFollowConfig", { query: { leaderUserId: LEADER, recvWindow: 5000 } }, credentials);
  const config: Schemas["FollowConfig"] = body.data;
  // an answer's enums are open: only a value the request's enum lists can be sent back
  const modes = [0, 1] as const satisfies readonly Schemas["FollowAmountMode"][];
  const marginTypes = [0, 1, 2] as const satisfies readonly Schemas["FollowMarginType"][];
  const mode: Schemas["FollowAmountMode"] = listed(config.followAmountMode, modes, "followAmountMode");
  const marginType: Schemas["FollowMarginType"] = listed(config.followMarginType, marginTypes, "followMarginType");
  const stopLossDelay: number = config.stopLossDelay;
  const zeroSlippage: boolean = config.zeroSlippageSwitch;
  // an unset stop rate is "not configured", which a request writes as 0
  const stopRate = (value: Schemas["DecimalString"]): string => decimal(value) ?? "0";
  // the stored config, as the body of an update (the ID is usually a string in answers)
  return {
    leaderUserId: Number(config.leaderUserId),
    investAmount: required(config.investAmount, "investAmount"),
    singlePlaceAmount: required(config.singlePlaceAmount, "singlePlaceAmount"),
    dailyMaxInvestAmount: required(config.dailyMaxInvestAmount, "dailyMaxInvestAmount"),
    leverage: required(config.leverage, "leverage"),
    maxInvestRate: required(config.maxInvestRate, "maxInvestRate"),
    stopProfitRate: stopRate(config.stopProfitRate),
    stopLossRate: stopRate(config.stopLossRate),
    realInvestAmount: required(config.investAmount, "investAmount"),
    followAmountMode: mode,
    stopLossDelay,
    isolatedReservedAmount: required(config.isolatedReservedAmount, "isolatedReservedAmount"),
    followMarginType: marginType,
    followSymbolIds: config.followSymbolIds,
    zeroSlippageSwitch: zeroSlippage,
  };
}

export async function updateFollowConfig(transport: Transport, credentials: Credentials): Promise<null> {
  const answer = await call(
    transport,
    "updateFollowConfig",
    {
      body: {
        leaderUserId: LEADER,
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
        followMarginType: 2,
        followSymbolIds: "BTC-SWAP-USDT,ETH-SWAP-USDT",
        zeroSlippageSwitch: true,
      },
      query: { recvWindow: 5000 },
    },
    credentials,
  );
  return answer.body.data ?? null; // null, or left out
}

export async function leaders(transport: Transport, credentials: Credentials): Promise<string[]> {
  const { body, rateLimit } = await call(transport, "listLeaders", {}, credentials);
  const list: Schemas["LeaderList"] = body.data;
  return list.map((leader) =>
    [
      leader.leaderUserId, leader.leaderNickname, leader.leaderAvatar, leader.marginBalance,
      leader.availableMargin, leader.unrealisedPnl, leader.realisedProfit,
      leader.holdingProfitSharing, leader.settledProfitSharing, leader.netProfit,
      rateLimit.remaining,
    ].join(" "),
  );
}

export async function cancelLeader(transport: Transport, credentials: Credentials): Promise<string> {
  try {
    const answer = await call(transport, "cancelLeader", { path: { leaderUserId: LEADER } }, credentials);
    const data: null | undefined = answer.body.data; // null, or left out
    return `cancelled ${String(data ?? null)}`;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    switch (error.code) {
      case -120055:
        return "close the copy positions first";
      case -32045:
        return "not following that leader";
      case undefined:
        return "outcome unknown: list the leaders before trying again";
      default:
        return error.status >= 500 ? "outcome unknown" : error.message;
    }
  }
}

// ------------------------------------------------------------------ the leader side
// A leader's key signs these; the same transport, signing and envelope as above.
const FOLLOWER: Schemas["FollowerUserIdParam"] = 123456789;
const PERIOD: Schemas["TradeDataPeriod"] = 30;

export async function currentLeadOrders(transport: Transport, credentials: Credentials): Promise<string[]> {
  const { body } = await call(transport, "listCurrentLeadOrders", { query: { recvWindow: 5000 } }, credentials);
  return body.data.map((order: Schemas["LeadOrder"]) => {
    const side: "long" | "short" = order.isLong === 1 ? "long" : "short";
    const positionType: number = order.positionType; // 0 cross, 1 isolated, or not listed yet
    const openTime: Schemas["Int64"] = order.openTime; // epoch ms: digits, usually
    return [
      order.symbolId, order.symbolName, side, positionType, order.leverage, openTime,
      order.quantity, order.newPrice, order.openPrice, order.totalFollowerCount,
      order.totalFollowerMargin, order.profitRate, order.markPrice,
    ].join(" ");
  });
}

export async function historyLeadOrders(transport: Transport, credentials: Credentials): Promise<string[]> {
  const rows: string[] = [];
  for (let page = 1; ; page += 1) {
    const { body } = await call(transport, "listHistoryLeadOrders", { query: { page, size: 50 } }, credentials);
    const history: Schemas["HistoryLeadOrdersPage"] = body.data;
    for (const closed of history.list) {
      const status: number = closed.status; // 1 partially, 2 fully closed, or not listed yet
      const fully = closed.status === 2;
      const side: number = closed.isLong;
      const positionType: number = closed.positionType;
      rows.push(
        [
          closed.symbolId, side, positionType, closed.leverage, closed.openPrice, closed.closePrice,
          closed.openTime, closed.closeTime, closed.profit, status, fully, closed.openQty,
          closed.closeQty, closed.positionProfit, closed.openFee, closed.closeFee,
        ].join(" "),
      );
    }
    if (page >= Number(history.pages) || rows.length >= Number(history.total)) return rows;
  }
}

export async function tradeData(transport: Transport, credentials: Credentials): Promise<string[]> {
  const { body } = await call(transport, "getTradeData", { query: { type: PERIOD } }, credentials);
  return body.data.map((figures: Schemas["TradeData"]) => {
    const orderCount: number = figures.orderCount; // a JSON integer here, not a string
    const tradingDays: number = figures.tradingDays;
    const ratio: string = figures.profitLossRatio; // text such as "2.18:1", not a decimal
    return [
      figures.profitRate, figures.accumulatedProfit, orderCount, figures.winRate,
      figures.currentFollowerCount, figures.followerTotalProfit, figures.sharpeRatio,
      figures.totalFollowerCount, figures.assetManagementScale, ratio, figures.tradingFrequency,
      tradingDays,
    ].join(" ");
  });
}

export async function profitSharings(transport: Transport, credentials: Credentials): Promise<string[]> {
  const { body } = await call(transport, "listProfitSharingHistory", {}, credentials);
  const records: Schemas["ProfitSharingList"] = body.data; // the latest 100 at most
  return records.map((record) => {
    const week: number = record.weekOfYear;
    const year: number = record.year;
    return [
      record.totalProfitSharing, week, year, record.sharingDate, record.recommendUserShare,
      record.realProfitShare,
    ].join(" ");
  });
}

export async function leaderSymbols(transport: Transport, credentials: Credentials): Promise<string[]> {
  const { body } = await call(transport, "listLeaderSymbols", {}, credentials);
  const symbols: Schemas["LeaderSymbolList"] = body.data;
  return symbols.filter((symbol) => symbol.isLead === 1).map((symbol) => `${symbol.symbolId} ${symbol.leverage}`);
}

export async function leaderConfig(transport: Transport, credentials: Credentials): Promise<Schemas["LeaderConfigUpdate"]> {
  const { body } = await call(transport, "getLeaderConfig", { query: { recvWindow: 5000 } }, credentials);
  const config: Schemas["LeaderConfig"] = body.data;
  const unLeadTypes = [0, 1] as const satisfies readonly Schemas["UnLeadType"][];
  const positionTypes = [-1, 0, 1] as const satisfies readonly Schemas["LeadPositionType"][];
  const periods = [1, 7] as const satisfies readonly Schemas["ProfitPeriod"][];
  // the cool-down timestamps are strings (usually) or null here, integers in the update
  const millis = (value: Schemas["Int64"] | null): number => Number(value ?? 0);
  const update: Schemas["LeaderConfigUpdate"] = {
    unLeadType: listed(config.unLeadType, unLeadTypes, "unLeadType"),
    unLeadStartTime: millis(config.unLeadStartTime),
    unLeadEndTime: millis(config.unLeadEndTime),
    leadPositionType: listed(config.leadPositionType, positionTypes, "leadPositionType"),
    tradeProtect: config.tradeProtect, // values the page does not list: sent back as read
    profitPeriod: listed(config.profitPeriod, periods, "profitPeriod"),
    profitRate: required(config.profitRate, "profitRate"),
    followAssetLowerLimit: required(config.followAssetLowerLimit, "followAssetLowerLimit"),
    fixedAmountFollowMin: required(config.fixedAmountFollowMin, "fixedAmountFollowMin"),
    fixedRateFollowMin: required(config.fixedRateFollowMin, "fixedRateFollowMin"),
    isNeedInvite: config.isNeedInvite,
    inviteScope: config.inviteScope,
    symbolIds: config.symbolIds, // the full list: a pair left out would be disabled
    recommendShare: config.recommendShare,
  };
  const rate = decimal(config.recommendShareRate);
  if (rate !== undefined) update.recommendShareRate = rate;
  if (config.inviteCode) update.inviteCode = config.inviteCode;
  return update;
}

export async function updateLeaderConfig(transport: Transport, credentials: Credentials): Promise<string> {
  const body: Schemas["LeaderConfigUpdate"] = {
    unLeadType: 1,
    unLeadStartTime: 1717200000000,
    unLeadEndTime: 1717286400000,
    leadPositionType: 0,
    tradeProtect: 1,
    profitPeriod: 7,
    profitRate: "0.1",
    followAssetLowerLimit: "100",
    fixedAmountFollowMin: "10",
    fixedRateFollowMin: "10",
    isNeedInvite: 1,
    inviteScope: 2,
    symbolIds: [SYMBOL, "ETH-SWAP-USDT"],
    recommendShare: 1,
    recommendShareRate: "0.2",
    inviteCode: "LEADER2026",
  };
  try {
    const answer = await call(transport, "updateLeaderConfig", { body }, credentials);
    return `updated ${String(answer.body.data ?? null)}`; // null, or left out
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    switch (error.code) {
      case -32090:
        return "a pair left out still has active lead orders";
      case -120078:
        return "the cool-down window is invalid";
      case -120041:
        return "not an active leader";
      default:
        return error.message;
    }
  }
}

export async function followers(transport: Transport, credentials: Credentials): Promise<string[]> {
  const rows: string[] = [];
  for (let page = 1; ; page += 1) {
    const { body } = await call(transport, "listFollowers", { query: { page, size: 50 } }, credentials);
    const followersPage: Schemas["FollowersPage"] = body.data;
    for (const follower of followersPage.list) {
      // no user ID in a row: Remove Follower's ID comes from elsewhere
      rows.push(
        [
          follower.followerNickname ?? "-", follower.followAmountLimit, follower.totalFollowMargin,
          follower.totalProfit, follower.followRunningMills,
        ].join(" "),
      );
    }
    if (page >= Number(followersPage.pages) || rows.length >= Number(followersPage.total)) return rows;
  }
}

export async function removeFollower(transport: Transport, credentials: Credentials): Promise<string> {
  try {
    const answer = await call(transport, "removeFollower", { path: { followerUserId: FOLLOWER } }, credentials);
    const data: null | undefined = answer.body.data; // null, or left out
    return `removed ${String(data ?? null)}`;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    switch (error.code) {
      case -120055:
        return "the follower holds copy positions";
      case -32045:
        return "not a follower of this leader";
      case undefined:
        return "outcome unknown: list the followers before trying again";
      default:
        return error.status >= 500 ? "outcome unknown" : error.message;
    }
  }
}
