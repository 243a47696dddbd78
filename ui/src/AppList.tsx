import { memo, useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, follow, type ListQuery } from "./api";
import { HealthBadge, PhaseBadge, SyncBadge, shortRev } from "./Badges";
import { appPath, onLink } from "./router";
import type { AppSummary, Page } from "./types";

// ?limit=N in the address picks another page size (the API allows up to 1000).
const PAGE_SIZE = Math.min(1000, Math.max(1, Number(new URLSearchParams(window.location.search).get("limit")) || 50));
const EMPTY: ListQuery = { project: "", cluster: "", namespace: "", sync: "", health: "", search: "" };
const keyOf = (a: AppSummary) => `${a.metadata.namespace}/${a.metadata.name}`;
// Text boxes wait for a pause in typing; a select is one deliberate choice, applied at once.
const TYPED: (keyof ListQuery)[] = ["search", "project", "cluster", "namespace"];
// At most one page reload per this many ms however fast the stream brings changes (a burst of
// thousands of adds, or a filtered view while a controller reconciles every app).
const RELOAD_EVERY = 300;
const FITS_EVERY = 1000;

/** Whether the server would still list `a` under `q`: the same tests as its Filters, on one app. */
function matches(a: AppSummary, q: ListQuery): boolean {
  const d = a.spec.destination;
  return (
    (!q.project || a.spec.project === q.project) &&
    (!q.namespace || d.namespace === q.namespace) &&
    (!q.cluster || d.server === q.cluster || d.name === q.cluster) &&
    (!q.sync || (a.status.sync.status || "Unknown") === q.sync) &&
    (!q.health || (a.status.health.status || "Unknown") === q.health) &&
    (!q.search || a.metadata.name.toLowerCase().includes(q.search.toLowerCase()))
  );
}

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

  const apply = useCallback((next: ListQuery) => {
    setQuery(next);
    setTrail([]);
    setCursor(null);
  }, []);

  useEffect(() => {
    const pause = setTimeout(() => {
      if (JSON.stringify(typed) !== JSON.stringify(query)) apply(typed);
    }, 250);
    return () => clearTimeout(pause);
  }, [typed, query, apply]);

  // Live, without refetching the world: a changed app on this page is replaced in place (only its
  // row renders again); anything that can change which apps this page lists (an add, a delete, a
  // change that moves an app into or out of the filters) reloads this one page, at most once per
  // RELOAD_EVERY ms. Nothing from the stream is kept beyond the page on screen.
  const latest = useRef({ load, query, page });
  latest.current = { load, query, page };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reload = (after = RELOAD_EVERY) => {
      timer ??= setTimeout(() => {
        timer = undefined;
        void latest.current.load();
      }, after);
    };
    const stop = follow(
      (change) => {
        if (change.type !== "modified") return reload();
        const { query: now, page: shownPage } = latest.current;
        const key = keyOf(change.application);
        const fits = matches(change.application, now);
        const shown = shownPage?.items.some((a) => keyOf(a) === key) ?? false;
        if (shown) {
          setPage((old) => {
            const at = old ? old.items.findIndex((a) => keyOf(a) === key) : -1;
            if (!old || at < 0) return old;
            const items = old.items.slice();
            items[at] = change.application;
            return { ...old, items };
          });
        }
        // Unfiltered, a change never moves an app between pages; filtered, it may join or leave.
        // One that fits and is not shown may have fitted before: the slower reload bounds the cost
        // of a filtered view while a controller rewrites the status of thousands of apps.
        if (Object.values(now).some(Boolean) && shown !== fits) reload(shown ? RELOAD_EVERY : FITS_EVERY);
      },
      () => {
        setLive("");
        // The page may have been read before the stream opened (or before a drop): a change in
        // between was missed, and nothing would show it until the app changed again.
        reload();
      },
      (why) => setLive(why),
    );
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, []);

  const set = (field: keyof ListQuery) => (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
    const next = { ...typed, [field]: event.target.value };
    setTyped(next);
    if (!TYPED.includes(field)) apply(next);
  };
  const filtered = Object.values(query).some(Boolean);

  // A pager button pressed from the keyboard can disable itself (first or last page), which leaves
  // the focus on a dead button (or <body>); hand it to the other one so Tab and Enter carry on.
  const previous = useRef<HTMLButtonElement>(null);
  const next = useRef<HTMLButtonElement>(null);
  const paged = useRef(false);
  const searchBox = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const focused = document.activeElement;
    const onPager = focused === previous.current || focused === next.current;
    const lost = onPager ? (focused as HTMLButtonElement).disabled : !focused || focused === document.body;
    if (paged.current && lost) (previous.current?.disabled ? next.current : previous.current)?.focus();
    if (!onPager) paged.current = false;
  }, [page, trail]);

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
          <input ref={searchBox} type="search" value={typed.search} onChange={set("search")} placeholder="app name" />
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
          <button
            type="button"
            onClick={() => {
              setTyped(EMPTY);
              apply(EMPTY);
              searchBox.current?.focus(); // this button goes away: keep the keyboard in the filters
            }}
          >
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
              <Row key={keyOf(a)} app={a} />
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button
          type="button"
          ref={previous}
          disabled={trail.length === 0}
          onClick={() => {
            paged.current = true;
            setCursor(trail[trail.length - 1] ?? null);
            setTrail(trail.slice(0, -1));
          }}
        >
          ← Previous
        </button>
        <span data-testid="page-position">
          Page {trail.length + 1}
          {page ? ` of ${Math.max(1, Math.ceil(page.total / PAGE_SIZE))}` : ""}
        </span>
        <button
          type="button"
          ref={next}
          disabled={!page?.continue}
          onClick={() => {
            paged.current = true;
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

// Memoised: a streamed change replaces one app object, so only that app's row renders again.
const Row = memo(function Row({ app: a }: { app: AppSummary }) {
  return (
    <tr data-app={a.metadata.name}>
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
  );
});
