// particle-auth-mock dashboard: plain JS, no build step, no dependency.
//
// Every call goes to this page's own origin (the page's Content-Security-Policy allows no
// other), with JSON bodies sent as `Content-Type: application/json`. With --control-secret
// the page asks for the secret once per tab, keeps it in sessionStorage (readable by this
// origin only) and sends it in the X-Mock-Control-Secret header; it is never put in a URL.
// The journal stream is read with fetch() streaming rather than EventSource, which cannot
// send a header.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const SECRET_KEY = 'particle-auth-mock.control-secret';
  const ROWS_KEPT = 1000;      // live requests kept in memory
  const ROWS_SHOWN = 200;      // of which rendered
  const CHART_SECONDS = 180;   // the chart's width in seconds

  // ----- world and calls ---------------------------------------------------------------

  /** '' for the default world, '/t/<id>' for a tenant. */
  let base = '';
  const fromPath = /^\/t\/([^/]+)\//.exec(location.pathname);
  if (fromPath) base = `/t/${fromPath[1]}`;

  let secret = sessionStorage.getItem(SECRET_KEY) || '';

  function headers(extra) {
    const h = { Accept: 'application/json', ...extra };
    if (secret) h['X-Mock-Control-Secret'] = secret;
    return h;
  }

  function showError(text) {
    $('error').textContent = text || '';
  }

  class Locked extends Error {}

  /** A control call on the selected world (`path` starts with /__mock/). */
  async function api(method, path, body, { root = false } = {}) {
    const init = { method, headers: headers(), cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch((root ? '' : base) + path, init);
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && /X-Mock-Control-Secret/.test(data.error || '')) {
      askForSecret();
      throw new Locked('control secret needed');
    }
    if (!response.ok) {
      throw new Error(data.error_description || data.error || `${response.status}`);
    }
    return data;
  }

  function askForSecret() {
    $('secret-form').hidden = false;
    $('conn').textContent = 'locked';
  }

  $('secret-form').addEventListener('submit', (e) => {
    e.preventDefault();
    secret = $('secret').value;
    sessionStorage.setItem(SECRET_KEY, secret);
    $('secret').value = '';
    $('secret-form').hidden = true;
    restart();
  });

  /** Runs `fn` now and every `ms`, reporting its errors (one timer per panel). */
  function every(ms, fn) {
    const run = () => fn().then(() => showError(''), (e) => { if (!(e instanceof Locked)) showError(e.message); });
    run();
    return setInterval(run, ms);
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') node.className = v;
      // Through the CSSOM: the page's CSP refuses style attributes.
      else if (k === 'style') Object.assign(node.style, v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null) node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  // ----- tenants -----------------------------------------------------------------------

  async function refreshTenants() {
    const { tenants } = await api('GET', '/__mock/tenants', undefined, { root: true });
    const select = $('tenant');
    const want = base;
    const values = ['', ...tenants.map((t) => `/t/${t.id}`)];
    if ([...select.options].map((o) => o.value).join() !== values.join()) {
      select.replaceChildren(...values.map((v) => el('option', { value: v }, v ? `tenant ${v.slice(3)}` : 'default world')));
    }
    select.value = values.includes(want) ? want : '';
    if (select.value !== base) { base = select.value; restart(); }
  }

  $('tenant').addEventListener('change', () => { base = $('tenant').value; restart(); });
  $('tenant-new').addEventListener('click', async () => {
    try {
      const t = await api('POST', '/__mock/tenants', undefined, { root: true });
      base = `/t/${t.id}`;
      await refreshTenants();
      restart();
    } catch (e) { if (!(e instanceof Locked)) showError(e.message); }
  });

  // ----- live requests and the chart (from the journal stream) --------------------------

  let rows = [];
  let counts = { seen: 0, r429: 0, dropped: 0 };
  let buckets = new Map(); // unix second -> [requests, 429s]
  let stream = null;       // AbortController of the open stream
  let dirty = true;

  function onEntry(entry) {
    rows.push(entry);
    if (rows.length > ROWS_KEPT) rows.splice(0, rows.length - ROWS_KEPT);
    counts.seen += 1;
    // A refused stream may answer 529 (--stream-limit-status): a rate-limit refusal too.
    const limited = entry.status === 429 || entry.status === 529;
    if (limited) counts.r429 += 1;
    const second = Math.floor(Date.now() / 1000);
    const bucket = buckets.get(second) || [0, 0];
    bucket[0] += 1;
    if (limited) bucket[1] += 1;
    buckets.set(second, bucket);
    dirty = true;
  }

  /** Reads server-sent events from a fetch() body: calls onFrame(event name, parsed data) per frame. */
  async function readFrames(response, onFrame) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message'; let data = '';
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '');
        }
        if (data) onFrame(event, JSON.parse(data));
      }
    }
  }

  /** The journal stream: one frame per answered request; reconnects after 1 s. */
  async function openStream() {
    const controller = new AbortController();
    stream = controller;
    $('conn').textContent = 'connecting…';
    try {
      const response = await fetch(`${base}/__mock/journal/stream?backlog=100`, {
        headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store', signal: controller.signal,
      });
      if (response.status === 401) { askForSecret(); return; }
      if (!response.ok || !response.body) throw new Error(`journal stream: ${response.status}`);
      $('conn').textContent = 'live';
      $('conn').className = 'badge live';
      await readFrames(response, (event, parsed) => {
        if (event === 'dropped') { counts.dropped += parsed.dropped; dirty = true; } else onEntry(parsed);
      });
    } catch (e) {
      if (controller.signal.aborted) return;
      showError(e.message);
    }
    if (stream === controller) {
      $('conn').textContent = 'reconnecting…';
      $('conn').className = 'badge';
      setTimeout(() => { if (stream === controller) openStream(); }, 1000);
    }
  }

  function statusMatches(filter, status) {
    filter = filter.trim().toLowerCase();
    if (!filter) return true;
    if (status === null) return false;
    const m = /^([1-5])xx$/.exec(filter);
    return m ? Math.floor(status / 100) === Number(m[1]) : String(status) === filter;
  }

  function renderRequests() {
    const fs = $('f-status').value; const fc = $('f-client').value.trim();
    const shown = [];
    for (let i = rows.length - 1; i >= 0 && shown.length < ROWS_SHOWN; i -= 1) {
      const r = rows[i];
      if (statusMatches(fs, r.status) && (!fc || r.client === fc)) shown.push(r);
    }
    $('requests').tBodies[0].replaceChildren(...shown.map((r) => el('tr', { class: r.status === 429 || r.status === 529 ? 'r429' : r.status >= 400 ? 'r4xx' : '' },
      el('td', {}, r.id), el('td', {}, r.time.slice(11, 23)), el('td', {}, r.method), el('td', { class: 'path' }, r.path),
      el('td', {}, r.client), el('td', { class: 'status' }, r.dropped ? 'dropped' : r.status), el('td', {}, r.reason || ''))));
    $('seen').textContent = counts.seen;
    $('seen-429').textContent = counts.r429;
    $('dropped').textContent = counts.dropped;
  }

  function drawChart() {
    const canvas = $('chart');
    const ctx = canvas.getContext('2d');
    const w = canvas.width; const h = canvas.height;
    const now = Math.floor(Date.now() / 1000);
    for (const s of buckets.keys()) if (s <= now - CHART_SECONDS) buckets.delete(s);
    let max = 1;
    for (const [req] of buckets.values()) max = Math.max(max, req);
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = '#f7f7f9'; ctx.fillRect(0, 0, w, h);
    ctx.strokeStyle = '#ddd'; ctx.beginPath();
    for (let i = 1; i < 4; i += 1) { ctx.moveTo(0, (h * i) / 4); ctx.lineTo(w, (h * i) / 4); }
    ctx.stroke();
    const bar = w / CHART_SECONDS;
    for (let i = 0; i < CHART_SECONDS; i += 1) {
      const [req, r429] = buckets.get(now - CHART_SECONDS + 1 + i) || [0, 0];
      const x = i * bar;
      const hr = (req / max) * (h - 14); const h4 = (r429 / max) * (h - 14);
      ctx.fillStyle = '#4a7bd0'; ctx.fillRect(x, h - hr, Math.max(bar - 1, 1), hr);
      ctx.fillStyle = '#d9453b'; ctx.fillRect(x, h - h4, Math.max(bar - 1, 1), h4);
    }
    ctx.fillStyle = '#333'; ctx.font = '11px sans-serif';
    ctx.fillText(`max ${max}/s`, 4, 11);
  }

  $('requests-clear').addEventListener('click', () => {
    rows = []; counts = { seen: 0, r429: 0, dropped: 0 }; buckets = new Map(); dirty = true;
  });
  for (const id of ['f-status', 'f-client']) $(id).addEventListener('input', () => { dirty = true; });
  setInterval(() => { if (dirty) { dirty = false; renderRequests(); } }, 250);
  setInterval(drawChart, 1000);

  // ----- rate limits -------------------------------------------------------------------

  let settingsShown = null;

  function limitCount(limit) {
    const n = parseInt(String(limit).split('/')[0], 10);
    return Number.isFinite(n) && n > 0 ? n : 1;
  }

  async function refreshLimits() {
    const [{ clients }, summary] = await Promise.all([
      api('GET', '/__mock/rate-limits/clients'), api('GET', '/__mock/rate-limits'),
    ]);
    $('tracked').textContent = `${summary.tracked_clients} client(s) tracked, ${summary.untracked_admissions} untracked admissions`;
    $('clients').replaceChildren(...(clients.length ? clients.map((c) => el('div', { class: 'client' },
      el('div', { class: 'client-head' }, el('b', {}, c.client),
        c.blocked_for_secs ? el('span', { class: 'badge lockout' }, `locked out for ${c.blocked_for_secs} s`) : '',
        c.failure_streak ? el('span', { class: 'badge' }, `${c.failure_streak} failed login(s) in a row`) : ''),
      ...c.counters.map((k) => {
        const max = limitCount(k.limit);
        const full = k.remaining === 0;
        return el('div', { class: `counter${full ? ' full' : ''}`, 'data-client': c.client, 'data-rule': k.rule },
          el('span', { class: 'rule' }, k.rule),
          el('span', { class: 'bar' }, el('span', { class: 'fill', style: { width: `${Math.min(100, (100 * k.count) / max)}%` } })),
          el('span', { class: 'count' }, `${k.count} / ${k.limit}`),
          el('span', { class: 'reset' }, full ? `full, frees in ${k.reset_secs} s` : `${k.remaining} left, frees in ${k.reset_secs} s`));
      }))) : [el('p', { class: 'muted' }, 'No client tracked yet.')]));
    const s = summary.settings;
    const key = JSON.stringify(s);
    if (key !== settingsShown && !$('limits-form').contains(document.activeElement)) {
      settingsShown = key;
      $('rl-enabled').checked = s.enabled;
      $('rl-algorithm').value = s.algorithm;
      $('rl-headers').value = s.headers;
      $('rl-stream-status').value = String(s.stream_limit_status ?? 429);
      $('rl-rules').replaceChildren(...Object.entries(s.rules).map(([name, limit]) => el('label', {},
        name, el('input', { 'data-rule': name, value: limit, size: 10, 'data-was': limit }))));
    }
  }

  $('limits-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const rules = {};
    for (const input of $('rl-rules').querySelectorAll('input')) {
      if (input.value !== input.dataset.was) rules[input.dataset.rule] = input.value.trim();
    }
    const body = {
      enabled: $('rl-enabled').checked, algorithm: $('rl-algorithm').value, headers: $('rl-headers').value,
      stream_limit_status: Number($('rl-stream-status').value),
    };
    if (Object.keys(rules).length) body.rules = rules;
    $('limits-status').textContent = 'applying…';
    try {
      await api('PATCH', '/__mock/rate-limits', body);
      settingsShown = null;
      $('limits-status').textContent = 'applied';
      document.activeElement.blur();
      await refreshLimits();
    } catch (err) { $('limits-status').textContent = err.message; }
  });

  // ----- clock -------------------------------------------------------------------------

  let clock = null; // { now_ms, frozen, at: Date.now() when read }

  function showClock() {
    if (!clock) return;
    const now = clock.frozen ? clock.now_ms : clock.now_ms + (Date.now() - clock.at);
    $('clock-now').textContent = new Date(now).toISOString();
    $('clock-frozen').textContent = clock.frozen ? 'frozen' : 'running';
    $('clock-frozen').className = `badge${clock.frozen ? ' lockout' : ' live'}`;
  }

  async function refreshClock(state) {
    const c = state || await api('GET', '/__mock/clock');
    clock = { ...c, at: Date.now() };
    showClock();
  }
  setInterval(showClock, 200);

  async function clockCall(path, body) {
    try { await refreshClock(await api('POST', path, body)); showError(''); } catch (e) { if (!(e instanceof Locked)) showError(e.message); }
    refreshTotp().catch(() => {});
  }
  $('clock-advance').addEventListener('submit', (e) => { e.preventDefault(); clockCall('/__mock/clock/advance', { duration: $('advance-by').value.trim() }); });
  $('clock-set').addEventListener('submit', (e) => {
    e.preventDefault();
    const at = $('set-at').value.trim();
    clockCall('/__mock/clock/set', { at: /^\d+$/.test(at) ? Number(at) : at });
  });
  $('clock-freeze').addEventListener('click', () => clockCall('/__mock/clock/freeze'));
  $('clock-resume').addEventListener('click', () => clockCall('/__mock/clock/resume'));

  // ----- users: TOTP codes and tokens --------------------------------------------------

  let mfaUsers = [];
  let tokenPage = 1;
  const PER_PAGE = 10;

  async function refreshUsers() {
    const { users } = await api('GET', '/__mock/users');
    mfaUsers = users.filter((u) => u.mfa_enabled).map((u) => u.email);
    await refreshTotp();
  }

  async function refreshTotp() {
    const codes = await Promise.all(mfaUsers.map((email) => api('GET', `/__mock/users/${encodeURIComponent(email)}/totp`)
      .then((c) => ({ email, ...c }), () => null)));
    const shown = codes.filter(Boolean);
    $('totp').replaceChildren(...(shown.length ? shown.map((c) => el('div', { class: 'totp', 'data-email': c.email },
      el('span', { class: 'email' }, c.email),
      el('code', { class: 'code' }, c.code),
      el('span', { class: 'bar small' }, el('span', { class: 'fill', style: { width: `${(100 * c.seconds_remaining) / 30}%` } })),
      el('span', { class: 'remaining' }, `${c.seconds_remaining} s`),
      el('span', { class: 'muted' }, `next ${c.next_code}`))) : [el('p', { class: 'muted' }, 'No MFA user.')]));
  }

  async function refreshTokens() {
    const { tokens, total } = await api('GET', `/__mock/tokens?page=${tokenPage}&per_page=${PER_PAGE}`);
    const pages = Math.max(1, Math.ceil(total / PER_PAGE));
    if (tokenPage > pages) { tokenPage = pages; return refreshTokens(); }
    $('tokens-total').textContent = `${total} live`;
    $('tokens-page').textContent = `${tokenPage} / ${pages}`;
    $('tokens').tBodies[0].replaceChildren(...tokens.map((t) => el('tr', {},
      el('td', { title: t.token }, el('code', {}, `${t.token.slice(0, 6)}…${t.token.slice(-4)}`)),
      el('td', { class: 'owner' }, `${t.owner}${t.owner_type === 'user' ? '' : ` (${t.owner_type})`}`),
      el('td', {}, t.expires_at ? t.expires_at.slice(0, 19).replace('T', ' ') : 'never'),
      el('td', {}, el('button', { type: 'button', class: 'revoke', onclick: () => revoke(t.token) }, 'Revoke')))));
  }

  async function revoke(token) {
    try { await api('DELETE', `/__mock/tokens/${encodeURIComponent(token)}`); await refreshTokens(); } catch (e) { if (!(e instanceof Locked)) showError(e.message); }
  }
  $('tokens-prev').addEventListener('click', () => { tokenPage = Math.max(1, tokenPage - 1); refreshTokens().catch(() => {}); });
  $('tokens-next').addEventListener('click', () => { tokenPage += 1; refreshTokens().catch(() => {}); });

  // ----- faults ------------------------------------------------------------------------

  async function refreshFaults() {
    const { faults } = await api('GET', '/__mock/faults');
    $('faults').tBodies[0].replaceChildren(...(faults.length ? faults.map((f) => el('tr', {},
      el('td', {}, f.id), el('td', {}, f.method || '*'), el('td', { class: 'path' }, f.path),
      el('td', {}, [f.drop ? 'drop' : f.status ? `answer ${f.status}` : 'pass', f.delay_ms ? `after ${f.delay_ms} ms` : '',
        f.fraction ? `${f.fraction * 100}% (seed ${f.seed || 0})` : ''].filter(Boolean).join(' ')),
      el('td', {}, f.remaining === null || f.remaining === undefined ? '∞' : f.remaining), el('td', {}, f.hits))) : [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No fault.'))]));
  }

  $('fault-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const spec = { path: $('fault-path').value.trim() };
    const method = $('fault-method').value.trim();
    if (method) spec.method = method.toUpperCase();
    for (const [id, field] of [['fault-status', 'status'], ['fault-times', 'times'], ['fault-delay', 'delay_ms']]) {
      if ($(id).value !== '') spec[field] = Number($(id).value);
    }
    if ($('fault-drop').checked) spec.drop = true;
    try { const f = await api('POST', '/__mock/faults', spec); $('faults-status').textContent = `fault #${f.id} added`; await refreshFaults(); } catch (err) { $('faults-status').textContent = err.message; }
  });
  $('faults-clear').addEventListener('click', async () => {
    try { await api('DELETE', '/__mock/faults'); $('faults-status').textContent = 'cleared'; await refreshFaults(); } catch (err) { $('faults-status').textContent = err.message; }
  });

  // ----- devices: online/offline toggle, variables with their values, recent calls -------

  /** Recent calls shown (the mock keeps the last 1,000). */
  const CALLS_SHOWN = 20;

  async function refreshDevices() {
    const [{ devices }, { calls }] = await Promise.all([
      api('GET', '/__mock/devices'), api('GET', '/__mock/devices/calls')]);
    $('devices').tBodies[0].replaceChildren(...(devices.length ? devices.map((d) => el('tr', { 'data-id': d.id },
      el('td', {}, el('b', {}, d.name || '(unnamed)'), el('br'), el('small', { class: 'muted' }, d.id)),
      el('td', {}, el('button', {
        type: 'button', class: d.online ? 'online' : 'offline', title: `PATCH /__mock/devices/${d.id}`,
        onclick: () => setOnline(d.id, !d.online),
      }, d.online ? 'online' : 'offline')),
      el('td', { class: 'vars' }, Object.entries(d.variables).map(([n, v]) => `${n} = ${JSON.stringify(v.value)} (${v.type})`).join('\n')),
      el('td', {}, d.functions.map((f) => f.name).join(', ')))) : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No device.'))]));
    const recent = calls.slice(-CALLS_SHOWN).reverse();
    $('device-calls').tBodies[0].replaceChildren(...(recent.length ? recent.map((c) => el('tr', {},
      el('td', {}, new Date(c.at).toISOString()), el('td', {}, c.device_id), el('td', {}, c.function),
      el('td', { class: 'path' }, c.argument), el('td', {}, c.caller),
      el('td', {}, c.return_value === null ? 'offline' : c.return_value))) : [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No call yet.'))]));
  }

  // ----- live events (GET /__mock/events/stream: the same bus as the Particle streams) --

  const EVENTS_KEPT = 200;
  let liveEvents = [];
  let eventsStream = null; // AbortController of the open events stream

  function renderEvents() {
    const shown = liveEvents.slice().reverse();
    $('live-events').tBodies[0].replaceChildren(...(shown.length ? shown.map((e) => el('tr', { class: `ev-${e.kind}`, 'data-seq': e.seq },
      el('td', {}, e.seq), el('td', {}, e.published_at.slice(11, 23)), el('td', {}, el('span', { class: `badge ${e.kind}` }, e.kind)),
      el('td', {}, e.name), el('td', { class: 'path' }, e.data === null ? 'null' : e.data), el('td', {}, e.coreid),
      el('td', {}, e.public ? 'public' : 'private'), el('td', {}, e.product_id === null ? '' : e.product_id)))
      : [el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No event yet.'))]));
  }

  async function openEventsStream() {
    const controller = new AbortController();
    eventsStream = controller;
    try {
      const response = await fetch(`${base}/__mock/events/stream?backlog=50`, {
        headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store', signal: controller.signal,
      });
      if (response.status === 401) { askForSecret(); return; }
      if (!response.ok || !response.body) throw new Error(`events stream: ${response.status}`);
      // A reconnection replays the backlog: keep each sequence number once.
      await readFrames(response, (_, e) => {
        if (liveEvents.some((k) => k.seq === e.seq)) return;
        liveEvents.push(e);
        if (liveEvents.length > EVENTS_KEPT) liveEvents.splice(0, liveEvents.length - EVENTS_KEPT);
        renderEvents();
      });
    } catch (e) {
      if (controller.signal.aborted) return;
      showError(e.message);
    }
    if (eventsStream === controller) {
      setTimeout(() => { if (eventsStream === controller) openEventsStream(); }, 1000);
    }
  }

  async function setOnline(id, online) {
    try { await api('PATCH', `/__mock/devices/${id}`, { online }); await refreshDevices(); } catch (err) { showError(err.message); }
  }

  // ----- create a token (the Particle docs' form, against this mock's /oauth/token) ------

  let mfaToken = null;

  async function tokenCall(fields) {
    const response = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      // The public `particle` client, as the docs' form uses.
      headers: { Authorization: `Basic ${btoa('particle:particle')}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(fields),
      cache: 'no-store',
    });
    return { status: response.status, body: await response.json().catch(() => ({})) };
  }

  function showToken(body) {
    $('tk-status').textContent = 'Token created.';
    $('tk-status').className = 'ok';
    $('tk-result').hidden = false;
    $('tk-result').textContent = JSON.stringify(body, null, 2);
    mfaToken = null;
    refreshTokens().catch(() => {});
  }

  function tokenError(body, status) {
    $('tk-status').textContent = `${status} ${body.error || ''}: ${body.error_description || ''}`;
    $('tk-status').className = 'err';
  }

  async function submitOtp(otp) {
    const { status, body } = await tokenCall({ grant_type: 'urn:custom:mfa-otp', mfa_token: mfaToken, otp });
    if (status === 200) showToken(body); else tokenError(body, status);
  }

  $('token-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('tk-result').hidden = true;
    const otp = $('tk-otp').value.trim();
    try {
      if (mfaToken && otp) { await submitOtp(otp); return; }
      const { status, body } = await tokenCall({
        grant_type: 'password', username: $('tk-email').value.trim(), password: $('tk-password').value,
        expires_in: $('tk-never').checked ? '0' : String($('tk-expires').value || 3600),
      });
      if (status === 200) { showToken(body); return; }
      if (status === 403 && body.error === 'mfa_required') {
        mfaToken = body.mfa_token;
        if (otp) { await submitOtp(otp); return; }
        $('tk-status').textContent = 'This user has MFA: enter the code (see Users) and submit again.';
        $('tk-status').className = 'warn';
        $('tk-otp').focus();
        return;
      }
      tokenError(body, status);
    } catch (err) { tokenError({ error: 'network', error_description: err.message }, 0); }
  });
  $('tk-never').addEventListener('change', () => { $('tk-expires').disabled = $('tk-never').checked; });

  // ----- start, and restart on a change of world or secret ------------------------------

  let timers = [];
  function restart() {
    for (const t of timers) clearInterval(t);
    if (stream) { stream.abort(); stream = null; }
    if (eventsStream) { eventsStream.abort(); eventsStream = null; }
    liveEvents = []; renderEvents();
    rows = []; counts = { seen: 0, r429: 0, dropped: 0 }; buckets = new Map(); dirty = true;
    settingsShown = null; tokenPage = 1; mfaToken = null;
    timers = [
      every(5000, refreshTenants),
      every(1000, refreshLimits),
      every(2000, () => refreshClock()),
      every(5000, refreshUsers),
      every(1000, refreshTotp),
      every(3000, refreshTokens),
      every(3000, refreshFaults),
      every(2000, refreshDevices),
    ];
    openStream();
    openEventsStream();
  }
  restart();
})();
