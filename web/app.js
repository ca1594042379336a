// osprey web UI: plain JS over the REST API (docs/ui.md). One hash route per
// page, every view's state in the URL:
//   #/anomalies?filters        #/anomalies/{group id}
//   #/incidents?filters        #/incidents/{any group id of the incident}
//   #/explore?detector=&series=&range=&from=&to=&compare=
//   #/detectors                #/detectors/{name}   #/detectors/{name}/edit   #/new-detector
//   #/alerts?status=&detector=&cursor=&at=
//   #/silences?state=
// Alert messages link to #/anomalies/{id} and #/incidents/{id}. The token is
// kept in sessionStorage for this tab only.
'use strict';

const state = { token: sessionStorage.getItem('osprey.token') || '', role: '', detectors: null };

// ---------------------------------------------------------------- helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : 'HTTP ' + status);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { Authorization: 'Bearer ' + state.token, ...(options.headers || {}) },
  });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!res.ok) {
    if (res.status === 401) { logout('Your token was not accepted; sign in again.'); }
    throw new ApiError(res.status, body);
  }
  return body;
}
const post = (path, body, type) => api(path, {
  method: 'POST', headers: { 'Content-Type': type || 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body || {}),
});

// Times: in the detector's zone, with UTC on hover (title).
const zoneOf = (detector) => {
  const d = (state.detectors || []).find((x) => x.name === detector);
  return d && d.timezone ? d.timezone : 'UTC';
};
function fmtIn(date, zone) {
  try {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(date);
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  } catch (e) { return date.toISOString().slice(0, 16).replace('T', ' '); }
}
const utcText = (date) => date.toISOString().replace('T', ' ').replace(/:00\.000Z$/, ' UTC').replace(/\.000Z$/, ' UTC');
// <time> in `zone`, the UTC instant in its title.
function when(iso, zone) {
  if (!iso) return '–';
  const d = new Date(iso);
  zone = zone || 'UTC';
  const label = zone === 'UTC' ? utcText(d) : `${fmtIn(d, zone)} ${zoneShort(zone)}`;
  return h('time', { datetime: iso, title: utcText(d) }, label);
}
const zoneShort = (zone) => zone.split('/').pop().replace(/_/g, ' ');
const fmtNum = (x) => x === null || x === undefined ? '–'
  : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : (+x.toFixed(2)).toString();
const sevColor = (s) => s >= 80 ? 'var(--bad)' : s >= 60 ? 'var(--warn)' : 'var(--accent)';

function severity(s) {
  return h('span', { class: 'sev' },
    h('span', { class: 'sev-bar' }, h('i', { style: `width:${Math.round(s)}%;background:${sevColor(s)}` })),
    Math.round(s));
}

function topContributors(contributions, n) {
  const all = [];
  for (const [dim, values] of Object.entries(contributions || {})) {
    for (const v of values) all.push({ dim, ...v });
  }
  all.sort((a, b) => b.share - a.share);
  return all.slice(0, n).map((c) => h('span', { class: 'pill' }, `${c.dim}=${c.value} ${Math.round(c.share)}%`));
}

// A ratio measure's group: its root causes carry the numerator's and
// denominator's sums ("ratio"), and its values are shown as percentages.
const ratioOf = (g) => (g.root_causes || []).find((c) => c.ratio);
const fmtPct = (x) => x === null || x === undefined ? '–' : `${(+(100 * x).toFixed(2))}%`;
const sideChange = (a, e) => e ? `${a >= e ? '+' : ''}${(100 * (a - e) / Math.abs(e)).toFixed(1)}%` : 'new';
function ratioSides(r) {
  return `${r.numerator} ${sideChange(r.numerator_actual, r.numerator_expected)}, `
    + `${r.denominator} ${sideChange(r.denominator_actual, r.denominator_expected)}`;
}

const elementText = (el) => {
  const parts = Object.entries(el || {}).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(' & ') : 'ALL';
};
const rootCauseText = (rc) => (rc && rc.length ? rc.map((c) => elementText(c.element)).join('; ') : '');

// The route: page path parts and query parameters of the hash.
function parseHash() {
  const hash = location.hash || '#/anomalies';
  const [path, query] = hash.slice(1).split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || '') };
}
// Sets the current page's query (filters) in the URL; renders via hashchange.
function setQuery(change, { keepPage } = {}) {
  const { parts, params } = parseHash();
  for (const [k, v] of Object.entries(change)) {
    if (v === '' || v === null || v === undefined || v === false) params.delete(k); else params.set(k, v);
  }
  // Another filter or sort starts again at the first page.
  if (!keepPage && !('cursor' in change)) { params.delete('cursor'); params.delete('at'); }
  const q = params.toString();
  location.hash = '#/' + parts.map(encodeURIComponent).join('/') + (q ? '?' + q : '');
}

async function detectors(refresh) {
  if (!state.detectors || refresh) {
    const r = await api('/api/v1/detectors');
    state.detectors = r.detectors;
    state.brokenFiles = r.broken_files || [];  // files of --config that load nothing
  }
  return state.detectors;
}

// Lists: j/k or arrow keys move between rows, Enter opens one.
function keyboardRows(table) {
  const rows = [...table.querySelectorAll('tbody tr.row')];
  rows.forEach((r, i) => {
    r.tabIndex = 0;
    r.addEventListener('keydown', (e) => {
      if (['ArrowDown', 'j'].includes(e.key) && rows[i + 1]) { rows[i + 1].focus(); e.preventDefault(); }
      if (['ArrowUp', 'k'].includes(e.key) && rows[i - 1]) { rows[i - 1].focus(); e.preventDefault(); }
      if (e.key === 'Enter') r.click();
    });
  });
  return table;
}

// Lists page by cursor (docs/api.md, "Paging"): `cursor` is the API's
// position after the previous page, `at` how many items came before it.
function pager(page, key) {
  const { params } = parseHash();
  const at = Number(params.get('at')) || 0;
  const n = page[key].length;
  // total: null when not counted (more than 1,000, or incidents beyond one page).
  const of = page.total === null ? '' : ` of ${page.total}`;
  return h('div', { class: 'pager' },
    h('span', { class: 'muted' }, n ? `${at + 1}–${at + n}${of}` : `0${of}`),
    h('span', {},
      h('button', { class: 'secondary', disabled: !params.get('cursor'),
        onclick: () => setQuery({ cursor: '', at: '' }) }, '← First page'), ' ',
      h('button', { class: 'secondary', disabled: !page.next_cursor, id: 'next-page',
        onclick: () => setQuery({ cursor: page.next_cursor, at: at + n }) }, 'Older →')));
}

const card = (...c) => h('div', { class: 'card' }, ...c);
const wrap = (table) => h('div', { class: 'table-wrap' }, table);
const errorText = (err) => err.status === 403 ? 'This needs an admin token.' : err.message;

// ---------------------------------------------------------------- theme

function applyTheme() {
  const t = localStorage.getItem('osprey.theme') || '';
  if (t) document.documentElement.dataset.theme = t; else delete document.documentElement.dataset.theme;
  const dark = t ? t === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.getElementById('theme').textContent = dark ? '☀' : '☾';
  document.getElementById('theme').title = dark ? 'Light mode' : 'Dark mode';
}
document.getElementById('theme').addEventListener('click', () => {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  localStorage.setItem('osprey.theme', dark ? 'light' : 'dark');
  applyTheme();
  route();
});
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { applyTheme(); route(); });
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

// ---------------------------------------------------------------- login

function showLogin(message) {
  document.getElementById('login').hidden = false;
  document.getElementById('view').replaceChildren();
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('search-box').hidden = true;
  document.getElementById('who').textContent = '';
  const err = document.getElementById('login-error');
  err.hidden = !message;
  err.textContent = message || '';
}

function logout(message) {
  state.token = '';
  state.detectors = null;
  sessionStorage.removeItem('osprey.token');
  showLogin(message);
}

document.getElementById('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  state.token = document.getElementById('token').value.trim();
  try {
    await api('/api/v1/status');
    sessionStorage.setItem('osprey.token', state.token);
    document.getElementById('token').value = '';
    if (!location.hash || location.hash === '#/') location.hash = '#/anomalies';
    route();
  } catch (err) {
    state.token = '';
    showLogin(err.status === 401 ? 'That token is unknown or revoked.' : err.message);
  }
});
document.getElementById('logout').addEventListener('click', () => logout(''));

// ---------------------------------------------------------------- search

