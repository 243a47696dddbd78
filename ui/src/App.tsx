import { useState } from "react";
import { getToken, setToken } from "./api";
import { AppList } from "./AppList";
import { AppPage } from "./AppPage";
import { onLink, usePath } from "./router";

export function App() {
  const path = usePath();
  const [token, setSaved] = useState(getToken());
  const [shown, setShown] = useState(false);
  // A new token re-mounts the page, so every request and the stream start over with it.
  const save = (value: string) => {
    setToken(value.trim());
    setSaved(value.trim());
    setShown(false);
  };
  const match = /^\/applications\/([^/]+)\/([^/]+)\/?$/.exec(path);
  return (
    <>
      <header className="top">
        <a href="/" onClick={onLink} className="brand">
          gitward
        </a>
        <span className="spacer" />
        {token ? (
          <span className="who">signed in with a token</span>
        ) : (
          <span className="who">anonymous</span>
        )}
        <button type="button" onClick={() => setShown(!shown)} aria-expanded={shown}>
          {token ? "Change token" : "Sign in"}
        </button>
        {token && (
          <button type="button" onClick={() => save("")}>
            Sign out
          </button>
        )}
      </header>
      {(shown || (!token && path === "/login")) && <Login onSave={save} />}
      <main key={token}>
        {match ? (
          <AppPage namespace={decodeURIComponent(match[1])} name={decodeURIComponent(match[2])} onAuth={() => setShown(true)} />
        ) : (
          <AppList onAuth={() => setShown(true)} />
        )}
      </main>
    </>
  );
}

function Login({ onSave }: { onSave: (token: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      className="login"
      onSubmit={(event) => {
        event.preventDefault();
        onSave(value);
      }}
    >
      <label htmlFor="token">API token</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        autoFocus
        value={value}
        onChange={(event) => setValue(event.target.value)}
        placeholder="from `gitward token create`"
      />
      <button type="submit" className="primary">
        Use token
      </button>
      <span className="hint">Kept in this tab only (sessionStorage).</span>
    </form>
  );
}
