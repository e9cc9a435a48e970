// HTML pages and answers of the dev identity provider (see server.mjs).

import { DEMO_ACCOUNTS } from './accounts.mjs';

export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}'
  + 'label{display:block;margin:.8rem 0}input{display:block;width:100%;padding:.4rem;margin-top:.2rem;box-sizing:border-box}'
  + 'button{padding:.5rem 1.2rem;margin-right:.5rem}.error{color:#a00;font-weight:bold}.hint{color:#555;font-size:.9rem}';

export function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export function loginPage(uid, { email = '', error } = {}) {
  const accounts = DEMO_ACCOUNTS.map((a) => esc(a.email)).join(', ');
  return page('Gatehouse Dev IdP \u2013 Sign in', `<h1>Sign in to Gatehouse</h1>
<p class="hint" id="dev-hint">This is the Gatehouse <strong>development</strong> identity provider.
Demo accounts: ${accounts} (shared demo password, see the IdP's console output).</p>
${error ? `<p class="error" id="login-error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label>Email <input name="email" type="email" id="email" value="${esc(email)}" required autofocus></label>
<label>Password <input name="password" type="password" id="password" required></label>
<button type="submit" id="sign-in">Sign in</button>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
<button type="submit" id="cancel">Cancel</button>
</form>`);
}

export function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  if (type.startsWith('text/html')) {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  }
  res.end(body);
}
