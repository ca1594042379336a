// osprey web UI: anomaly list, anomaly detail (charts, contributions, root
// causes, feedback) and detectors. Plain JS over the REST API; the token is
// kept in sessionStorage for this tab only.
'use strict';

const state = { token: sessionStorage.getItem('osprey.token') || '' };

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
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

const fmtTime = (iso) => iso.replace('T', ' ').replace(/:00Z$/, ' UTC').replace(/Z$/, ' UTC');
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

function rootCauseText(rc) {
  if (!rc || !rc.length) return '';
  return rc.map((c) => {
    const parts = Object.entries(c.element || {}).map(([k, v]) => `${k}=${v}`);
    return parts.length ? parts.join(' & ') : 'ALL';
  }).join('; ');
}

// ---------------------------------------------------------------- login

function showLogin(message) {
  document.getElementById('login').hidden = false;
  document.getElementById('view').replaceChildren();
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  const err = document.getElementById('login-error');
  err.hidden = !message;
  err.textContent = message || '';
}

function logout(message) {
  state.token = '';
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

// ---------------------------------------------------------------- anomaly list

const listState = { detector: '', min_severity: '', from: '', to: '', sort: 'time', offset: 0, limit: 25 };

async function renderList(view) {
  const detectors = (await api('/api/v1/detectors')).detectors;
  const params = new URLSearchParams();
  for (const k of ['detector', 'min_severity', 'sort', 'offset', 'limit']) {
    if (listState[k] !== '') params.set(k, listState[k]);
  }
  if (listState.from) params.set('from', listState.from);
  if (listState.to) params.set('to', listState.to);
  const page = await api('/api/v1/anomaly-groups?' + params);

  const detectorSelect = h('select', { id: 'f-detector', onchange: (e) => update({ detector: e.target.value }) },
    h('option', { value: '' }, 'All detectors'),
    detectors.map((d) => h('option', { value: d.name, selected: d.name === listState.detector }, d.name)));
  const sevSelect = h('select', { id: 'f-severity', onchange: (e) => update({ min_severity: e.target.value }) },
    [['', 'Any'], ['50', '≥ 50'], ['70', '≥ 70'], ['80', '≥ 80'], ['90', '≥ 90']].map(([v, t]) =>
      h('option', { value: v, selected: v === listState.min_severity }, t)));
  const from = h('input', { type: 'date', id: 'f-from', value: listState.from, onchange: (e) => update({ from: e.target.value }) });
  const to = h('input', { type: 'date', id: 'f-to', value: listState.to, onchange: (e) => update({ to: e.target.value }) });
  function update(change) { Object.assign(listState, change, { offset: 0 }); route(); }
  const sortHead = (key, label) => h('th', {
    class: 'sortable' + (listState.sort === key ? ' on' : ''),
    onclick: () => update({ sort: key }),
  }, label + (listState.sort === key ? ' ▾' : ''));

  const rows = page.anomaly_groups.map((g) => h('tr', {
    class: 'row', 'data-group': g.id, onclick: () => { location.hash = '#/anomaly/' + g.id; },
  },
  h('td', {}, severity(g.severity)),
  h('td', {}, h('strong', {}, g.measure), h('div', { class: 'muted' }, g.detector)),
  h('td', { class: 'nowrap' }, fmtTime(g.interval_start)),
  h('td', {}, g.anomaly_count),
  h('td', {}, topContributors(g.contributions, 3)),
  h('td', { class: 'muted' }, rootCauseText(g.root_causes))));

  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.anomaly_groups.length;
  view.replaceChildren(
    h('div', { class: 'card' },
      h('div', { class: 'filters' },
        h('label', {}, 'Detector', detectorSelect),
        h('label', {}, 'Severity', sevSelect),
        h('label', {}, 'From', from),
        h('label', {}, 'To', to),
        h('button', { class: 'secondary', onclick: () => { Object.assign(listState, { detector: '', min_severity: '', from: '', to: '', offset: 0 }); route(); } }, 'Clear'))),
    h('div', { class: 'card' },
      h('h2', {}, 'Anomalies'),
      page.anomaly_groups.length === 0
        ? h('div', { class: 'empty' }, 'No anomaly groups match these filters.')
        : h('table', { id: 'anomaly-table' },
          h('thead', {}, h('tr', {}, sortHead('severity', 'Severity'), h('th', {}, 'Measure'),
            sortHead('time', 'Interval'), h('th', {}, 'Series'), h('th', {}, 'Top contributors'),
            h('th', {}, 'Root cause'))),
          h('tbody', {}, rows)),
      h('div', { class: 'pager' },
        h('span', { class: 'muted' }, `${first}–${last} of ${page.total}`),
        h('span', {},
          h('button', { class: 'secondary', disabled: page.offset === 0,
            onclick: () => { listState.offset = Math.max(0, page.offset - page.limit); route(); } }, '← Newer'), ' ',
          h('button', { class: 'secondary', disabled: !page.next,
            onclick: () => { listState.offset = page.offset + page.limit; route(); } }, 'Older →')))));
}

// ---------------------------------------------------------------- anomaly detail

function chart(container, s, data, groupStart, groupEnd, step) {
  const xs = s.timestamps;
  const width = Math.max(320, container.clientWidth - 4);
  const anomalous = s.anomalous;
  const highlight = (u) => {
    const ctx = u.ctx;
    const top = u.bbox.top, height = u.bbox.height;
    ctx.save();
    // Calendar events (holidays, promotions): a light amber region with the name.
    const left = u.bbox.left, right = u.bbox.left + u.bbox.width;
    ctx.font = `${11 * devicePixelRatio}px sans-serif`;
    ctx.textBaseline = 'top';
    for (const e of s.events || []) {
      const x0 = Math.max(left, u.valToPos(e.start, 'x', true));
      const x1 = Math.min(right, u.valToPos(e.end, 'x', true));
      if (x1 <= x0) continue;
      ctx.fillStyle = 'rgba(217, 164, 6, 0.14)';
      ctx.fillRect(x0, top, x1 - x0, height);
      ctx.fillStyle = 'rgba(133, 100, 4, 0.9)';
      ctx.fillText(e.effect === 'suppress' ? `${e.name} (suppressed)` : e.name, x0 + 3 * devicePixelRatio,
        top + 2 * devicePixelRatio, Math.max(0, x1 - x0 - 4 * devicePixelRatio));
    }
    ctx.fillStyle = 'rgba(214, 69, 69, 0.13)';
    for (let i = 0; i < xs.length; i++) {
      if (!anomalous[i]) continue;
      const x0 = u.valToPos(xs[i], 'x', true), x1 = u.valToPos(xs[i] + step, 'x', true);
      ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
    }
    ctx.strokeStyle = 'rgba(214, 69, 69, 0.85)';
    ctx.lineWidth = 1.5 * devicePixelRatio;
    const g0 = u.valToPos(groupStart, 'x', true), g1 = u.valToPos(groupEnd, 'x', true);
    ctx.strokeRect(g0, top, Math.max(2, g1 - g0), height);
    ctx.restore();
  };
  const opts = {
    width, height: 220,
    padding: [8, 8, 0, 0],
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [{ stroke: '#66788a', grid: { stroke: '#eef1f5' } },
      { stroke: '#66788a', grid: { stroke: '#eef1f5' }, size: 60 }],
    series: [
      {},
      // A missing value (null) breaks the line: a gap, never a drop to zero.
      { label: 'Actual', stroke: '#0f1b2d', width: 1.6, spanGaps: false, points: { show: false } },
      { label: 'Expected', stroke: '#2563eb', width: 1.2, dash: [5, 4], points: { show: false } },
      { label: 'Upper', stroke: 'rgba(37,99,235,0.25)', width: 1, points: { show: false } },
      { label: 'Lower', stroke: 'rgba(37,99,235,0.25)', width: 1, points: { show: false } },
    ],
    bands: [{ series: [3, 4], fill: 'rgba(37, 99, 235, 0.12)' }],
    hooks: { drawClear: [highlight] },
  };
  return new uPlot(opts, data, container);
}

function contributionBars(contributions) {
  const dims = Object.entries(contributions || {});
  if (!dims.length) return h('p', { class: 'muted' }, 'No contributions recorded.');
  return h('div', { class: 'bars', id: 'contributions' }, dims.map(([dim, values]) => [
    h('div', { class: 'dim' }, dim),
    values.map((v) => h('div', { class: 'bar', title: `actual ${fmtNum(v.actual)}, expected ${fmtNum(v.expected)}` },
      h('span', {}, v.value),
      h('span', { class: 'track' }, h('span', { class: 'fill', style: `width:${Math.max(0, Math.min(100, v.share))}%;display:block` })),
      h('span', { class: 'muted' }, `${v.share.toFixed(1)}%`))),
  ]));
}

async function renderDetail(view, id) {
  const [g, series] = await Promise.all([
    api(`/api/v1/anomaly-groups/${id}`),
    api(`/api/v1/anomaly-groups/${id}/series?before=72&after=24`),
  ]);
  const fb = g.feedback.length ? g.feedback[g.feedback.length - 1] : null;
  const status = h('span', { id: 'feedback-status', class: 'muted' },
    fb ? `Marked ${fb.relevant ? 'relevant' : 'not relevant'} by ${fb.author}` : 'No feedback yet');
  const send = async (relevant) => {
    try {
      await api(`/api/v1/anomaly-groups/${id}/feedback`, {
        method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ relevant }),
      });
      route();
    } catch (err) {
      status.textContent = err.status === 403 ? 'Only admin tokens can give feedback.' : err.message;
      status.className = 'error';
    }
  };
  const charts = h('div', {});
  const ratio = ratioOf(g);
  const fmtVal = ratio && g.anomalies.every((a) => a.value >= 0 && a.value <= 1) ? fmtPct : fmtNum;
  const rc = g.root_causes.length
    ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Root-cause set'), h('th', {}, 'Share of deviation'),
      ratio ? h('th', {}, 'Numerator, denominator') : '')),
      h('tbody', {}, g.root_causes.map((c) => h('tr', {},
        h('td', {}, rootCauseText([c])), h('td', {}, `${(c.share || 0).toFixed(1)}%`),
        c.ratio ? h('td', { class: 'ratio-sides' }, ratioSides(c.ratio)) : ''))))
    : h('p', { class: 'muted' }, 'No root-cause set: the deviation is spread over many slices.');
  const related = g.related.length
    ? h('ul', {}, g.related.map((r) => h('li', {}, `${r.measure || ''} ${r.relation || ''}`, r.group_id
      ? h('a', { href: '#/anomaly/' + r.group_id }, ` group ${r.group_id}`) : '')))
    : h('p', { class: 'muted' }, 'No related measures.');
  view.replaceChildren(
    h('a', { class: 'back', href: '#/anomalies' }, '← All anomalies'),
    h('div', { class: 'card' },
      h('div', { class: 'headline' },
        h('span', { class: 'big', style: `color:${sevColor(g.severity)}` }, Math.round(g.severity)),
        h('div', {}, h('h1', { style: 'margin:0' }, `${g.measure} — ${g.detector}`),
          h('div', { class: 'muted' }, `${fmtTime(g.interval_start)} → ${fmtTime(g.interval_end)} · ${g.anomaly_count} anomalous series`)),
        h('div', { class: 'spacer' }),
        h('div', { class: 'feedback' },
          h('button', { id: 'fb-relevant', class: 'secondary good' + (fb && fb.relevant ? ' selected' : ''), onclick: () => send(true) }, 'Relevant'),
          h('button', { id: 'fb-not-relevant', class: 'secondary bad' + (fb && !fb.relevant ? ' selected' : ''), onclick: () => send(false) }, 'Not relevant'))),
      h('div', { style: 'margin-top:8px' }, status)),
    h('div', { class: 'card' }, h('h2', {}, 'Actual vs expected'),
      h('p', { class: 'muted' }, 'Shaded: the expected band. Red: anomalous intervals; outlined: this group. Amber: calendar events. Gaps: intervals without data (not scored).'), charts),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, h('h2', {}, 'Contributions'), contributionBars(g.contributions)),
      h('div', {},
        h('div', { class: 'card' }, h('h2', {}, 'Root causes'), rc),
        h('div', { class: 'card' }, h('h2', {}, 'Related measures'), related))),
    h('div', { class: 'card' }, h('h2', {}, 'Anomalies in this group'),
      h('table', {}, h('thead', {}, h('tr', {}, ['Series', 'Actual', 'Expected', 'Band', 'Severity', 'What'].map((t) => h('th', {}, t)))),
        h('tbody', {}, g.anomalies.map((a) => h('tr', {},
          h('td', {}, a.series), h('td', {}, fmtVal(a.value)), h('td', {}, fmtVal(a.expected)),
          h('td', { class: 'muted' }, `${fmtVal(a.lower)} – ${fmtVal(a.upper)}`), h('td', {}, severity(a.severity)),
          h('td', {}, `${a.direction} ${a.explanation}`)))))));
  for (const s of series.series) {
    const box = h('div', { class: 'chart', 'data-series': s.series_id });
    charts.append(h('h3', {}, s.rollup ? `${s.label} (roll-up)` : s.label), box);
    chart(box, s, [s.timestamps, s.actual, s.expected, s.upper, s.lower], series.group_start, series.group_end,
      series.interval_seconds);
  }
}

