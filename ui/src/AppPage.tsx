import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, follow } from "./api";
import { HealthBadge, PhaseBadge, SyncBadge, shortRev } from "./Badges";
import { DiffView } from "./DiffView";
import { History } from "./History";
import { SyncPanel } from "./SyncPanel";
import { Tree } from "./Tree";
import { onLink } from "./router";
import type { AppSummary, Application, Event, TreeNode } from "./types";

const PAUSED = "gitward.dev/automation-paused";
type Tab = "tree" | "diff" | "history" | "events";

/** The header's live facts: from the full app at first, then from each streamed summary. */
interface Live {
  sync?: string;
  revision?: string;
  health?: string;
  healthMessage?: string;
  phase?: string;
  opMessage?: string;
  conditions: { type: string; message: string }[];
  annotations: Record<string, string>;
  operation: boolean;
}

function fromApp(a: Application): Live {
  return {
    sync: a.status?.sync?.status,
    revision: a.status?.sync?.revision,
    health: a.status?.health?.status,
    healthMessage: a.status?.health?.message,
    phase: a.status?.operationState?.phase,
    opMessage: a.status?.operationState?.message,
    conditions: a.status?.conditions ?? [],
    annotations: a.metadata.annotations ?? {},
    operation: Boolean(a.operation),
  };
}

function fromSummary(a: AppSummary): Live {
  return {
    sync: a.status.sync.status,
    revision: a.status.sync.revision,
    health: a.status.health.status,
    healthMessage: a.status.health.message,
    phase: a.status.operationState?.phase,
    opMessage: a.status.operationState?.message,
    conditions: a.status.conditions,
    annotations: a.metadata.annotations ?? {},
    operation: a.operation,
  };
}

