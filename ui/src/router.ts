// Two pages need no router library: the path is the state, and links push it.
import { useEffect, useState } from "react";

export function navigate(path: string): void {
  window.history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const hear = () => setPath(window.location.pathname);
    window.addEventListener("popstate", hear);
    return () => window.removeEventListener("popstate", hear);
  }, []);
  return path;
}

export function appPath(namespace: string, name: string): string {
  return `/applications/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** A plain link (new tab, copy address work) that moves within the page on an ordinary click. */
export function onLink(event: React.MouseEvent<HTMLAnchorElement>): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute("href") ?? "/");
}
