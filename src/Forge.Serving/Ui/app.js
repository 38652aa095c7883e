// Forge's web UI: plain JavaScript, no build step, no external resources. Every piece of data from the server reaches
// the page as a text node or an attribute value (never as HTML), so run names, tags and texts cannot inject markup.
'use strict';
(() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  let summary = null;
  let timers = [];
  let generation = 0;

  // ------------------------------------------------------------------ DOM helpers

  function put(el, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      el.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return el;
  }

  function attrs(el, a) {
    for (const [k, v] of Object.entries(a || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.setAttribute('class', v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    return el;
  }

  const h = (tag, a, ...kids) => put(attrs(document.createElement(tag), a), kids);
  const s = (tag, a, ...kids) => put(attrs(document.createElementNS(SVG, tag), a), kids);
  const main = () => document.getElementById('main');
  const link = (href, text) => h('a', { href }, text);
  const runLink = (id, name) => link('#/runs/' + encodeURIComponent(id), name || id);
  const modelLink = (name) => link('#/models/' + encodeURIComponent(name), name);
  const status = (text) => h('span', { class: 'status ' + String(text) }, text);

  function render(...kids) {
    const m = main();
    m.replaceChildren();
    put(m, kids);
  }

  function showError(message) {
    const box = document.getElementById('error');
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() {
    const box = document.getElementById('error');
    box.hidden = true;
    box.textContent = '';
  }

  window.addEventListener('error', (e) => showError('The page hit an error: ' + e.message));
  window.addEventListener('unhandledrejection', (e) => showError('The page hit an error: ' + (e.reason && e.reason.message ? e.reason.message : e.reason)));

  // ------------------------------------------------------------------ formatting

  function num(v, digits) {
    if (v === null || v === undefined || v === '') return '';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e9) return v.toLocaleString('en-US');
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
    return v.toLocaleString('en-US', { maximumSignificantDigits: digits || 4 });
  }

  function time(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }

  function duration(start, end) {
    if (!start || !end) return '';
    const sec = (new Date(end) - new Date(start)) / 1000;
    if (!(sec >= 0)) return '';
    if (sec < 60) return sec.toFixed(1) + ' s';
    if (sec < 3600) return (sec / 60).toFixed(1) + ' min';
    return (sec / 3600).toFixed(1) + ' h';
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KB';
    return (n / 1048576).toFixed(1) + ' MB';
  }

  // ------------------------------------------------------------------ server calls

  async function api(url, options) {
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      throw new Error(`The server did not answer ${url}: ${e.message}`);
    }
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!response.ok) {
      const detail = body && (body.detail || body.error);
      const e = new Error(`${body && body.title ? body.title : 'HTTP ' + response.status}${detail ? ': ' + detail : ''}`);
      e.status = response.status;
      e.body = body;
      throw e;
    }
    return body;
  }

  function every(ms, fn) {
    const mine = generation;
    const id = setInterval(() => { if (mine === generation) fn(); }, ms);
    timers.push(id);
  }

  // ------------------------------------------------------------------ charts (hand-written SVG)

  function ticks(lo, hi, n) {
    if (!isFinite(lo) || !isFinite(hi)) return [];
    if (lo === hi) { lo -= 1; hi += 1; }
    const step0 = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= step0) || step0;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  function frame(opts) {
    const width = opts.width || 460, height = opts.height || 240;
    const m = { l: 56, r: 12, t: 12, b: 34 };
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': opts.label || 'chart' });
    let xs = opts.xDomain, ys = opts.yDomain;
    if (ys[0] === ys[1]) ys = [ys[0] - 1, ys[1] + 1];
    if (xs[0] === xs[1]) xs = [xs[0] - 1, xs[1] + 1];
    const x = (v) => m.l + (v - xs[0]) / (xs[1] - xs[0]) * (width - m.l - m.r);
    const y = (v) => height - m.b - (v - ys[0]) / (ys[1] - ys[0]) * (height - m.t - m.b);
    for (const t of ticks(ys[0], ys[1], 4)) {
      svg.append(s('line', { class: 'gridline', x1: m.l, x2: width - m.r, y1: y(t), y2: y(t) }));
      svg.append(s('text', { x: m.l - 4, y: y(t) + 4, 'text-anchor': 'end' }, num(t)));
    }
    for (const t of ticks(xs[0], xs[1], 5)) svg.append(s('text', { x: x(t), y: height - m.b + 14, 'text-anchor': 'middle' }, num(t)));
    svg.append(s('line', { class: 'axis', x1: m.l, x2: width - m.r, y1: height - m.b, y2: height - m.b }));
    svg.append(s('line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: height - m.b }));
    if (opts.xLabel) svg.append(s('text', { x: (m.l + width - m.r) / 2, y: height - 4, 'text-anchor': 'middle' }, opts.xLabel));
    if (opts.yLabel) svg.append(s('text', { x: 12, y: (m.t + height - m.b) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${(m.t + height - m.b) / 2})` }, opts.yLabel));
    return { svg, x, y, width, height, m };
  }

  function extent(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (v !== null && isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    return lo === Infinity ? [0, 1] : [lo, hi];
  }

  function path(points, x, y) {
    let d = '';
    let pen = false;
    for (const [px, py] of points) {
      if (py === null || !isFinite(py)) { pen = false; continue; }
      d += (pen ? 'L' : 'M') + x(px).toFixed(1) + ',' + y(py).toFixed(1);
      pen = true;
    }
    return d;
  }

  /** Lines: series = [{name, points: [[x, y], ...]}]. */
  function lineChart(series, opts) {
    const all = series.flatMap((se) => se.points);
    const f = frame({ ...opts, xDomain: extent(all.map((p) => p[0])), yDomain: extent(all.map((p) => p[1])) });
    series.forEach((se, i) => {
      const color = COLORS[i % COLORS.length];
      f.svg.append(s('path', { d: path(se.points, f.x, f.y), fill: 'none', stroke: color, 'stroke-width': 1.8 }));
      if (se.points.length === 1) f.svg.append(s('circle', { cx: f.x(se.points[0][0]), cy: f.y(se.points[0][1]), r: 3, fill: color }));
    });
    const box = h('figure', { class: 'chart' }, f.svg);
    if (series.length > 1) box.append(h('div', { class: 'legend' }, series.map((se, i) => attrs(h('span', {}, se.name), { style: null }))));
    box.querySelectorAll('.legend span').forEach((el, i) => el.style.setProperty('--c', COLORS[i % COLORS.length]));
    return box;
  }

  function barChart(items, opts) {
    const width = opts.width || 460, row = 22, height = 20 + items.length * row;
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': opts.label });
    const max = Math.max(1e-12, ...items.map((i) => Math.abs(i.value)));
    const left = 150;
    items.forEach((it, k) => {
      const w = Math.abs(it.value) / max * (width - left - 60);
      svg.append(s('text', { x: left - 6, y: 14 + k * row + 10, 'text-anchor': 'end' }, it.label));
      svg.append(s('rect', { x: left, y: 10 + k * row, width: Math.max(1, w), height: row - 6, fill: it.color || COLORS[0] }));
      svg.append(s('text', { x: left + w + 4, y: 14 + k * row + 10 }, num(it.value, 3)));
    });
    return svg;
  }

  // ------------------------------------------------------------------ router

  const routes = [
    [/^\/?$/, pageHome],
    [/^\/runs$/, pageRuns],
    [/^\/runs\/([^/]+)$/, pageRun],
    [/^\/compare$/, pageCompare],
    [/^\/models$/, pageModels],
    [/^\/models\/([^/]+)$/, pageModel],
    [/^\/studies$/, pageStudies],
    [/^\/studies\/([^/]+)$/, pageStudy],
    [/^\/explain$/, pageExplain],
    [/^\/drift$/, pageDrift],
  ];

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const q = raw.indexOf('?');
    const p = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    return { path: p, query };
  }

  function setQuery(path, values) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(values)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
    const text = q.toString();
    location.hash = '#' + path + (text ? '?' + text : '');
  }

  async function route() {
    generation++;
    timers.forEach(clearInterval);
    timers = [];
    clearError();
    delete main().dataset.page;
    const { path: p, query } = parseHash();
    const section = (p.split('/')[1] || 'home');
    document.querySelectorAll('header nav a').forEach((a) => {
      if (a.dataset.nav === section || (section === 'compare' && a.dataset.nav === 'runs')) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    const mine = generation;
    for (const [re, page] of routes) {
      const m = re.exec(p);
      if (!m) continue;
      try {
        await page(query, ...m.slice(1).map(decodeURIComponent));
      } catch (e) {
        if (mine !== generation) return;
        render(h('h1', {}, 'Something went wrong'), h('p', { class: 'notice bad' }, e.message));
        showError(e.message);
      }
      if (mine === generation) main().dataset.page = section;
      return;
    }
    render(h('h1', {}, 'Not found'), h('p', {}, 'There is no page at ', h('code', {}, '#' + p), '. ', link('#/', 'Go home')));
  }

  // ------------------------------------------------------------------ Home

  async function pageHome() {
    summary = await api('/api/ui/summary');
    setMode();
    const recent = summary.recentRuns || [];
    const registered = summary.registered || [];
    const served = summary.served || [];
    const studies = summary.studies || [];
    render(
      h('h1', {}, 'Forge'),
      summary.storeError ? h('p', { class: 'notice bad' }, 'The tracking store cannot be read: ' + summary.storeError) : null,
      h('p', { class: 'muted' }, summary.store ? `Tracking store: ${summary.store} · ${num(summary.runCount)} runs` : ''),
      h('div', { class: 'grid' },
        h('section', { class: 'card', 'aria-labelledby': 'h-recent' },
          h('h2', { id: 'h-recent' }, 'Recent runs'),
          recent.length === 0 ? h('p', { class: 'muted' }, 'No runs yet. Train with forge train … and they appear here.') :
            h('table', { id: 'recent-runs' }, h('thead', {}, h('tr', {}, h('th', {}, 'Run'), h('th', {}, 'Experiment'), h('th', {}, 'Status'), h('th', {}, 'Started'))),
              h('tbody', {}, recent.map((r) => h('tr', {}, h('td', {}, runLink(r.id, r.name)), h('td', {}, r.experiment), h('td', {}, status(r.status)), h('td', {}, time(r.start)))))),
          h('p', {}, link('#/runs', 'All runs →'))),
        h('section', { class: 'card', 'aria-labelledby': 'h-registered' },
          h('h2', { id: 'h-registered' }, 'Registered models'),
          registered.length === 0 ? h('p', { class: 'muted' }, 'No registered models.') :
            h('table', { id: 'registered-models' }, h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', {}, 'Latest'), h('th', {}, 'Aliases'))),
              h('tbody', {}, registered.map((m) => h('tr', {}, h('td', {}, modelLink(m.name)), h('td', { class: 'num' }, m.latestVersion ?? ''),
                h('td', {}, Object.entries(m.aliases).map(([a, v]) => h('span', { class: 'pill' }, `${a} → v${v}`))))))),
          h('p', {}, link('#/models', 'Registry →'))),
        h('section', { class: 'card', 'aria-labelledby': 'h-served' },
          h('h2', { id: 'h-served' }, 'Served models'),
          summary.mode !== 'serve' ? h('p', { class: 'muted' }, 'This is forge ui, which shows the tracking store only. Start forge serve to serve models; its UI adds explanations, drift and the chat page.') :
            servedTable(served, true, true)),
        h('section', { class: 'card', 'aria-labelledby': 'h-studies' },
          h('h2', { id: 'h-studies' }, 'Studies'),
          studies.length === 0 ? h('p', { class: 'muted' }, 'No tuning studies in this store.') :
            h('ul', {}, studies.map((st) => h('li', {}, link('#/studies/' + encodeURIComponent(st.name), st.name), ` · ${num(st.trials)} trials · best ${num(st.best)}`))),
          h('p', {}, link('#/studies', 'All studies →')))));
  }

  function setMode() {
    const el = document.getElementById('mode');
    if (summary) el.textContent = summary.mode === 'serve' ? 'forge serve' : 'forge ui (no models served)';
  }

  async function ensureSummary() {
    if (!summary) { summary = await api('/api/ui/summary'); setMode(); }
    return summary;
  }

  function servedTable(served, links, compact) {
    if (served.length === 0) return h('p', { class: 'muted' }, 'No models are served.');
    if (compact) {
      return h('table', { id: 'served-models' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Req/s'), h('th', { class: 'num' }, 'Latency'), h('th', {}, ''))),
        h('tbody', {}, served.map((m) => h('tr', { 'data-model': m.name },
          h('td', {}, `${m.name} v${m.version}`, m.role !== 'primary' ? h('span', { class: 'pill' }, m.role) : null), h('td', {}, status(m.state)),
          h('td', { class: 'num' }, m.ratePerSecond === null ? '' : m.ratePerSecond.toFixed(2)),
          h('td', { class: 'num' }, m.meanLatencyMs === null ? '' : m.meanLatencyMs.toFixed(1) + ' ms'),
          h('td', {}, link('#/explain?model=' + encodeURIComponent(m.name), 'Explain'), ' · ', link('#/drift?model=' + encodeURIComponent(m.name), 'Drift'))))));
    }
    return h('table', { id: 'served-models' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', {}, 'Version'), h('th', {}, 'Role'), h('th', {}, 'State'),
        h('th', { class: 'num' }, 'Requests/s'), h('th', { class: 'num' }, 'Mean latency'), h('th', { class: 'num' }, 'Requests'), h('th', {}, ''))),
      h('tbody', {}, served.map((m) => h('tr', { 'data-model': m.name },
        h('td', {}, m.name), h('td', {}, m.version), h('td', {}, m.role), h('td', {}, status(m.state), m.error ? h('div', { class: 'muted' }, m.error) : null),
        h('td', { class: 'num' }, m.ratePerSecond === null ? '' : m.ratePerSecond.toFixed(2)),
        h('td', { class: 'num' }, m.meanLatencyMs === null ? '' : m.meanLatencyMs.toFixed(1) + ' ms'),
        h('td', { class: 'num' }, num(m.requests)),
        h('td', {}, links ? [link('#/explain?model=' + encodeURIComponent(m.name), 'Explain'), ' · ', link('#/drift?model=' + encodeURIComponent(m.name), 'Drift')] : null)))));
  }

  // ------------------------------------------------------------------ Runs

  let runKeys = null;

  async function pageRuns(query) {
    const state = {
      filter: query.get('filter') || '', sort: query.get('sort') || '', experiment: query.get('experiment') || '',
      page: Math.max(0, parseInt(query.get('page') || '0', 10) || 0), size: parseInt(query.get('size') || '50', 10) || 50,
    };
    const url = `/api/ui/runs?filter=${encodeURIComponent(state.filter)}&sort=${encodeURIComponent(state.sort)}&experiment=${encodeURIComponent(state.experiment)}&page=${state.page}&size=${state.size}`;
    const [data, keys] = await Promise.all([api(url).catch((e) => ({ error: e })), runKeys ? Promise.resolve(runKeys) : api('/api/ui/runs/keys')]);
    runKeys = keys;
    const go = (changes) => setQuery('/runs', { ...state, ...changes, size: (changes.size || state.size) === 50 ? '' : (changes.size || state.size) });
    const filterInput = h('input', { type: 'search', id: 'run-filter', class: 'wide', value: state.filter, placeholder: "metrics.accuracy > 0.9 and params.lr = '0.01'", 'aria-label': 'Filter' });
    const experimentSelect = h('select', { id: 'run-experiment', 'aria-label': 'Experiment' }, h('option', { value: '' }, 'all experiments'),
      keys.experiments.map((e) => h('option', { value: e, selected: e === state.experiment }, e)));
    const sortKeys = ['start_time', 'end_time', 'name', 'status', ...keys.metrics.map((k) => 'metrics.' + k), ...keys.params.map((k) => 'params.' + k)];
    const [sortKey, sortDir] = (state.sort || 'start_time DESC').split(/\s+/);
    const sortSelect = h('select', { id: 'run-sort', 'aria-label': 'Sort by' }, sortKeys.map((k) => h('option', { value: k, selected: k === sortKey }, k)));
    const dirSelect = h('select', { id: 'run-sort-dir', 'aria-label': 'Sort direction' },
      h('option', { value: 'DESC', selected: (sortDir || 'ASC').toUpperCase() === 'DESC' }, 'descending'),
      h('option', { value: 'ASC', selected: (sortDir || 'ASC').toUpperCase() !== 'DESC' }, 'ascending'));
    const apply = () => go({ filter: filterInput.value.trim(), experiment: experimentSelect.value, sort: `${sortSelect.value} ${dirSelect.value}`, page: 0 });
    const form = h('form', { class: 'controls', role: 'search', onsubmit: (e) => { e.preventDefault(); apply(); } },
      h('label', {}, 'Filter', filterInput), h('label', {}, 'Experiment', experimentSelect), h('label', {}, 'Sort by', sortSelect),
      h('label', {}, 'Order', dirSelect), h('button', { type: 'submit', id: 'run-apply' }, 'Apply'));
    if (data.error) {
      render(h('h1', {}, 'Runs'), form, h('p', { class: 'notice bad', id: 'runs-error' }, data.error.message));
      showError(data.error.message);
      return;
    }
    const metricCols = pickColumns(keys.metrics, sortKey, 'metrics.', 5);
    const paramCols = pickColumns(keys.params, sortKey, 'params.', 4);
    const sortBy = (key) => () => {
      const desc = sortKey === key ? (sortDir || '').toUpperCase() !== 'DESC' : key.startsWith('metrics.') || key === 'start_time';
      go({ sort: `${key} ${desc ? 'DESC' : 'ASC'}`, page: 0 });
    };
    const header = (label, key, cls) => h('th', { class: cls, scope: 'col', 'aria-sort': sortKey === key ? ((sortDir || '').toUpperCase() === 'DESC' ? 'descending' : 'ascending') : null },
      h('button', { class: 'sort', type: 'button', onclick: sortBy(key), title: 'Sort by ' + key }, label, sortKey === key ? ((sortDir || '').toUpperCase() === 'DESC' ? ' ▼' : ' ▲') : ''));
    const pages = Math.max(1, Math.ceil(data.total / state.size));
    const compareButton = h('button', { type: 'button', id: 'compare', disabled: true, onclick: () => {
      const ids = [...document.querySelectorAll('input.pick:checked')].map((c) => c.value);
      location.hash = '#/compare?ids=' + encodeURIComponent(ids.join(','));
    } }, 'Compare selected');
    const onPick = () => { compareButton.disabled = document.querySelectorAll('input.pick:checked').length < 1; };
    const table = h('table', { id: 'runs-table' },
      h('thead', {}, h('tr', {}, h('th', {}, h('span', { class: 'muted' }, '✓')), header('Run', 'name'), h('th', {}, 'Experiment'), header('Status', 'status'),
        header('Started', 'start_time'), h('th', {}, 'Duration'),
        metricCols.map((k) => header(k, 'metrics.' + k, 'num')), paramCols.map((k) => header(k, 'params.' + k)))),
      h('tbody', {}, data.runs.map((r) => h('tr', { 'data-run': r.id },
        h('td', {}, h('input', { type: 'checkbox', class: 'pick', value: r.id, 'aria-label': 'Select ' + r.name, onchange: onPick })),
        h('td', {}, runLink(r.id, r.name)), h('td', {}, r.experiment), h('td', {}, status(r.status)), h('td', {}, time(r.start)), h('td', {}, duration(r.start, r.end)),
        metricCols.map((k) => h('td', { class: 'num' }, num(r.metrics[k]))), paramCols.map((k) => h('td', {}, r.params[k] ?? ''))))));
    const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('button', { type: 'button', class: 'secondary', id: 'page-prev', disabled: state.page === 0, onclick: () => go({ page: state.page - 1 }) }, '← Previous'),
      h('span', { id: 'page-info' }, `Page ${num(state.page + 1)} of ${num(pages)} · ${num(data.total)} runs`),
      h('button', { type: 'button', class: 'secondary', id: 'page-next', disabled: state.page + 1 >= pages, onclick: () => go({ page: state.page + 1 }) }, 'Next →'),
      compareButton);
    render(h('h1', {}, 'Runs'), form, pager, data.runs.length === 0 ? h('p', { class: 'muted', id: 'no-runs' }, 'No runs match.') : table);
  }

  function pickColumns(all, sortKey, prefix, count) {
    const chosen = all.slice(0, count);
    if (sortKey.startsWith(prefix)) {
      const k = sortKey.slice(prefix.length);
      if (!chosen.includes(k)) chosen.unshift(k);
    }
    return chosen.slice(0, count + 1);
  }

  async function pageRun(query, id) {
    const run = await api('/api/ui/runs/' + encodeURIComponent(id));
    const histories = Object.keys(run.metrics).length ? await api(`/api/ui/runs/${encodeURIComponent(id)}/metrics`) : { metrics: {} };
    const kv = (obj, idName) => Object.keys(obj).length === 0 ? h('p', { class: 'muted' }, 'None.') :
      h('table', { id: idName }, h('tbody', {}, Object.entries(obj).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, typeof v === 'object' && v !== null ? num(v.value) : v)))));
    render(
      h('p', {}, link('#/runs', '← Runs')),
      h('h1', { id: 'run-name' }, run.name),
      h('p', {}, status(run.status), ' ', h('span', { class: 'muted' }, `${run.experiment} · ${run.id} · started ${time(run.start)}${run.end ? ' · took ' + duration(run.start, run.end) : ''}`),
        run.deleted ? h('span', { class: 'notice bad' }, ' deleted') : null),
      h('div', { class: 'grid' },
        h('section', { class: 'card' }, h('h2', {}, 'Parameters'), kv(run.params, 'run-params')),
        h('section', { class: 'card' }, h('h2', {}, 'Latest metrics'), kv(run.metrics, 'run-metrics')),
        h('section', { class: 'card' }, h('h2', {}, 'Tags'), kv(run.tags, 'run-tags')),
        h('section', { class: 'card' }, h('h2', {}, 'Lineage'),
          h('ul', { id: 'run-lineage' },
            run.parent ? h('li', {}, 'Parent run: ', runLink(run.parent.id, run.parent.name || run.parent.id)) : h('li', { class: 'muted' }, 'No parent run'),
            run.children.length ? h('li', {}, `Child runs (${run.children.length}): `, run.children.map((c, i) => [i ? ', ' : '', runLink(c.id, c.name)])) : null,
            run.models.length ? h('li', {}, 'Registered as: ', run.models.map((m, i) => [i ? ', ' : '', link('#/models/' + encodeURIComponent(m.name), `${m.name} v${m.version}`)])) :
              h('li', { class: 'muted' }, 'Not registered as a model')))),
      h('h2', {}, 'Metric charts'),
      Object.keys(histories.metrics).length === 0 ? h('p', { class: 'muted' }, 'No metrics logged.') :
        h('div', { class: 'charts', id: 'run-charts' }, Object.entries(histories.metrics).map(([k, pts]) =>
          h('section', { class: 'card' }, h('h3', {}, k), lineChart([{ name: k, points: pts }], { label: `${k} by step`, xLabel: 'step', yLabel: k })))),
      h('h2', {}, 'Artifacts'),
      run.artifacts.length === 0 ? h('p', { class: 'muted' }, 'No artifacts.') :
        h('table', { id: 'run-artifacts' }, h('thead', {}, h('tr', {}, h('th', {}, 'Path'), h('th', { class: 'num' }, 'Size'), h('th', {}, 'SHA-256'))),
          h('tbody', {}, run.artifacts.map((a) => h('tr', {},
            h('td', {}, h('a', { href: `/api/ui/runs/${encodeURIComponent(run.id)}/artifact?path=${encodeURIComponent(a.path)}`, download: a.path.split('/').pop() }, a.path)),
            h('td', { class: 'num' }, bytes(a.size)), h('td', { class: 'muted' }, a.sha256.slice(0, 16) + '…'))))));
  }

  async function pageCompare(query) {
    const ids = (query.get('ids') || '').split(',').filter(Boolean).slice(0, 20);
    if (ids.length === 0) {
      render(h('h1', {}, 'Compare runs'), h('p', {}, 'Pick runs on the ', link('#/runs', 'Runs'), ' page, then press "Compare selected".'));
      return;
    }
    const runs = await Promise.all(ids.map((id) => api(`/api/ui/runs/${encodeURIComponent(id)}/metrics`)));
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
    const chosen = query.get('metric') && keys.includes(query.get('metric')) ? query.get('metric') : keys[0];
    const select = h('select', { id: 'compare-metric', 'aria-label': 'Metric', onchange: () => setQuery('/compare', { ids: ids.join(','), metric: select.value }) },
      keys.map((k) => h('option', { value: k, selected: k === chosen }, k)));
    render(h('p', {}, link('#/runs', '← Runs')), h('h1', {}, `Compare ${runs.length} runs`),
      h('div', { class: 'controls' }, h('label', {}, 'Metric', select)),
      chosen ? h('div', { id: 'compare-chart' }, lineChart(runs.map((r) => ({ name: r.name, points: r.metrics[chosen] || [] })), { width: 820, height: 340, label: `${chosen} of each run`, xLabel: 'step', yLabel: chosen })) :
        h('p', { class: 'muted' }, 'These runs logged no metrics.'),
      h('table', { id: 'compare-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Run'), keys.map((k) => h('th', { class: 'num' }, k + ' (last)')))),
        h('tbody', {}, runs.map((r, i) => h('tr', {}, h('td', {}, runLink(r.id, r.name)),
          keys.map((k) => { const pts = r.metrics[k] || []; return h('td', { class: 'num' }, pts.length ? num(pts[pts.length - 1][1]) : ''); }))))));
  }

  // ------------------------------------------------------------------ Models

  async function pageModels() {
    await ensureSummary();
    const [models, served] = await Promise.all([api('/api/ui/models'), api('/api/ui/served')]);
    const live = h('div', { id: 'live-status' }, served.serving ? servedTable(served.models, true) : h('p', { class: 'muted' }, 'No models are served here (forge ui). Under forge serve this shows each model\u2019s load state, request rate and latency.'));
    render(h('h1', {}, 'Models'),
      h('h2', {}, 'Registry'),
      models.models.length === 0 ? h('p', { class: 'muted' }, 'No registered models.') :
        h('table', { id: 'models-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', {}, 'Description'), h('th', { class: 'num' }, 'Latest'), h('th', {}, 'Aliases'), h('th', {}, 'Tags'), h('th', {}, 'Updated'))),
          h('tbody', {}, models.models.map((m) => h('tr', {}, h('td', {}, modelLink(m.name)), h('td', {}, m.description || ''), h('td', { class: 'num' }, m.latestVersion ?? ''),
            h('td', {}, Object.entries(m.aliases).map(([a, v]) => h('span', { class: 'pill' }, `${a} → v${v}`))),
            h('td', {}, Object.entries(m.tags).map(([k, v]) => h('span', { class: 'pill' }, `${k}=${v}`))), h('td', {}, time(m.updated)))))),
      h('h2', {}, 'Live status of served models'), live);
    if (served.serving) every(3000, async () => {
      try {
        const fresh = await api('/api/ui/served');
        live.replaceChildren(servedTable(fresh.models, true));
      } catch (e) { showError(e.message); }
    });
  }

  async function pageModel(query, name) {
    await ensureSummary();
    const model = await api('/api/ui/models/' + encodeURIComponent(name));
    const aliasInput = h('input', { type: 'text', id: 'alias-name', value: query.get('alias') || 'champion', 'aria-label': 'Alias' });
    const versionSelect = h('select', { id: 'alias-version', 'aria-label': 'Version' }, model.versions.map((v) => h('option', { value: v.version }, 'v' + v.version)));
    const keyInput = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', placeholder: 'API key', 'aria-label': 'API key' });
    const outcome = h('div', { id: 'alias-result', 'aria-live': 'polite' });
    const move = async (e) => {
      e.preventDefault();
      outcome.replaceChildren();
      const url = summary.aliasUrl.replace('{name}', encodeURIComponent(name)).replace('{alias}', encodeURIComponent(aliasInput.value.trim()));
      const headers = { 'Content-Type': 'application/json' };
      if (keyInput.value) headers['X-API-Key'] = keyInput.value;
      try {
        await api(url, { method: 'PUT', headers, body: JSON.stringify({ version: Number(versionSelect.value) }) });
        outcome.append(h('p', { class: 'notice good' }, `Alias ${aliasInput.value.trim()} now points at version ${versionSelect.value}.`));
        setTimeout(() => route(), 600);
      } catch (err) {
        const why = err.status === 401 ? (keyInput.value ? 'Refused (401): the API key is wrong. Moving an alias changes which version is served, so it needs the server\u2019s API key (FORGE_API_KEY).'
          : 'Refused (401): moving an alias needs the API key. It changes which version is served, so the server only accepts it with its API key (FORGE_API_KEY); enter the key and try again.')
          : err.status === 403 ? 'Refused (403): this server has no API key configured, so aliases cannot be moved from here. Start it with FORGE_API_KEY set.'
            : 'The alias was not moved: ' + err.message;
        outcome.append(h('p', { class: 'notice bad', id: 'alias-error', 'data-status': err.status || '' }, why, err.body && err.body.detail ? h('span', { class: 'muted' }, ` (server: ${err.body.detail})`) : null));
      }
    };
    render(h('p', {}, link('#/models', '← Models')),
      h('h1', { id: 'model-name' }, model.name),
      model.description ? h('p', {}, model.description) : null,
      h('p', {}, 'Aliases: ', Object.keys(model.aliases).length ? Object.entries(model.aliases).map(([a, v]) => h('span', { class: 'pill' }, `${a} → v${v}`)) : h('span', { class: 'muted' }, 'none'),
        ' · Tags: ', Object.keys(model.tags).length ? Object.entries(model.tags).map(([k, v]) => h('span', { class: 'pill' }, `${k}=${v}`)) : h('span', { class: 'muted' }, 'none')),
      h('section', { class: 'card' }, h('h2', {}, 'Move an alias'),
        h('form', { class: 'controls', id: 'alias-form', onsubmit: move }, h('label', {}, 'Alias', aliasInput), h('label', {}, 'Version', versionSelect), h('label', {}, 'API key', keyInput),
          h('button', { type: 'submit', id: 'alias-move' }, 'Move alias')),
        h('p', { class: 'muted' }, summary.apiKeyConfigured ? 'Needs the server\u2019s API key (FORGE_API_KEY).' : 'This server has no API key configured: moves will be refused.'),
        outcome),
      h('h2', {}, 'Versions'),
      model.versions.map((v) => h('details', { open: v === model.versions[0], class: 'card', 'data-version': v.version },
        h('summary', {}, h('strong', {}, 'Version ' + v.version), ' ', v.aliases.map((a) => h('span', { class: 'pill' }, a)), h('span', { class: 'muted' }, ` · ${time(v.created)} · ${v.manifest_flavor || ''} ${v.manifest_task || ''}`)),
        v.manifestError ? h('p', { class: 'notice bad' }, v.manifestError) : null,
        h('div', { class: 'grid' },
          h('div', {}, h('h3', {}, 'Lineage'), h('ul', {},
            h('li', {}, 'Run: ', v.runId ? runLink(v.runId, v.runId) : h('span', { class: 'muted' }, 'unknown')),
            h('li', {}, 'Dataset: ', v.dataset || '—', v.datasetChecksum ? h('span', { class: 'muted' }, ` (${String(v.datasetChecksum).slice(0, 16)}…)`) : null),
            h('li', {}, 'Commit: ', v.gitCommit || '—')),
            h('h3', {}, 'Tags'), Object.keys(v.tags).length ? Object.entries(v.tags).map(([k, val]) => h('span', { class: 'pill' }, `${k}=${val}`)) : h('span', { class: 'muted' }, 'none'),
            h('h3', {}, 'Metrics'), v.manifest_metrics && Object.keys(v.manifest_metrics).length ?
              h('table', { class: 'version-metrics' }, h('tbody', {}, Object.entries(v.manifest_metrics).map(([k, val]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, num(val)))))) : h('p', { class: 'muted' }, 'none')),
          h('div', {}, h('h3', {}, 'Signature'), signatureTable(v.manifest_signature))),
        v.card ? [h('h3', {}, 'Model card'), h('pre', { class: 'model-card' }, v.card)] : null)));
  }

  function signatureTable(sig) {
    if (!sig) return h('p', { class: 'muted' }, 'No signature.');
    const row = (t, role) => h('tr', {}, h('td', {}, role), h('td', {}, t.name), h('td', {}, t.dtype), h('td', {}, JSON.stringify(t.shape)),
      h('td', {}, t.categories ? t.categories.join(', ') : (t.min !== undefined && t.min !== null ? `${num(t.min)} … ${num(t.max)}` : '')));
    return h('div', {}, h('table', { class: 'signature' }, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', {}, 'Shape'), h('th', {}, 'Range / categories'))),
      h('tbody', {}, (sig.inputs || []).map((t) => row(t, 'input')), (sig.outputs || []).map((t) => row(t, 'output')))),
      sig.labels && sig.labels.length ? h('p', {}, 'Labels: ', sig.labels.map((l) => h('span', { class: 'pill' }, l))) : null);
  }

  // ------------------------------------------------------------------ Studies

  async function pageStudies() {
    const data = await api('/api/ui/studies');
    render(h('h1', {}, 'Studies'),
      data.studies.length === 0 ? h('p', { class: 'muted' }, 'No tuning studies. Run forge tune … --storage with this store.') :
        h('table', { id: 'studies-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Study'), h('th', {}, 'Direction'), h('th', { class: 'num' }, 'Trials'), h('th', { class: 'num' }, 'Complete'), h('th', { class: 'num' }, 'Running'), h('th', { class: 'num' }, 'Best'), h('th', {}, 'Created'))),
          h('tbody', {}, data.studies.map((st) => h('tr', {}, h('td', {}, link('#/studies/' + encodeURIComponent(st.name), st.name)), h('td', {}, st.direction),
            h('td', { class: 'num' }, num(st.trials)), h('td', { class: 'num' }, num(st.complete)), h('td', { class: 'num' }, num(st.running)), h('td', { class: 'num' }, num(st.best)), h('td', {}, time(st.created)))))));
  }

  async function pageStudy(query, name) {
    const state = { page: 0, sort: 'number', desc: false };
    const body = h('div', {});
    render(h('p', {}, link('#/studies', '← Studies')), body);
    const draw = (study) => {
      const maximize = study.direction === 'MAXIMIZE';
      const rows = study.trials;
      const complete = rows.filter((r) => r[1] === 'COMPLETE' && r[2] !== null);
      let best = null;
      const bestLine = complete.map((r) => { best = best === null ? r[2] : (maximize ? Math.max(best, r[2]) : Math.min(best, r[2])); return [r[0], best]; });
      const counts = {};
      rows.forEach((r) => { counts[r[1]] = (counts[r[1]] || 0) + 1; });
      const history = frame({ width: 620, height: 300, label: 'Optimisation history', xLabel: 'trial', yLabel: 'value', xDomain: extent(rows.map((r) => r[0])), yDomain: extent(complete.map((r) => r[2])) });
      const dots = s('g', { fill: COLORS[0], 'fill-opacity': complete.length > 2000 ? 0.25 : 0.6 });
      for (const r of complete) dots.append(s('circle', { cx: history.x(r[0]).toFixed(1), cy: history.y(r[2]).toFixed(1), r: 2.5 }));
      history.svg.append(dots, s('path', { d: path(bestLine, history.x, history.y), fill: 'none', stroke: COLORS[1], 'stroke-width': 2 }));
      const importance = Object.entries(study.importance);
      body.replaceChildren(
        h('h1', { id: 'study-name' }, study.name),
        h('p', { id: 'study-summary' }, `${study.direction.toLowerCase()} · ${num(rows.length)} trials: `, Object.entries(counts).map(([k, v]) => [status(k), ` ${num(v)} `]),
          complete.length ? ` · best ${num(bestLine[bestLine.length - 1][1], 6)}` : '',
          study.running ? h('span', { class: 'muted', id: 'study-live' }, ' · running trials: updating every 3 s') : null),
        h('div', { class: 'grid' },
          h('section', { class: 'card' }, h('h2', {}, 'Optimisation history'), h('figure', { id: 'study-history' }, history.svg),
            h('div', { class: 'legend' }, attrs(h('span', {}, 'trial value'), {}), attrs(h('span', {}, 'best so far'), {}))),
          h('section', { class: 'card' }, h('h2', {}, 'Parameter importance'),
            study.importancePending ? h('p', { class: 'muted', id: 'importance-pending' }, importance.length
              ? `Updating for the latest ${num(study.importanceTrials)} completed trials…` : `Computing over the latest ${num(study.importanceTrials)} completed trials…`) : null,
            importance.length ? h('figure', { id: 'study-importance' }, barChart(importance.map(([k, v]) => ({ label: k, value: v })), { label: 'Parameter importance' }),
              h('figcaption', { class: 'muted' }, `How much a random forest fitted to ${study.importanceTrials < complete.length ? 'the latest ' + num(study.importanceTrials) + ' of the' : 'the'} completed trials loses when the parameter is shuffled (shares summing to 1), as forge tune report computes it.`)) :
              study.importancePending ? null : h('p', { class: 'muted' }, 'Needs at least 4 completed trials with varied parameters.'))),
        h('section', { class: 'card' }, h('h2', {}, 'Parallel coordinates'), parallel(study, complete)),
        h('h2', {}, 'Trials'), trialsTable(study, state));
      body.querySelectorAll('.legend span').forEach((el, i) => el.style.setProperty('--c', COLORS[i % COLORS.length]));
    };
    const mine = generation;
    const load = async () => {
      const study = await api('/api/ui/studies/' + encodeURIComponent(name));
      if (mine !== generation) return study;
      draw(study);
      // The server fits the importance forest in the background for a large study; ask again until it is in (a running
      // study is reloaded every 3 s anyway).
      if (study.importancePending && !study.running) setTimeout(() => { if (mine === generation) load().catch((e) => showError(e.message)); }, 1000);
      return study;
    };
    const first = await load();
    if (first.running) every(3000, () => load().catch((e) => showError(e.message)));
  }

  function parallel(study, complete) {
    const names = study.params;
    if (names.length === 0 || complete.length === 0) return h('p', { class: 'muted' }, 'No completed trials with parameters yet.');
    const cap = 1500;
    const shown = complete.length > cap ? [...complete].sort((a, b) => study.direction === 'MAXIMIZE' ? b[2] - a[2] : a[2] - b[2]).slice(0, cap) : complete;
    const axes = [...names, 'value'];
    const width = Math.max(560, axes.length * 130), height = 300, top = 24, bottom = 30;
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Parallel coordinates of parameters and value', id: 'study-parallel' });
    const xAt = (i) => 50 + i * (width - 100) / Math.max(1, axes.length - 1);
    const scales = axes.map((a, i) => {
      const values = shown.map((r) => (i < names.length ? r[4][i] : r[2]));
      const d = study.distributions[a];
      if (d && d.kind === 'categorical') {
        const choices = d.choices;
        return { f: (v) => choices.length < 2 ? 0.5 : choices.indexOf(String(v)) / (choices.length - 1), labels: [[0, choices[0]], [1, choices[choices.length - 1]]] };
      }
      const log = d && d.log;
      const tr = (v) => (log && v > 0 ? Math.log10(v) : v);
      const [lo, hi] = extent(values.map((v) => (typeof v === 'number' ? tr(v) : null)));
      return { f: (v) => (typeof v === 'number' ? (hi === lo ? 0.5 : (tr(v) - lo) / (hi - lo)) : null), labels: [[0, num(log ? 10 ** lo : lo)], [1, num(log ? 10 ** hi : hi)]] };
    });
    const y = (t) => height - bottom - t * (height - top - bottom);
    const [vlo, vhi] = extent(shown.map((r) => r[2]));
    const g = s('g', { fill: 'none', 'stroke-opacity': shown.length > 300 ? 0.25 : 0.6 });
    for (const r of shown) {
      let d = '';
      let ok = true;
      axes.forEach((a, i) => {
        const t = scales[i].f(i < names.length ? r[4][i] : r[2]);
        if (t === null || !isFinite(t)) { ok = false; return; }
        d += (i ? 'L' : 'M') + xAt(i).toFixed(1) + ',' + y(t).toFixed(1);
      });
      if (!ok) continue;
      const q = vhi === vlo ? 0.5 : (r[2] - vlo) / (vhi - vlo);
      const good = study.direction === 'MAXIMIZE' ? q : 1 - q;
      g.append(s('path', { d, stroke: `hsl(${Math.round(good * 220)}, 70%, 42%)` }));
    }
    svg.append(g);
    axes.forEach((a, i) => {
      svg.append(s('line', { class: 'axis', x1: xAt(i), x2: xAt(i), y1: top, y2: height - bottom }));
      svg.append(s('text', { x: xAt(i), y: 14, 'text-anchor': 'middle' }, a));
      for (const [t, label] of scales[i].labels) svg.append(s('text', { x: xAt(i) + 4, y: y(t) + (t ? 10 : -3) }, label));
    });
    return h('figure', {}, svg, complete.length > cap ? h('figcaption', { class: 'muted' }, `The best ${num(cap)} of ${num(complete.length)} completed trials.`) : null);
  }

  function trialsTable(study, state) {
    const wrap = h('div', { id: 'trials' });
    const size = 100;
    const draw = () => {
      const col = { number: 0, state: 1, value: 2, seconds: 3 }[state.sort];
      const rows = [...study.trials].sort((a, b) => {
        const x = a[col], y = b[col];
        if (x === y) return a[0] - b[0];
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * (state.desc ? -1 : 1);
      });
      const pages = Math.max(1, Math.ceil(rows.length / size));
      state.page = Math.min(state.page, pages - 1);
      const sortBtn = (label, key) => h('button', { class: 'sort', type: 'button', onclick: () => { state.desc = state.sort === key ? !state.desc : key === 'value' && study.direction === 'MAXIMIZE'; state.sort = key; state.page = 0; draw(); } },
        label, state.sort === key ? (state.desc ? ' ▼' : ' ▲') : '');
      wrap.replaceChildren(
        h('div', { class: 'pager' },
          h('button', { type: 'button', class: 'secondary', disabled: state.page === 0, onclick: () => { state.page--; draw(); } }, '← Previous'),
          h('span', {}, `Page ${state.page + 1} of ${pages}`),
          h('button', { type: 'button', class: 'secondary', disabled: state.page + 1 >= pages, onclick: () => { state.page++; draw(); } }, 'Next →')),
        h('table', { id: 'trials-table' }, h('thead', {}, h('tr', {}, h('th', {}, sortBtn('#', 'number')), h('th', {}, sortBtn('State', 'state')), h('th', { class: 'num' }, sortBtn('Value', 'value')),
          h('th', { class: 'num' }, sortBtn('Seconds', 'seconds')), study.params.map((p) => h('th', {}, p)))),
          h('tbody', {}, rows.slice(state.page * size, (state.page + 1) * size).map((r) => h('tr', {}, h('td', {}, r[0]), h('td', {}, status(r[1])), h('td', { class: 'num' }, num(r[2], 6)),
            h('td', { class: 'num' }, num(r[3], 3)), r[4].map((v) => h('td', {}, typeof v === 'number' ? num(v, 5) : (v ?? ''))))))));
    };
    draw();
    return wrap;
  }

  // ------------------------------------------------------------------ Explain

  async function servedModels() {
    await ensureSummary();
    if (summary.mode !== 'serve') return null;
    return (await api('/v1/models')).models;
  }

  function needsServe(title) {
    render(h('h1', {}, title), h('p', { class: 'notice' }, 'This page works under forge serve, which serves models. This is forge ui, over the tracking store alone: start ',
      h('code', {}, 'forge serve --models NAME@champion'), ' to use it.'));
  }

  function example(sig) {
    const inputs = sig.inputs || [];
    if (inputs.length === 1 && inputs[0].dtype === 'string') return { kind: 'text', value: 'The service was quick and the staff were friendly.' };
    if (inputs.length === 1 && (inputs[0].shape || []).length >= 3) return { kind: 'image', value: '' };
    const instance = {};
    for (const t of inputs) {
      if (t.categories && t.categories.length) instance[t.name] = t.categories[0];
      else if (t.dtype === 'string') instance[t.name] = '';
      else if (t.min !== undefined && t.min !== null && t.max !== undefined && t.max !== null) instance[t.name] = +((t.min + t.max) / 2).toPrecision(4);
      else instance[t.name] = 0;
    }
    return { kind: 'tabular', value: JSON.stringify(instance, null, 2) };
  }

  async function pageExplain(query) {
    const models = await servedModels();
    if (models === null) { needsServe('Explain'); return; }
    if (models.length === 0) { render(h('h1', {}, 'Explain'), h('p', { class: 'muted' }, 'No models are served.')); return; }
    const name = query.get('model') && models.some((m) => m.name === query.get('model')) ? query.get('model') : models[0].name;
    const detail = await api('/v1/models/' + encodeURIComponent(name));
    const sig = detail.versions[0].signature;
    const ex = example(sig);
    const select = h('select', { id: 'explain-model', 'aria-label': 'Model', onchange: () => setQuery('/explain', { model: select.value }) },
      models.map((m) => h('option', { value: m.name, selected: m.name === name }, `${m.name} (${m.flavor})`)));
    const input = ex.kind === 'image' ? h('input', { type: 'file', id: 'explain-file', accept: 'image/png,image/jpeg', 'aria-label': 'Image file' })
      : h('textarea', { id: 'explain-input', 'aria-label': ex.kind === 'text' ? 'Text to explain' : 'Instance as JSON', spellcheck: 'false' }, ex.value);
    const out = h('div', { id: 'explain-output', 'aria-live': 'polite' });
    const run = async (e) => {
      e.preventDefault();
      out.replaceChildren(h('p', { class: 'muted' }, 'Explaining…'));
      let instance;
      try {
        if (ex.kind === 'text') instance = { text: input.value };
        else if (ex.kind === 'image') {
          if (!input.files.length) throw new Error('choose a PNG or JPEG file first');
          instance = { image_b64: await fileBase64(input.files[0]) };
        } else instance = JSON.parse(input.value);
      } catch (err) {
        out.replaceChildren(h('p', { class: 'notice bad' }, 'The input is not valid: ' + err.message));
        return;
      }
      try {
        const payload = JSON.stringify({ instances: [instance] });
        const opts = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: payload };
        const [prediction, explanation] = await Promise.all([api(`/v1/models/${encodeURIComponent(name)}/predict`, opts), api(`/v1/models/${encodeURIComponent(name)}/explain`, { ...opts })]);
        out.replaceChildren(predictionView(prediction), explanationView(explanation, ex.kind === 'image' ? input.files[0] : null));
      } catch (err) {
        out.replaceChildren(h('p', { class: 'notice bad', id: 'explain-error' }, err.message));
      }
    };
    render(h('h1', {}, 'Explain a prediction'),
      h('form', { id: 'explain-form', onsubmit: run },
        h('div', { class: 'controls' }, h('label', {}, 'Model', select)),
        h('p', { class: 'muted' }, ex.kind === 'tabular' ? 'One instance as a JSON object, a value for each input column:' : ex.kind === 'text' ? 'A text:' : 'An image file:'),
        input, h('p', {}, h('button', { type: 'submit', id: 'explain-run' }, 'Predict and explain'))),
      out);
  }

  function fileBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
      reader.onerror = () => reject(new Error('the file cannot be read'));
      reader.readAsDataURL(file);
    });
  }

  function predictionView(p) {
    if (p.values) return h('section', { class: 'card', id: 'prediction' }, h('h2', {}, 'Prediction'), h('p', {}, 'Value: ', h('strong', {}, num(p.values[0], 6))));
    const probs = Object.entries(p.probabilities[0]).sort((a, b) => b[1] - a[1]);
    return h('section', { class: 'card', id: 'prediction' }, h('h2', {}, 'Prediction'), h('p', {}, 'Label: ', h('strong', { id: 'predicted-label' }, p.predictions[0]), ` (version ${p.version})`),
      barChart(probs.slice(0, 10).map(([k, v]) => ({ label: k, value: v })), { label: 'Probability of each label' }));
  }

  function explanationView(e, file) {
    const inst = e.instances[0];
    // The explained output: the predicted class's when there are several.
    const outputs = inst.outputs;
    const o = outputs.length === 1 ? outputs[0] : outputs.reduce((a, b) => ((b.prediction ?? -Infinity) > (a.prediction ?? -Infinity) ? b : a));
    const head = h('p', { class: 'muted' }, `Method ${e.method} · output ${o.output} · ${e.outputSpace || ''}`);
    if (e.kind === 'text') return h('section', { class: 'card', id: 'explanation' }, h('h2', {}, 'Explanation'), head, tokensView(inst, o));
    if (e.kind === 'image') return h('section', { class: 'card', id: 'explanation' }, h('h2', {}, 'Explanation'), head, heatmapView(inst, o, file));
    return h('section', { class: 'card', id: 'explanation' }, h('h2', {}, 'Explanation'), head, waterfall(o));
  }

  function waterfall(o) {
    const items = [...o.attributions].sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
    const top = items.slice(0, 12);
    const rest = items.slice(12).reduce((t, a) => t + a.value, 0);
    if (items.length > 12) top.push({ feature: `${items.length - 12} other features`, label: `${items.length - 12} other features`, value: rest });
    const width = 720, row = 24, left = 230, height = 50 + (top.length + 2) * row;
    let x = o.baseValue;
    const steps = top.map((a) => { const from = x; x += a.value; return { ...a, from, to: x }; });
    const [lo, hi] = extent([o.baseValue, x, ...steps.map((st) => st.to)]);
    const pad = (hi - lo) * 0.05 || 1;
    const sx = (v) => left + (v - (lo - pad)) / ((hi + pad) - (lo - pad)) * (width - left - 70);
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Waterfall of feature contributions', id: 'waterfall' });
    svg.append(s('text', { x: left - 6, y: 22, 'text-anchor': 'end' }, 'base value'), s('text', { x: sx(o.baseValue) + 4, y: 22 }, num(o.baseValue, 4)));
    svg.append(s('line', { x1: sx(o.baseValue), x2: sx(o.baseValue), y1: 26, y2: height - 30, stroke: '#999', 'stroke-dasharray': '3 3' }));
    steps.forEach((st, i) => {
      const y = 30 + i * row;
      const a = Math.min(sx(st.from), sx(st.to)), b = Math.max(sx(st.from), sx(st.to));
      svg.append(s('text', { x: left - 6, y: y + 14, 'text-anchor': 'end' }, st.label || st.feature));
      svg.append(s('rect', { x: a, y: y + 2, width: Math.max(1, b - a), height: row - 6, fill: st.value >= 0 ? '#d62728' : '#1f77b4', class: 'contribution' }));
      svg.append(s('text', { x: b + 4, y: y + 14 }, (st.value >= 0 ? '+' : '') + num(st.value, 3)));
    });
    const yEnd = 30 + steps.length * row;
    svg.append(s('text', { x: left - 6, y: yEnd + 16, 'text-anchor': 'end', 'font-weight': 'bold' }, 'prediction'), s('text', { x: sx(x) + 4, y: yEnd + 16, 'font-weight': 'bold' }, num(x, 4)));
    svg.append(s('line', { x1: sx(x), x2: sx(x), y1: 26, y2: yEnd + 20, stroke: '#333' }));
    return h('figure', {}, svg, h('figcaption', { class: 'muted' }, 'From the base value (the average output over the background data) each feature pushes the output up (red) or down (blue) to the prediction.'));
  }

  // Attributions by feature index: tokens and image regions refer to features by index, not by name (a word can
  // repeat; a pixel's name is prose).
  function byIndex(o) {
    const values = [];
    o.attributions.forEach((a, i) => { values[a.index ?? i] = a.value; });
    return values;
  }

  function tokensView(inst, o) {
    const values = byIndex(o);
    const max = Math.max(1e-12, ...o.attributions.map((a) => Math.abs(a.value)));
    const text = inst.text || '';
    const box = h('p', { class: 'tokens', id: 'explain-tokens' });
    let pos = 0;
    for (const t of inst.tokens || []) {
      if (t.start > pos) box.append(document.createTextNode(text.slice(pos, t.start)));
      const v = values[t.feature] ?? 0;
      const span = h('span', { title: `${t.word}: ${num(v, 3)}`, 'data-value': v }, t.word);
      const alpha = Math.min(1, Math.abs(v) / max) * 0.75;
      span.style.backgroundColor = v >= 0 ? `rgba(214, 39, 40, ${alpha})` : `rgba(31, 119, 180, ${alpha})`;
      box.append(span);
      pos = t.start + t.length;
    }
    if (pos < text.length) box.append(document.createTextNode(text.slice(pos)));
    return h('div', {}, box, h('p', { class: 'muted' }, 'Red words push towards the explained label, blue words away from it.'));
  }

  function heatmapView(inst, o, file) {
    const width = inst.width, height = inst.height;
    const canvas = h('canvas', { width, height, id: 'explain-heatmap', 'aria-label': 'Attribution heatmap' });
    const scale = Math.max(1, Math.floor(280 / Math.max(width, height)));
    canvas.style.width = width * scale + 'px';
    canvas.style.height = height * scale + 'px';
    const values = byIndex(o);
    const max = Math.max(1e-12, ...o.attributions.map((a) => Math.abs(a.value)));
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(width, height);
    for (let i = 0; i < width * height; i++) {
      // Regions map each pixel to its segment (LIME); without them each pixel is its own feature.
      const key = inst.regions ? inst.regions[i] : i;
      const v = (values[key] ?? 0) / max;
      img.data[i * 4] = v > 0 ? 214 : 31;
      img.data[i * 4 + 1] = v > 0 ? 39 : 119;
      img.data[i * 4 + 2] = v > 0 ? 40 : 180;
      img.data[i * 4 + 3] = Math.round(Math.min(1, Math.abs(v)) * 255);
    }
    ctx.putImageData(img, 0, 0);
    const parts = [canvas];
    if (file) {
      const original = h('img', { alt: 'The explained image', width: width * scale, height: height * scale });
      original.src = URL.createObjectURL(file);
      parts.unshift(original);
    }
    return h('div', {}, h('div', { class: 'controls' }, parts), h('p', { class: 'muted' }, 'Red regions push towards the explained label, blue regions away from it.'));
  }

  // ------------------------------------------------------------------ Drift

  async function pageDrift(query) {
    const models = await servedModels();
    if (models === null) { needsServe('Drift'); return; }
    if (models.length === 0) { render(h('h1', {}, 'Drift'), h('p', { class: 'muted' }, 'No models are served.')); return; }
    const name = query.get('model') && models.some((m) => m.name === query.get('model')) ? query.get('model') : models[0].name;
    const select = h('select', { id: 'drift-model', 'aria-label': 'Model', onchange: () => setQuery('/drift', { model: select.value }) },
      models.map((m) => h('option', { value: m.name, selected: m.name === name }, m.name)));
    const body = h('div', { id: 'drift-body' });
    render(h('h1', {}, 'Drift'), h('div', { class: 'controls' }, h('label', {}, 'Model', select),
      h('button', { type: 'button', class: 'secondary', id: 'drift-refresh', onclick: () => load(true) }, 'Compute now')), body);
    const load = async (refresh) => {
      let drift;
      try {
        drift = await api(`/v1/models/${encodeURIComponent(name)}/drift${refresh ? '?refresh=true' : ''}`);
      } catch (e) {
        body.replaceChildren(h('p', { class: 'notice', id: 'drift-error' }, e.message));
        return;
      }
      const timeline = await api(`/api/ui/drift/${encodeURIComponent(name)}/timeline`);
      body.replaceChildren(driftView(drift, timeline.points));
    };
    await load(false);
    every(5000, () => load(false).catch((e) => showError(e.message)));
  }

  function driftView(d, points) {
    const verdict = d.datasetDrift === null || d.datasetDrift === undefined ? h('span', { class: 'status' }, 'no verdict yet')
      : d.datasetDrift ? h('span', { class: 'status drift' }, 'dataset drift') : h('span', { class: 'status none' }, 'no dataset drift');
    const cols = [...(d.columns || []), ...(d.predictions || [])];
    return h('div', {},
      h('p', { id: 'drift-summary' }, verdict, ` · version ${d.version} · window ${num(d.windowRows)} rows (reference ${num(d.referenceRows)}) · `,
        d.driftShare !== null && d.driftShare !== undefined ? `drift share ${num(d.driftShare, 3)} (threshold ${num(d.driftShareThreshold, 3)})` : '',
        d.computedAt ? ` · computed ${time(d.computedAt)}` : ''),
      d.note ? h('p', { class: 'notice' }, d.note) : null,
      h('div', { class: 'grid' },
        h('section', { class: 'card' }, h('h2', {}, 'Drift share over time'),
          points.length ? h('div', { id: 'drift-timeline' }, lineChart([{ name: 'drift share', points: points.map((p, i) => [i + 1, p.driftShare]) }, { name: 'threshold', points: points.map((p, i) => [i + 1, p.threshold]) }],
            { label: 'Drift share of each evaluation', xLabel: 'evaluation', yLabel: 'share of drifted features' })) : h('p', { class: 'muted' }, 'No evaluations yet.')),
        h('section', { class: 'card' }, h('h2', {}, 'Concept-drift detectors'),
          h('table', { id: 'drift-detectors' }, h('thead', {}, h('tr', {}, h('th', {}, 'Detector'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Seen'), h('th', { class: 'num' }, 'Detections'))),
            h('tbody', {}, (d.detectors || []).map((x) => h('tr', {}, h('td', {}, x.name), h('td', {}, status(String(x.state).toLowerCase())), h('td', { class: 'num' }, num(x.seen)), h('td', { class: 'num' }, num(x.detections)))))),
          h('p', { class: 'muted' }, `Feedback: ${num(d.feedback.seen)} labelled`, d.feedback.accuracy !== null && d.feedback.accuracy !== undefined ? ` · accuracy ${num(d.feedback.accuracy, 3)}` : '',
            d.estimatedAccuracy !== null && d.estimatedAccuracy !== undefined ? ` · estimated accuracy ${num(d.estimatedAccuracy, 3)}` : ''))),
      h('h2', {}, 'Features'),
      cols.length === 0 ? h('p', { class: 'muted' }, 'No drift computed yet.') :
        h('table', { id: 'drift-features' }, h('thead', {}, h('tr', {}, h('th', {}, 'Column'), h('th', {}, 'Kind'), h('th', {}, 'Test'), h('th', { class: 'num' }, 'Score'), h('th', { class: 'num' }, 'Threshold'), h('th', {}, 'Drifted'))),
          h('tbody', {}, cols.map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, String(c.kind).toLowerCase()), h('td', {}, c.test), h('td', { class: 'num' }, num(c.score, 3)), h('td', { class: 'num' }, num(c.threshold, 3)),
            h('td', {}, c.drifted ? status('drift') : status('none')))))),
      h('h2', {}, 'Histograms against the reference'),
      h('div', { class: 'charts', id: 'drift-histograms' }, cols.filter((c) => c.histogram).map((c) => h('section', { class: 'card' }, h('h3', {}, c.name), histogram(c)))),
      h('div', { class: 'legend' }, attrs(h('span', { class: 'ref' }, 'reference'), {}), attrs(h('span', { class: 'cur' }, 'current window (red where the column drifted)'), {})));
  }

  function histogram(c) {
    const hist = c.histogram;
    const labels = hist.labels || [];
    const ref = hist.reference || [], cur = hist.current || [];
    const width = 420, height = 200, m = { l: 40, b: 40, t: 8, r: 8 };
    const max = Math.max(1e-9, ...ref, ...cur);
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Histogram of ${c.name}: reference and current` });
    const bw = (width - m.l - m.r) / Math.max(1, labels.length);
    const y = (v) => height - m.b - v / max * (height - m.t - m.b);
    labels.forEach((label, i) => {
      const x = m.l + i * bw;
      svg.append(s('rect', { x: x + 1, y: y(ref[i] || 0), width: Math.max(1, bw / 2 - 1), height: height - m.b - y(ref[i] || 0), fill: '#7f7f7f' }));
      svg.append(s('rect', { x: x + bw / 2, y: y(cur[i] || 0), width: Math.max(1, bw / 2 - 1), height: height - m.b - y(cur[i] || 0), fill: c.drifted ? '#d62728' : '#1f77b4' }));
      // Numeric bins are labelled by their lower edge, a few of them, so the labels never overlap.
      const edges = hist.edges;
      const every = Math.ceil(labels.length / (edges ? 6 : 12));
      if (i % every === 0) svg.append(s('text', { x: edges ? x : x + bw / 2, y: height - m.b + 12, 'text-anchor': edges ? 'start' : 'middle' }, edges ? num(edges[i], 3) : String(label).slice(0, 10)));
    });
    svg.append(s('line', { class: 'axis', x1: m.l, x2: width - m.r, y1: height - m.b, y2: height - m.b }));
    svg.append(s('text', { x: m.l - 4, y: y(max) + 10, 'text-anchor': 'end' }, num(max, 2)));
    return svg;
  }

  // ------------------------------------------------------------------ start

  window.addEventListener('hashchange', route);
  document.addEventListener('DOMContentLoaded', () => {
    document.querySelector('header nav a[data-nav="chat"]').addEventListener('click', (e) => {
      if (summary && summary.mode !== 'serve') { e.preventDefault(); showError('The chat page is part of forge serve (it calls a served text model); this is forge ui.'); }
    });
    // The header names the mode (forge serve or forge ui) on every page; a page that needs the summary shows its own error.
    ensureSummary().catch(() => {});
    route();
  });
})();
