import { useEffect, useRef, useState } from "react";
import { api, type ApiError } from "./api";
import type { TreeNode } from "./types";

const refKey = (n: TreeNode) => `${n.group}/${n.kind}/${n.namespace}/${n.name}`;

export function SyncPanel(props: {
  namespace: string;
  name: string;
  busy: boolean;
  resources: TreeNode[];
  onDone: () => void;
}) {
  const [open, setOpen] = useState(false);
  const [prune, setPrune] = useState(false);
  const [dryRun, setDryRun] = useState(false);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [sending, setSending] = useState(false);
  const [error, setError] = useState("");
  const [refreshing, setRefreshing] = useState(false);
  const opener = useRef<HTMLButtonElement>(null);
  const close = () => {
    setOpen(false);
    setError("");
    opener.current?.focus();
  };

  // Escape closes the options wherever the focus is (a button disabled while sending drops it).
  useEffect(() => {
    if (!open) return;
    const hear = (event: KeyboardEvent) => {
      if (event.key === "Escape") close();
    };
    document.addEventListener("keydown", hear);
    return () => document.removeEventListener("keydown", hear);
  });

  const submit = async () => {
    setSending(true);
    setError("");
    const chosen = props.resources.filter((n) => picked.has(refKey(n)));
    try {
      await api.sync(props.namespace, props.name, {
        prune,
        dryRun,
        ...(chosen.length
          ? { resources: chosen.map((n) => ({ group: n.group, kind: n.kind, name: n.name, namespace: n.namespace })) }
          : {}),
      });
      close();
      props.onDone();
    } catch (problem) {
      setError((problem as ApiError).message);
    } finally {
      setSending(false);
    }
  };

  return (
    <div className="actions">
      <button
        type="button"
        className="primary"
        aria-expanded={open}
        aria-controls="sync-options"
        ref={opener}
        disabled={props.busy}
        title={props.busy ? "an operation is running" : undefined}
        onClick={() => (open ? close() : setOpen(true))}
      >
        {props.busy ? "Syncing…" : "Sync"}
      </button>
      <button
        type="button"
        disabled={refreshing}
        onClick={() => {
          setRefreshing(true);
          api
            .refresh(props.namespace, props.name, false)
            .catch((p: ApiError) => setError(p.message))
            .finally(() => setRefreshing(false));
        }}
      >
        Refresh
      </button>
      {open && (
        <form
          id="sync-options"
          className="sync-options"
          aria-label="Sync options"
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}

        >
          <label>
            <input type="checkbox" checked={prune} onChange={(e) => setPrune(e.target.checked)} /> Prune (delete what Git
            no longer declares)
          </label>
          <label>
            <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} /> Dry run
          </label>
          {props.resources.length > 0 && (
            <fieldset>
              <legend>Only these resources (none ticked: all)</legend>
              {props.resources.map((n) => (
                <label key={refKey(n)}>
                  <input
                    type="checkbox"
                    checked={picked.has(refKey(n))}
                    onChange={(e) => {
                      const next = new Set(picked);
                      if (e.target.checked) next.add(refKey(n));
                      else next.delete(refKey(n));
                      setPicked(next);
                    }}
                  />{" "}
                  {n.kind}/{n.name}
                </label>
              ))}
            </fieldset>
          )}
          <div className="row">
            <button type="submit" className="primary" disabled={sending}>
              {sending ? "Requesting…" : "Synchronize"}
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
      {error && !open && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