export function AppPage({ namespace, name, onAuth }: { namespace: string; name: string; onAuth: () => void }) {
  const [app, setApp] = useState<Application | null>(null);
  const [live, setLive] = useState<Live | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [nodes, setNodes] = useState<TreeNode[] | null>(null);
  const [treeError, setTreeError] = useState("");
  const [events, setEvents] = useState<Event[] | null>(null);
  const [tab, setTab] = useState<Tab>("tree");
  const [focus, setFocus] = useState<TreeNode | null>(null);
  const [stream, setStream] = useState("");
  const [changes, setChanges] = useState(0); // bumped by each streamed change, so tabs reload

  const loadApp = useCallback(async () => {
    try {
      const found = await api.get(namespace, name);
      setApp(found);
      setLive(fromApp(found));
      setError(null);
    } catch (problem) {
      setError(problem as ApiError);
      if ((problem as ApiError).status === 401) onAuth();
    }
  }, [namespace, name, onAuth]);

  const loadDetails = useCallback(async () => {
    await Promise.all([
      api
        .tree(namespace, name)
        .then((t) => {
          setNodes(t.nodes);
          setTreeError("");
        })
        .catch((p: ApiError) => setTreeError(p.message)),
      api
        .events(namespace, name)
        .then((e) => setEvents(e.items))
        .catch(() => setEvents(null)),
    ]);
  }, [namespace, name]);

  useEffect(() => {
    void loadApp();
    void loadDetails();
  }, [loadApp, loadDetails]);

  // Live: the header follows each change at once; the tree, events and full app follow shortly after.
  const reload = useRef(() => {});
  reload.current = () => {
    void loadApp();
    void loadDetails();
    setChanges((n) => n + 1);
  };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = follow(
      (change) => {
        const a = change.application;
        if (a.metadata.namespace !== namespace || a.metadata.name !== name) return;
        if (change.type === "deleted") {
          setError(new ApiError(404, "this application was deleted"));
          return;
        }
        setLive(fromSummary(a));
        clearTimeout(timer);
        timer = setTimeout(() => reload.current(), 500);
      },
      () => {
        setStream("");
        reload.current(); // what changed before the stream opened (or while it was down) was missed
      },
      (why) => setStream(why),
    );
    return () => {
      clearTimeout(timer);
      stop();
    };
  }, [namespace, name]);

  if (error && !app) {
    return (
      <section>
        <p>
          <a href="/" onClick={onLink}>
            ← Applications
          </a>
        </p>
        <div className="error" role="alert">
          <strong>
            Could not load {namespace}/{name}.
          </strong>{" "}
          {error.message}{" "}
          <button type="button" onClick={() => void loadApp()}>
            Retry
          </button>
        </div>
      </section>
    );
  }
  if (!app || !live) {
    return (
      <p className="loading" role="status">
        Loading {name}…
      </p>
    );
  }
  const sources = app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
  const paused = live.annotations[PAUSED];
  const running = live.operation || live.phase === "Running";
  const managed = (nodes ?? []).filter((n) => n.parentRefs.length === 0);
  // After a rollback (or a failed sync) what runs differs from the revision compared with: say both.
  const history = app.status?.history ?? [];
  const deployed = history.length ? history[history.length - 1].revision : undefined;
    // The pause has a banner of its own (with the way out); the other conditions are shown as they are.
  const conditions = live.conditions.filter((c) => !(paused && c.type === "AutomationPaused"));

  return (
    <section aria-labelledby="app-title">
      <p className="crumbs">
        <a href="/" onClick={onLink}>
          ← Applications
        </a>
      </p>
      <div className="app-header">
        <div>
          <h1 id="app-title">{name}</h1>
          <div className="muted">
            {namespace} · project {app.spec.project ?? "default"} ·{" "}
            {sources.map((s) => `${s.repoURL ?? ""} ${s.path ?? s.chart ?? ""}@${s.targetRevision ?? "HEAD"}`).join(", ")}
            {app.spec.syncPolicy?.automated ? " · automated" : " · manual sync"}
          </div>
        </div>
        <dl className="facts" aria-live="polite">
          <div>
            <dt>Sync</dt>
            <dd>
              <SyncBadge status={live.sync} />
            </dd>
          </div>
          <div>
            <dt>Health</dt>
            <dd>
              <HealthBadge status={live.health} />
            </dd>
          </div>
          <div>
            <dt>Revision</dt>
            <dd className="mono" data-testid="revision" title={`compared with ${live.revision ?? "—"}`}>
              {shortRev(live.revision)}
            </dd>
            {deployed && deployed !== live.revision && (
              <dd className="mono muted" data-testid="deployed-revision" title={`deployed: ${deployed}`}>
                deployed {shortRev(deployed)}
              </dd>
            )}
          </div>
          <div>
            <dt>Last operation</dt>
            <dd>
              <PhaseBadge phase={live.phase} /> {!live.phase && "—"}
            </dd>
          </div>
        </dl>
        <SyncPanel namespace={namespace} name={name} busy={running} resources={managed} onDone={() => reload.current()} />
      </div>
      {stream && <p className="live-warning">{stream}</p>}
      {paused && (
        <p className="banner" role="status">
          Automation paused: {paused}. Run <code>gitward app sync {name}</code> or press Sync to resume.
        </p>
      )}
      {live.opMessage && live.phase && live.phase !== "Succeeded" && (
        <p className={live.phase === "Running" ? "banner" : "error"} data-testid="operation-message">
          {live.phase}: {live.opMessage}
        </p>
      )}
      {conditions.length > 0 && (
        <ul className="conditions" aria-label="Conditions">
          {conditions.map((c, i) => (
            <li key={i} className={/Error$/.test(c.type) ? "error" : "warning"} data-condition={c.type}>
              <strong>{c.type}</strong>
              <pre>{c.message}</pre>
            </li>
          ))}
        </ul>
      )}
      <div role="tablist" className="tabs" aria-label="Application views">
        {(
          [
            ["tree", "Resource tree"],
            ["diff", "Diff"],
            ["history", "History"],
            ["events", `Events${events ? ` (${events.length})` : ""}`],
          ] as [Tab, string][]
        ).map(([id, label]) => (
          <button
            key={id}
            type="button"
            role="tab"
            id={`tab-${id}`}
            aria-selected={tab === id}
            aria-controls={`panel-${id}`}
            onClick={() => setTab(id)}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="panel">
        {tab === "tree" &&
          (treeError ? (
            <div className="error" role="alert">
              Could not load the resource tree: {treeError}
            </div>
          ) : nodes === null ? (
            <p className="loading">Loading the resource tree…</p>
          ) : nodes.length === 0 ? (
            <p className="empty">This app manages no resources yet.</p>
          ) : (
            <Tree
              appName={name}
              appHealth={live.health}
              nodes={nodes}
              onSelect={(n) => {
                setFocus(n);
                setTab("diff");
              }}
            />
          ))}
        {tab === "diff" && <DiffView namespace={namespace} name={name} focus={focus} changes={changes} />}
        {tab === "history" && (
          <History
            namespace={namespace}
            name={name}
            history={app.status?.history ?? []}
            busy={running}
            onDone={() => reload.current()}
          />
        )}
        {tab === "events" &&
          (events === null ? (
            <p className="loading">Loading events…</p>
          ) : events.length === 0 ? (
            <p className="empty">No events recorded for this app.</p>
          ) : (
            <table className="events">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Message</th>
                  <th scope="col">Count</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {events
                  .slice()
                  .reverse()
                  .map((e, i) => (
                    <tr key={i} className={e.type === "Warning" ? "event-warning" : ""}>
                      <td>{e.type}</td>
                      <td>{e.reason}</td>
                      <td>
                        <pre>{e.message}</pre>
                      </td>
                      <td>{e.count}</td>
                      <td>{e.lastTimestamp ? new Date(e.lastTimestamp).toLocaleString() : "—"}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          ))}
      </div>
    </section>
  );
}