// Across detectors, measures and dimension values (the detectors' series).
const search = document.getElementById('search');
const results = document.getElementById('search-results');
let searchTimer = null;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 150);
});
search.addEventListener('keydown', (e) => {
  const items = [...results.querySelectorAll('a')];
  const i = items.indexOf(document.activeElement);
  if (e.key === 'ArrowDown' && items.length) { items[0].focus(); e.preventDefault(); }
  if (e.key === 'Escape') { results.hidden = true; search.blur(); }
  if (e.key === 'Enter' && items.length && i < 0) { items[0].click(); }
});
results.addEventListener('keydown', (e) => {
  const items = [...results.querySelectorAll('a')];
  const i = items.indexOf(document.activeElement);
  if (e.key === 'ArrowDown' && items[i + 1]) { items[i + 1].focus(); e.preventDefault(); }
  if (e.key === 'ArrowUp') { (items[i - 1] || search).focus(); e.preventDefault(); }
  if (e.key === 'Escape') { results.hidden = true; search.focus(); }
});
results.addEventListener('click', () => { results.hidden = true; search.value = ''; });
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && !['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement.tagName)) {
    e.preventDefault(); search.focus();
  }
});

async function runSearch() {
  const q = search.value.trim().toLowerCase();
  if (!q) { results.hidden = true; return; }
  const ds = await detectors();
  const items = [];
  for (const d of ds) {
    if (d.name.toLowerCase().includes(q) || (d.description || '').toLowerCase().includes(q)) {
      items.push(h('a', { href: `#/detectors/${encodeURIComponent(d.name)}` }, h('strong', {}, d.name), h('span', { class: 'muted' }, ' detector')));
    }
    for (const m of d.measures || []) {
      if (m.name.toLowerCase().includes(q)) {
        items.push(h('a', { href: `#/anomalies?detector=${encodeURIComponent(d.name)}&measure=${encodeURIComponent(m.name)}` },
          h('strong', {}, m.name), h('span', { class: 'muted' }, ` measure of ${d.name}`)));
      }
    }
  }
  const series = await Promise.all(ds.map((d) =>
    api(`/api/v1/detectors/${encodeURIComponent(d.name)}/series?limit=8&q=${encodeURIComponent(q)}`).catch(() => null)));
  series.forEach((s, i) => {
    for (const x of (s && s.series) || []) {
      items.push(h('a', { href: `#/explore?detector=${encodeURIComponent(ds[i].name)}&series=${x.id}` },
        x.label, h('span', { class: 'muted' }, ` series of ${ds[i].name}`)));
    }
  });
  results.replaceChildren(...(items.length ? items.slice(0, 20) : [h('div', { class: 'muted empty' }, 'Nothing matches.')]));
  results.hidden = false;
}

// ---------------------------------------------------------------- anomaly list

function filterBar(params, ds, { withState, withMeasure } = {}) {
  const sel = (id, key, options) => h('select', { id, onchange: (e) => setQuery({ [key]: e.target.value }) },
    options.map(([v, t]) => h('option', { value: v, selected: v === (params.get(key) || '') }, t)));
  const date = (id, key) => h('input', { type: 'date', id, value: params.get(key) || '', onchange: (e) => setQuery({ [key]: e.target.value }) });
  const detector = params.get('detector') || '';
  const measures = detector ? ((ds.find((d) => d.name === detector) || {}).measures || []) : [];
  return h('div', { class: 'filters' },
    h('label', {}, 'Detector', sel('f-detector', 'detector', [['', 'All detectors'], ...ds.map((d) => [d.name, d.name])])),
    withMeasure && detector ? h('label', {}, 'Measure', sel('f-measure', 'measure', [['', 'All measures'], ...measures.map((m) => [m.name, m.name])])) : null,
    h('label', {}, 'Severity', sel('f-severity', 'min_severity', [['', 'Any'], ['50', '≥ 50'], ['70', '≥ 70'], ['80', '≥ 80'], ['90', '≥ 90']])),
    withState ? h('label', {}, 'State', sel('f-state', 'state', [['', 'Any'], ['open', 'Open'], ['resolved', 'Resolved']])) : null,
    h('label', {}, 'From', date('f-from', 'from')),
    h('label', {}, 'To', date('f-to', 'to')),
    h('button', { class: 'secondary', onclick: () => {
      const { parts } = parseHash(); location.hash = '#/' + parts.join('/');
    } }, 'Clear'));
}

function groupingToggle(current) {
  const { params } = parseHash();
  params.delete('cursor');
  params.delete('at');
  const q = params.toString() ? '?' + params.toString() : '';
  return h('div', { class: 'segmented', role: 'group', 'aria-label': 'Group by' },
    h('a', { href: '#/anomalies' + q, class: current === 'groups' ? 'on' : '', id: 'by-group' }, 'By measure'),
    h('a', { href: '#/incidents' + q, class: current === 'incidents' ? 'on' : '', id: 'by-incident' }, 'By incident'));
}

async function renderList(view, params) {
  const ds = await detectors();
  const query = new URLSearchParams();
  for (const k of ['detector', 'measure', 'min_severity', 'from', 'to', 'sort', 'cursor']) {
    if (params.get(k)) query.set(k, params.get(k));
  }
  query.set('limit', '25');
  const page = await api('/api/v1/anomaly-groups?' + query);
  const sort = params.get('sort') || 'time';
  const sortHead = (key, label) => h('th', {
    class: 'sortable' + (sort === key ? ' on' : ''), tabindex: 0,
    onclick: () => setQuery({ sort: key === 'time' ? '' : key }),
  }, label + (sort === key ? ' ▾' : ''));
  const rows = page.anomaly_groups.map((g) => h('tr', {
    class: 'row', 'data-group': g.id, onclick: () => { location.hash = '#/anomalies/' + g.id; },
  },
  h('td', {}, severity(g.severity)),
  h('td', {}, h('strong', {}, g.measure), h('div', { class: 'muted' }, g.detector)),
  h('td', { class: 'nowrap' }, when(g.interval_start, zoneOf(g.detector))),
  h('td', {}, g.anomaly_count),
  h('td', { class: 'hide-narrow' }, topContributors(g.contributions, 3)),
  h('td', { class: 'muted hide-narrow' }, rootCauseText(g.root_causes))));
  view.replaceChildren(
    card(filterBar(params, ds, { withMeasure: true })),
    card(h('div', { class: 'card-head' }, h('h2', {}, 'Anomalies'), groupingToggle('groups')),
      page.anomaly_groups.length === 0
        ? h('div', { class: 'empty' }, 'No anomaly groups match these filters.')
        : wrap(keyboardRows(h('table', { id: 'anomaly-table' },
          h('thead', {}, h('tr', {}, sortHead('severity', 'Severity'), h('th', {}, 'Measure'),
            sortHead('time', 'Interval'), h('th', {}, 'Series'), h('th', { class: 'hide-narrow' }, 'Top contributors'),
            h('th', { class: 'hide-narrow' }, 'Root cause'))),
          h('tbody', {}, rows)))),
      pager(page, 'anomaly_groups')));
}

// ---------------------------------------------------------------- charts

