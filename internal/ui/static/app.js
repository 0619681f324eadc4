// trackd's web UI. It talks to the JSON API under /api/v1 with the session
// cookie that a login sets. Every element is built with the DOM and every
// value goes in as text (never innerHTML): sub ids, referrers and user
// agents come from traffic and must never become markup.

const API = '/api/v1';
const main = document.getElementById('main');

const state = {
  me: null, // {login, role}
  settings: null, // the account's settings
  names: {}, // object kind → Map(id → name)
};

let liveSource = null; // the live page's EventSource while it shows

class APIError extends Error {
  constructor(status, code, message, field, data) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.data = data; // the answer's JSON, when it was not an error object
  }
}

// api calls the API and returns its JSON answer, or throws an APIError.
// A 401 (the session ended) shows the login form.
async function api(method, path, body) {
  const opt = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const res = await fetch(API + path, opt);
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    if (res.status === 401 && path !== '/session') showLogin(e.message);
    throw new APIError(res.status, e.code || 'http_' + res.status, e.message || res.statusText, e.field, data);
  }
  return data;
}

// h builds an element. Attributes starting with "on" are listeners; the
// others are set as attributes. Children are nodes or text.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'href') el.setAttribute(k, safeHref(v));
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// safeHref lets through links inside the UI and http(s) URLs only.
function safeHref(v) {
  const s = String(v);
  if (s.startsWith('#')) return s;
  try {
    const u = new URL(s, location.href);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
  } catch {
    // not a URL
  }
  return '#';
}

// show replaces the page's content; null, undefined and false stand for
// nothing, as in h.
function show(...nodes) {
  main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  main.dataset.route = drawing; // the route the content is of (tests wait on it)
}

function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err instanceof APIError ? err.message : 'Error: ' + err);
}

// --- formats ---

function zone() {
  const pick = localStorage.getItem('trackd.zone') || 'account';
  if (pick === 'browser') return Intl.DateTimeFormat().resolvedOptions().timeZone;
  return (state.settings && state.settings.timezone) || 'UTC';
}

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  // Swedish dates are ISO-like: 2026-11-29 16:32:22.
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: zone(), year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(d);
}

function fmtMoney(v) {
  const cur = (state.settings && state.settings.account_currency) || 'USD';
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: cur, minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(v || 0);
  } catch {
    return String(v);
  }
}

// sign marks profit and ROI cells as gains or losses.
const sign = (metric, v) => (metric !== 'profit' && metric !== 'roi' ? '' : v > 0 ? ' gain' : v < 0 ? ' loss' : '');
const fmtInt = (v) => new Intl.NumberFormat('en-US').format(v || 0);
const fmtPct = (v) => (v || 0).toFixed(2) + '%';

// nameOf labels an object id with its name.
function nameOf(kind, id) {
  if (!id) return '';
  const m = state.names[kind];
  const n = m && m.get(Number(id));
  return n ? `${n} (#${id})` : `#${id}`;
}

async function loadNames() {
  const kinds = { campaign: '/campaigns', offer: '/offers', traffic_source: '/traffic-sources', landing: '/landings', affiliate_network: '/affiliate-networks' };
  await Promise.all(Object.entries(kinds).map(async ([kind, path]) => {
    const res = await api('GET', path);
    state.names[kind] = new Map((res.items || []).map((o) => [o.id, o.name]));
    if (kind === 'campaign') {
      state.campaigns = res.items || [];
      state.names.stream = new Map(state.campaigns.flatMap((c) => (c.streams || []).map((s) => [s.id, s.name])));
    }
  }));
}

// --- login ---

function showLogin(message) {
  state.me = null;
  if (liveSource) {
    liveSource.close();
    liveSource = null;
  }
  document.getElementById('top').hidden = true;
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' }, message || '');
  const login = h('input', { name: 'login', id: 'login', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'login', id: 'login-form' },
    h('h1', {}, 'trackd'),
    h('label', { for: 'login' }, 'Login'), login,
    h('label', { for: 'password' }, 'Password'), password,
    h('button', { type: 'submit' }, 'Log in'), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      state.me = await api('POST', '/session', { login: login.value, password: password.value });
      await start();
    } catch (e) {
      err.textContent = e.message;
    }
  });
  show(form);
  login.focus();
}

// --- views ---

// params reads the query of the hash route (#/view?a=b).
function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { view: path || 'dashboard', params: new URLSearchParams(query || '') };
}

function go(view, params) {
  const q = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v !== '' && v !== undefined && v !== null)).toString();
  location.hash = '#/' + view + (q ? '?' + q : '');
}

function select(id, options, value, onchange) {
  return h('select', { id, onchange },
    options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value) }, label)));
}

function campaignOptions() {
  return [['', 'All campaigns'], ...(state.campaigns || []).map((c) => [String(c.id), `${c.name} (#${c.id})`])];
}

const ranges = [['today', 'Today'], ['yesterday', 'Yesterday'], ['last_7_days', 'Last 7 days'], ['last_30_days', 'Last 30 days'],
  ['this_week', 'This week'], ['this_month', 'This month'], ['last_month', 'Last month']];
const groups = ['campaign', 'day', 'hour', 'week', 'month', 'offer', 'stream', 'landing', 'traffic_source', 'affiliate_network', 'country', 'region', 'city',
  'device_type', 'os', 'browser', 'language', 'connection_type', 'bot', 'unique', 'external_id', 'source', 'creative_id',
  'ad_campaign_id', 'keyword', ...Array.from({ length: 10 }, (_, i) => 'sub_id_' + (i + 1))];
const objectDims = new Set(['campaign', 'offer', 'stream', 'landing', 'traffic_source', 'affiliate_network']);
const metrics = [['clicks', 'Clicks', fmtInt], ['unique_clicks', 'Uniques', fmtInt], ['conversions', 'Conv.', fmtInt],
  ['leads', 'Leads', fmtInt], ['sales', 'Sales', fmtInt], ['revenue', 'Revenue', fmtMoney], ['cost', 'Cost', fmtMoney],
  ['profit', 'Profit', fmtMoney], ['roi', 'ROI', fmtPct], ['cr', 'CR', fmtPct], ['epc', 'EPC', fmtMoney]];

// chart draws clicks (bars) and profit (a line) over time as SVG, built
// with the DOM like everything else.
function chart(rows, group) {
  const SVG = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs, ...kids) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    e.append(...kids);
    return e;
  };
  const pts = rows.slice().sort((a, b) => String(a.dims[group]).localeCompare(String(b.dims[group])));
  if (pts.length < 2) return null;
  const W = 900, H = 180, pad = 28, n = pts.length, bw = (W - 2 * pad) / n;
  const maxClicks = Math.max(1, ...pts.map((r) => r.clicks));
  const profits = pts.map((r) => r.profit || 0);
  const lo = Math.min(0, ...profits), hi = Math.max(0, ...profits), span = hi - lo || 1;
  const y = (v) => H - pad - ((v - lo) / span) * (H - 2 * pad);
  const svg = el('svg', { id: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'clicks and profit over time' });
  pts.forEach((r, i) => {
    const hgt = (r.clicks / maxClicks) * (H - 2 * pad);
    svg.append(el('rect', { class: 'bar', x: pad + i * bw + 1, y: H - pad - hgt, width: Math.max(1, bw - 2), height: hgt },
      el('title', {}, `${r.dims[group]}: ${fmtInt(r.clicks)} clicks, profit ${fmtMoney(r.profit)}`)));
  });
  svg.append(el('line', { class: 'zero', x1: pad, x2: W - pad, y1: y(0), y2: y(0) }));
  svg.append(el('polyline', { class: 'profit', points: pts.map((r, i) => `${pad + (i + 0.5) * bw},${y(r.profit || 0)}`).join(' ') }));
  svg.append(el('text', { x: pad, y: 14, class: 'legend' }, `clicks (bars, max ${fmtInt(maxClicks)}) · profit (line, ${fmtMoney(lo)} to ${fmtMoney(hi)})`));
  svg.append(el('text', { x: pad, y: H - 8, class: 'legend' }, String(pts[0].dims[group])),
    el('text', { x: W - pad, y: H - 8, class: 'legend end' }, String(pts[n - 1].dims[group])));
  return svg;
}

