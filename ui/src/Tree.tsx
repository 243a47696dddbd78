// The resource tree as a left-to-right graph: the app, then what it manages, then their children.
import { healthTone } from "./Badges";
import type { TreeNode } from "./types";

const W = 210;
const H = 54;
const GAP_X = 56;
const GAP_Y = 10;

interface Placed {
  node: TreeNode | null; // null: the app itself
  label: string;
  kind: string;
  health?: string;
  sync?: string;
  depth: number;
  row: number;
  parent?: Placed;
}

function layout(appName: string, appHealth: string | undefined, nodes: TreeNode[]): Placed[] {
  const children = new Map<string, TreeNode[]>();
  const roots: TreeNode[] = [];
  const uids = new Set(nodes.map((n) => n.uid).filter(Boolean));
  for (const n of nodes) {
    const parent = n.parentRefs.find((p) => uids.has(p.uid));
    if (parent) children.set(parent.uid, [...(children.get(parent.uid) ?? []), n]);
    else roots.push(n);
  }
  const out: Placed[] = [];
  let row = 0;
  // Depth first: a node sits on its first child's row and each leaf takes the next row.
  const place = (node: TreeNode | null, depth: number, parent?: Placed): void => {
    const kids = node ? (children.get(node.uid) ?? []) : roots;
    const placed: Placed = node
      ? { node, label: node.name, kind: node.kind, health: node.health?.status, sync: node.status, depth, row, parent }
      : { node: null, label: appName, kind: "Application", health: appHealth, depth, row };
    out.push(placed);
    if (kids.length === 0) row += 1;
    kids
      .slice()
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name))
      .forEach((kid) => place(kid, depth + 1, placed));
  };
  place(null, 0);
  return out;
}

export function Tree(props: {
  appName: string;
  appHealth?: string;
  nodes: TreeNode[];
  onSelect: (node: TreeNode) => void;
}) {
  const placed = layout(props.appName, props.appHealth, props.nodes);
  const rows = Math.max(1, ...placed.map((p) => p.row + 1));
  const depth = Math.max(0, ...placed.map((p) => p.depth));
  const width = (depth + 1) * (W + GAP_X);
  const height = rows * (H + GAP_Y);
  const x = (p: Placed) => p.depth * (W + GAP_X);
  const y = (p: Placed) => p.row * (H + GAP_Y);
  return (
    <div className="tree-scroll">
      <div className="tree" style={{ width, height }} data-testid="resource-tree">
        <svg width={width} height={height} aria-hidden="true">
          {placed
            .filter((p) => p.parent)
            .map((p, i) => {
              const from = p.parent!;
              const x1 = x(from) + W;
              const y1 = y(from) + H / 2;
              const x2 = x(p);
              const y2 = y(p) + H / 2;
              const mid = x1 + GAP_X / 2;
              return <path key={i} d={`M${x1},${y1} H${mid} V${y2} H${x2}`} className="edge" />;
            })}
        </svg>
        {placed.map((p, i) => {
          const tone = healthTone(p.health);
          const title = `${p.kind} ${p.node?.namespace ? p.node.namespace + "/" : ""}${p.label}\nhealth: ${p.health ?? "—"}${
            p.node?.health?.message ? ` (${p.node.health.message})` : ""
          }${p.sync ? `\nsync: ${p.sync}` : ""}`;
          const body = (
            <>
              <span className="kind">{p.kind}</span>
              <span className="name">{p.label}</span>
              <span className="facts">
                {/* Objects without a health (a ConfigMap) still say whether they match Git. */}
                {[p.health, p.sync && (p.sync !== "Synced" || !p.health) ? p.sync : ""].filter(Boolean).join(" · ") || "—"}
              </span>
            </>
          );
          const style = { left: x(p), top: y(p), width: W, height: H };
          // Objects the app manages open their diff; the app itself and generated children have none.
          return p.node && p.depth === 1 ? (
            <button
              type="button"
              key={i}
              className={`node ${tone}`}
              style={style}
              title={title}
              data-kind={p.kind}
              data-health={p.health}
              onClick={() => props.onSelect(p.node!)}
            >
              {body}
            </button>
          ) : (
            <div key={i} className={`node ${tone}`} style={style} title={title} data-kind={p.kind} data-health={p.health}>
              {body}
            </div>
          );
        })}
      </div>
    </div>
  );
}
