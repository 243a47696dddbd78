import { useEffect, useState } from "react";
import { api, type ApiError } from "./api";
import type { DiffAnswer, DiffEntry, TreeNode } from "./types";

const same = (e: DiffEntry, n: TreeNode | null) =>
  n !== null && e.kind === n.kind && e.name === n.name && e.namespace === n.namespace && e.group === n.group;

function DiffText({ text }: { text: string }) {
  if (!text) return <p className="muted">No difference.</p>;
  return (
    <pre className="diff" data-testid="diff-text">
      {text.split("\n").map((line, i) => (
        <span
          key={i}
          className={line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : ""}
        >
          {line}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}

export function DiffView(props: { namespace: string; name: string; focus: TreeNode | null; changes: number }) {
  const [answer, setAnswer] = useState<DiffAnswer | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setError("");
    api
      .diff(props.namespace, props.name)
      .then((a) => current && setAnswer(a))
      .catch((p: ApiError) => current && setError(p.message));
    return () => {
      current = false;
    };
  }, [props.namespace, props.name, props.changes]);

  useEffect(() => {
    if (props.focus) setOpen(`${props.focus.group}/${props.focus.kind}/${props.focus.namespace}/${props.focus.name}`);
  }, [props.focus]);

  if (error)
    return (
      <div className="error" role="alert">
        <strong>Could not compute the diff.</strong>
        <pre>{error}</pre>
      </div>
    );
  if (!answer) return <p className="loading">Rendering and comparing…</p>;
  return (
    <div>
      <p className="muted">
        Git revision <span className="mono">{answer.revision.slice(0, 12)}</span> against the cluster; Secret values are masked.
      </p>
      <ul className="diff-list">
        {answer.resources.map((e) => {
          const key = `${e.group}/${e.kind}/${e.namespace}/${e.name}`;
          const shown = open === key || (open === null && same(e, props.focus));
          const verdict = e.requiresPruning ? "would be pruned" : e.wouldCreate ? "would be created" : e.status;
          return (
            <li key={key}>
              <button
                type="button"
                className="diff-head"
                aria-expanded={shown}
                onClick={() => setOpen(shown ? "" : key)}
                data-resource={`${e.kind}/${e.name}`}
              >
                <span className={`badge ${e.status === "Synced" ? "ok" : "warn"}`}>{verdict}</span> {e.kind}{" "}
                {e.namespace ? `${e.namespace}/` : ""}
                {e.name}
              </button>
              {shown && (e.error ? <pre className="error">{e.error}</pre> : <DiffText text={e.diff} />)}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
