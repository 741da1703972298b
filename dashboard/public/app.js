// The dashboard page: lists the caller's sessions, follows every unfinished one live through
// /api/sessions/ID/events (server-sent events relayed from WatchSession by server.mjs), and
// shows one session's stages, partial results and final result.
const TERMINAL = new Set(['SESSION_STATUS_COMPLETED', 'SESSION_STATUS_FAILED', 'SESSION_STATUS_CANCELLED']);
const TYPE_NAMES = {
  SESSION_TYPE_HEALTH_ANALYSIS: 'Health', SESSION_TYPE_VALUATION: 'Valuation', SESSION_TYPE_FORECAST: 'Forecast',
};
const sessions = new Map();  // id -> {session, events: [], source}
let selected = null;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
};
const statusName = (s) => s.replace('SESSION_STATUS_', '').toLowerCase();
const money = (v) => `$${Math.round(v).toLocaleString('en-US')}`;
const when = (ts) => (ts && ts.seconds ? new Date(Number(ts.seconds) * 1000).toLocaleTimeString() : '');

async function api(path, options) {
  const res = await fetch(path, options);
  const body = await res.json();
  if (!res.ok) throw new Error(`${body.code}: ${body.message}`);
  return body;
}

// Follows a session until its terminal event: each event updates the row and, if it is the
// one shown, the detail.
function follow(id) {
  const entry = sessions.get(id);
  if (entry.source || TERMINAL.has(entry.session.status) && entry.events.length) return;
  entry.events = [];
  const source = new EventSource(`/api/sessions/${id}/events`);
  entry.source = source;
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    entry.events.push(event);
    entry.session.status = event.status;
    entry.session.progressPercentage = event.progressPercentage;
    entry.session.stage = event.stage;
    render();
  };
  source.addEventListener('end', () => { source.close(); entry.source = null; render(); });
  source.onerror = () => { source.close(); entry.source = null; };
}

async function load() {
  const { sessions: list } = await api('/api/sessions');
  for (const s of list) {
    if (!sessions.has(s.sessionId)) sessions.set(s.sessionId, { session: s, events: [], source: null });
  }
  for (const [id, entry] of sessions) if (!TERMINAL.has(entry.session.status)) follow(id);
  render();
}

function render() {
  const rows = [...sessions.values()].sort((a, b) =>
    Number(b.session.createTime?.seconds || 0) - Number(a.session.createTime?.seconds || 0));
  $('sessions').replaceChildren(...rows.map(({ session: s }) => {
    const cancel = TERMINAL.has(s.status) ? '' : el('button', {
      class: 'cancel', onclick: (e) => { e.stopPropagation(); cancelSession(s.sessionId); },
    }, 'Cancel');
    return el('tr', {
      'data-id': s.sessionId, class: s.sessionId === selected ? 'selected' : '',
      onclick: () => select(s.sessionId),
    }, el('td', {}, when(s.createTime)), el('td', {}, s.businessId),
    el('td', {}, TYPE_NAMES[s.sessionType] || s.sessionType),
    el('td', { class: `status status-${s.status}` }, statusName(s.status)),
    el('td', {}, el('span', { class: 'bar' }, el('div', { style: `width:${s.progressPercentage}%` })),
      ` ${s.progressPercentage}%`), el('td', {}, cancel));
  }));
  renderDetail();
}

function select(id) {
  selected = id;
  const entry = sessions.get(id);
  if (!entry.source && !entry.events.length) follow(id);  // a finished one: replay its events
  render();
}

function renderDetail() {
  const entry = selected && sessions.get(selected);
  $('detail').hidden = !entry;
  if (!entry) return;
  const s = entry.session;
  $('detail-title').textContent = `${TYPE_NAMES[s.sessionType]} of ${s.businessId}`;
  $('detail-status').textContent = `${statusName(s.status)} · ${s.progressPercentage}% · stage ${s.stage}`;
  $('detail-status').className = `status status-${s.status}`;
  const stages = [];
  for (const e of entry.events) if (!stages.includes(e.stage)) stages.push(e.stage);
  $('stages').replaceChildren(...stages.map((stage, i) =>
    el('li', { class: i < stages.length - 1 || TERMINAL.has(s.status) ? 'done' : '' }, stage)));
  const partials = entry.events.filter((e) => e.payload === 'partialResult').map((e) => e.partialResult);
  $('partials').replaceChildren(...(partials.length
    ? [el('h3', {}, `Partial results (${partials.length})`), el('p', {}, partials.map((p) => p.key).join(', '))] : []));
  const final = entry.events.find((e) => e.payload === 'result');
  const failed = entry.events.find((e) => e.payload === 'error');
  $('result').replaceChildren(...(final ? renderResult(final.result)
    : failed ? [el('p', { class: 'status status-SESSION_STATUS_FAILED' }, failed.error.message)] : []));
}

