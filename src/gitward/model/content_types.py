"""The content types of the Kubernetes API's PATCH kinds: one spelling for every layer that writes."""

from __future__ import annotations

# RFC 7386: maps merge key by key; a list is replaced whole, and null deletes a key.
MERGE_PATCH = "application/merge-patch+json"
# RFC 6902: a list of operations (add, remove, test...), for changes a merge patch cannot say.
JSON_PATCH = "application/json-patch+json"
# Server-side apply: the fields a field manager owns.
APPLY_PATCH = "application/apply-patch+yaml"
