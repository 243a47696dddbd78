"""The sync engine: pure decisions (health, diff, plan) and the calls into gitward.kube."""
