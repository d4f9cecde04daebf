// abono dashboard: ES modules, no framework, no inline handlers (works under CSP script-src 'self').
// This module holds the key prompt, the navigation and the hash router; each page is a module in pages/.
import { $, h, replace } from './lib/dom.js';
import { api, ApiError, download, key, KeyRefused } from './lib/api.js';
import { PAGES } from './pages/index.js';

let stopPage = null;

function showLogin(message) {
  leavePage();
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#forget').hidden = true;
  $('#login-error').textContent = message || '';
  $('#key').focus();
}

function leavePage() {
  if (stopPage) stopPage();
  stopPage = null;
  document.body.removeAttribute('data-loaded');
}

/** "#/files/<id>" → the page whose route is "files", with params ["<id>"]. */
function current() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = PAGES.find((p) => p.route === parts[0]) || PAGES[0];
  return { page, params: page.route === parts[0] ? parts.slice(1).filter(Boolean) : [] };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** What a page is handed: the API, navigation, a loaded signal (tests wait on it), and error reporting. */
function context(page) {
  return {
    api,
    download,
    navigate,
    loaded: () => document.body.setAttribute('data-loaded', 'true'),
    refreshed: () => ($('#refreshed').textContent = 'updated ' + new Date().toLocaleTimeString()),
    fail: (err) => {
      if (err instanceof KeyRefused) {
        key.forget();
        return showLogin(err.message);
      }
      const banner = $('#page-error');
      banner.textContent = (err instanceof ApiError && err.code ? err.code + ': ' : '') + err.message;
      banner.hidden = false;
    },
    clearError: () => ($('#page-error').hidden = true),
    page,
  };
}

async function route() {
  if (!key.get()) return showLogin();
  leavePage();
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#forget').hidden = false;
  $('#page-error').hidden = true;
  const { page, params } = current();
  document.body.setAttribute('data-page', page.route || 'portfolio');
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('data-route') === page.route);
  $('#subtitle').textContent = page.title.toLowerCase();
  const root = replace('#page');
  const ctx = context(page);
  try {
    stopPage = (await page.render(root, params, ctx)) || null;
  } catch (err) {
    ctx.fail(err);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  replace('#nav', ...PAGES.filter((p) => p.nav !== false).map((p) => h('a', { href: '#/' + p.route, 'data-route': p.route, text: p.title })));
  $('#key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = $('#key').value.trim();
    if (!k) return;
    key.set(k);
    $('#key').value = '';
    route();
  });
  $('#forget').addEventListener('click', () => {
    key.forget();
    showLogin('The key was forgotten.');
  });
  // The search box opens a credit by its id or the lender's loan number, from any page.
  $('#find-credit').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = $('#credit-query').value.trim();
    if (q) navigate('#/credits/' + encodeURIComponent(q));
  });
  window.addEventListener('hashchange', route);
  route();
});
