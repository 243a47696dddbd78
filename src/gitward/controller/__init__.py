"""The GitOps controller: work queue, reconcile loop, status writer, leader election, triggers."""
