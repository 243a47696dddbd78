import { useState } from "react";
import { api, type ApiError } from "./api";
import { shortRev } from "./Badges";
import type { HistoryEntry } from "./types";

export function History(props: {
  namespace: string;
  name: string;
  history: HistoryEntry[];
  busy: boolean;
  onDone: () => void;
}) {
  const [confirm, setConfirm] = useState<number | null>(null);
  const [error, setError] = useState("");
  const [sent, setSent] = useState("");
  if (props.history.length === 0) return <p className="empty">Nothing deployed yet.</p>;
  const newest = props.history[props.history.length - 1].id;

  const rollback = async (id: number) => {
    setError("");
    try {
      await api.rollback(props.namespace, props.name, id);
      setSent(`Rollback to #${id} requested; automated sync is paused until the next manual sync.`);
      setConfirm(null);
      props.onDone();
    } catch (problem) {
      setError((problem as ApiError).message);
    }
  };

  return (
    <div>
      {sent && <p className="banner" role="status">{sent}</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table className="history">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Revision</th>
            <th scope="col">Source</th>
            <th scope="col">Deployed</th>
            <th scope="col">By</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.history
            .slice()
            .reverse()
            .map((h) => {
              const sources = h.sources ?? (h.source ? [h.source] : []);
              return (
                <tr key={h.id} data-history={h.id}>
                  <td>{h.id}</td>
                  <td className="mono" title={h.revision}>
                    {shortRev(h.revision)}
                    {h.id === newest && <span className="badge ok">deployed</span>}
                  </td>
                  <td>{sources.map((s) => `${s.path ?? s.chart ?? "."}@${s.targetRevision ?? "HEAD"}`).join(", ")}</td>
                  <td>{h.deployedAt ? new Date(h.deployedAt).toLocaleString() : "—"}</td>
                  <td>{h.initiatedBy?.automated ? "automated" : (h.initiatedBy?.username ?? "—")}</td>
                  <td>
                    {h.id !== newest &&
                      (confirm === h.id ? (
                        <>
                          <button type="button" className="danger" onClick={() => void rollback(h.id)}>
                            Confirm rollback to #{h.id}
                          </button>{" "}
                          <button type="button" onClick={() => setConfirm(null)}>
                            Cancel
                          </button>
                        </>
                      ) : (
                        <button type="button" disabled={props.busy} onClick={() => setConfirm(h.id)}>
                          Roll back
                        </button>
                      ))}
                  </td>
                </tr>
              );
            })}
        </tbody>
      </table>
    </div>
  );
}
