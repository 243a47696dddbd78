const SYNC: Record<string, string> = { Synced: "ok", OutOfSync: "warn", Unknown: "muted" };
const HEALTH: Record<string, string> = {
  Healthy: "ok",
  Progressing: "info",
  Degraded: "bad",
  Missing: "warn",
  Suspended: "muted",
  Unknown: "muted",
};
const ICON: Record<string, string> = { ok: "✔", warn: "⚠", bad: "✖", info: "◔", muted: "?" };

export function healthTone(status: string | undefined): string {
  return HEALTH[status ?? "Unknown"] ?? "muted";
}

export function SyncBadge({ status }: { status?: string }) {
  const tone = SYNC[status ?? "Unknown"] ?? "muted";
  return (
    <span className={`badge ${tone}`} data-testid="sync-status" title="Sync status">
      {ICON[tone]} {status ?? "Unknown"}
    </span>
  );
}

export function HealthBadge({ status }: { status?: string }) {
  const tone = healthTone(status);
  return (
    <span className={`badge ${tone}`} data-testid="health-status" title="Health">
      {ICON[tone]} {status ?? "Unknown"}
    </span>
  );
}

export function PhaseBadge({ phase }: { phase?: string }) {
  if (!phase) return null;
  const tone = phase === "Succeeded" ? "ok" : phase === "Running" ? "info" : "bad";
  return (
    <span className={`badge ${tone}`} data-testid="operation-phase" title="Last operation">
      {phase}
    </span>
  );
}

export const shortRev = (revision?: string) => (revision ? revision.slice(0, 8) : "—");
