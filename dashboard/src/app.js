// cdrstats dashboard: plain JS, no framework. Talks to the same-origin API with the pasted token.
(function () {
  'use strict';

  const API = '/api/rest/customer/v1/';
  const TOKEN_KEY = 'cdrstats.token';
  const $ = (id) => document.getElementById(id);

  const el = {
    form: $('query'), token: $('token'), loadAccounts: $('load-accounts'), forget: $('forget-token'),
    account: $('account'), accountId: $('account-id'), endpoint: $('endpoint'), range: $('range'),
    from: $('from'), to: $('to'), sampling: $('sampling'), load: $('load'),
    status: $('status'), totals: $('totals'), charts: $('charts'),
    loadOutgoing: $('load-outgoing'), outgoing: $('outgoing'), outgoingStatus: $('outgoing-status'),
    bdForm: $('breakdown-form'), bdSide: $('bd-side'), bdBy: $('bd-by'), bdMetric: $('bd-metric'),
    bdLimit: $('bd-limit'), bdCompare: $('bd-compare'), bdLoad: $('load-breakdown'),
    bdStatus: $('breakdown-status'), bdBars: $('breakdown-bars'), breakdown: $('breakdown'),
  };

  const METRICS = {
    total_calls: { label: 'Total calls', unit: '', color: '#2563eb', fill: 'rgba(37,99,235,0.12)' },
    asr: { label: 'ASR', unit: ' %', color: '#16a34a', fill: 'rgba(22,163,74,0.10)' },
    acd: { label: 'ACD', unit: ' s', color: '#d97706', fill: 'rgba(217,119,6,0.10)' },
    cps: { label: 'CPS', unit: '/s', color: '#9333ea', fill: 'rgba(147,51,234,0.10)' },
    total_duration: { label: 'Minutes', unit: ' min', color: '#0891b2', fill: 'rgba(8,145,178,0.10)' },
    total_price: { label: 'Price', unit: '', color: '#be123c', fill: 'rgba(190,18,60,0.10)' },
    calls: { label: 'Calls in progress', unit: '', color: '#2563eb', fill: 'rgba(37,99,235,0.12)' },
  };
  // The charts of each kind of report, and how its buckets are shown.
  const REPORTS = {
    quality: { metrics: ['total_calls', 'asr', 'acd', 'cps'], sampling: true, bars: false },
    statistics: { metrics: ['total_calls', 'total_duration', 'total_price'], sampling: true, bars: true },
    active: { metrics: ['calls'], sampling: false, bars: false },
  };
  const reportOf = (endpoint) =>
    endpoint.endsWith('-quality') ? 'quality' : endpoint.endsWith('-active-calls') ? 'active' : 'statistics';
  // The outgoing table shows these columns of each call (the API sends 26).
  const OUTGOING_COLUMNS = [
    'start_time', 'connect_time', 'src_name_in', 'src_prefix_in', 'dst_prefix_in', 'destination_prefix',
    'destination_initial_rate', 'destination_next_rate', 'dst_prefix_routing', 'from_domain',
    'auth_orig_ip', 'auth_orig_port', 'auth_orig_transport_protocol_id', 'snapshot_timestamp',
  ];
  let plots = [];

  // --- status line -------------------------------------------------------------------------

  function say(text, kind) {
    el.status.textContent = text;
    el.status.className = kind || '';
  }

  class ApiError extends Error {}

  // --- API ---------------------------------------------------------------------------------

  async function api(path, params) {
    const token = el.token.value.trim();
    if (!token) throw new ApiError('Paste an API token first.');
    const url = new URL(API + path, location.origin);
    for (const [k, v] of Object.entries(params || {})) if (v) url.searchParams.set(k, v);
    let resp;
    try {
      resp = await fetch(url, {
        headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
        credentials: 'omit', // only the pasted token counts, never a session cookie
        cache: 'no-store',
      });
    } catch (_) {
      throw new ApiError('Network error: the gateway could not be reached.');
    }
    if (resp.status === 401) throw new ApiError('Token rejected (401): paste a valid, unexpired token.');
    if (resp.status === 400) {
      const body = await resp.json().catch(() => null);
      throw new ApiError('Bad request: ' + ((body && body.error) || 'the gateway refused the query.'));
    }
    if (!resp.ok) {
      const body = await resp.json().catch(() => null);
      throw new ApiError('Server error ' + resp.status + ((body && body.error) ? ': ' + body.error : '.'));
    }
    try {
      const body = await resp.json();
      if (body && typeof body === 'object') {
        Object.defineProperty(body, 'truncated', { value: resp.headers.get('x-cdrstats-truncated') === 'true' });
      }
      return body;
    } catch (_) {
      throw new ApiError('The gateway answered something that is not JSON.');
    }
  }

  function fail(err) {
    say(err instanceof ApiError ? err.message : 'Unexpected error: ' + err, 'error');
  }

  // --- accounts ----------------------------------------------------------------------------

  async function loadAccounts() {
    say('Loading accounts…', 'busy');
    el.loadAccounts.disabled = true;
    try {
      const body = await api('accounts');
      const accounts = (body && body.data) || [];
      el.account.replaceChildren();
      if (!accounts.length) {
        el.account.add(new Option('(no accounts for this token)', ''));
        say('This token may not query any account.', 'warn');
        return;
      }
      for (const a of accounts) el.account.add(new Option(a.name + ' — ' + a.id, a.id));
      say(accounts.length + (accounts.length === 1 ? ' account' : ' accounts') + ' loaded.', 'ok');
    } catch (err) {
      fail(err);
    } finally {
      el.loadAccounts.disabled = false;
    }
  }

  // --- time range --------------------------------------------------------------------------

  const rfc3339 = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

  function timeRange() {
    if (el.range.value !== 'custom') {
      const now = new Date();
      return { from: rfc3339(new Date(now.getTime() - Number(el.range.value) * 1000)), to: rfc3339(now) };
    }
    if (!el.from.value) throw new ApiError('Pick a "from" time for the custom range.');
    const from = new Date(el.from.value);
    const to = el.to.value ? new Date(el.to.value) : null;
    if (to && to <= from) throw new ApiError('"To" must be after "from".');
    return { from: rfc3339(from), to: to ? rfc3339(to) : '' };
  }

  function toggleCustom() {
    const custom = el.range.value === 'custom';
    for (const f of document.querySelectorAll('.field.custom')) f.hidden = !custom;
    if (custom && !el.from.value) {
      const d = new Date(Date.now() - 86400 * 1000);
      d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); // datetime-local wants local time
      el.from.value = d.toISOString().slice(0, 16);
    }
  }

  // --- statistics --------------------------------------------------------------------------

  function clearCharts() {
    for (const p of plots) p.destroy();
    plots = [];
    el.totals.hidden = true;
    el.totals.replaceChildren();
  }

  const num = (v) => (v === null || v === undefined || v === '' ? null : Number(v));

  function chartWidth(fig) {
    return Math.max(280, fig.querySelector('.plot').clientWidth || fig.clientWidth - 16);
  }

  function drawCharts(data, report) {
    const t = data.t || [];
    el.charts.replaceChildren(...REPORTS[report].metrics.map((key) => {
      const fig = document.createElement('figure');
      fig.className = 'chart';
      fig.dataset.metric = key;
      const caption = document.createElement('figcaption');
      caption.textContent = METRICS[key].label + (METRICS[key].unit ? ' (' + METRICS[key].unit.trim() + ')' : '');
      const plot = document.createElement('div');
      plot.className = 'plot';
      fig.append(caption, plot);
      return fig;
    }));
    for (const fig of el.charts.querySelectorAll('figure.chart')) {
      const key = fig.dataset.metric;
      const m = METRICS[key];
      const ys = (data[key] || []).map(num);
      const opts = {
        width: chartWidth(fig),
        height: 200,
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
        series: [
          {},
          {
            label: m.label, stroke: m.color, fill: m.fill, width: 1.5, spanGaps: false,
            // Statistics list only buckets holding calls: bars, not a line across the gaps.
            paths: REPORTS[report].bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
            points: { show: REPORTS[report].bars ? false : undefined },
            value: (u, v) => (v === null || v === undefined ? '–' : v + m.unit),
          },
        ],
        // Wide enough for the longest tick label (call counts reach millions).
        axes: [{}, {
          size: (u, values) => Math.max(48, 14 + 7.5 * Math.max(0, ...(values || []).map((v) => String(v).length))),
        }],
      };
      const plot = new uPlot(opts, [t, ys], fig.querySelector('.plot'));
      const present = ys.filter((v) => v !== null);
      fig.setAttribute('aria-label', m.label + ': ' + t.length + ' points' +
        (present.length ? ', min ' + Math.min(...present) + ', max ' + Math.max(...present) : ', no values'));
      plots.push(plot);
    }
  }

  function showTotals(totals, rows, report) {
    if (!totals) return;
    const parts = report === 'statistics' ? [
      ['total-calls', totals.total_calls, ' calls'],
      ['successful-calls', totals.successful_calls, ' successful'],
      ['total-duration', totals.total_duration, ' min'],
      ['asr', totals.asr, ' % ASR'],
      ['acd', totals.acd, ' s ACD'],
      ['total-price', totals.total_price, ' price'],
    ] : [
      ['total-calls', totals.total_calls, ' calls'],
      ['asr', totals.asr, ' % ASR'],
      ['acd', totals.acd, ' s ACD'],
      ['cps', totals.cps, ' CPS'],
    ];
    const nodes = [document.createTextNode('Totals: ')];
    parts.forEach(([id, v, suffix], i) => {
      if (i) nodes.push(document.createTextNode(' · '));
      const b = document.createElement('strong');
      b.id = 'totals-' + id;
      b.textContent = v === null || v === undefined ? '–' : String(v);
      nodes.push(b, document.createTextNode(suffix));
    });
    nodes.push(document.createTextNode(' (' + rows + ' intervals)'));
    el.totals.replaceChildren(...nodes);
    el.totals.hidden = false;
  }

  async function loadStats(ev) {
    ev.preventDefault();
    const account = el.accountId.value.trim() || el.account.value;
    if (!account) return say('Choose an account (load accounts) or paste an account id.', 'error');
    let range;
    try {
      range = timeRange();
    } catch (err) {
      return fail(err);
    }
    const report = reportOf(el.endpoint.value);
    if (report === 'quality' && ['week', 'month'].includes(el.sampling.value)) {
      return say('Week and month buckets exist for the calls/minutes/price reports only.', 'error');
    }
    say('Loading…', 'busy');
    el.load.disabled = true;
    try {
      const params = { 'account-id': account, 'from-time': range.from, 'to-time': range.to };
      if (REPORTS[report].sampling) params.sampling = el.sampling.value;
      // Day, week and month buckets follow the browser's zone, as the charts do.
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (report !== 'active' && zone) params['time-zone'] = zone;
      const body = await api(el.endpoint.value, params);
      clearCharts();
      if (Array.isArray(body)) {
        say('No data: the range starts in the future.', 'warn');
        return;
      }
      const rows = body.rows || 0;
      if (!rows) {
        say('No calls in this range for this account.', 'warn');
        return;
      }
      if (report === 'active' && !(body.data.calls || []).some((c) => c > 0)) {
        say('No calls in progress in this range for this account.', 'warn');
        return;
      }
      drawCharts(body.data || {}, report);
      showTotals(body.totals, rows, report);
      say('Loaded ' + rows + ' intervals, ' + range.from + ' → ' + (range.to || 'now') + '.', 'ok');
    } catch (err) {
      fail(err);
    } finally {
      el.load.disabled = false;
    }
  }

  // --- outgoing active calls -------------------------------------------------------------

  function sayOutgoing(text, kind) {
    el.outgoingStatus.textContent = text;
    el.outgoingStatus.className = kind || '';
  }

  // Built with textContent only: call data (caller names, headers) is never parsed as HTML.
  function drawOutgoing(calls) {
    const head = el.outgoing.tHead.rows[0];
    head.replaceChildren(...OUTGOING_COLUMNS.map((c) => {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = c.replace(/_/g, ' ');
      return th;
    }));
    el.outgoing.tBodies[0].replaceChildren(...calls.map((call) => {
      const tr = document.createElement('tr');
      for (const c of OUTGOING_COLUMNS) {
        const td = document.createElement('td');
        const v = call[c];
        if (v === null || v === undefined) {
          td.textContent = '–';
          td.className = 'null';
        } else {
          td.textContent = String(v);
        }
        tr.append(td);
      }
      return tr;
    }));
    el.outgoing.hidden = false;
  }

  async function loadOutgoing() {
    const account = el.accountId.value.trim() || el.account.value;
    if (!account) return sayOutgoing('Choose an account (load accounts) or paste an account id.', 'error');
    sayOutgoing('Loading…', 'busy');
    el.loadOutgoing.disabled = true;
    try {
      const body = await api('outgoing-active-calls', { 'account-id': account });
      const calls = (body && body.data) || [];
      el.outgoing.hidden = true;
      if (!calls.length) return sayOutgoing('No calls in progress in the newest snapshot.', 'warn');
      drawOutgoing(calls);
      const snapshot = calls[0].snapshot_timestamp;
      sayOutgoing(calls.length + (calls.length === 1 ? ' call' : ' calls') + ' in the snapshot of ' +
        snapshot + ' UTC' + (body.truncated ? ' (list cut at the gateway\'s limit)' : '') + '.',
      body.truncated ? 'warn' : 'ok');
    } catch (err) {
      sayOutgoing(err instanceof ApiError ? err.message : 'Unexpected error: ' + err, 'error');
    } finally {
      el.loadOutgoing.disabled = false;
    }
  }

  // --- destinations (breakdown) ------------------------------------------------------------

  // The key columns each dimension answers with, in the API's order.
  const BREAKDOWN_KEYS = {
    'dst-country': ['dst_country_id'], 'dst-network': ['dst_network_id'],
    'dst-prefix': ['dst_prefix_routing'], 'src-country': ['src_country_id'],
    'src-prefix': ['src_prefix_routing'], 'disconnect-code': ['disconnect_code', 'disconnect_reason'],
  };
  const BREAKDOWN_METRICS = ['total_calls', 'successful_calls', 'failed_calls', 'total_duration', 'acd', 'asr',
    'total_price', 'pdd'];
  let breakdownRows = [];
  let breakdownSort = { column: null, descending: true };

  function sayBreakdown(text, kind) {
    el.bdStatus.textContent = text;
    el.bdStatus.className = kind || '';
  }

  // The view's state in the address (`#breakdown?side=…&by=…`), so a view can be shared.
  function breakdownState() {
    const state = new URLSearchParams({
      side: el.bdSide.value, by: el.bdBy.value, metric: el.bdMetric.value, limit: el.bdLimit.value,
      compare: el.bdCompare.checked ? '1' : '0', range: el.range.value,
    });
    const account = el.accountId.value.trim() || el.account.value;
    if (account) state.set('account', account);
    if (el.range.value === 'custom') {
      state.set('from', el.from.value);
      if (el.to.value) state.set('to', el.to.value);
    }
    return state;
  }

  function restoreBreakdown() {
    if (!location.hash.startsWith('#breakdown?')) return false;
    const state = new URLSearchParams(location.hash.slice('#breakdown?'.length));
    const set = (select, value) => {
      if (value !== null && [...select.options].some((o) => o.value === value)) select.value = value;
    };
    set(el.bdSide, state.get('side'));
    set(el.bdBy, state.get('by'));
    set(el.bdMetric, state.get('metric'));
    set(el.bdLimit, state.get('limit'));
    set(el.range, state.get('range'));
    el.bdCompare.checked = state.get('compare') !== '0';
    if (state.get('account')) el.accountId.value = state.get('account');
    if (el.range.value === 'custom') {
      el.from.value = state.get('from') || '';
      el.to.value = state.get('to') || '';
    }
    toggleCustom();
    return true;
  }

  // Exact decimal strings compare as numbers; null sorts last whichever the direction.
  function compareCells(a, b, descending) {
    if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
    if (b === null || b === undefined) return -1;
    const x = typeof a === 'number' || /^-?\d+(\.\d+)?$/.test(a) ? Number(a) : a;
    const y = typeof b === 'number' || /^-?\d+(\.\d+)?$/.test(b) ? Number(b) : b;
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  }

  function keyText(row, keys) {
    if (row.other) return 'Other';
    return keys.map((k) => (row[k] === null || row[k] === undefined ? '–' : String(row[k]))).join(' ');
  }

  // Bars of the chosen metric, built with textContent and inline widths only.
  function drawBars(rows, keys, metric, compare) {
    const value = (r, m) => (r[m] === null || r[m] === undefined ? null : Number(r[m]));
    const max = Math.max(0, ...rows.flatMap((r) => [value(r, metric), compare ? value(r, 'previous_' + metric) : null])
      .filter((v) => v !== null));
    el.bdBars.replaceChildren(...rows.flatMap((r) => {
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = keyText(r, keys);
      const track = document.createElement('span');
      track.className = 'track';
      const pct = (v) => (max > 0 && v !== null ? (100 * v) / max : 0) + '%';
      if (compare) {
        const ghost = document.createElement('span');
        ghost.className = 'ghost';
        ghost.style.width = pct(value(r, 'previous_' + metric));
        ghost.title = 'previous period: ' + (r['previous_' + metric] ?? '–');
        track.append(ghost);
      }
      const bar = document.createElement('span');
      bar.className = 'bar' + (r.other ? ' other' : '');
      bar.style.width = pct(value(r, metric));
      track.append(bar);
      const shown = document.createElement('span');
      shown.className = 'value';
      shown.textContent = (r[metric] ?? '–') + (compare ? ' (was ' + (r['previous_' + metric] ?? '–') + ')' : '');
      return [label, track, shown];
    }));
    el.bdBars.hidden = false;
  }

  function drawBreakdownTable(keys, compare) {
    const columns = [...keys, ...BREAKDOWN_METRICS, ...(compare ? BREAKDOWN_METRICS.map((m) => 'previous_' + m) : [])];
    const head = el.breakdown.tHead.rows[0];
    head.replaceChildren(...columns.map((c) => {
      const th = document.createElement('th');
      th.scope = 'col';
      if (c === breakdownSort.column) th.setAttribute('aria-sort', breakdownSort.descending ? 'descending' : 'ascending');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = c.replace(/_/g, ' ');
      button.addEventListener('click', () => {
        breakdownSort = { column: c, descending: breakdownSort.column === c ? !breakdownSort.descending : true };
        drawBreakdownTable(keys, compare);
      });
      th.append(button);
      return th;
    }));
    // "Other" stays last: it is not a key.
    const rows = breakdownRows.filter((r) => !r.other);
    if (breakdownSort.column) rows.sort((a, b) => compareCells(a[breakdownSort.column], b[breakdownSort.column], breakdownSort.descending));
    rows.push(...breakdownRows.filter((r) => r.other));
    el.breakdown.tBodies[0].replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      if (r.other) tr.className = 'other';
      for (const c of columns) {
        const td = document.createElement('td');
        const v = r.other && keys.includes(c) ? (c === keys[0] ? 'Other' : '') : r[c];
        td.textContent = v === null || v === undefined ? '–' : String(v);
        if (v === null || v === undefined) td.className = 'null';
        else if (!keys.includes(c)) td.className = 'number';
        tr.append(td);
      }
      return tr;
    }));
    el.breakdown.hidden = false;
  }

  async function loadBreakdown(ev) {
    if (ev) ev.preventDefault();
    const account = el.accountId.value.trim() || el.account.value;
    if (!account) return sayBreakdown('Choose an account (load accounts) or paste an account id.', 'error');
    let range;
    try {
      range = timeRange();
    } catch (err) {
      return sayBreakdown(err.message, 'error');
    }
    history.replaceState(null, '', '#breakdown?' + breakdownState());
    const metric = el.bdMetric.value;
    const compare = el.bdCompare.checked;
    const keys = BREAKDOWN_KEYS[el.bdBy.value];
    sayBreakdown('Loading…', 'busy');
    el.bdLoad.disabled = true;
    try {
      const body = await api(el.bdSide.value + '-breakdown', {
        'account-id': account, 'from-time': range.from, 'to-time': range.to, by: el.bdBy.value,
        sort: '-' + metric, limit: el.bdLimit.value, compare: compare ? 'previous-period' : '',
      });
      el.bdBars.hidden = true;
      el.breakdown.hidden = true;
      if (Array.isArray(body)) return sayBreakdown('No data: the range starts in the future.', 'warn');
      const data = body.data || {};
      breakdownRows = Array.from({ length: body.rows || 0 }, (_, i) =>
        Object.fromEntries(Object.keys(data).map((c) => [c, data[c][i]])));
      if (body.other) breakdownRows.push({ ...body.other, other: true });
      if (!body.rows) return sayBreakdown('No calls in this range for this account.', 'warn');
      breakdownSort = { column: metric, descending: true };
      drawBars(breakdownRows, keys, metric, compare);
      drawBreakdownTable(keys, compare);
      const t = body.totals || {};
      sayBreakdown(body.rows + (body.rows === 1 ? ' row' : ' rows') + (body.other ? ' and Other' : '') + '; ' +
        t.total_calls + ' calls in all' + (compare ? ' (previous period ' + t.previous_total_calls + ')' : '') + '.', 'ok');
    } catch (err) {
      sayBreakdown(err instanceof ApiError ? err.message : 'Unexpected error: ' + err, 'error');
    } finally {
      el.bdLoad.disabled = false;
    }
  }

  function toggleSampling() {
    const report = reportOf(el.endpoint.value);
    el.sampling.closest('.field').hidden = !REPORTS[report].sampling;
    for (const o of el.sampling.querySelectorAll('option[data-statistics-only]')) {
      o.disabled = report !== 'statistics';
    }
    if (el.sampling.selectedOptions[0] && el.sampling.selectedOptions[0].disabled) el.sampling.value = 'day';
  }

  // --- wiring ------------------------------------------------------------------------------

  el.token.value = sessionStorage.getItem(TOKEN_KEY) || '';
  el.token.addEventListener('input', () => {
    const v = el.token.value.trim();
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    else sessionStorage.removeItem(TOKEN_KEY);
  });
  el.forget.addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    el.token.value = '';
    say('Token forgotten.', '');
  });
  el.loadAccounts.addEventListener('click', loadAccounts);
  el.range.addEventListener('change', toggleCustom);
  el.endpoint.addEventListener('change', toggleSampling);
  el.loadOutgoing.addEventListener('click', loadOutgoing);
  toggleSampling();
  el.form.addEventListener('submit', loadStats);
  el.bdForm.addEventListener('submit', loadBreakdown);
  // A shared address opens the view it names (loaded at once when a token is at hand).
  if (restoreBreakdown()) {
    $('breakdown-section').scrollIntoView();
    if (el.token.value.trim()) loadBreakdown();
  }

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const figs = el.charts.querySelectorAll('figure.chart');
      plots.forEach((p, i) => p.setSize({ width: chartWidth(figs[i]), height: 200 }));
    }, 150);
  });
})();