// Actual against expected with the band; anomalous intervals red, an
// outlined range, calendar events amber, missing intervals as gaps.
function chart(container, s, { outline, step, compare, onZoom, height, zone } = {}) {
  const xs = s.timestamps;
  const width = Math.max(300, container.clientWidth - 4);
  const highlight = (u) => {
    const ctx = u.ctx;
    const top = u.bbox.top, h2 = u.bbox.height;
    const left = u.bbox.left, right = u.bbox.left + u.bbox.width;
    ctx.save();
    ctx.font = `${11 * devicePixelRatio}px sans-serif`;
    ctx.textBaseline = 'top';
    for (const e of s.events || []) {
      const x0 = Math.max(left, u.valToPos(e.start, 'x', true));
      const x1 = Math.min(right, u.valToPos(e.end, 'x', true));
      if (x1 <= x0) continue;
      ctx.fillStyle = 'rgba(217, 164, 6, 0.16)';
      ctx.fillRect(x0, top, x1 - x0, h2);
      ctx.fillStyle = 'rgba(173, 130, 4, 0.95)';
      ctx.fillText(e.effect === 'suppress' ? `${e.name} (suppressed)` : e.name, x0 + 3 * devicePixelRatio,
        top + 2 * devicePixelRatio, Math.max(0, x1 - x0 - 4 * devicePixelRatio));
    }
    // Missing data: no value, no expectation either (not scored): hatched grey.
    ctx.fillStyle = 'rgba(128, 128, 128, 0.12)';
    for (let i = 0; i < xs.length; i++) {
      if (s.actual[i] !== null) continue;
      const x0 = u.valToPos(xs[i], 'x', true), x1 = u.valToPos(xs[i] + step, 'x', true);
      if (x1 < left || x0 > right) continue;
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), h2);
    }
    ctx.fillStyle = 'rgba(214, 69, 69, 0.15)';
    for (let i = 0; i < xs.length; i++) {
      if (!s.anomalous[i]) continue;
      const x0 = u.valToPos(xs[i], 'x', true), x1 = u.valToPos(xs[i] + step, 'x', true);
      ctx.fillRect(x0, top, Math.max(2, x1 - x0), h2);
    }
    if (outline) {
      ctx.strokeStyle = 'rgba(214, 69, 69, 0.85)';
      ctx.lineWidth = 1.5 * devicePixelRatio;
      const g0 = u.valToPos(outline[0], 'x', true), g1 = u.valToPos(outline[1], 'x', true);
      ctx.strokeRect(g0, top, Math.max(2, g1 - g0), h2);
    }
    ctx.restore();
  };
  const axis = { stroke: css('--muted'), grid: { stroke: css('--grid') }, ticks: { stroke: css('--grid') } };
  const series = [
    {},
    // A missing value (null) breaks the line: a gap, never a drop to zero.
    { label: 'Actual', stroke: css('--text'), width: 1.6, spanGaps: false, points: { show: false } },
    { label: 'Expected', stroke: css('--accent'), width: 1.2, dash: [5, 4], points: { show: false } },
    { label: 'Upper', stroke: 'rgba(37,99,235,0.25)', width: 1, points: { show: false } },
    { label: 'Lower', stroke: 'rgba(37,99,235,0.25)', width: 1, points: { show: false } },
  ];
  const data = [xs, s.actual, s.expected, s.upper, s.lower];
  if (compare) {
    series.push({ label: 'Previous week', stroke: css('--muted'), width: 1, dash: [2, 3], spanGaps: false, points: { show: false } });
    data.push(compare);
  }
  const opts = {
    width, height: height || 220,
    padding: [8, 8, 0, 0],
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [{ ...axis }, { ...axis, size: 60 }],
    series,
    // Axis labels in the detector's zone (uPlot's default is the browser's).
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone || 'UTC'),
    bands: [{ series: [3, 4], fill: 'rgba(37, 99, 235, 0.12)' }],
    hooks: {
      drawClear: [highlight],
      setSelect: onZoom ? [(u) => {
        if (u.select.width < 4) return;
        const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
        onZoom(Math.floor(a), Math.ceil(b));
      }] : [],
    },
  };
  if (onZoom) opts.cursor.drag.setScale = false;
  return new uPlot(opts, data, container);
}

function contributionBars(contributions) {
  const dims = Object.entries(contributions || {});
  if (!dims.length) return h('p', { class: 'muted' }, 'No contributions recorded.');
  return h('div', { class: 'bars contributions' }, dims.map(([dim, values]) => [
    h('div', { class: 'dim' }, dim),
    values.map((v) => h('div', { class: 'bar', title: `actual ${fmtNum(v.actual)}, expected ${fmtNum(v.expected)}` },
      h('span', {}, v.value),
      h('span', { class: 'track' }, h('span', { class: 'fill', style: `width:${Math.max(0, Math.min(100, v.share))}%;display:block` })),
      h('span', { class: 'muted' }, `${v.share.toFixed(1)}%`))),
  ]));
}

// A measure as the detectors pages show it: "conversion = orders/views" for a
// ratio, "SUM(orders)" otherwise.
const measureLabel = (m) => (m.ratio ? `${m.name} = ${m.ratio.numerator}/${m.ratio.denominator}` : `${m.aggregation}(${m.name})`);

// Root causes; a ratio measure's also show its numerator's and denominator's changes.
function rootCauseTable(causes) {
  const ratio = (causes || []).some((c) => c.ratio);
  return causes && causes.length
    ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Root-cause set'), h('th', {}, 'Share of deviation'),
      ratio ? h('th', {}, 'Numerator, denominator') : '')),
      h('tbody', {}, causes.map((c) => h('tr', {},
        h('td', {}, elementText(c.element)), h('td', {}, `${(c.share || 0).toFixed(1)}%`),
        ratio ? h('td', { class: 'ratio-sides' }, c.ratio ? ratioSides(c.ratio) : '') : ''))))
    : h('p', { class: 'muted' }, 'No root-cause set: the deviation is spread over many slices.');
}

function relatedList(related) {
  return related && related.length
    ? h('ul', {}, related.map((r) => h('li', {}, `${r.measure || ''} ${r.relation || ''}`, r.group_id
      ? h('a', { href: '#/anomalies/' + r.group_id }, ` group ${r.group_id}`) : '')))
    : h('p', { class: 'muted' }, 'No related measures.');
}

function feedbackButtons(fb, send, statusEl) {
  return h('div', { class: 'feedback' },
    h('button', { id: 'fb-relevant', class: 'secondary good' + (fb && fb.relevant ? ' selected' : ''), onclick: () => send(true) }, 'Relevant'),
    h('button', { id: 'fb-not-relevant', class: 'secondary bad' + (fb && !fb.relevant ? ' selected' : ''), onclick: () => send(false) }, 'Not relevant'),
    statusEl);
}

// ---------------------------------------------------------------- anomaly group

async function renderGroup(view, id) {
  const [g, series] = await Promise.all([
    api(`/api/v1/anomaly-groups/${id}`),
    api(`/api/v1/anomaly-groups/${id}/series?before=72&after=24`),
    detectors(),
  ]);
  const zone = zoneOf(g.detector);
  const fb = g.feedback.length ? g.feedback[g.feedback.length - 1] : null;
  const status = h('span', { id: 'feedback-status', class: 'muted' },
    fb ? `Marked ${fb.relevant ? 'relevant' : 'not relevant'} by ${fb.author}` : 'No feedback yet');
  const send = async (relevant) => {
    try {
      await api(`/api/v1/anomaly-groups/${id}/feedback`, {
        method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ relevant }),
      });
      route();
    } catch (err) { status.textContent = errorText(err); status.className = 'error'; }
  };
  const charts = h('div', {});
  const ratio = ratioOf(g);
  const fmtVal = ratio && g.anomalies.every((a) => a.value >= 0 && a.value <= 1) ? fmtPct : fmtNum;
  view.replaceChildren(
    h('a', { class: 'back', href: '#/anomalies' }, '← All anomalies'),
    card(
      h('div', { class: 'headline', id: 'group-head', 'data-group': g.id },
        h('span', { class: 'big', style: `color:${sevColor(g.severity)}` }, Math.round(g.severity)),
        h('div', {}, h('h1', { style: 'margin:0' }, `${g.measure} — ${g.detector}`),
          h('div', { class: 'muted' }, when(g.interval_start, zone), ' → ', when(g.interval_end, zone),
            ` · ${g.anomaly_count} anomalous series`)),
        h('div', { class: 'spacer' }),
        feedbackButtons(fb, send)),
      h('div', { class: 'links' }, status, ' · ',
        h('a', { href: `#/incidents/${g.id}`, id: 'incident-link' }, 'Incident (all measures) →'), ' · ',
        h('a', { href: `#/explore?detector=${encodeURIComponent(g.detector)}&from=${g.interval_start.slice(0, 10)}` }, 'Explore the series →'))),
    card(h('h2', {}, 'Actual vs expected'),
      h('p', { class: 'muted' }, 'Shaded: the expected band. Red: anomalous intervals; outlined: this group. Amber: calendar events. Grey gaps: intervals without data (not scored).'), charts),
    h('div', { class: 'grid2' },
      h('div', { class: 'card', id: 'contributions' }, h('h2', {}, 'Contributions'), contributionBars(g.contributions)),
      h('div', {},
        card(h('h2', {}, 'Root causes'), rootCauseTable(g.root_causes)),
        card(h('h2', {}, 'Related measures'), relatedList(g.related)))),
    silenceCard(g, zone),
    card(h('h2', {}, 'Anomalies in this group'),
      wrap(h('table', {}, h('thead', {}, h('tr', {}, ['Series', 'Actual', 'Expected', 'Band', 'Severity', 'What'].map((t) => h('th', {}, t)))),
        h('tbody', {}, g.anomalies.map((a) => h('tr', {},
          h('td', {}, h('a', { href: `#/explore?detector=${encodeURIComponent(g.detector)}&series=${a.series_id}&from=${g.interval_start.slice(0, 10)}` }, a.series)),
          h('td', {}, fmtVal(a.value)), h('td', {}, fmtVal(a.expected)),
          h('td', { class: 'muted' }, `${fmtVal(a.lower)} – ${fmtVal(a.upper)}`), h('td', {}, severity(a.severity)),
          h('td', {}, `${a.direction} ${a.explanation}`))))))));
  for (const s of series.series) {
    const box = h('div', { class: 'chart', 'data-series': s.series_id });
    charts.append(h('h3', {}, s.rollup ? `${s.label} (roll-up)` : s.label), box);
    chart(box, s, { outline: [series.group_start, series.group_end], step: series.interval_seconds, zone });
  }
}

