"""gitward: a pull-based GitOps operator for Kubernetes."""

__version__ = "0.1.0"