function renderResult(r) {
  const out = [el('h3', {}, `Result · confidence ${r.confidenceScore}`)];
  if (r.result === 'health') {
    const h = r.health;
    out.push(el('p', { class: 'overall' }, `Overall ${h.overallScore} (${h.band}), ${h.trajectory.replace('TRAJECTORY_', '').toLowerCase()}`));
    for (const p of h.pillars) {
      out.push(el('div', { class: 'pillar' }, p.name,
        el('span', { class: 'bar', style: 'width:100%' }, el('div', { style: `width:${p.score}%` })),
        String(Math.round(p.score))));
    }
  } else if (r.result === 'valuation') {
    const v = r.valuation;
    const lo = v.low * 0.8, hi = v.high * 1.2, pos = (x) => `${((x - lo) / (hi - lo)) * 100}%`;
    out.push(el('p', { class: 'overall' }, `${money(v.low)} – ${money(v.high)}, base ${money(v.base)}`));
    out.push(el('div', { class: 'range' },
      el('div', { class: 'span', style: `left:${pos(v.low)};right:calc(100% - ${pos(v.high)})` }),
      el('div', { class: 'base', style: `left:${pos(v.base)}` })));
    for (const m of v.methods) out.push(el('p', {}, `${m.method}: ${money(m.low)} – ${money(m.high)} (weight ${m.weight})`));
  } else if (r.result === 'forecast') {
    out.push(el('p', { class: 'overall' }, `${r.forecast.modelUsed}, ${r.forecast.horizonMonths} months`));
    out.push(forecastChart(r.forecast.points));
  }
  for (const w of r.warnings) out.push(el('p', { class: 'warning' }, `⚠ ${w}`));
  return out;
}

// The forecast with its 80 % and 95 % intervals, as SVG.
function forecastChart(points) {
  const W = 460, H = 200, P = 36;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'forecast-chart');
  // proto-loader keeps lower_95 as is (it camel-cases letters only).
  const lo = Math.min(...points.map((p) => p.lower_95)), hi = Math.max(...points.map((p) => p.upper_95));
  const x = (i) => P + (i * (W - 2 * P)) / Math.max(points.length - 1, 1);
  const y = (v) => H - P - ((v - lo) / (hi - lo || 1)) * (H - 2 * P);
  const area = (upper, lower, fill) => {
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i)},${y(p[upper])}`).join('') +
      points.map((p, i) => `L${x(points.length - 1 - i)},${y(points[points.length - 1 - i][lower])}`).join('') + 'Z';
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d); path.setAttribute('fill', fill);
    svg.append(path);
  };
  area('upper_95', 'lower_95', '#d6e6fa');
  area('upper_80', 'lower_80', '#a9cbf3');
  const line = document.createElementNS(ns, 'path');
  line.setAttribute('d', points.map((p, i) => `${i ? 'L' : 'M'}${x(i)},${y(p.value)}`).join(''));
  line.setAttribute('fill', 'none'); line.setAttribute('stroke', '#12325a'); line.setAttribute('stroke-width', '2');
  svg.append(line);
  for (const [i, p] of [[0, points[0]], [points.length - 1, points[points.length - 1]]]) {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', x(i)); t.setAttribute('y', H - 10); t.setAttribute('text-anchor', 'middle');
    t.textContent = p.month;
    svg.append(t);
  }
  return svg;
}

async function cancelSession(id) {
  try {
    const s = await api(`/api/sessions/${id}/cancel`, { method: 'POST' });
    sessions.get(id).session.status = s.status;
    render();
  } catch (err) {
    $('error').textContent = err.message;
  }
}

$('start').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('error').textContent = '';
  try {
    const s = await api('/api/sessions', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ businessId: $('business').value, sessionType: $('type').value }),
    });
    sessions.set(s.sessionId, { session: s, events: [], source: null });
    follow(s.sessionId);
    select(s.sessionId);
  } catch (err) {
    $('error').textContent = err.message;
  }
});

load().catch((err) => { $('error').textContent = err.message; });