// The slice a silence from this group mutes: the dimension pairs every
// root-cause element (or, without any, every anomalous series) shares, so the
// group lies inside it (docs/alerts.md, "Silences").
function silenceMatchers(g) {
  const slices = g.root_causes && g.root_causes.length ? g.root_causes.map((c) => c.element || {})
    : g.anomalies.map((a) => a.dimensions || {});
  if (!slices.length) return {};
  const out = {};
  for (const [k, v] of Object.entries(slices[0])) if (slices.every((s) => s[k] === v)) out[k] = v;
  return out;
}

const matcherText = (m) => Object.keys(m || {}).length
  ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(' & ') : 'all series';

function silenceCard(g, zone) {
  const matchers = silenceMatchers(g);
  const duration = h('select', { id: 'silence-duration' },
    [['3600', '1 hour'], ['14400', '4 hours'], ['86400', '24 hours'], ['custom', 'Until…']].map(([v, t]) => h('option', { value: v }, t)));
  const until = h('input', { id: 'silence-until', type: 'datetime-local', hidden: true, title: 'UTC' });
  duration.addEventListener('change', () => { until.hidden = duration.value !== 'custom'; });
  const comment = h('input', { id: 'silence-comment', type: 'text', placeholder: 'Why (required)', maxlength: 2000 });
  const msg = h('span', { id: 'silence-msg' });
  const submit = async () => {
    const body = { detector: g.detector, measure: g.measure, matchers, comment: comment.value.trim() };
    if (duration.value === 'custom') {
      if (!until.value) { msg.className = 'error'; msg.textContent = 'Pick the end (UTC).'; return; }
      body.ends_at = until.value.length === 16 ? until.value + ':00Z' : until.value + 'Z';
    } else body.duration_seconds = Number(duration.value);
    try {
      const s = await post('/api/v1/silences', body);
      msg.className = 'ok-text';
      msg.replaceChildren(`Silenced until ${when(s.ends_at, zone)} `, h('a', { href: '#/silences' }, `(silence ${s.id})`));
    } catch (err) { msg.className = 'error'; msg.textContent = errorText(err); }
  };
  return h('div', { class: 'card', id: 'silence' },
    h('h2', {}, 'Silence this root cause'),
    h('p', { class: 'muted' }, `Alerts of ${g.detector} / ${g.measure} on `, h('strong', { id: 'silence-slice' }, matcherText(matchers)),
      ' are recorded as silenced instead of sent while the silence lasts.'),
    h('div', { class: 'filters' }, h('label', {}, 'For', duration), until, h('label', {}, 'Comment', comment),
      h('button', { id: 'silence-submit', onclick: submit }, 'Silence')),
    msg);
}

// ---------------------------------------------------------------- incidents

async function renderIncidents(view, params) {
  const ds = await detectors();
  const query = new URLSearchParams();
  for (const k of ['detector', 'min_severity', 'from', 'to', 'state', 'sort', 'cursor']) {
    if (params.get(k)) query.set(k, params.get(k));
  }
  query.set('limit', '25');
  const page = await api('/api/v1/incidents?' + query);
  const rows = page.incidents.map((i) => h('tr', {
    class: 'row', 'data-incident': i.id, onclick: () => { location.hash = '#/incidents/' + i.id; },
  },
  h('td', {}, severity(i.severity)),
  h('td', {}, i.measures.map((m) => h('span', { class: 'pill' }, m.measure)), h('div', { class: 'muted' }, i.detector)),
  h('td', { class: 'nowrap' }, when(i.start, zoneOf(i.detector)), h('div', { class: 'muted' }, when(i.end, zoneOf(i.detector)))),
  h('td', {}, h('span', { class: 'pill ' + (i.state === 'open' ? 'off' : 'on') }, i.state)),
  h('td', { class: 'hide-narrow' }, i.anomaly_count),
  h('td', { class: 'muted hide-narrow' }, i.shared_root_causes.length ? i.shared_root_causes.map(elementText).join('; ') : rootCauseText(i.root_causes))));
  view.replaceChildren(
    card(filterBar(params, ds, { withState: true })),
    card(h('div', { class: 'card-head' }, h('h2', {}, 'Incidents'), groupingToggle('incidents')),
      h('p', { class: 'muted' }, 'An incident: the anomalies of all measures of a detector that overlap in time and share a root cause.'),
      page.incidents.length === 0 ? h('div', { class: 'empty' }, 'No incidents match these filters.')
        : wrap(keyboardRows(h('table', { id: 'incident-table' },
          h('thead', {}, h('tr', {}, ['Severity', 'Measures', 'Span', 'State'].map((t) => h('th', {}, t)),
            h('th', { class: 'hide-narrow' }, 'Anomalies'), h('th', { class: 'hide-narrow' }, 'Root cause'))),
          h('tbody', {}, rows)))),
      pager(page, 'incidents')));
}

async function renderIncident(view, id) {
  await detectors();
  const inc = await api(`/api/v1/incidents/${id}`);
  const zone = inc.timezone || 'UTC';
  const fb = inc.feedback.length ? inc.feedback[inc.feedback.length - 1] : null;
  const status = h('span', { id: 'feedback-status', class: 'muted' },
    fb ? `Marked ${fb.relevant ? 'relevant' : 'not relevant'} by ${fb.author}` : 'No feedback yet');
  const send = async (relevant) => {
    try {
      await api(`/api/v1/incidents/${inc.id}/feedback`, {
        method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ relevant }),
      });
      route();
    } catch (err) { status.textContent = errorText(err); status.className = 'error'; }
  };
  // Timeline: one lane per measure, its groups as blocks over the span.
  const t0 = Date.parse(inc.start), t1 = Date.parse(inc.end);
  const span = Math.max(1, t1 - t0);
  const timeline = h('div', { class: 'timeline', id: 'timeline' }, inc.measure_details.map((m) => h('div', { class: 'lane' },
    h('span', { class: 'lane-name' }, m.measure),
    h('span', { class: 'lane-track' }, m.groups.map((g) => h('a', {
      class: 'block' + (g.id === inc.requested_group_id ? ' requested' : ''),
      href: '#/anomalies/' + g.id,
      title: `${g.interval_start} severity ${Math.round(g.severity)}`,
      style: `left:${(100 * (Date.parse(g.interval_start) - t0)) / span}%;width:${Math.max(0.8, (100 * (Date.parse(g.interval_end) - Date.parse(g.interval_start))) / span)}%;background:${sevColor(g.severity)}`,
    }))))));
  const measures = h('div', {});
  view.replaceChildren(
    h('a', { class: 'back', href: '#/incidents' }, '← All incidents'),
    card(
      h('div', { class: 'headline', id: 'incident-head', 'data-incident': inc.id },
        h('span', { class: 'big', style: `color:${sevColor(inc.severity)}` }, Math.round(inc.severity)),
        h('div', {}, h('h1', { style: 'margin:0' }, `Incident ${inc.id} — ${inc.detector}`),
          h('div', { class: 'muted' }, when(inc.start, zone), ' → ', when(inc.end, zone),
            ` · ${inc.measures.length} measure${inc.measures.length === 1 ? '' : 's'} · ${inc.anomaly_count} anomalies · `,
            h('span', { class: 'pill ' + (inc.state === 'open' ? 'off' : 'on') }, inc.state))),
        h('div', { class: 'spacer' }),
        feedbackButtons(fb, send)),
      h('div', { class: 'links' }, status, ' · feedback applies to every anomaly of the incident')),
    card(h('h2', {}, 'Timeline'), timeline),
    h('div', { class: 'grid2' },
      card(h('h2', {}, 'Root cause'),
        inc.shared_root_causes.length
          ? h('p', { id: 'shared-cause' }, 'Shared by every measure: ', inc.shared_root_causes.map((e) => h('span', { class: 'pill' }, elementText(e))))
          : h('p', { class: 'muted' }, 'No single set is shared by every measure.'),
        rootCauseTable(inc.root_causes)),
      card(h('h2', {}, 'Events in this window'),
        inc.events.length ? h('ul', { id: 'incident-events' }, inc.events.map((e) => h('li', {}, h('strong', {}, e.name), ' ',
          when(e.start, zone), ' → ', when(e.end, zone), h('span', { class: 'muted' }, ` (${e.effect})`))))
          : h('p', { class: 'muted' }, 'No calendar events overlap this incident.'))),
    measures);
  for (const m of inc.measure_details) {
    const box = h('div', { class: 'chart' });
    const section = h('div', { class: 'card measure', 'data-measure': m.measure },
      h('div', { class: 'card-head' }, h('h2', {}, `${m.measure}`),
        h('span', {}, severity(m.incident.severity), ' ', h('a', { href: '#/anomalies/' + m.id }, `most severe group ${m.id} →`))),
      h('div', { class: 'muted' }, when(m.incident.start, zone), ' → ', when(m.incident.end, zone), ` · ${m.incident.intervals} intervals`),
      box,
      h('div', { class: 'grid2' },
        h('div', {}, h('h3', {}, 'Contributions'), contributionBars(m.contributions)),
        h('div', {}, h('h3', {}, 'Related measures'), relatedList(m.related))));
    measures.append(section);
    const intervals = Math.max(1, m.incident.intervals);
    const s = await api(`/api/v1/anomaly-groups/${m.id}/series?before=${Math.min(2000, intervals + 48)}&after=${Math.min(2000, intervals + 24)}`);
    const roll = s.series[0];
    if (roll) {
      chart(box, roll, { outline: [Date.parse(m.incident.start) / 1000, Date.parse(m.incident.end) / 1000], step: s.interval_seconds, height: 180, zone });
    }
  }
}

