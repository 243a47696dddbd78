// Calls to `gitward server` under /api/v1, with the bearer token kept for this browser tab.
import type { AppSummary, Application, DiffAnswer, Event, HistoryEntry, Page, TreeNode } from "./types";

const TOKEN_KEY = "gitward.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(json: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const token = getToken();
  if (token) out.Authorization = `Bearer ${token}`;
  if (json) out["Content-Type"] = "application/json";
  return out;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let answer: Response;
  try {
    answer = await fetch(`/api/v1${path}`, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (problem) {
    throw new ApiError(0, `the server cannot be reached (${String(problem)})`);
  }
  if (!answer.ok) {
    const detail: unknown = await answer
      .json()
      .then((b: { detail?: unknown }) => b.detail)
      .catch(() => undefined);
    const text = typeof detail === "string" ? detail : JSON.stringify(detail ?? answer.statusText);
    throw new ApiError(answer.status, text || `HTTP ${answer.status}`);
  }
  return (await answer.json()) as T;
}

const app = (ns: string, name: string) => `/applications/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;

export interface ListQuery {
  project: string;
  cluster: string;
  namespace: string;
  sync: string;
  health: string;
  search: string;
}

export const api = {
  list(query: ListQuery, limit: number, cont: string | null): Promise<Page> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    params.set("limit", String(limit));
    if (cont) params.set("continue", cont);
    return request("GET", `/applications?${params}`);
  },
  get: (ns: string, name: string) => request<Application>("GET", app(ns, name)),
  tree: (ns: string, name: string) => request<{ nodes: TreeNode[] }>("GET", `${app(ns, name)}/resource-tree`),
  events: (ns: string, name: string) => request<{ items: Event[] }>("GET", `${app(ns, name)}/events`),
  history: (ns: string, name: string) => request<{ history: HistoryEntry[] }>("GET", `${app(ns, name)}/history`),
  diff: (ns: string, name: string) => request<DiffAnswer>("GET", `${app(ns, name)}/diff`),
  sync: (ns: string, name: string, body: { prune: boolean; dryRun: boolean; resources?: object[] }) =>
    request<Application>("POST", `${app(ns, name)}/sync`, body),
  rollback: (ns: string, name: string, id: number) =>
    request<Application>("POST", `${app(ns, name)}/rollback`, { id }),
  refresh: (ns: string, name: string, hard: boolean) =>
    request<Application>("POST", `${app(ns, name)}/refresh`, { hard }),
};

// The stream's data says ADDED, MODIFIED or DELETED (Kubernetes' watch words); callers get them lower-case.
export type Change = { type: "added" | "modified" | "deleted"; application: AppSummary };

/**
 * Follow /api/v1/stream until `stop()`; reconnects after a drop and tells `onOpen` so the
 * caller reloads what it may have missed. fetch rather than EventSource, which cannot send
 * the Authorization header.
 */
export function follow(onChange: (change: Change) => void, onOpen: () => void, onDown: (why: string) => void) {
  const abort = new AbortController();
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const answer = await fetch("/api/v1/stream", { headers: headers(false), signal: abort.signal });
        if (!answer.ok || !answer.body) throw new Error(`HTTP ${answer.status}`);
        onOpen();
        const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split("\n")
              .filter((line) => line.startsWith("data:"))
              .map((line) => line.slice(5).trimStart())
              .join("\n");
            if (data) {
              const change = JSON.parse(data) as { type: string; application: AppSummary };
              onChange({ ...change, type: change.type.toLowerCase() as Change["type"] });
            }
          }
        }
        onDown("the live stream closed; reconnecting");
      } catch (problem) {
        if (abort.signal.aborted) return;
        onDown(`live updates lost (${String(problem)}); reconnecting`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  void run();
  return () => abort.abort();
}