// dashboard is a report grouped by one dimension, narrowed by filters
// (route parameters f.DIM=VALUE, and from/to for one day) that a click on
// a row adds: drilling down, as in Binom or Keitaro.
async function dashboard(p) {
  const params = Object.fromEntries(p);
  const group = params.group || 'campaign';
  const filters = Object.entries(params).filter(([k]) => k.startsWith('f.')).map(([k, v]) => [k.slice(2), v]);
  const filtered = new Set(filters.map(([d]) => d));
  const drills = groups.filter((g) => g !== group && !filtered.has(g) && !['bot', 'unique'].includes(g));
  const drill = drills.includes(params.drill) ? params.drill : group === 'day' ? 'campaign' : drills.includes('day') ? 'day' : drills[0];
  const to = (changes) => '#/dashboard?' + new URLSearchParams(Object.entries({ ...params, ...changes }).filter(([, v]) => v !== undefined && v !== ''));
  const set = (k) => (ev) => { location.hash = to({ [k]: ev.target.value }); };
  const zoneSelect = select('zone', [['account', 'Account zone (' + ((state.settings && state.settings.timezone) || 'UTC') + ')'],
    ['browser', 'My zone (' + Intl.DateTimeFormat().resolvedOptions().timeZone + ')']],
  localStorage.getItem('trackd.zone') || 'account', (ev) => { localStorage.setItem('trackd.zone', ev.target.value); render(); });
  const label = (dim, v) => (objectDims.has(dim) ? nameOf(dim, v) : v === '' ? '(none)' : v);
  const chips = [
    params.from ? h('a', { class: 'chip', href: to({ from: undefined, to: undefined }) }, `day: ${params.from} ×`) : null,
    ...filters.map(([d, v]) => h('a', { class: 'chip', href: to({ ['f.' + d]: undefined }) }, `${d.replaceAll('_', ' ')}: ${label(d, v)} ×`)),
  ];
  const controls = h('div', { class: 'controls' },
    params.from ? null : select('range', ranges, params.range || 'today', set('range')),
    select('group', groups.map((g) => [g, 'by ' + g.replaceAll('_', ' ')]), group, set('group')),
    select('f.campaign', campaignOptions(), params['f.campaign'] || '', set('f.campaign')),
    h('label', { for: 'drill', class: 'muted' }, 'a row drills into'),
    select('drill', drills.map((g) => [g, g.replaceAll('_', ' ')]), drill, set('drill')),
    zoneSelect);
  const head = [h('h2', {}, 'Dashboard'), controls, chips.some(Boolean) ? h('p', { id: 'filters' }, chips) : null];
  show(...head, h('p', { class: 'muted' }, 'Loading…'));

  const q = new URLSearchParams({ group_by: group, timezone: zone(), limit: '500' });
  if (params.from) {
    q.set('from', params.from);
    q.set('to', params.to || params.from);
  } else {
    q.set('range', params.range || 'today');
  }
  for (const [d, v] of filters) {
    if (objectDims.has(d)) q.append(d, v);
    else if (v === '') q.append('where', `${d} empty`);
    // A value with a comma cannot be a list item: match it whole.
    else if (v.includes(',')) q.append('where', `${d} regex ^${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    else q.append('where', `${d} in ${v}`);
  }
  if (params.sort) q.set('sort', params.sort);
  else if (!['day', 'hour', 'week', 'month'].includes(group)) q.set('sort', '-clicks');
  let rep;
  try {
    rep = await api('GET', '/reports?' + q);
  } catch (e) {
    show(...head, errorBox(e));
    return;
  }
  // Which rows narrow the report when clicked: objects, days and values
  // (not hours, weeks or months, nor yes/no flags).
  const drillable = !['hour', 'week', 'month', 'day_of_week', 'bot', 'unique'].includes(group);
  const rows = (rep.rows || []).map((r) => {
    const v = r.dims[group];
    const narrowed = group === 'day' ? { from: v, to: v, range: undefined } : { ['f.' + group]: v };
    const cell = drillable && drill ? h('a', { href: to({ ...narrowed, group: drill, drill: undefined }) }, label(group, v)) : label(group, v);
    return h('tr', {}, h('td', {}, cell), metrics.map(([k, , f]) => h('td', { class: 'num' + sign(k, r[k]) }, f(r[k]))));
  });
  const total = h('tr', { class: 'total' }, h('td', {}, 'Total'), metrics.map(([k, , f]) => h('td', { class: 'num' }, f(rep.total && rep.total[k]))));
  show(...head,
    h('p', { class: 'muted' }, `${fmtTime(rep.from)} – ${fmtTime(rep.to)} · ${rep.timezone} · from ${rep.source} data`),
    ['day', 'hour', 'week', 'month'].includes(group) ? chart(rep.rows || [], group) : null,
    rows.length ? h('table', { id: 'report' }, h('thead', {}, h('tr', {}, h('th', {}, group.replaceAll('_', ' ')),
      // A metric's header sorts by it, largest first; again, smallest first.
      metrics.map(([k, t]) => h('th', { class: 'num' }, h('a', { class: 'sort', 'data-sort': k,
        href: to({ sort: params.sort === '-' + k ? k : '-' + k }) }, t + (params.sort === '-' + k ? ' ↓' : params.sort === k ? ' ↑' : '')))))),
    h('tbody', {}, rows), h('tfoot', {}, total))
      : h('p', { class: 'empty' }, 'No clicks in this range.'));
}

// linkOf is a campaign's link: the public URL (or this page's origin) and the alias.
const linkOf = (alias) => ((state.settings && state.settings.public_url) || location.origin).replace(/\/$/, '') + '/' + alias;

async function campaigns() {
  const rows = (state.campaigns || []).map((c) => h('tr', {},
    h('td', {}, String(c.id)), h('td', {}, h('a', { href: '#/campaign?id=' + c.id }, c.name)), h('td', {}, h('code', {}, linkOf(c.alias))),
    h('td', {}, nameOf('traffic_source', c.traffic_source_id)), h('td', { class: 'num' }, String((c.streams || []).length)),
    h('td', {}, c.paused ? 'paused' : 'active'),
    h('td', {}, h('a', { href: '#/dashboard?' + new URLSearchParams({ group: 'day', 'f.campaign': c.id, range: 'last_7_days' }) }, 'Report'),
      ' · ', h('a', { href: '#/clicks?campaign_id=' + c.id }, 'Clicks'))));
  show(h('h2', {}, 'Campaigns'), isAdmin() ? h('p', {}, h('a', { href: '#/campaign-edit', id: 'new-campaign', class: 'button' }, 'New campaign')) : null, rows.length
    ? h('table', { id: 'campaigns' }, h('thead', {}, h('tr', {}, ['ID', 'Name', 'Link', 'Traffic source', 'Streams', 'State', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows))
    : h('p', { class: 'empty' }, 'No campaigns yet.'));
}

// filterText says what a stream filter checks, in a line.
function filterText(f) {
  const what = f.type === 'param' ? `param ${f.name} ${f.op || 'equals'}` : f.type.replaceAll('_', ' ');
  const vals = (f.values || []).join(', ');
  return `${f.mode === 'reject' ? 'not ' : ''}${what}${vals ? ': ' + vals : ''}`;
}

function sharesText(kind, list, idKey) {
  return (list || []).map((x) => `${nameOf(kind, x[idKey])}${x.share ? ' ' + x.share + '%' : ''}`).join(', ');
}

// campaign shows one campaign's streams and a form that simulates a click
// (POST /clicks/test): which streams and filters pass, where it goes.
async function campaign(p) {
  const c = (state.campaigns || []).find((x) => String(x.id) === p.get('id'));
  if (!c) {
    show(h('h2', {}, 'Campaign'), h('p', { class: 'error' }, 'No campaign #' + p.get('id')));
    return;
  }
  const streams = (c.streams || []).map((st) => h('tr', {},
    h('td', {}, String(st.id)), h('td', {}, st.name), h('td', {}, st.type + (st.paused ? ' (paused)' : '')),
    h('td', { class: 'num' }, String(st.weight)),
    h('td', {}, (st.filters || []).length ? h('ul', { class: 'plain' }, st.filters.map((f) => h('li', {}, filterText(f)))) : 'any visitor',
      (st.filters || []).length > 1 ? h('div', { class: 'muted' }, 'all must pass: ' + (st.filter_mode === 'or' ? 'no, any one' : 'yes')) : null),
    h('td', {}, [sharesText('landing', st.landings, 'landing_id'), sharesText('offer', st.offers, 'offer_id')].filter(Boolean).join(' → ')
      || (st.action && st.action.type) || st.schema)));
  const field = (id, label, placeholder, value) => [h('label', { for: id }, label), h('input', { id, placeholder: placeholder || '', value })];
  const result = h('div', { id: 'test-result' });
  const form = h('form', { id: 'test-form', class: 'test' },
    field('t-query', 'Query string', 'zone=123&cost=0.01'),
    field('t-ip', 'IP', '8.8.8.8'),
    // This browser's own user agent and languages, to start from.
    field('t-ua', 'User agent', 'Mozilla/5.0 (Linux; Android 14) …', navigator.userAgent),
    field('t-ref', 'Referrer', ''),
    field('t-lang', 'Accept-Language', 'en-US', (navigator.languages || []).join(',')),
    h('button', { type: 'submit' }, 'Test a click'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const val = (id) => form.querySelector('#' + id).value;
    try {
      const r = await api('POST', '/clicks/test', { alias: c.alias, query: val('t-query').replace(/^\?/, ''), ip: val('t-ip'),
        user_agent: val('t-ua'), referrer: val('t-ref'), accept_language: val('t-lang') });
      result.replaceChildren(
        h('p', {}, 'Action: ', h('strong', {}, r.action), r.stream_id ? ` · stream ${nameOf('stream', r.stream_id)}` : '',
          r.offer_id ? ` · offer ${nameOf('offer', r.offer_id)}` : '', r.landing_id ? ` · landing ${nameOf('landing', r.landing_id)}` : ''),
        r.url ? h('p', {}, 'Goes to ', h('code', { id: 'test-url' }, r.url)) : null,
        h('table', {}, h('thead', {}, h('tr', {}, ['Stream', 'Passed', 'Filters'].map((t) => h('th', {}, t)))),
          h('tbody', {}, (r.streams || []).map((st) => h('tr', { class: st.passed ? 'pass' : 'fail' },
            h('td', {}, `${st.name} (${st.type}${st.paused ? ', paused' : ''})`), h('td', {}, st.passed ? 'yes' : 'no'),
            h('td', {}, (st.filters || []).map((f) => `${f.mode === 'reject' ? 'not ' : ''}${f.type}: ${f.passed ? 'pass' : 'fail'}`).join(' · ')))))),
        h('p', { class: 'muted' }, `Seen as: ${[r.click.country, r.click.device_type, r.click.os, r.click.browser, r.click.language].filter(Boolean).join(' · ')}`
          + (r.click.is_bot ? ` · bot (${r.click.bot_reason})` : '')));
    } catch (e) {
      result.replaceChildren(errorBox(e));
    }
  });
  show(h('h2', {}, c.name),
    h('p', {}, h('code', {}, linkOf(c.alias)), ` · ${nameOf('traffic_source', c.traffic_source_id)} · cost ${c.cost.model}`
      + ` · ${c.paused ? 'paused' : 'active'} · `, h('a', { href: '#/dashboard?' + new URLSearchParams({ group: 'day', 'f.campaign': c.id, range: 'last_7_days' }) }, 'Report'),
    ' · ', h('a', { href: '#/clicks?campaign_id=' + c.id }, 'Clicks'),
    ' · ', isAdmin() ? h('a', { href: '#/campaign-edit?id=' + c.id, id: 'edit-campaign' }, 'Edit') : null,
    ' · ', h('a', { href: '#/edit?' + new URLSearchParams({ kind: 'campaigns', id: c.id }) }, 'JSON')),
    h('h3', {}, 'Streams'),
    h('table', { id: 'streams' }, h('thead', {}, h('tr', {}, ['ID', 'Name', 'Type', 'Weight', 'Filters', 'Sends to'].map((t) => h('th', {}, t)))),
      h('tbody', {}, streams)),
    h('h3', {}, 'Test a click'), h('p', { class: 'muted' }, 'Where a visitor would go, recording nothing.'), form, result);
}

// live shows clicks and conversions as they happen (GET /live, Server-Sent
// Events), newest first; leaving the page closes the stream.

function live() {
  const rows = h('tbody');
  const status = h('p', { id: 'live-status', class: 'muted' }, 'Connecting…');
  const counts = { click: 0, conversion: 0 };
  const counter = h('p', { id: 'live-counts' }, '0 clicks · 0 conversions');
  const add = (tr) => {
    rows.prepend(tr);
    while (rows.children.length > 200) rows.lastElementChild.remove();
  };
  const src = new EventSource(API + '/live');
  liveSource = src;
  src.addEventListener('open', () => { status.textContent = 'Connected: new events appear at the top.'; });
  src.addEventListener('error', () => { status.textContent = 'Disconnected; retrying…'; });
  const on = (type, f) => src.addEventListener(type, (ev) => {
    let v;
    try {
      v = JSON.parse(ev.data);
    } catch {
      return;
    }
    counts[type] = (counts[type] || 0) + 1;
    counter.textContent = `${fmtInt(counts.click)} clicks · ${fmtInt(counts.conversion)} conversions`;
    add(f(v));
  });
  on('click', (c) => h('tr', { class: 'click' }, h('td', {}, fmtTime(c.created_at)), h('td', {}, 'click'),
    h('td', {}, nameOf('campaign', c.campaign_id)), h('td', {}, nameOf('offer', c.offer_id)),
    h('td', {}, [c.country, c.device_type, c.os, c.browser].filter(Boolean).join(' · ') + (c.is_bot ? ' · bot' : '')),
    h('td', {}, Object.entries(c.sub_ids || {}).map(([k, v]) => `${k}=${v}`).join(' ')), h('td', {}, h('code', {}, c.click_id))));
  on('conversion', (c) => h('tr', { class: 'conversion' }, h('td', {}, fmtTime(c.at)), h('td', {}, 'conversion'),
    h('td', {}, ''), h('td', {}, ''), h('td', {}, h('span', { class: 'outcome ' + c.outcome }, c.outcome)),
    h('td', {}, c.reason || ''), h('td', {}, h('code', {}, c.click_id))));
  src.addEventListener('dropped', (ev) => { status.textContent = `Too fast to show all: ${JSON.parse(ev.data).dropped} events skipped.`; });
  show(h('h2', {}, 'Live'), status, counter,
    h('table', { id: 'live' }, h('thead', {}, h('tr', {}, ['Time', 'Event', 'Campaign', 'Offer', 'Visitor / outcome', 'Sub IDs / reason', 'Click ID'].map((t) => h('th', {}, t)))), rows));
}

// --- forms: inputs bound to a field of the JSON an object is saved as ---

// objOptions lists the objects of a kind for a select, none first if given.
const objOptions = (kind, none) => [...(none ? [['', none]] : []), ...[...(state.names[kind] || new Map())].map(([i, n]) => [String(i), `${n} (#${i})`])];
const idOrNull = (v) => (v === '' ? null : Number(v));

// input binds obj[key] to an input; path names the field as the API does in
// its errors, so that an error can mark its input.
function input(obj, key, path, attrs = {}, read = (v) => v) {
  const el = h('input', { 'data-path': path, value: obj[key] ?? '', ...attrs });
  el.addEventListener('input', () => { obj[key] = read(el.value); });
  return el;
}

function check(obj, key, path) {
  const el = h('input', { type: 'checkbox', 'data-path': path, checked: !!obj[key] });
  el.addEventListener('change', () => { obj[key] = el.checked; });
  return el;
}

function choose(obj, key, path, options, after, read = (v) => v) {
  const el = h('select', { 'data-path': path }, options.map(([v, l]) => h('option', { value: v, selected: String(obj[key] ?? '') === String(v) }, l)));
  el.addEventListener('change', () => { obj[key] = read(el.value); if (after) after(); });
  return el;
}

// button is a small button that runs f; act names it for tests.
function button(text, act, f, cls = 'small') {
  const b = h('button', { type: 'button', class: cls, 'data-act': act }, text);
  b.addEventListener('click', f);
  return b;
}

const row = (label, ...els) => h('div', { class: 'field' }, h('label', {}, label), h('div', { class: 'inline' }, ...els));

// loadModel reads object id of kind for a form (read-only fields left out),
// or starts from the kind's template.
async function loadModel(kind, id) {
  const ro = await readOnlyFields(kinds[kind].schema);
  if (!id) return structuredClone(kinds[kind].template);
  const full = await api('GET', `/${kind}/${encodeURIComponent(id)}`);
  return Object.fromEntries(Object.entries(full).filter(([k]) => !ro.has(k)));
}

// submitButton runs send when clicked; an error it throws is shown in msg
// and marks the input of the field the API names.
function submitButton(label, msg, send) {
  const b = h('button', { type: 'button', id: 'form-save', class: 'primary' }, label);
  b.addEventListener('click', async () => {
    for (const el of document.querySelectorAll('.invalid')) el.classList.remove('invalid');
    try {
      await send();
    } catch (e) {
      msg.replaceChildren(h('p', { class: 'error' }, e.message));
      const bad = e.field && [...document.querySelectorAll('[data-path]')].find((el) => el.dataset.path === e.field);
      if (bad) {
        bad.classList.add('invalid');
        bad.focus();
      }
    }
  });
  return b;
}

// saveButton saves model (PUT or POST), then calls done with the answer.
function saveButton(kind, id, model, msg, done) {
  return submitButton(id ? 'Save' : 'Create', msg, async () => {
    const out = await api(id ? 'PUT' : 'POST', id ? `/${kind}/${encodeURIComponent(id)}` : '/' + kind, model);
    await loadNames();
    done(out);
  });
}

// postbackButton runs call, whose answer is a postback result (an error
// status with an outcome is a result too), and writes it into out.
function postbackButton(label, act, out, call, say = (r) => `${r.outcome}${r.reason ? ' (' + r.reason + ')' : ''}`) {
  return button(label, act, async () => {
    let r;
    try {
      r = await call();
    } catch (err) {
      if (!(err.data && err.data.outcome)) {
        out.replaceChildren(errorBox(err));
        return;
      }
      r = err.data;
    }
    out.replaceChildren(say(r));
  }, '');
}

// viewOnly disables a form's inputs for viewers: they may read, not change.
function viewOnly() {
  if (isAdmin()) return;
  for (const el of main.querySelectorAll('input, select, textarea, button[data-act], #form-save')) el.disabled = true;
}

function formHead(kind, id, title, back) {
  return [h('h2', {}, title), h('p', {}, h('a', { href: back }, '← back'), ' · ',
    h('a', { href: '#/edit?' + new URLSearchParams({ kind, ...(id ? { id } : {}) }) }, 'as JSON'))];
}

// --- the campaign form ---

const filterTypes = ['country', 'region', 'city', 'isp', 'asn', 'connection_type', 'device_type', 'os', 'browser',
  'language', 'ip', 'bot', 'unique', 'referrer', 'param', 'schedule'];

// splitList reads a comma-separated list; a regex is one value (it may hold commas).
const splitList = (v, op) => (op === 'regex' ? [v.trim()] : v.split(',')).map((x) => x.trim()).filter(Boolean);
const splitInts = (v) => v.split(',').map((x) => x.trim()).filter(Boolean).map(Number);

// campaignForm edits a campaign with inputs for everything a campaign and
// its streams hold; fields it has no input for are kept as they were. The
// model is the campaign's JSON; inputs write to it, and lists re-render.
async function campaignForm(p) {
  const id = p.get('id');
  const model = await loadModel('campaigns', id);
  model.streams = model.streams || [];
  // btn is a button that changes the lists, then draws them again.
  const btn = (text, f, cls, act) => button(text, act, () => { f(); drawStreams(); }, cls || undefined);

  const streamsBox = h('div', { id: 'streams-form' });
  const drawStreams = () => streamsBox.replaceChildren(...model.streams.map((st, i) => {
    const at = `streams[${i}]`;
    st.filters = st.filters || [];
    st.offers = st.offers || [];
    st.landings = st.landings || [];
    const filters = st.filters.map((f, j) => {
      const fp = `${at}.filters[${j}]`;
      const extra = [];
      if (f.type === 'param') extra.push(input(f, 'name', fp + '.name', { placeholder: 'param name', size: 10 }));
      if (f.type === 'param' || f.type === 'referrer') {
        extra.push(choose(f, 'op', fp + '.op', [['equals', 'equals'], ['in', 'in'], ['contains', 'contains'], ['regex', 'regex'], ['empty', 'is empty']], drawStreams));
      }
      if (f.type === 'schedule') {
        extra.push(input(f, 'days', fp + '.days', { placeholder: 'days 0-6 (0 = Sunday)', value: (f.days || []).join(', ') }, splitInts),
          input(f, 'hours', fp + '.hours', { placeholder: 'hours 0-23', value: (f.hours || []).join(', ') }, splitInts),
          input(f, 'timezone', fp + '.timezone', { placeholder: 'Europe/Berlin' }));
      } else if (!['bot', 'unique'].includes(f.type) && f.op !== 'empty') {
        const v = input(f, 'values', fp + '.values', { placeholder: f.op === 'regex' ? 'pattern' : 'values, comma-separated', size: 28 },
          (x) => splitList(x, f.op));
        v.value = f.op === 'regex' ? (f.values || []).join('') : (f.values || []).join(', ');
        extra.push(v);
      }
      return h('div', { class: 'filter' },
        choose(f, 'mode', fp + '.mode', [['accept', 'is'], ['reject', 'is not']]),
        choose(f, 'type', fp + '.type', filterTypes.map((t) => [t, t.replaceAll('_', ' ')]), drawStreams), ...extra,
        btn('×', () => st.filters.splice(j, 1), 'small', 'remove-filter'));
    });
    const shares = (list, kind, key, label) => h('div', {}, h('span', { class: 'muted' }, label + ': '), ...list.map((o, j) => h('span', { class: 'share' },
      choose(o, key, `${at}.${kind}s[${j}].${key}`, objOptions(kind), null, idOrNull),
      input(o, 'share', `${at}.${kind}s[${j}].share`, { type: 'number', min: 0, max: 100, size: 4, placeholder: 'share' }, (v) => (v === '' ? 0 : Number(v))),
      btn('×', () => list.splice(j, 1), 'small', 'remove-' + kind))),
    btn('+ ' + kind, () => list.push({ [key]: Number([...(state.names[kind] || new Map()).keys()][0] || 0), share: 0 }), 'small', 'add-' + kind));
    st.action = st.action || null;
    const targets = st.schema === 'action'
      ? (() => {
        st.action = st.action || { type: 'not_found' };
        const a = st.action;
        return h('div', {}, choose(a, 'type', at + '.action.type', [['url', 'redirect to URL'], ['not_found', '404'], ['text', 'show text'],
          ['html', 'show HTML'], ['campaign', 'send to campaign']], drawStreams),
        a.type === 'url' ? input(a, 'url', at + '.action.url', { placeholder: 'https://…', size: 40 }) : null,
        a.type === 'text' || a.type === 'html' ? input(a, 'content', at + '.action.content', { size: 40 }) : null,
        a.type === 'campaign' ? choose(a, 'campaign_id', at + '.action.campaign_id', objOptions('campaign'), null, idOrNull) : null);
      })()
      : h('div', {}, st.schema === 'landings' ? shares(st.landings, 'landing', 'landing_id', 'Landings') : null,
        shares(st.offers, 'offer', 'offer_id', 'Offers'),
        h('span', { class: 'muted' }, 'Redirect: '), choose(st, 'redirect', at + '.redirect', [['http', '302'], ['meta', 'meta refresh'], ['js', 'JavaScript']]));
    return h('fieldset', { class: 'stream', 'data-stream': i }, h('legend', {}, `Stream ${i + 1}`),
      row('Name', input(st, 'name', at + '.name')),
      row('Type', choose(st, 'type', at + '.type', [['forced', 'forced (first, before all)'], ['regular', 'regular'], ['default', 'default (when none matched)']]),
        ' weight ', input(st, 'weight', at + '.weight', { type: 'number', min: 0, size: 5 }, Number), ' ', check(st, 'paused', at + '.paused'), ' paused'),
      row('Filters', h('div', {}, st.filters.length > 1 ? choose(st, 'filter_mode', at + '.filter_mode', [['and', 'all must match'], ['or', 'any may match']]) : null,
        ...filters, btn('+ filter', () => st.filters.push({ type: 'country', mode: 'accept', values: [] }), 'small', 'add-filter'))),
      row('Sends to', h('div', {}, choose(st, 'schema', at + '.schema', [['offers', 'offers'], ['landings', 'landings, then offers'], ['action', 'an action']], drawStreams), targets)),
      h('div', {}, i > 0 ? btn('↑ move up', () => model.streams.splice(i - 1, 0, ...model.streams.splice(i, 1)), 'small', 'move-up') : null,
        btn('Remove stream', () => model.streams.splice(i, 1), 'small danger', 'remove-stream')));
  }), btn('+ stream', () => model.streams.push({ name: 'Stream ' + (model.streams.length + 1), type: 'regular', weight: 100, filters: [],
    schema: 'offers', redirect: 'http', offers: [], landings: [] }), null, 'add-stream'));
  drawStreams();

  model.cost = model.cost || { model: 'none', amount: 0 };
  const msg = h('div', { id: 'form-message', role: 'status' });
  const save = saveButton('campaigns', id, model, msg, (out) => go('campaign', { id: out.id }));
  show(...formHead('campaigns', id, id ? `Edit campaign #${id}` : 'New campaign', id ? '#/campaign?id=' + id : '#/campaigns'),
    h('fieldset', { class: 'basics' }, h('legend', {}, 'Campaign'),
      row('Name', input(model, 'name', 'name', { size: 30 })),
      row('Alias', input(model, 'alias', 'alias', { size: 30 }), h('span', { class: 'muted' }, ' the link is /alias')),
      row('Traffic source', choose(model, 'traffic_source_id', 'traffic_source_id', objOptions('traffic_source', '(none)'), null, idOrNull)),
      row('Cost', choose(model.cost, 'model', 'cost.model', [['none', 'none'], ['cpc', 'CPC'], ['cpm', 'CPM'], ['cpa', 'CPA'], ['revshare', 'RevShare %']]),
        input(model.cost, 'amount', 'cost.amount', { size: 8, inputmode: 'decimal' }, (v) => v.trim() || '0'),
        ' ', check(model.cost, 'from_param', 'cost.from_param'), ' from the source\'s cost parameter'),
      row('Rotation', choose(model, 'rotation', 'rotation', [['position', 'by position (first match)'], ['weight', 'by weight']])),
      row('Uniqueness', input(model, 'uniqueness_hours', 'uniqueness_hours', { type: 'number', min: 1, size: 5 }, Number), ' hours, by ',
        choose(model, 'uniqueness_method', 'uniqueness_method', [['cookie_ip_ua', 'cookie or IP + UA'], ['cookie', 'cookie'], ['ip_ua', 'IP + UA']])),
      row('Options', check(model, 'visitor_binding', 'visitor_binding'), ' bind returning visitors to their stream · ',
        check(model, 'paused', 'paused'), ' paused')),
    h('h3', {}, 'Streams'), streamsBox, h('div', { class: 'controls' }, save), msg);
  viewOnly();
}

// offerForm edits an offer: its URL, network, payout and limits.
async function offerForm(p) {
  const id = p.get('id');
  const m = await loadModel('offers', id);
  m.payout = m.payout || { type: 'postback', amount: 0, currency: '' };
  const msg = h('div', { id: 'form-message', role: 'status' });
  show(...formHead('offers', id, id ? `Edit offer #${id}` : 'New offer', '#/objects?kind=offers'),
    h('fieldset', {}, h('legend', {}, 'Offer'),
      row('Name', input(m, 'name', 'name', { size: 30 })),
      row('URL', input(m, 'url', 'url', { size: 60, placeholder: 'https://network.example/?aff_sub={clickid}' }),
        h('a', { href: '#/macros' }, 'macros')),
      row('Network', choose(m, 'affiliate_network_id', 'affiliate_network_id', objOptions('affiliate_network', '(none)'), null, idOrNull)),
      row('Payout', choose(m.payout, 'type', 'payout.type', [['postback', 'as the postback says'], ['fixed', 'fixed']]),
        input(m.payout, 'amount', 'payout.amount', { size: 8, inputmode: 'decimal' }, (v) => v.trim() || '0'),
        input(m.payout, 'currency', 'payout.currency', { size: 4, placeholder: 'USD' }, (v) => v.trim().toUpperCase())),
      row('Daily cap', input(m, 'daily_cap', 'daily_cap', { type: 'number', min: 0 }, Number),
        h('span', { class: 'muted' }, 'conversions a day (0: none); then'),
        choose(m, 'alternative_offer_id', 'alternative_offer_id', objOptions('offer', '(no other offer)'), null, idOrNull)),
      row('Options', check(m, 'upsells_allowed', 'upsells_allowed'), ' upsells count · ', check(m, 'paused', 'paused'), ' paused'),
      row('Notes', input(m, 'notes', 'notes', { size: 60 }))),
    h('div', { class: 'controls' }, saveButton('offers', id, m, msg, () => go('objects', { kind: 'offers' }))), msg);
  viewOnly();
}

const slots = ['external_id', 'cost', 'currency', 'creative_id', 'ad_campaign_id', 'keyword', 'source',
  ...Array.from({ length: 30 }, (_, i) => 'sub_id_' + (i + 1))];

// sourceForm edits a traffic source: which of its parameters fill which
// slot, and the postback trackd sends it.
async function sourceForm(p) {
  const id = p.get('id');
  const m = await loadModel('traffic-sources', id);
  if (!id) delete m.preset; // the select below sets one
  m.params = m.params || [];
  m.postback = m.postback || { url: '', method: 'GET', statuses: [], payout_share_percent: 100 };
  const msg = h('div', { id: 'form-message', role: 'status' });
  const params = h('div', { id: 'params-form' });
  const draw = () => params.replaceChildren(...m.params.map((sp, i) => h('div', { class: 'filter' },
    input(sp, 'param', `params[${i}].param`, { size: 14, placeholder: 'their parameter' }), ' → ',
    choose(sp, 'slot', `params[${i}].slot`, slots.map((x) => [x, x.replaceAll('_', ' ')])),
    button('×', 'remove-param', () => { m.params.splice(i, 1); draw(); }))),
  button('+ parameter', 'add-param', () => { m.params.push({ slot: 'sub_id_1', param: '' }); draw(); }));
  draw();
  const pb = m.postback;
  const statuses = h('span', {}, ...['lead', 'sale', 'rejected', 'rebill'].map((st) => {
    const el = h('input', { type: 'checkbox', 'data-path': 'postback.statuses', checked: (pb.statuses || []).includes(st) });
    el.addEventListener('change', () => {
      pb.statuses = (pb.statuses || []).filter((x) => x !== st);
      if (el.checked) pb.statuses.push(st);
    });
    return h('label', { class: 'inline-check' }, el, ' ' + st);
  }));
  // A new source may start from a preset: its parameters and postback,
  // filled in by the API when the form leaves them empty.
  const presets = id ? [] : ((await api('GET', '/presets/traffic-sources')).items || []);
  show(...formHead('traffic-sources', id, id ? `Edit traffic source #${id}` : 'New traffic source', '#/objects?kind=traffic-sources'),
    h('fieldset', {}, h('legend', {}, 'Traffic source'),
      row('Name', input(m, 'name', 'name', { size: 30 })),
      id ? null : row('Preset', choose(m, 'preset', 'preset', [['', '(none)'], ...presets.map((x) => [x.key, x.name])]),
        h('span', { class: 'muted' }, 'fills the parameters and the postback left empty')),
      row('Parameters', params),
      row('Postback URL', input(pb, 'url', 'postback.url', { size: 60, placeholder: 'https://source.example/conv?click_id={external_id}&payout={payout}' }),
        choose(pb, 'method', 'postback.method', [['GET', 'GET'], ['POST', 'POST']])),
      row('Send for', statuses, h('span', { class: 'muted' }, '(none ticked: every status)')),
      row('Payout sent', input(pb, 'payout_share_percent', 'postback.payout_share_percent', { type: 'number', min: 0, max: 100 }, Number), '% · ',
        check(pb, 'first_conversion_only', 'postback.first_conversion_only'), ' first conversion of a click only'),
      row('Notes', input(m, 'notes', 'notes', { size: 60 }))),
    h('div', { class: 'controls' }, saveButton('traffic-sources', id, m, msg, () => go('objects', { kind: 'traffic-sources' }))), msg);
  viewOnly();
}

// landingForm edits a landing page.
async function landingForm(p) {
  const id = p.get('id');
  const m = await loadModel('landings', id);
  const msg = h('div', { id: 'form-message', role: 'status' });
  show(...formHead('landings', id, id ? `Edit landing #${id}` : 'New landing', '#/objects?kind=landings'),
    h('fieldset', {}, h('legend', {}, 'Landing'),
      row('Name', input(m, 'name', 'name', { size: 30 })),
      row('URL', input(m, 'url', 'url', { size: 60, placeholder: 'https://lp.example/?c={clickid}' }),
        h('span', { class: 'muted' }, 'its button goes to '), h('code', {}, '{offer}')),
      row('Options', check(m, 'paused', 'paused'), ' paused'),
      row('Notes', input(m, 'notes', 'notes', { size: 60 }))),
    h('div', { class: 'controls' }, saveButton('landings', id, m, msg, () => go('objects', { kind: 'landings' }))), msg);
  viewOnly();
}

const canonical = ['clickid', 'status', 'payout', 'currency', 'tid', 'event'];

// networkForm edits an affiliate network: how its postbacks name things,
// how it authenticates them, and the postback URL to paste into it. A
// preset picked for a new network fills the form at once.
async function networkForm(p) {
  const id = p.get('id');
  const ro = await readOnlyFields('AffiliateNetwork');
  let url = '';
  let m;
  if (id) {
    const full = await api('GET', '/affiliate-networks/' + encodeURIComponent(id));
    url = full.postback_url || '';
    m = Object.fromEntries(Object.entries(full).filter(([k]) => !ro.has(k)));
  } else {
    m = structuredClone(kinds['affiliate-networks'].template);
    delete m.preset;
  }
  for (const k of ['postback_params', 'postback_macros', 'statuses']) m[k] = m[k] || {};
  m.ip_allowlist = m.ip_allowlist || [];
  const presets = id ? [] : ((await api('GET', '/presets/affiliate-networks')).items || []);
  const msg = h('div', { id: 'form-message', role: 'status' });
  const usePreset = () => {
    const x = presets.find((y) => y.key === m.preset);
    if (!x) return;
    m.clickid_param = m.clickid_param || x.clickid_param || '';
    m.postback_params = { ...x.postback_params, ...m.postback_params };
    m.postback_macros = { ...x.postback_macros, ...m.postback_macros };
    m.statuses = { ...x.statuses, ...m.statuses };
    if (!m.notes) m.notes = x.notes || '';
    if (!m.name || m.name === kinds['affiliate-networks'].template.name) m.name = x.name;
    draw();
  };
  // perParam edits one name per canonical parameter; empty is the default.
  const perParam = (map, path, placeholder) => h('div', { class: 'pairs' }, canonical.map((c) => {
    const el = h('input', { size: 12, placeholder: placeholder(c), value: map[c] || '', 'data-path': `${path}.${c}` });
    el.addEventListener('input', () => {
      if (el.value.trim()) map[c] = el.value.trim();
      else delete map[c];
    });
    return h('span', { class: 'share' }, h('span', { class: 'muted' }, c), el);
  }));
  const statusRows = () => h('div', { id: 'statuses-form' }, ...Object.keys(m.statuses).map((raw) => h('span', { class: 'share' },
    h('code', {}, raw), ' → ', choose(m.statuses, raw, `statuses.${raw}`, [['lead', 'lead'], ['sale', 'sale'], ['rejected', 'rejected'], ['rebill', 'rebill']]),
    button('×', 'remove-status', () => { delete m.statuses[raw]; draw(); }))),
  (() => {
    const raw = h('input', { size: 10, placeholder: 'their status', id: 'new-status' });
    return h('span', { class: 'share' }, raw, button('+ status', 'add-status', () => {
      const v = raw.value.trim();
      if (v) m.statuses[v] = 'sale';
      draw();
    }));
  })());
  const draw = () => {
    const allow = input({ v: m.ip_allowlist.join(', ') }, 'v', 'ip_allowlist', { size: 40, placeholder: 'their servers (empty: any)' });
    allow.addEventListener('input', () => { m.ip_allowlist = allow.value.split(',').map((x) => x.trim()).filter(Boolean); });
    show(...formHead('affiliate-networks', id, id ? `Edit affiliate network #${id}` : 'New affiliate network', '#/objects?kind=affiliate-networks'),
      url ? h('p', {}, 'Postback URL to paste into the network: ', h('code', { id: 'network-postback-url' }, url)) : null,
      h('fieldset', {}, h('legend', {}, 'Affiliate network'),
        row('Name', input(m, 'name', 'name', { size: 30 })),
        id ? null : row('Preset', choose(m, 'preset', 'preset', [['', '(none)'], ...presets.map((x) => [x.key, x.name])], usePreset)),
        row('Click id param', input(m, 'clickid_param', 'clickid_param', { size: 12, placeholder: 'sub1' }),
          h('span', { class: 'muted' }, 'in offer URLs: '), h('code', {}, (m.clickid_param || 'sub1') + '={clickid}')),
        row('Their names', perParam(m.postback_params, 'postback_params', (c) => c)),
        row('Their macros', perParam(m.postback_macros, 'postback_macros', (c) => '{' + c + '}')),
        row('Statuses', statusRows()),
        row('Duplicates', choose(m, 'duplicate_policy', 'duplicate_policy', [['ignore', 'ignored'], ['update_payout', 'replace the payout']]))),
      h('fieldset', {}, h('legend', {}, 'Authentication'),
        row('Own key', input(m, 'postback_key', 'postback_key', { size: 30, autocomplete: 'off' }), h('span', { class: 'muted' }, 'accepted for its offers besides the global one')),
        row('Signing secret', input(m, 'signing_secret', 'signing_secret', { size: 30, autocomplete: 'off' }), h('span', { class: 'muted' }, 'then unsigned postbacks are refused')),
        row('From', allow),
        row('Pixel', check(m, 'allow_pixel', 'allow_pixel'), ' accept browser pixel conversions (no secret: off unless S2S is impossible)'),
        row('Notes', input(m, 'notes', 'notes', { size: 60 }))),
      h('div', { class: 'controls' }, saveButton('affiliate-networks', id, m, msg, (out) => go('network-edit', { id: out.id }))), msg);
    viewOnly();
  };
  draw();
}

// --- configuration: every kind of object, edited as JSON ---

// kinds are the API's collections the UI edits: schema names the type in
// the OpenAPI document (its read-only fields are left out of the editor),
// template starts a new one.
const kinds = {
  campaigns: { title: 'Campaigns', schema: 'Campaign', form: 'campaign-edit', label: (o) => `${o.name} (/${o.alias})`,
    template: { alias: 'my-campaign', name: 'My campaign', traffic_source_id: null, cost: { model: 'cpc', amount: 0, from_param: true },
      streams: [{ name: 'Everyone', type: 'default', offers: [{ offer_id: 1 }] }] } },
  offers: { title: 'Offers', schema: 'Offer', form: 'offer-edit', label: (o) => o.name,
    template: { name: 'My offer', url: 'https://network.example/?aff_sub={clickid}', affiliate_network_id: null,
      payout: { type: 'postback', amount: 0, currency: 'USD' } } },
  landings: { title: 'Landings', schema: 'Landing', form: 'landing-edit', label: (o) => o.name,
    template: { name: 'My landing', url: 'https://lp.example/?c={clickid}' } },
  'traffic-sources': { title: 'Traffic sources', schema: 'TrafficSource', form: 'source-edit', label: (o) => o.name,
    template: { name: 'My source', preset: 'propellerads' } },
  'affiliate-networks': { title: 'Affiliate networks', schema: 'AffiliateNetwork', form: 'network-edit', label: (o) => o.name,
    template: { name: 'My network', preset: '' } },
  webhooks: { title: 'Webhooks', schema: 'Webhook', label: (o) => o.name || o.url, template: { name: 'My webhook', url: 'https://hooks.example/trackd' } },
  users: { title: 'Users', schema: 'User', label: (o) => `${o.login} (${o.role})`, admin: true,
    template: { login: 'someone', role: 'viewer', password: '' } },
  'api-keys': { title: 'API keys', schema: 'APIKey', label: (o) => `${o.name} (${o.role}, ${o.prefix}…)`, admin: true,
    template: { name: 'my script', role: 'viewer' } },
};

let readOnly = null; // schema name → Set of read-only top-level fields

async function readOnlyFields(schema) {
  if (!readOnly) {
    const doc = await api('GET', '/openapi.json');
    readOnly = new Map(Object.entries((doc.components && doc.components.schemas) || {}).map(([name, sc]) =>
      [name, new Set(Object.entries(sc.properties || {}).filter(([, p]) => p.readOnly).map(([k]) => k))]));
  }
  return readOnly.get(schema) || new Set();
}

const isAdmin = () => state.me && state.me.role === 'admin';

async function objects(p) {
  const kind = p.get('kind') || 'offers';
  const k = kinds[kind];
  if (!k) {
    show(h('p', { class: 'error' }, 'No such kind of object: ' + kind));
    return;
  }
  const tabs = h('div', { class: 'tabs' }, Object.entries(kinds).filter(([, v]) => !v.admin || isAdmin())
    .map(([name, v]) => h('a', { href: '#/objects?kind=' + name, class: name === kind ? 'active' : null }, v.title)));
  const res = await api('GET', '/' + kind);
  const editor = (oid) => (k.form ? `#/${k.form}?` + new URLSearchParams(oid ? { id: oid } : {}) : '#/edit?' + new URLSearchParams({ kind, ...(oid ? { id: oid } : {}) }));
  const rows = (res.items || []).map((o) => h('tr', {}, h('td', {}, String(o.id)),
    h('td', {}, h('a', { href: isAdmin() ? editor(o.id) : '#/edit?' + new URLSearchParams({ kind, id: o.id }) }, k.label(o))),
    h('td', {}, o.paused ? 'paused' : ''), h('td', { class: 'muted' }, fmtTime(o.updated_at || o.created_at))));
  show(h('h2', {}, 'Configuration'), tabs,
    isAdmin() ? h('p', {}, h('a', { href: editor(), id: 'new-object', class: 'button' }, 'New ' + k.schema.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase())) : null,
    rows.length ? h('table', { id: 'objects' }, h('thead', {}, h('tr', {}, ['ID', 'Name', '', 'Changed'].map((t) => h('th', {}, t)))), h('tbody', {}, rows))
      : h('p', { class: 'empty' }, 'None yet.'));
}

// edit shows an object as JSON (its read-only fields aside) and saves it:
// PUT for an existing one, POST for a new one. The API's errors name the
// field at fault.
async function edit(p) {
  const kind = p.get('kind');
  const id = p.get('id');
  const k = kinds[kind];
  if (!k) {
    show(h('p', { class: 'error' }, 'No such kind of object: ' + kind));
    return;
  }
  const obj = await loadModel(kind, id);
  const text = h('textarea', { id: 'object-json', spellcheck: 'false', rows: 24, readonly: !isAdmin() });
  text.value = JSON.stringify(obj, null, 2);
  const msg = h('div', { id: 'object-message', role: 'status' });
  const fail = (m) => msg.replaceChildren(h('p', { class: 'error' }, m));
  const save = h('button', { type: 'button', id: 'save', class: 'primary', hidden: !isAdmin() }, id ? 'Save' : 'Create');
  save.addEventListener('click', async () => {
    let body;
    try {
      body = JSON.parse(text.value);
    } catch (e) {
      fail('Not valid JSON: ' + e.message);
      return;
    }
    try {
      const out = await api(id ? 'PUT' : 'POST', id ? `/${kind}/${encodeURIComponent(id)}` : '/' + kind, body);
      await loadNames();
      if (kind === 'api-keys' && out.key) {
        // The key is shown this once: the store keeps only its hash.
        msg.replaceChildren(h('p', {}, 'Created. The key, shown only now: ', h('code', { id: 'new-key' }, out.key)));
        return;
      }
      go('objects', { kind });
    } catch (e) {
      fail(e.field ? `${e.field}: ${e.message.replace(e.field + ': ', '')}` : e.message);
    }
  });
  let armed = false;
  const del = h('button', { type: 'button', id: 'delete', class: 'danger', hidden: !id || !isAdmin() }, 'Delete');
  del.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      del.textContent = 'Click again to delete';
      return;
    }
    try {
      await api('DELETE', `/${kind}/${encodeURIComponent(id)}`);
      await loadNames();
      go('objects', { kind });
    } catch (e) {
      fail(e.message);
    }
  });
  show(h('h2', {}, (id ? k.schema + ' #' + id : 'New ' + k.schema)),
    h('p', {}, h('a', { href: '#/objects?kind=' + kind }, '← ' + k.title), ' · ',
      h('a', { href: '#/macros', target: '_self' }, 'macros'), ' · the API reference: ', h('a', { href: API + '/openapi.json' }, 'openapi.json')),
    text, h('div', { class: 'controls' }, save, del), msg);
}

// macros lists the macros of offer and landing URLs (click) and of
// outgoing postbacks (conversion).
async function macros() {
  const m = await api('GET', '/macros');
  const list = (names) => h('p', {}, (names || []).flatMap((n, i) => [i ? ' ' : '', h('code', {}, n.startsWith('{') ? n : '{' + n + '}')]));
  show(h('h2', {}, 'Macros'),
    h('p', { class: 'muted' }, `Values are URL-encoded; a leading ${m.raw_prefix || '_'} inserts one raw, e.g. {_ua}.`),
    h('h3', {}, 'In offer and landing URLs'), list(m.click),
    h('h3', {}, 'In outgoing postbacks'), list(m.conversion),
    h('h3', {}, 'With a parameter'), list(m.parameterized));
}

// logView is a log with filters, a table, details of a row and paging by
// the API's "next" cursor.
async function logView({ title, one, path, params, filters, columns, more: extra }) {
  const table = h('tbody');
  const details = h('div', { class: 'details' });
  const more = h('button', { type: 'button', id: 'older', hidden: true }, 'Older…');
  const status = h('p', { class: 'muted' }, 'Loading…');
  let next = '';
  const load = async () => {
    const q = new URLSearchParams(params);
    if (!q.has('limit')) q.set('limit', '100');
    if (next) q.set('before', next);
    let res;
    try {
      res = await api('GET', path + '?' + q);
    } catch (e) {
      status.replaceWith(errorBox(e));
      return;
    }
    for (const item of res.items || []) {
      const tr = h('tr', { class: 'row' }, columns.map(([, f]) => h('td', {}, f(item))));
      tr.addEventListener('click', async () => {
        details.replaceChildren(h('h3', {}, one + ' details'),
          h('table', { class: 'kv' }, h('tbody', {}, Object.entries(item).map(([k, v]) =>
            h('tr', {}, h('th', {}, k), h('td', {}, v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)))))));
        // more adds what a row's details can do or show beyond its fields.
        if (extra) details.append(...(await extra(item)).filter(Boolean));
      });
      table.append(tr);
    }
    next = res.next || '';
    more.hidden = !next;
    status.textContent = table.children.length ? `${table.children.length} shown` : 'Nothing yet.';
  };
  more.addEventListener('click', load);
  show(h('h2', {}, title), h('div', { class: 'controls' }, filters), status,
    h('table', { id: 'log' }, h('thead', {}, h('tr', {}, columns.map(([t]) => h('th', {}, t)))), table), more, details);
  await load();
}