// ---------------------------------------------------------------- explorer

const RANGES = { '24h': 1, '7d': 7, '30d': 30, '90d': 90 };

async function renderExplore(view, params) {
  const ds = await detectors();
  const detector = params.get('detector') || (ds[0] && ds[0].name) || '';
  const d = ds.find((x) => x.name === detector);
  if (!d) { view.replaceChildren(card(h('div', { class: 'empty' }, 'No detectors yet.'))); return; }
  const measure = params.get('measure') || (d.measures[0] && d.measures[0].name) || '';
  const list = await api(`/api/v1/detectors/${encodeURIComponent(detector)}/series?limit=200&measure=${encodeURIComponent(measure)}`);
  const sid = +(params.get('series') || (list.series[0] && list.series[0].id) || 0);
  const range = params.get('range') || (params.get('from') ? 'custom' : '7d');
  // The range ends at `to` (default the watermark) and starts `range` before it.
  const end = params.get('to') ? Date.parse(params.get('to') + (params.get('to').length === 10 ? 'T00:00:00Z' : ''))
    : (d.watermark ? Date.parse(d.watermark) : Date.now());
  let start;
  if (range === 'custom' && params.get('from')) start = Date.parse(params.get('from') + (params.get('from').length === 10 ? 'T00:00:00Z' : ''));
  else start = end - (RANGES[range] || 7) * 86400e3;
  const iso = (t) => new Date(t).toISOString().replace('.000Z', 'Z');
  const compare = params.get('compare') === '1';
  const [s, prev] = sid ? await Promise.all([
    api(`/api/v1/detectors/${encodeURIComponent(detector)}/series/${sid}?from=${iso(start)}&to=${iso(end)}`),
    compare ? api(`/api/v1/detectors/${encodeURIComponent(detector)}/series/${sid}?from=${iso(start - 7 * 86400e3)}&to=${iso(end - 7 * 86400e3)}`) : null,
  ]) : [null, null];

  // The series picker: type-ahead over labels (dimension values), roll-ups first.
  const label = (list.series.find((x) => x.id === sid) || {}).label || (s && s.label) || '';
  const picker = h('input', { id: 'series-input', list: 'series-options', value: label, placeholder: 'platform=… marketplace=…', autocomplete: 'off' });
  const options = h('datalist', { id: 'series-options' }, list.series.map((x) => h('option', { value: x.label })));
  picker.addEventListener('input', async () => {
    const hit = list.series.find((x) => x.label === picker.value);
    if (hit) { setQuery({ series: hit.id }); return; }
    const found = await api(`/api/v1/detectors/${encodeURIComponent(detector)}/series?limit=50&measure=${encodeURIComponent(measure)}&q=${encodeURIComponent(picker.value.replace(/[{}=,]/g, ' '))}`);
    options.replaceChildren(...found.series.map((x) => h('option', { value: x.label })));
    for (const x of found.series) if (!list.series.find((y) => y.id === x.id)) list.series.push(x);
  });
  const presets = h('div', { class: 'segmented', id: 'range-presets' },
    [...Object.keys(RANGES), 'custom'].map((r) => h('a', {
      href: 'javascript:void 0', class: range === r ? 'on' : '', 'data-range': r,
      onclick: () => setQuery(r === 'custom' ? { range: 'custom', from: iso(start).slice(0, 10), to: iso(end).slice(0, 10) } : { range: r, from: '', to: params.get('to') || '' }),
    }, r)));
  const custom = range === 'custom' ? [
    h('label', {}, 'From', h('input', { type: 'date', id: 'x-from', value: iso(start).slice(0, 10), onchange: (e) => setQuery({ range: 'custom', from: e.target.value }) })),
    h('label', {}, 'To', h('input', { type: 'date', id: 'x-to', value: iso(end).slice(0, 10), onchange: (e) => setQuery({ to: e.target.value }) }))] : [];
  const pan = (dir) => {
    const w = end - start;
    setQuery({ range: 'custom', from: iso(start + dir * w / 2), to: iso(end + dir * w / 2) });
  };
  const box = h('div', { class: 'chart', id: 'explore-chart' });
  view.replaceChildren(
    card(h('h1', {}, 'Explore'),
      h('div', { class: 'filters' },
        h('label', {}, 'Detector', h('select', { id: 'x-detector', onchange: (e) => setQuery({ detector: e.target.value, measure: '', series: '' }) },
          ds.map((x) => h('option', { value: x.name, selected: x.name === detector }, x.name)))),
        h('label', {}, 'Measure', h('select', { id: 'x-measure', onchange: (e) => setQuery({ measure: e.target.value, series: '' }) },
          d.measures.map((m) => h('option', { value: m.name, selected: m.name === measure }, m.name)))),
        h('label', { class: 'grow' }, 'Series (type dimension values; ALL is the roll-up)', picker, options)),
      h('div', { class: 'filters', style: 'margin-top:10px' },
        h('label', {}, 'Range', presets), ...custom,
        h('label', {}, 'Pan', h('span', {}, h('button', { class: 'secondary', id: 'pan-left', onclick: () => pan(-1) }, '←'), ' ',
          h('button', { class: 'secondary', id: 'pan-right', onclick: () => pan(1) }, '→'))),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'x-compare', checked: compare, onchange: (e) => setQuery({ compare: e.target.checked ? '1' : '' }, { keepPage: true }) }), 'Compare with the previous week'))),
    card(h('div', { class: 'card-head' }, h('h2', { id: 'explore-title' }, s ? s.label : 'No series'),
      h('span', { class: 'muted' }, s ? [when(s.from, s.timezone), ' → ', when(s.to, s.timezone)] : '')),
      h('p', { class: 'muted' }, 'Drag across the chart to zoom in; the range goes into the URL. Band shaded, anomalies red, events amber, missing data grey.'),
      box));
  if (s) {
    let cmp = null;
    if (prev) {
      // The previous week's values, shifted onto this range's timestamps.
      const byTs = new Map(prev.timestamps.map((t, i) => [t + 7 * 86400, prev.actual[i]]));
      cmp = s.timestamps.map((t) => (byTs.has(t) ? byTs.get(t) : null));
    }
    chart(box, s, {
      step: s.interval_seconds, compare: cmp, height: 320, zone: s.timezone,
      onZoom: (a, b) => setQuery({ range: 'custom', from: iso(a * 1000), to: iso(b * 1000) }),
    });
    document.body.dataset.points = String(s.timestamps.length);
  }
}

// ---------------------------------------------------------------- detectors

function healthNotes(health) {
  if (!health) return [];
  const notes = [];
  if (health.data === 'no data') {
    notes.push(h('div', { class: 'error no-data' },
      `no data: no rows for ${health.no_data_intervals} intervals since `, when(health.no_data_since)));
  }
  const w = health.warmup;
  if (w && !w.ready) {
    notes.push(h('div', { class: 'muted warming-up' },
      `warming up ${w.seen}/${w.needed} (${w.series_warming} of ${w.series} series); only rules fire until then`));
  }
  return notes;
}

// The state a person needs: failing beats no data beats warming up.
function stateOf(d, st) {
  const s = st ? st.state : (d.active ? 'registered' : 'paused');
  if (!d.active) return { label: 'paused', cls: 'off' };
  // Activated, but the scheduler has not picked it up yet.
  if (s === 'paused') return { label: 'resuming', cls: 'warn' };
  if (s === 'failing') return { label: 'failing', cls: 'bad' };
  // A file or API detector that this server's scheduler no longer runs.
  if (s === 'not scheduled') return { label: 'not scheduled', cls: 'off' };
  if (d.health && d.health.data === 'no data') return { label: 'no data', cls: 'bad' };
  const w = d.health && d.health.warmup;
  if (w && !w.ready) return { label: `warming up ${w.seen}/${w.needed}`, cls: 'warn' };
  return { label: s, cls: 'on' };
}

