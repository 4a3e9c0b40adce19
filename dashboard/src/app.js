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

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const figs = el.charts.querySelectorAll('figure.chart');
      plots.forEach((p, i) => p.setSize({ width: chartWidth(figs[i]), height: 200 }));
    }, 150);
  });
})();