// ---------------------------------------------------------------- detectors

// "no data" and warm-up notes of a detector (the API's health object).
function healthNotes(health) {
  if (!health) return [];
  const notes = [];
  if (health.data === 'no data') {
    notes.push(h('div', { class: 'error no-data' },
      `no data: no rows for ${health.no_data_intervals} intervals since ${fmtTime(health.no_data_since)}`));
  }
  const w = health.warmup;
  if (w && !w.ready) {
    notes.push(h('div', { class: 'muted warming-up' },
      `warming up: ${w.seen} of ${w.needed} intervals (${w.series_warming} of ${w.series} series); only rules fire until then`));
  }
  return notes;
}

async function renderDetectors(view) {
  const detectors = (await api('/api/v1/detectors')).detectors;
  const quality = await Promise.all(detectors.map((d) =>
    api(`/api/v1/detectors/${encodeURIComponent(d.name)}/data-quality?limit=24`).catch(() => null)));
  view.replaceChildren(h('div', { class: 'card' }, h('h2', {}, 'Detectors'),
    detectors.length === 0 ? h('div', { class: 'empty' }, 'No detectors yet.') :
      h('table', { id: 'detector-table' },
        h('thead', {}, h('tr', {}, ['Detector', 'Status', 'Schedule', 'Watermark', 'Measures × dimensions',
          'Data quality (last 24 intervals)'].map((t) => h('th', {}, t)))),
        h('tbody', {}, detectors.map((d, i) => {
          const q = quality[i];
          const t = q ? q.totals : null;
          return h('tr', {},
            h('td', {}, h('strong', {}, d.name), h('div', { class: 'muted' }, d.description || '')),
            h('td', {}, h('span', { class: 'pill ' + (d.active ? 'on' : 'off') }, d.active ? 'active' : 'inactive'),
              healthNotes(d.health)),
            h('td', {}, `${d.frequency || '?'} + ${d.offset_seconds || 0}s`, h('div', { class: 'muted' }, d.timezone || '')),
            h('td', {}, d.watermark ? fmtTime(d.watermark) : 'not run yet'),
            h('td', {}, (d.measures || []).map((m) => h('span', { class: 'pill' },
              m.ratio ? `${m.name} = ${m.ratio.numerator}/${m.ratio.denominator}` : `${m.aggregation}(${m.name})`)),
              h('div', { class: 'muted' }, (d.dimensions || []).join(', '))),
            h('td', {}, t ? [`${t.rows_read.toLocaleString('en-US')} rows read, ${t.rows_rejected} rejected`,
              h('div', { class: 'muted' }, `${t.intervals} intervals, ${t.series_missing} missing series points`)] : '–'));
        })))));
}

// ---------------------------------------------------------------- routing

async function route() {
  if (!state.token) { showLogin(''); return; }
  document.getElementById('login').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  const view = document.getElementById('view');
  const hash = location.hash || '#/anomalies';
  const page = hash.startsWith('#/detectors') ? 'detectors' : 'anomalies';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page);
  try {
    const detail = hash.match(/^#\/anomaly\/(\d+)$/);
    if (detail) await renderDetail(view, detail[1]);
    else if (page === 'detectors') await renderDetectors(view);
    else await renderList(view);
    document.body.dataset.ready = hash;
  } catch (err) {
    if (state.token) view.replaceChildren(h('div', { class: 'card error' }, err.message));
  }
}

window.addEventListener('hashchange', route);
route();
