import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, follow, type ListQuery } from "./api";
import { HealthBadge, PhaseBadge, SyncBadge, shortRev } from "./Badges";
import { appPath, onLink } from "./router";
import type { AppSummary, Page } from "./types";

// ?limit=N in the address picks another page size (the API allows up to 1000).
const PAGE_SIZE = Math.min(1000, Math.max(1, Number(new URLSearchParams(window.location.search).get("limit")) || 50));
const EMPTY: ListQuery = { project: "", cluster: "", namespace: "", sync: "", health: "", search: "" };
const keyOf = (a: AppSummary) => `${a.metadata.namespace}/${a.metadata.name}`;

export function AppList({ onAuth }: { onAuth: () => void }) {
  const [query, setQuery] = useState<ListQuery>(EMPTY);
  const [typed, setTyped] = useState(EMPTY); // what the text boxes hold, applied after a pause in typing
  // The continue tokens of the pages before this one: "Previous" pops one.
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState("");
  const reloads = useRef(0);

  const load = useCallback(async () => {
    const mine = ++reloads.current;
    setLoading(true);
    try {
      const found = await api.list(query, PAGE_SIZE, cursor);
      if (mine !== reloads.current) return; // an answer overtaken by a newer request
      setPage(found);
      setError(null);
    } catch (problem) {
      if (mine !== reloads.current) return;
      setError(problem as ApiError);
      if ((problem as ApiError).status === 401) onAuth();
    } finally {
      if (mine === reloads.current) setLoading(false);
    }
  }, [query, cursor, onAuth]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    const pause = setTimeout(() => {
      if (JSON.stringify(typed) !== JSON.stringify(query)) {
        setQuery(typed);
        setTrail([]);
        setCursor(null);
      }
    }, 250);
    return () => clearTimeout(pause);
  }, [typed, query]);

  // Live: a changed app on this page is replaced in place; an added or deleted one reloads the page.
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return follow(
      (change) => {
        if (change.type === "modified") {
          setPage((old) => {
            if (!old) return old;
            const at = old.items.findIndex((a) => keyOf(a) === keyOf(change.application));
            if (at < 0) return old;
            const items = old.items.slice();
            items[at] = change.application;
            return { ...old, items };
          });
        } else {
          clearTimeout(timer);
          timer = setTimeout(() => void latest.current(), 300);
        }
      },
      () => setLive(""),
      (why) => setLive(why),
    );
  }, []);

  const set = (field: keyof ListQuery) => (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setTyped({ ...typed, [field]: event.target.value });
  const filtered = Object.values(query).some(Boolean);

  return (
    <section aria-labelledby="apps-title">
      <div className="titlebar">
        <h1 id="apps-title">Applications</h1>
        {page && (
          <span className="count" data-testid="app-count">
            {page.total} {page.total === 1 ? "app" : "apps"}
            {filtered ? " match" : ""}
          </span>
        )}
        {live && <span className="live-warning">{live}</span>}
      </div>
      <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Search
          <input type="search" value={typed.search} onChange={set("search")} placeholder="app name" />
        </label>
        <label>
          Project
          <input value={typed.project} onChange={set("project")} placeholder="any" />
        </label>
        <label>
          Cluster
          <input value={typed.cluster} onChange={set("cluster")} placeholder="server URL or name" />
        </label>
        <label>
          Namespace
          <input value={typed.namespace} onChange={set("namespace")} placeholder="any destination" />
        </label>
        <label>
          Sync
          <select value={typed.sync} onChange={set("sync")}>
            <option value="">any</option>
            <option>Synced</option>
            <option>OutOfSync</option>
            <option>Unknown</option>
          </select>
        </label>
        <label>
          Health
          <select value={typed.health} onChange={set("health")}>
            <option value="">any</option>
            <option>Healthy</option>
            <option>Progressing</option>
            <option>Degraded</option>
            <option>Suspended</option>
            <option>Missing</option>
            <option>Unknown</option>
          </select>
        </label>
        {filtered && (
          <button type="button" onClick={() => setTyped(EMPTY)}>
            Clear filters
          </button>
        )}
      </form>

      {error ? (
        <div className="error" role="alert">
          <strong>Could not load the applications.</strong> {error.message}{" "}
          <button type="button" onClick={() => void load()}>
            Retry
          </button>
        </div>
      ) : !page ? (
        <p className="loading" role="status">
          Loading applications…
        </p>
      ) : page.items.length === 0 ? (
        <p className="empty" role="status">
          {filtered ? "No application matches these filters." : "No applications yet. Create one with `gitward app create`."}
        </p>
      ) : (
        <table className="apps" aria-busy={loading}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Project</th>
              <th scope="col">Destination</th>
              <th scope="col">Source</th>
              <th scope="col">Sync</th>
              <th scope="col">Health</th>
              <th scope="col">Revision</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((a) => (
              <tr key={keyOf(a)} data-app={a.metadata.name}>
                <td>
                  <a href={appPath(a.metadata.namespace, a.metadata.name)} onClick={onLink}>
                    {a.metadata.name}
                  </a>
                  {a.status.conditions.length > 0 && (
                    <span className="cond-flag" title={a.status.conditions.map((c) => `${c.type}: ${c.message}`).join("\n")}>
                      {" "}
                      ⚠ {a.status.conditions[0].type}
                    </span>
                  )}
                </td>
                <td>{a.spec.project}</td>
                <td>
                  {a.spec.destination.name || a.spec.destination.server || "—"}
                  <span className="muted"> / {a.spec.destination.namespace || "—"}</span>
                </td>
                <td className="source" title={a.spec.sources.map((s) => s.repoURL).join("\n")}>
                  {a.spec.sources.map((s) => `${s.path || s.chart || "."}@${s.targetRevision || "HEAD"}`).join(", ")}
                </td>
                <td>
                  <SyncBadge status={a.status.sync.status} /> <PhaseBadge phase={a.status.operationState?.phase} />
                </td>
                <td>
                  <HealthBadge status={a.status.health.status} />
                </td>
                <td className="mono">{shortRev(a.status.sync.revision)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button
          type="button"
          disabled={trail.length === 0}
          onClick={() => {
            setCursor(trail[trail.length - 1] ?? null);
            setTrail(trail.slice(0, -1));
          }}
        >
          ← Previous
        </button>
        <span>Page {trail.length + 1}</span>
        <button
          type="button"
          disabled={!page?.continue}
          onClick={() => {
            setTrail([...trail, cursor]);
            setCursor(page?.continue ?? null);
          }}
        >
          Next →
        </button>
      </nav>
    </section>
  );
}