async function renderDetectors(view) {
  const [ds, status] = await Promise.all([detectors(true), api('/api/v1/status')]);
  const byName = Object.fromEntries(status.detectors.map((s) => [s.name, s]));
  view.replaceChildren(card(h('div', { class: 'card-head' }, h('h2', {}, 'Detectors'),
    h('a', { class: 'button', href: '#/new-detector', id: 'new-detector' }, 'New detector')),
  (state.brokenFiles || []).length ? h('div', { class: 'failing', id: 'broken-files' },
    h('strong', {}, 'Detector files that do not load (nothing of them runs):'),
    state.brokenFiles.map((f) => h('div', {}, h('code', {}, f.file), ' ', h('span', { class: 'error' }, f.error)))) : '',
  ds.length === 0 ? h('div', { class: 'empty' }, 'No detectors yet.') :
    wrap(keyboardRows(h('table', { id: 'detector-table' },
      h('thead', {}, h('tr', {}, ['Detector', 'State', 'Schedule', 'Watermark', 'Last / next run'].map((t) => h('th', {}, t)),
        h('th', { class: 'hide-narrow' }, 'Measures × dimensions'))),
      h('tbody', {}, ds.map((d) => {
        const st = byName[d.name];
        const s = stateOf(d, st);
        return h('tr', { class: 'row', 'data-detector': d.name, onclick: () => { location.hash = '#/detectors/' + encodeURIComponent(d.name); } },
          h('td', {}, h('strong', {}, d.name), h('div', { class: 'muted' }, d.description || '')),
          h('td', {}, h('span', { class: 'pill state ' + s.cls }, s.label), st && st.state === 'failing'
            ? h('div', { class: 'error' }, st.last_error) : healthNotes(d.health),
          d.config_error ? h('div', { class: 'error config-error' }, 'newest version does not load') : ''),
          h('td', {}, `${d.frequency || '?'} + ${d.offset_seconds || 0}s`, h('div', { class: 'muted' }, d.timezone || '')),
          h('td', {}, d.watermark ? when(d.watermark, d.timezone) : 'not run yet'),
          h('td', {}, st && st.last_run ? when(st.last_run, d.timezone) : '–', h('div', { class: 'muted' }, st && st.next_run ? ['next ', when(st.next_run, d.timezone)] : '')),
          h('td', { class: 'hide-narrow' }, (d.measures || []).map((m) => h('span', { class: 'pill' }, measureLabel(m))),
            h('div', { class: 'muted' }, (d.dimensions || []).join(', '))));
      })))))));
}

// Data quality over time: rows read per interval (bars), missing series (red).
function qualityChart(container, q, zone) {
  const xs = q.intervals.map((r) => Date.parse(r.interval_start) / 1000);
  if (!xs.length) { container.append(h('p', { class: 'muted' }, 'No intervals processed yet.')); return; }
  const axis = { stroke: css('--muted'), grid: { stroke: css('--grid') } };
  new uPlot({
    width: Math.max(300, container.clientWidth - 4), height: 160,
    scales: { x: { time: true } }, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone), axes: [axis, { ...axis, size: 60 }],
    series: [{}, { label: 'Rows read', stroke: css('--accent'), fill: 'rgba(37,99,235,0.15)', points: { show: false } },
      { label: 'Rows rejected', stroke: css('--warn'), points: { show: false } },
      { label: 'Series missing', stroke: css('--bad'), points: { show: false } }],
  }, [xs, q.intervals.map((r) => r.rows_read), q.intervals.map((r) => r.rows_rejected), q.intervals.map((r) => r.series_missing)], container);
}

async function renderDetector(view, name) {
  const enc = encodeURIComponent(name);
  const [d, status, q, series] = await Promise.all([
    api(`/api/v1/detectors/${enc}`), api('/api/v1/status'),
    api(`/api/v1/detectors/${enc}/data-quality?limit=500`).catch(() => null),
    api(`/api/v1/detectors/${enc}/series?limit=1`).catch(() => null),
    detectors()]);
  const st = status.detectors.find((x) => x.name === name);
  const s = stateOf(d, st);
  const zone = d.timezone || 'UTC';
  const fileManaged = d.managed_by === 'file';
  const msg = h('span', { id: 'detector-msg', class: 'muted' });
  const act = async (verb) => {
    try {
      if (verb === 'delete') {
        if (!confirm(`Delete detector ${name} and all its results?`)) return;
        await api(`/api/v1/detectors/${enc}`, { method: 'DELETE' });
        state.detectors = null;
        location.hash = '#/detectors';
        return;
      }
      await post(`/api/v1/detectors/${enc}/${verb}`);
      state.detectors = null;
      route();
    } catch (err) { msg.textContent = errorText(err); msg.className = 'error'; }
  };
  const qbox = h('div', { class: 'chart', id: 'quality-chart' });
  const runs = q ? q.intervals.slice(-12).reverse() : [];
  view.replaceChildren(
    h('a', { class: 'back', href: '#/detectors' }, '← All detectors'),
    card(h('div', { class: 'headline', id: 'detector-head', 'data-state': s.label },
      h('div', {}, h('h1', { style: 'margin:0' }, d.name), h('div', { class: 'muted' }, d.description || '')),
      h('span', { class: 'pill state big-pill ' + s.cls, id: 'detector-state' }, s.label),
      h('div', { class: 'spacer' }),
      fileManaged ? h('span', { class: 'muted', id: 'file-managed' }, 'Read-only: defined by ', h('code', {}, d.file))
        : h('span', { class: 'actions' },
          h('a', { class: 'button secondary', href: `#/detectors/${enc}/edit`, id: 'edit-detector' }, 'Edit'), ' ',
          d.active ? h('button', { class: 'secondary', id: 'pause', onclick: () => act('deactivate') }, 'Pause')
            : h('button', { id: 'activate', onclick: () => act('activate') }, 'Activate'), ' ',
          h('button', { class: 'secondary bad', id: 'delete', onclick: () => act('delete') }, 'Delete'))),
    msg,
    st && st.state === 'failing' ? h('div', { class: 'failing', id: 'failing' },
      h('strong', {}, `Failing (${st.retries} ${st.retries === 1 ? 'retry' : 'retries'}): `), st.last_error,
      h('div', { id: 'next-retry' }, 'Next retry ', st.next_retry ? when(st.next_retry, zone) : '–')) : '',
    d.config_error ? h('div', { class: 'failing', id: 'config-error' },
      h('strong', {}, d.scheduled ? 'The newest version does not load; the version below keeps running: '
        : 'No version loads; nothing runs: '), d.config_error) : '',
    st && st.state === 'not scheduled' && !d.config_error ? h('div', { class: 'muted', id: 'not-scheduled' },
      fileManaged ? ['Not scheduled: ', h('code', {}, d.file), ' is no longer in the --config directory.']
        : 'Not scheduled by this server.') : '',
    healthNotes(d.health)),
    h('div', { class: 'grid2' },
      card(h('h2', {}, 'Health'), h('dl', { class: 'kv', id: 'health' },
        h('dt', {}, 'State'), h('dd', {}, s.label),
        h('dt', {}, 'Last run'), h('dd', {}, st && st.last_run ? when(st.last_run, zone) : '–'),
        ...(st && st.state === 'failing'
          ? [h('dt', {}, 'Next retry'), h('dd', { id: 'health-next-retry' }, st.next_retry ? when(st.next_retry, zone) : '–')]
          : [h('dt', {}, 'Next run'), h('dd', {}, st && st.next_run ? when(st.next_run, zone) : '–')]),
        h('dt', {}, 'Watermark'), h('dd', {}, d.watermark ? when(d.watermark, zone) : 'not run yet'),
        h('dt', {}, 'Series'), h('dd', { id: 'series-count' }, series ? series.total : '–'),
        h('dt', {}, 'Data'), h('dd', {}, d.health ? d.health.data : 'unknown'),
        h('dt', {}, 'Warm-up'), h('dd', {}, d.health && d.health.warmup ? (d.health.warmup.ready ? 'ready' : `${d.health.warmup.seen}/${d.health.warmup.needed} intervals`) : '–'),
        h('dt', {}, 'Managed by'), h('dd', {}, fileManaged ? ['file ', h('code', {}, d.file)] : d.managed_by))),
      card(h('h2', {}, 'Configuration'), h('dl', { class: 'kv' },
        h('dt', {}, 'Schedule'), h('dd', {}, `${d.frequency} + ${d.offset_seconds}s, ${zone}`),
        h('dt', {}, 'Source'), h('dd', {}, d.source_type || '–'),
        h('dt', {}, 'Measures'), h('dd', {}, (d.measures || []).map((m) => h('span', { class: 'pill' }, measureLabel(m)))),
        h('dt', {}, 'Dimensions'), h('dd', {}, (d.dimensions || []).join(', ') || '–'),
        h('dt', {}, 'Sensitivity'), h('dd', {}, `${d.sensitivity}, stored from severity ${d.min_severity}`),
        h('dt', {}, 'Alerts'), h('dd', {}, String(d.alerts)),
        h('dt', {}, 'Explore'), h('dd', {}, h('a', { href: `#/explore?detector=${enc}` }, 'its series →'))))),
    card(h('h2', {}, 'Data quality over time'), qbox),
    card(h('h2', {}, 'Run history (latest intervals)'),
      runs.length ? wrap(h('table', { id: 'run-history' }, h('thead', {}, h('tr', {}, ['Interval', 'Rows read', 'Rejected', 'Filtered', 'Series seen', 'Missing'].map((t) => h('th', {}, t)))),
        h('tbody', {}, runs.map((r) => h('tr', {}, h('td', {}, when(r.interval_start, zone)), h('td', {}, r.rows_read),
          h('td', {}, r.rows_rejected), h('td', {}, r.rows_filtered), h('td', {}, r.series_seen), h('td', {}, r.series_missing))))))
        : h('p', { class: 'muted' }, 'Nothing has run yet.')),
    card(h('h2', {}, 'Detector file'), h('pre', { class: 'yaml', id: 'config-text' }, d.config)));
  if (q) qualityChart(qbox, q, zone);
}