function textFilter(id, placeholder, value, view, params) {
  const el = h('input', { id, placeholder, value: value || '' });
  el.addEventListener('change', () => go(view, { ...Object.fromEntries(params), [id]: el.value.trim() }));
  return el;
}

function clicks(p) {
  const params = Object.fromEntries(p);
  return logView({
    title: 'Clicks', one: 'Click', path: '/clicks', params,
    filters: [select('campaign_id', campaignOptions(), params.campaign_id || '', (ev) => go('clicks', { ...params, campaign_id: ev.target.value })),
      textFilter('external_id', 'external id', params.external_id, 'clicks', p)],
    columns: [['Time', (c) => fmtTime(c.created_at)], ['Click ID', (c) => h('code', {}, c.click_id)],
      ['Campaign', (c) => nameOf('campaign', c.campaign_id)], ['Stream', (c) => nameOf('stream', c.stream_id)],
      ['Offer', (c) => nameOf('offer', c.offer_id)], ['Country', (c) => c.country], ['Device', (c) => [c.device_type, c.os, c.browser].filter(Boolean).join(' · ')],
      ['Sub ID 1', (c) => (c.sub_ids || [])[0] || ''], ['Sub ID 2', (c) => (c.sub_ids || [])[1] || ''], ['External ID', (c) => c.external_id],
      ['Cost', (c) => fmtMoney(c.cost)], ['Unique', (c) => (c.unique_campaign ? 'yes' : '')], ['Bot', (c) => (c.is_bot ? c.bot_reason || 'yes' : '')]],
    // An admin may send a test conversion for a click through the real
    // postback path (logged as TEST), to check the chain to the source.
    more: async (c) => {
      if (!isAdmin()) return [];
      const t = { click_id: c.click_id, status: 'lead', payout: '1', currency: '', tid: '' };
      const out = h('p', { id: 'test-postback-result' });
      return [h('h3', {}, 'Test conversion'), h('p', {},
        choose(t, 'status', 'status', [['lead', 'lead'], ['sale', 'sale'], ['rejected', 'rejected']]), ' payout ',
        input(t, 'payout', 'payout', { size: 8, inputmode: 'decimal' }, (v) => v.trim() || '0'), ' ',
        input(t, 'currency', 'currency', { size: 4, placeholder: 'USD' }, (v) => v.trim().toUpperCase()), ' ',
        postbackButton('Send', 'test-postback', out, () => api('POST', '/postbacks/test', t),
          (r) => `${r.outcome}${r.reason ? ' (' + r.reason + ')' : ''}${r.conversion_id ? ` · conversion #${r.conversion_id}` : ''}`)), out];
    },
  });
}

function conversions(p) {
  const params = Object.fromEntries(p);
  return logView({
    title: 'Conversions', one: 'Conversion', path: '/conversions', params,
    filters: [select('status', [['', 'Any status'], ['lead', 'lead'], ['sale', 'sale'], ['rejected', 'rejected'], ['rebill', 'rebill']],
      params.status || '', (ev) => go('conversions', { ...params, status: ev.target.value })),
    select('campaign_id', campaignOptions(), params.campaign_id || '', (ev) => go('conversions', { ...params, campaign_id: ev.target.value })),
    textFilter('click_id', 'click id', params.click_id, 'conversions', p)],
    columns: [['Time', (c) => fmtTime(c.created_at)], ['Click ID', (c) => h('code', {}, c.click_id)], ['Transaction', (c) => c.tid],
      ['Status', (c) => c.status + (c.previous_status ? ` (was ${c.previous_status})` : '')], ['Payout', (c) => fmtMoney(c.payout)],
      ['Original', (c) => (c.original_currency ? `${c.original_payout} ${c.original_currency}` : '')],
      ['Campaign', (c) => nameOf('campaign', c.campaign_id)], ['Offer', (c) => nameOf('offer', c.offer_id)], ['Click time', (c) => fmtTime(c.click_time)]],
    // An admin may change a conversion's status by hand (logged as an EDIT
    // postback; reports and source postbacks follow).
    more: async (c) => {
      if (!isAdmin()) return [];
      const to = { status: c.status };
      const out = h('p', { id: 'edit-result' });
      return [h('p', {}, 'Change the status to ', choose(to, 'status', 'status', [['lead', 'lead'], ['sale', 'sale'], ['rejected', 'rejected']]), ' ',
        postbackButton('Change', 'edit-status', out, () => api('PATCH', '/conversions/' + c.id, to))), out];
    },
  });
}

function postbacks(p) {
  const params = Object.fromEntries(p);
  const outcomes = ['created', 'updated', 'duplicate', 'ignored', 'pending', 'refused', 'error'];
  return logView({
    title: 'Postbacks', one: 'Postback', path: '/postbacks', params,
    filters: [select('outcome', [['', 'Any outcome'], ...outcomes.map((o) => [o, o])], params.outcome || '', (ev) => go('postbacks', { ...params, outcome: ev.target.value })),
      textFilter('click_id', 'click id', params.click_id, 'postbacks', p)],
    columns: [['Received', (e) => fmtTime(e.received_at)], ['Outcome', (e) => h('span', { class: 'outcome ' + e.outcome }, e.outcome)],
      ['Reason', (e) => e.reason], ['HTTP', (e) => String(e.http_status)], ['Click ID', (e) => h('code', {}, e.click_id)],
      ['Auth', (e) => e.auth], ['From', (e) => e.source_ip], ['Request', (e) => h('code', { class: 'request' }, e.request)]],
    // An admin may process a logged postback again, once its cause is
    // fixed (a status mapping, a rate, a click that came late).
    more: async (e) => {
      if (!isAdmin()) return [];
      const out = h('p', { id: 'replay-result' });
      return [postbackButton('Process again', 'replay', out, () => api('POST', `/postbacks/${e.id}/replay`),
        (r) => `Processed again: ${r.outcome}${r.reason ? ' (' + r.reason + ')' : ''}, HTTP ${r.http_status}`), out];
    },
  });
}

// deliveries lists outgoing postbacks and webhook calls; a row's details
// show every attempt, and an admin may send a job again.
function deliveries(p) {
  const params = Object.fromEntries(p);
  return logView({
    title: 'Deliveries', one: 'Delivery', path: '/outbound', params,
    filters: [select('state', [['', 'Any state'], ['pending', 'pending'], ['delivered', 'delivered'], ['failed', 'failed']],
      params.state || '', (ev) => go('deliveries', { ...params, state: ev.target.value })),
    textFilter('click_id', 'click id', params.click_id, 'deliveries', p)],
    columns: [['Created', (j) => fmtTime(j.created_at)], ['State', (j) => h('span', { class: 'outcome ' + j.state }, j.state)],
      ['Target', (j) => j.target], ['Status', (j) => j.status], ['Attempts', (j) => String(j.attempts)],
      ['Last reason', (j) => j.last_reason], ['Click ID', (j) => h('code', {}, j.click_id)], ['URL', (j) => h('code', { class: 'request' }, j.url)]],
    more: async (j) => {
      const full = await api('GET', '/outbound/' + j.id);
      const out = h('p', { id: 'retry-result' });
      return [h('h3', {}, 'Attempts'), (full.history || []).length
        ? h('table', { id: 'attempts' }, h('thead', {}, h('tr', {}, ['At', 'Outcome', 'HTTP', 'Latency', 'Reason', 'Response'].map((t) => h('th', {}, t)))),
          h('tbody', {}, full.history.map((a) => h('tr', {}, h('td', {}, fmtTime(a.at)), h('td', {}, a.outcome), h('td', {}, String(a.status_code)),
            h('td', { class: 'num' }, a.latency_ms.toFixed(1) + ' ms'), h('td', {}, a.reason), h('td', {}, h('code', { class: 'request' }, a.response))))))
        : h('p', { class: 'muted' }, 'No attempt yet.'),
      // A failed job may be sent again; a pending one retries by itself.
      j.state === 'pending' ? h('p', { class: 'muted' }, 'Next attempt: ' + fmtTime(j.next_attempt_at)) : null,
      isAdmin() && j.state === 'failed' ? button('Send again', 'retry', async () => {
        try {
          const r = await api('POST', '/outbound/retry', { ids: [j.id] });
          out.replaceChildren(`Queued again: ${r.retried}`);
        } catch (err) {
          out.replaceChildren(errorBox(err));
        }
      }, '') : null, out];
    },
  });
}

// settingsPage edits the account's settings (admins; viewers read them)
// and shows the postback URL to give affiliate networks.
async function settingsPage() {
  const m = await api('GET', '/settings');
  const key = m.postback_key;
  delete m.postback_key; // read-only: replaced with its own button
  const list = (k, path, placeholder) => {
    const el = input({ v: (m[k] || []).join(', ') }, 'v', path, { size: 40, placeholder });
    el.addEventListener('input', () => { m[k] = el.value.split(',').map((x) => x.trim()).filter(Boolean); });
    return el;
  };
  const msg = h('div', { id: 'form-message', role: 'status' });
  const base = (m.public_url || location.origin).replace(/\/$/, '');
  const keyOut = h('code', { id: 'postback-url' }, `${base}/${key || '{postback_key}'}/postback?subid={clickid}&status={status}&payout={payout}&tid={txid}`);
  let armed = false;
  const rotate = isAdmin() ? button('New postback key', 'rotate-key', async () => {
    if (!armed) {
      armed = true;
      rotate.textContent = 'Click again: networks using the old key will be refused';
      return;
    }
    try {
      const s2 = await api('POST', '/settings/postback-key');
      keyOut.textContent = `${base}/${s2.postback_key}/postback?subid={clickid}&status={status}&payout={payout}&tid={txid}`;
      rotate.textContent = 'New postback key';
      armed = false;
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  }, 'danger') : null;
  show(h('h2', {}, 'Settings'),
    h('fieldset', {}, h('legend', {}, 'Account'),
      row('Currency', input(m, 'account_currency', 'account_currency', { size: 4 }, (v) => v.trim().toUpperCase()), h('span', { class: 'muted' }, 'reports convert payouts and costs to it')),
      row('Time zone', input(m, 'timezone', 'timezone', { size: 24, placeholder: 'Europe/Berlin' }), h('span', { class: 'muted' }, 'of reports, unless a user picks their own')),
      row('Public URL', input(m, 'public_url', 'public_url', { size: 40, placeholder: 'https://trk.example.com' }), h('span', { class: 'muted' }, 'campaign links and postback URLs')),
      row('Fallback URL', input(m, 'fallback_url', 'fallback_url', { size: 40 }), h('span', { class: 'muted' }, 'for unknown or paused campaigns (empty: 404)'))),
    h('fieldset', {}, h('legend', {}, 'Clicks'),
      row('Durability', choose(m, 'click_durability', 'click_durability', [['async', 'async: redirect at once'], ['sync', 'sync: redirect once the click is stored']])),
      row('Keep clicks', input(m, 'click_retention_days', 'click_retention_days', { type: 'number', min: 0 }, Number), h('span', { class: 'muted' }, 'days (0: for ever; reports keep their totals)')),
      row('Trusted proxies', list('trusted_proxies', 'trusted_proxies', '10.0.0.0/8, 127.0.0.1'))),
    h('fieldset', {}, h('legend', {}, 'Postbacks'),
      row('Postback URL', keyOut),
      row('', rotate),
      row('Retry for', input(m, 'outbound_retry_hours', 'outbound_retry_hours', { type: 'number', min: 1 }, Number), h('span', { class: 'muted' }, 'hours, outgoing postbacks that fail')),
      row('Private hosts', list('outbound_allow', 'outbound_allow', 'addresses outgoing postbacks may reach'))),
    isAdmin() ? h('div', { class: 'controls' }, submitButton('Save', msg, async () => {
      state.settings = await api('PUT', '/settings', m);
      msg.replaceChildren(h('p', {}, 'Saved.'));
    })) : null, msg);
  viewOnly();
}

// account lets the logged-in user change their own password.
function account() {
  const f = { current_password: '', new_password: '', again: '' };
  const msg = h('div', { id: 'form-message', role: 'status' });
  const save = submitButton('Change the password', msg, async () => {
    if (f.new_password !== f.again) {
      throw new APIError(0, 'mismatch', 'The new password and its repetition differ.', 'again');
    }
    await api('POST', '/session/password', { current_password: f.current_password, new_password: f.new_password });
    msg.replaceChildren(h('p', {}, 'Changed. Every other session of yours has ended.'));
  });
  show(h('h2', {}, 'Account'), h('p', {}, `${state.me.login}, ${state.me.role}`),
    h('fieldset', {}, h('legend', {}, 'Password'),
      row('Current', input(f, 'current_password', 'current_password', { type: 'password', autocomplete: 'current-password' })),
      row('New', input(f, 'new_password', 'new_password', { type: 'password', autocomplete: 'new-password' }), h('span', { class: 'muted' }, 'at least 10 characters')),
      row('Again', input(f, 'again', 'again', { type: 'password', autocomplete: 'new-password' }))),
    h('div', { class: 'controls' }, save), msg);
}

const views = { dashboard, campaigns, campaign, 'campaign-edit': campaignForm, 'offer-edit': offerForm, 'source-edit': sourceForm, 'landing-edit': landingForm, 'network-edit': networkForm, live, clicks, conversions, postbacks, deliveries, objects, edit, macros, settings: settingsPage, account };

// render draws the page of the current route. Renders run one after the
// other: a page still waiting for its data when the route changes would
// otherwise paint over the newer one when its data came.
let rendering = Promise.resolve();
let drawing = ''; // the route being rendered

function render() {
  rendering = rendering.then(renderNow, renderNow);
  return rendering;
}

async function renderNow() {
  if (!state.me) return;
  drawing = location.hash;
  const { view, params } = route();
  if (liveSource) {
    liveSource.close();
    liveSource = null;
  }
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === view);
  const f = views[view];
  if (!f) {
    show(h('p', { class: 'error' }, 'No such page: ' + view));
    return;
  }
  try {
    await f(params);
  } catch (e) {
    if (!(e instanceof APIError && e.status === 401)) show(errorBox(e));
  }
}

async function start() {
  state.settings = await api('GET', '/settings');
  await loadNames();
  document.getElementById('top').hidden = false;
  document.getElementById('who').replaceChildren(h('a', { href: '#/account', title: 'your account' }, `${state.me.login} (${state.me.role})`));
  await render();
}

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api('DELETE', '/session');
  } finally {
    showLogin('');
  }
});
window.addEventListener('hashchange', render);

try {
  state.me = await api('GET', '/session');
  await start();
} catch (e) {
  if (e instanceof APIError && e.status === 401) showLogin('');
  else show(errorBox(e));
}
