/**
 * Proof that a TypeScript team can build on openapi.yaml: a small client that builds
 * every request of the eight operations and reads every response, through nothing but
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
