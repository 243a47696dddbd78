// The API's JSON shapes (src/gitward/server): the Application's own fields, a subset in the list.

export interface Metadata {
  name: string;
  namespace: string;
  uid?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  creationTimestamp?: string;
}

export interface Source {
  repoURL?: string;
  path?: string;
  targetRevision?: string;
  chart?: string;
}

export interface Condition {
  type: string;
  message: string;
  lastTransitionTime?: string;
}

export interface OperationState {
  phase?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface AppSummary {
  metadata: Metadata;
  spec: {
    project: string;
    destination: { server?: string; name?: string; namespace?: string };
    sources: Source[];
    automated: boolean;
  };
  status: {
    sync: { status?: string; revision?: string };
    health: { status?: string; message?: string };
    conditions: Condition[];
    reconciledAt?: string;
    operationState?: OperationState;
  };
  operation: boolean;
}

export interface Page {
  items: AppSummary[];
  total: number;
  continue: string | null;
}

export interface HistoryEntry {
  id: number;
  revision?: string;
  deployedAt?: string;
  deployStartedAt?: string;
  source?: Source;
  sources?: Source[];
  initiatedBy?: { username?: string; automated?: boolean };
}

export interface Application {
  metadata: Metadata;
  spec: {
    project?: string;
    source?: Source;
    sources?: Source[];
    destination?: { server?: string; name?: string; namespace?: string };
    syncPolicy?: { automated?: unknown };
  };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    conditions?: Condition[];
    operationState?: OperationState;
    history?: HistoryEntry[];
    reconciledAt?: string;
  };
  operation?: unknown;
}

export interface Ref {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface TreeNode extends Ref {
  version: string;
  createdAt?: string;
  parentRefs: Ref[];
  health: { status: string; message?: string } | null;
  status?: string;
}

export interface Event {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  source?: string;
}

export interface DiffEntry {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  status: string;
  wouldCreate: boolean;
  requiresPruning: boolean;
  diff: string;
  error?: string | null;
}

export interface DiffAnswer {
  revision: string;
  resources: DiffEntry[];
}
