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
  };

  const METRICS = {
    total_calls: { label: 'Total calls', unit: '', color: '#2563eb', fill: 'rgba(37,99,235,0.12)' },
    asr: { label: 'ASR', unit: ' %', color: '#16a34a', fill: 'rgba(22,163,74,0.10)' },
    acd: { label: 'ACD', unit: ' s', color: '#d97706', fill: 'rgba(217,119,6,0.10)' },
    cps: { label: 'CPS', unit: '/s', color: '#9333ea', fill: 'rgba(147,51,234,0.10)' },
  };
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
      return await resp.json();
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

  function drawCharts(data) {
    const t = data.t || [];
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

  function showTotals(totals, rows) {
    if (!totals) return;
    const parts = [
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
    say('Loading…', 'busy');
    el.load.disabled = true;
    try {
      const body = await api(el.endpoint.value, {
        'account-id': account, 'from-time': range.from, 'to-time': range.to, sampling: el.sampling.value,
      });
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
      drawCharts(body.data || {});
      showTotals(body.totals, rows);
      say('Loaded ' + rows + ' intervals, ' + range.from + ' → ' + (range.to || 'now') + '.', 'ok');
    } catch (err) {
      fail(err);
    } finally {
      el.load.disabled = false;
    }
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