// The editor: YAML checked by the API as you type, a form for the common
// fields, a preview that backtests the last N days, then save.
const TEMPLATE = `name: my_detector
description: Orders per country
frequency: PT1H
timezone: UTC
source:
  type: sqlite
  path: /path/to/warehouse.db
query: |
  select ts as timestamp, orders, country from orders
  where ts >= {{interval_start}} and ts < {{interval_end}}
dimensions: [country]
measures:
  - {name: orders, aggregation: SUM}
`;

// Sets `key: value` at the top level of a YAML text (the form's fields).
function setYamlField(text, key, value) {
  const re = new RegExp(`^${key}:.*$`, 'm');
  const line = `${key}: ${value}`;
  return re.test(text) ? text.replace(re, line) : text.replace(/^(name:.*)$/m, `$1\n${line}`);
}
const yamlField = (text, key) => { const m = text.match(new RegExp(`^${key}:\\s*(.*)$`, 'm')); return m ? m[1].trim() : ''; };

async function renderEditor(view, name) {
  const ds = await detectors();
  let text = TEMPLATE;
  if (name) {
    const d = await api(`/api/v1/detectors/${encodeURIComponent(name)}`);
    if (d.managed_by === 'file') {
      view.replaceChildren(card(h('p', { id: 'file-managed' }, `${name} is defined by `, h('code', {}, d.file), '; edit that file.')));
      return;
    }
    text = d.config;
  }
  const editor = h('textarea', { id: 'yaml', spellcheck: 'false', rows: 22 });
  editor.value = text;
  const check = h('div', { id: 'validation', class: 'muted' }, 'Checking…');
  const fields = ['description', 'frequency', 'timezone', 'sensitivity', 'min_severity'];
  const inputs = Object.fromEntries(fields.map((f) => [f, h('input', { id: 'form-' + f, value: yamlField(text, f) })]));
  for (const f of fields) {
    inputs[f].addEventListener('input', () => { editor.value = setYamlField(editor.value, f, inputs[f].value); validate(); });
  }
  let valid = false;
  let seq = 0;
  async function validate() {
    const mine = ++seq;
    try {
      const r = await post('/api/v1/detector-files/validate', editor.value, 'application/yaml');
      if (mine !== seq) return;
      valid = r.valid;
      if (r.valid) {
        check.className = 'ok-text';
        check.textContent = `Valid: ${r.detector.name}, ${r.detector.measures.length} measures, ${r.detector.dimensions.length} dimensions, every ${r.detector.frequency}` +
          (!name && r.exists ? ' — a detector with this name exists already' : '');
        if (!name && r.exists) valid = false;
      } else {
        check.className = 'error';
        check.textContent = r.error;
      }
      for (const f of fields) if (document.activeElement !== inputs[f]) inputs[f].value = yamlField(editor.value, f);
      save.disabled = !valid;
    } catch (err) { check.className = 'error'; check.textContent = errorText(err); }
  }
  let timer = null;
  editor.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(validate, 250); });
  const latest = ds.map((d) => d.watermark).filter(Boolean).sort().pop();
  const days = h('input', { id: 'preview-days', type: 'number', min: 1, max: 90, value: 14, style: 'width:80px' });
  const until = h('input', { id: 'preview-to', type: 'date', value: (latest || new Date().toISOString()).slice(0, 10) });
  const previewOut = h('div', { id: 'preview' });
  const preview = h('button', { class: 'secondary', id: 'preview-button', onclick: async () => {
    previewOut.replaceChildren(h('p', { class: 'muted' }, 'Running the detector over the range…'));
    try {
      const r = await post(`/api/v1/detector-files/preview?days=${days.value}&to=${until.value}`, editor.value, 'application/yaml');
      previewOut.replaceChildren(
        h('p', { id: 'preview-summary' }, `${r.intervals} intervals, ${r.rows_read.toLocaleString('en-US')} rows read, ${r.rows_rejected} rejected: `,
          h('strong', {}, `${r.incidents} measure incidents`), ` (${r.anomalies} anomalies) would have been flagged.`),
        r.flagged.length ? wrap(h('table', { id: 'preview-table' }, h('thead', {}, h('tr', {}, ['Severity', 'Measure', 'Start', 'Intervals', 'Root cause'].map((t) => h('th', {}, t)))),
          h('tbody', {}, r.flagged.map((g) => h('tr', {}, h('td', {}, severity(g.incident.severity)), h('td', {}, g.measure),
            h('td', {}, when(g.incident.start)), h('td', {}, g.incident.intervals), h('td', { class: 'muted' }, rootCauseText(g.root_causes)))))))
          : h('p', { class: 'muted' }, 'Nothing would have been flagged.'));
    } catch (err) { previewOut.replaceChildren(h('p', { class: 'error' }, errorText(err))); }
  } }, 'Preview');
  const msg = h('span', { id: 'save-msg' });
  const save = h('button', { id: 'save', disabled: true, onclick: async () => {
    try {
      const r = name
        ? await api(`/api/v1/detectors/${encodeURIComponent(name)}`, { method: 'PUT', headers: { 'Content-Type': 'application/yaml' }, body: editor.value })
        : await post('/api/v1/detectors', editor.value, 'application/yaml');
      state.detectors = null;
      location.hash = '#/detectors/' + encodeURIComponent(r.name);
    } catch (err) { msg.className = 'error'; msg.textContent = errorText(err); }
  } }, name ? 'Save changes' : 'Create detector');
  view.replaceChildren(
    h('a', { class: 'back', href: name ? `#/detectors/${encodeURIComponent(name)}` : '#/detectors' }, '← Back'),
    h('div', { class: 'editor-grid' },
      card(h('h1', {}, name ? `Edit ${name}` : 'New detector'),
        h('p', { class: 'muted' }, 'The detector file (docs/configuration.md); checked by the server as you type.'),
        editor, check),
      h('div', {},
        card(h('h2', {}, 'Common fields'), h('div', { class: 'form' },
          fields.map((f) => h('label', {}, f.replace('_', ' '), inputs[f])))),
        card(h('h2', {}, 'Preview'), h('p', { class: 'muted' }, 'Backtest the last days into a scratch store: nothing is saved.'),
          h('div', { class: 'filters' }, h('label', {}, 'Days', days), h('label', {}, 'Ending', until), preview), previewOut),
        card(h('div', { class: 'filters' }, save, msg),
          h('p', { class: 'muted' }, name ? 'Saving keeps the detector active or paused as it is.' : 'A new detector starts active: it backfills from history_start, then runs live. Pause it on its page.')))));
  validate();
}

// ---------------------------------------------------------------- alerts

async function renderAlerts(view, params) {
  const ds = await detectors();
  const query = new URLSearchParams();
  for (const k of ['detector', 'status', 'cursor']) if (params.get(k)) query.set(k, params.get(k));
  query.set('limit', '25');
  const [page, rules] = await Promise.all([api('/api/v1/alerts/deliveries?' + query), api('/api/v1/alerts')]);
  const msg = h('span', { id: 'alerts-msg' });
  const resend = async (id) => {
    try {
      await post(`/api/v1/alerts/deliveries/${id}/resend`);
      msg.className = 'ok-text'; msg.textContent = `Message ${id} is queued again.`;
      refreshSoon();
    } catch (err) { msg.className = 'error'; msg.textContent = errorText(err); }
  };
  const sel = (id, key, options) => h('select', { id, onchange: (e) => setQuery({ [key]: e.target.value }) },
    options.map(([v, t]) => h('option', { value: v, selected: v === (params.get(key) || '') }, t)));
  const test = async (a, cell) => {
    cell.replaceChildren(h('span', { class: 'muted' }, 'Sending…'));
    try {
      const r = await post('/api/v1/alerts/test', { detector: a.detector, alert: a.name });
      cell.replaceChildren(r.delivered ? h('span', { class: 'ok-text test-result' }, 'Delivered')
        : h('span', { class: 'error test-result' }, r.error));
    } catch (err) { cell.replaceChildren(h('span', { class: 'error test-result' }, errorText(err))); }
  };
  const link = (o) => o.group_id ? h('a', { href: '#/anomalies/' + o.group_id }, `${o.measure} group ${o.group_id}`)
    : h('a', { href: '#/detectors/' + encodeURIComponent(o.detector) }, o.detector);
  view.replaceChildren(
    card(h('h2', {}, 'Alert rules'), rules.alerts.length ? wrap(h('table', { id: 'alert-rules' },
      h('thead', {}, h('tr', {}, ['Detector', 'Alert', 'Destination', 'From severity', 'Measures', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rules.alerts.map((a) => {
        const cell = h('td', {});
        cell.append(h('button', { class: 'secondary send-test', onclick: () => test(a, cell) }, 'Send test'));
        return h('tr', { 'data-alert': `${a.detector}/${a.name}` }, h('td', {}, a.detector), h('td', {}, h('strong', {}, a.name), h('div', { class: 'muted' }, a.description)),
          h('td', {}, a.destination), h('td', {}, a.min_severity), h('td', {}, (a.measures || []).join(', ') || 'all'), cell);
      })))) : h('p', { class: 'muted' }, 'No alert rules.')),
    card(h('h2', {}, 'Delivery log'),
      h('div', { class: 'filters' },
        h('label', {}, 'Detector', sel('d-detector', 'detector', [['', 'All detectors'], ...ds.map((d) => [d.name, d.name])])),
        h('label', {}, 'Status', sel('d-status', 'status', [['', 'Any'], ['pending', 'Pending'], ['delivered', 'Delivered'], ['dead', 'Dead-lettered'], ['silenced', 'Silenced']]))),
      msg,
      page.deliveries.length === 0 ? h('div', { class: 'empty' }, 'No alert messages match.')
        : wrap(h('table', { id: 'delivery-table' },
          h('thead', {}, h('tr', {}, ['#', 'Alert', 'Kind', 'About', 'Status', 'Attempts', 'Created', ''].map((t) => h('th', {}, t)))),
          h('tbody', {}, page.deliveries.map((o) => h('tr', { 'data-delivery': o.id, 'data-status': o.status },
            h('td', {}, o.id), h('td', {}, o.alert, h('div', { class: 'muted' }, o.detector)), h('td', {}, o.kind), h('td', {}, link(o)),
            h('td', {}, h('span', { class: 'pill ' + (o.status === 'dead' ? 'off' : o.status === 'delivered' ? 'on' : '') }, o.status),
              o.last_error ? h('div', { class: 'error small' }, o.last_error) : ''),
            h('td', {}, o.attempts), h('td', {}, when(o.created_at, zoneOf(o.detector))),
            h('td', {}, o.status === 'dead' ? h('button', { class: 'secondary resend', onclick: () => resend(o.id) }, 'Resend') : '')))))),
      pager(page, 'deliveries')));
}

// ---------------------------------------------------------------- silences

async function renderSilences(view, params) {
  const query = new URLSearchParams();
  if (params.get('state')) query.set('state', params.get('state'));
  const [r] = await Promise.all([api('/api/v1/silences?' + query), detectors()]);
  const msg = h('span', { id: 'silences-msg' });
  const expire = async (id) => {
    try {
      await api(`/api/v1/silences/${id}`, { method: 'DELETE' });
      msg.className = 'ok-text'; msg.textContent = `Silence ${id} expired.`;
      refreshSoon();
    } catch (err) { msg.className = 'error'; msg.textContent = errorText(err); }
  };
  const stateSel = h('select', { id: 's-state', onchange: (e) => setQuery({ state: e.target.value }) },
    [['', 'Any'], ['active', 'Active'], ['pending', 'Not started'], ['expired', 'Expired']].map(([v, t]) =>
      h('option', { value: v, selected: v === (params.get('state') || '') }, t)));
  view.replaceChildren(card(h('h2', {}, 'Silences'),
    h('p', { class: 'muted' }, 'Alert messages of the anomaly groups a silence matches are recorded as silenced in the delivery log instead of sent. Create one from an anomaly\'s page.'),
    h('div', { class: 'filters' }, h('label', {}, 'State', stateSel)), msg,
    r.silences.length === 0 ? h('div', { class: 'empty' }, 'No silences.')
      : wrap(h('table', { id: 'silence-table' },
        h('thead', {}, h('tr', {}, ['#', 'State', 'Matches', 'From', 'Until', 'Comment', 'By', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, r.silences.map((s) => {
          const zone = s.detector ? zoneOf(s.detector) : 'UTC';
          return h('tr', { 'data-silence': s.id, 'data-state': s.state },
            h('td', {}, s.id),
            h('td', {}, h('span', { class: 'pill ' + (s.state === 'active' ? 'on' : s.state === 'expired' ? 'off' : '') }, s.state)),
            h('td', {}, `${s.detector || 'any detector'} / ${s.measure || 'any measure'}`, h('div', { class: 'muted' }, matcherText(s.matchers))),
            h('td', {}, when(s.starts_at, zone)), h('td', {}, when(s.ends_at, zone)),
            h('td', {}, s.comment), h('td', {}, s.created_by),
            h('td', {}, s.state !== 'expired' ? h('button', { class: 'secondary expire', onclick: () => expire(s.id) }, 'Expire') : ''));
        }))))));
}

// ---------------------------------------------------------------- routing

const PAGES = { anomalies: 'anomalies', incidents: 'anomalies', explore: 'explore', detectors: 'detectors', 'new-detector': 'detectors', alerts: 'alerts', silences: 'silences' };

let generation = 0;

// Re-renders the current page a moment later (to show a change the server has
// queued) unless the user has moved on by then: a late refresh must never
// overtake a navigation and blank the page that replaced it.
function refreshSoon() {
  const at = location.hash, mine = generation;
  setTimeout(() => { if (location.hash === at && generation === mine) route(); }, 300);
}

async function route() {
  if (!state.token) { showLogin(''); return; }
  // Each render draws into its own element: a render that a newer one
  // overtook (a click while the page loads) ends up detached, unseen.
  const mine = ++generation;
  document.getElementById('login').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  document.getElementById('search-box').hidden = false;
  const view = h('div', {});
  document.getElementById('view').replaceChildren(view);
  // The one route scheme; the old singular #/anomaly/ID still opens the group.
  const legacy = (location.hash || '').match(/^#\/anomaly\/(\d+)$/);
  if (legacy) { location.replace('#/anomalies/' + legacy[1]); return; }
  const { parts, params } = parseHash();
  const [page, arg, sub] = parts;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === (PAGES[page] || 'anomalies'));
  delete document.body.dataset.ready;
  try {
    if (page === 'anomalies' && arg) await renderGroup(view, arg);
    else if (page === 'incidents' && arg) await renderIncident(view, arg);
    else if (page === 'incidents') await renderIncidents(view, params);
    else if (page === 'explore') await renderExplore(view, params);
    else if (page === 'detectors' && arg && sub === 'edit') await renderEditor(view, arg);
    else if (page === 'detectors' && arg) await renderDetector(view, arg);
    else if (page === 'detectors') await renderDetectors(view);
    else if (page === 'new-detector') await renderEditor(view, '');
    else if (page === 'alerts') await renderAlerts(view, params);
    else if (page === 'silences') await renderSilences(view, params);
    else await renderList(view, params);
    if (mine === generation) document.body.dataset.ready = location.hash || '#/anomalies';
  } catch (err) {
    if (state.token && mine === generation) {
      view.replaceChildren(h('div', { class: 'card error', id: 'page-error' }, err.message));
      document.body.dataset.ready = 'error';
    }
  }
}

window.addEventListener('hashchange', route);
applyTheme();
route();
