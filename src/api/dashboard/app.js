// abono dashboard: plain JS, no framework, no inline handlers (works under CSP script-src 'self').
// Reads GET /v1/dashboard/summary with the viewer key the person pasted (kept in sessionStorage only).
'use strict';
(function () {
  var KEY_STORE = 'abono.viewerKey';
  var SVG = 'http://www.w3.org/2000/svg';
  var REFRESH_MS = 30000;
  var timer = null;

  var $ = function (sel) { return document.querySelector(sel); };
  var fig = function (name) { return document.querySelector('[data-figure="' + name + '"]'); };

  /** "1234567.8" → "1,234,567.80", on the decimal string itself (money is never a float here). */
  function money(s) {
    var str = String(s == null ? '0' : s);
    var neg = str.charAt(0) === '-';
    if (neg) str = str.slice(1);
    var parts = str.split('.');
    var frac = ((parts[1] || '') + '00').slice(0, 2);
    var int = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + int + '.' + frac;
  }
  function count(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function pct(rate) { return (Math.round(rate * 10000) / 100).toFixed(2) + ' %'; }
  function duration(ms) {
    if (ms == null) return '—';
    var s = Math.round(ms / 1000);
    if (s < 60) return (ms < 1000 ? ms + ' ms' : s + ' s');
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function when(iso) { return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC') : '—'; }

  function setFigure(name, text, value) {
    var node = fig(name);
    node.textContent = text;
    if (value !== undefined) node.setAttribute('data-value', String(value));
  }

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function s(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svgRoot(w, hgt, label) {
    return s('svg', { viewBox: '0 0 ' + w + ' ' + hgt, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' });
  }

  // ---- charts --------------------------------------------------------------------------------------------

  var BUCKET_COLORS = { current: '#16a34a', '1': '#facc15', '2': '#f59e0b', '3': '#ea580c', '4+': '#dc2626' };

  function bucketsChart(buckets) {
    var W = 560, rowH = 34, top = 8, left = 74, right = 150;
    var svg = svgRoot(W, top * 2 + rowH * buckets.length, 'Credits per arrears bucket');
    var max = Math.max.apply(null, buckets.map(function (b) { return b.credits; }).concat([1]));
    buckets.forEach(function (b, i) {
      var y = top + i * rowH;
      var w = Math.max(b.credits > 0 ? 3 : 0, (W - left - right) * b.credits / max);
      svg.appendChild(s('text', { x: left - 10, y: y + 20, 'text-anchor': 'end' }, b.bucket === 'current' ? 'current' : b.bucket + ' overdue'));
      svg.appendChild(s('rect', { x: left, y: y + 6, width: W - left - right, height: rowH - 12, rx: 4, fill: '#f2f4f7' }));
      var bar = s('rect', { x: left, y: y + 6, width: w, height: rowH - 12, rx: 4, fill: BUCKET_COLORS[b.bucket] || '#2563eb', 'data-bucket': b.bucket });
      bar.appendChild(s('title', {}, b.bucket + ': ' + b.credits + ' credits, balance ' + money(b.balance)));
      svg.appendChild(bar);
      svg.appendChild(s('text', { x: W - right + 10, y: y + 21, class: 'value', 'data-bucket-count': b.bucket }, count(b.credits) + (b.credits === 1 ? ' credit' : ' credits')));
    });
    return svg;
  }

  function collectionsChart(days) {
    var W = 560, H = 230, left = 58, right = 10, top = 14, bottom = 34;
    var svg = svgRoot(W, H, 'Collections per day');
    // Chart geometry only: heights are proportional, so a float is fine here; every label shows the decimal string.
    var amounts = days.map(function (d) { return parseFloat(d.amount); });
    var max = Math.max.apply(null, amounts.concat([0]));
    var niceMax = max > 0 ? niceCeil(max) : 1;
    var plotW = W - left - right, plotH = H - top - bottom;
    for (var g = 0; g <= 4; g++) {
      var gy = top + plotH - plotH * g / 4;
      svg.appendChild(s('line', { x1: left, x2: W - right, y1: gy, y2: gy, stroke: '#eef0f3' }));
      svg.appendChild(s('text', { x: left - 6, y: gy + 4, 'text-anchor': 'end' }, axisMoney(niceMax * g / 4)));
    }
    var slot = plotW / days.length, barW = Math.max(2, slot * 0.7);
    days.forEach(function (d, i) {
      var x = left + i * slot + (slot - barW) / 2;
      var bh = amounts[i] > 0 ? Math.max(2, plotH * amounts[i] / niceMax) : 0;
      var bar = s('rect', { x: x, y: top + plotH - bh, width: barW, height: bh, rx: 2, fill: '#2563eb', 'data-date': d.date, 'data-amount': d.amount });
      bar.appendChild(s('title', {}, d.date + ': ' + money(d.amount) + ' in ' + d.count + ' payments'));
      svg.appendChild(bar);
      if (i % 5 === 0 || i === days.length - 1) {
        svg.appendChild(s('text', { x: left + i * slot + slot / 2, y: H - bottom + 16, 'text-anchor': 'middle' }, d.date.slice(5)));
      }
    });
    svg.appendChild(s('line', { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, stroke: '#cbd2d9' }));
    return svg;
  }
  function niceCeil(v) {
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = [1, 2, 2.5, 5, 10].find(function (k) { return k * p >= v; });
    return m * p;
  }
  function axisMoney(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + 'M';
    if (v >= 1e3) return (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + 'k';
    return String(Math.round(v));
  }

  var OUTCOMES = ['APPLIED', 'REJECTED', 'FAILED', 'REVERSED', 'PENDING'];
  var OUTCOME_COLORS = { APPLIED: '#16a34a', REJECTED: '#d97706', FAILED: '#dc2626', REVERSED: '#7c3aed', PENDING: '#98a2b3' };

  function outcomesChart(byStatus) {
    var W = 560, H = 34;
    var svg = svgRoot(W, H, 'Payment outcomes');
    var total = OUTCOMES.reduce(function (a, k) { return a + (byStatus[k] || 0); }, 0);
    svg.appendChild(s('rect', { x: 0, y: 4, width: W, height: H - 8, rx: 6, fill: '#f2f4f7' }));
    var x = 0;
    OUTCOMES.forEach(function (k) {
      var n = byStatus[k] || 0;
      if (!total || !n) return;
      var w = W * n / total;
      var r = s('rect', { x: x, y: 4, width: w, height: H - 8, fill: OUTCOME_COLORS[k] });
      r.appendChild(s('title', {}, k + ': ' + n));
      svg.appendChild(r);
      x += w;
    });
    return svg;
  }

  // ---- panels -------------------------------------------------------------------------------------------

  function render(d) {
    $('#as-of').textContent = 'as of ' + d.asOf;
    $('#refreshed').textContent = 'updated ' + new Date().toLocaleTimeString();
    var p = d.portfolio;
    setFigure('balance', money(p.balance), p.balance);
    setFigure('credits', count(p.activeCredits) + ' active of ' + count(p.credits) + ' credits', p.credits);
    setFigure('overdue', money(p.overdueAmount), p.overdueAmount);
    var share = parseFloat(p.balance) > 0 ? parseFloat(p.overdueAmount) / parseFloat(p.balance) : 0;
    setFigure('overdue-share', pct(share) + ' of the outstanding balance');
    setFigure('collected', money(d.collections.total.amount), d.collections.total.amount);
    setFigure('collected-count', count(d.collections.total.count) + ' applied payments, ' + d.collections.from + ' – ' + d.collections.to, d.collections.total.count);
    setFigure('failure-rate', pct(d.outcomes.failureRate), d.outcomes.failureRate);
    setFigure('failure-note', count(d.outcomes.byStatus.FAILED) + ' failed · ' + count(d.outcomes.byStatus.REJECTED) + ' rejected (' + pct(d.outcomes.rejectionRate) + ') of ' + count(d.outcomes.terminal) + ' finished');

    replace('#buckets-chart', bucketsChart(p.buckets));
    var tb = $('#buckets-table tbody');
    tb.textContent = '';
    p.buckets.forEach(function (b) {
      tb.appendChild(h('tr', { 'data-bucket': b.bucket }, [
        h('td', {}, [h('span', { class: 'swatch', 'data-color': b.bucket }), document.createTextNode(b.bucket === 'current' ? 'current' : b.bucket + ' instalment' + (b.bucket === '1' ? '' : 's') + ' overdue')]),
        h('td', { class: 'num', 'data-col': 'credits', text: count(b.credits) }),
        h('td', { class: 'num', 'data-col': 'balance', 'data-value': b.balance, text: money(b.balance) }),
        h('td', { class: 'num', 'data-col': 'overdue', 'data-value': b.overdueAmount, text: money(b.overdueAmount) }),
      ]));
    });
    Array.prototype.forEach.call(document.querySelectorAll('.swatch[data-color]'), function (sw) {
      sw.style.background = BUCKET_COLORS[sw.getAttribute('data-color')];
    });

    $('#collections-range').textContent = d.collections.from + ' – ' + d.collections.to + ' · ' + money(d.collections.total.amount) + ' in ' + count(d.collections.total.count) + ' payments';
    replace('#collections-chart', collectionsChart(d.collections.days));
    renderCollectionStats(d.collections);

    replace('#outcomes-chart', outcomesChart(d.outcomes.byStatus));
    var ob = $('#outcomes-table tbody');
    ob.textContent = '';
    var sum = OUTCOMES.reduce(function (a, k) { return a + (d.outcomes.byStatus[k] || 0); }, 0);
    OUTCOMES.forEach(function (k) {
      var n = d.outcomes.byStatus[k] || 0;
      ob.appendChild(h('tr', { 'data-outcome': k }, [
        h('td', {}, [h('span', { class: 'swatch sw-' + k }), document.createTextNode(k)]),
        h('td', { class: 'num', 'data-col': 'count', text: count(n) }),
        h('td', { class: 'num', text: sum ? pct(n / sum) : '—' }),
      ]));
    });

    renderRecalc(d.lastRecalculation);
    renderVerification(d.verification);
    renderStuck(d.stuck);
  }

  function renderCollectionStats(c) {
    var box = $('#collections-stats');
    box.textContent = '';
    var active = c.days.filter(function (d) { return d.count > 0; });
    // Picking the busiest day compares floats; what is shown is the day's decimal string.
    var busiest = active.slice().sort(function (a, b) { return parseFloat(b.amount) - parseFloat(a.amount); })[0];
    [
      ['days with collections', active.length + ' of ' + c.days.length],
      ['busiest day', busiest ? busiest.date.slice(5) + ' · ' + money(busiest.amount) : '—'],
      ['today', (function (t) { return t ? money(t.amount) + ' · ' + t.count + (t.count === 1 ? ' payment' : ' payments') : '—'; })(c.days[c.days.length - 1])],
    ].forEach(function (kv) {
      box.appendChild(h('div', {}, [h('dt', { text: kv[0] }), h('dd', { text: kv[1] })]));
    });
  }

  function replace(sel, node) {
    var box = $(sel);
    box.textContent = '';
    box.appendChild(node);
  }

  function renderRecalc(r) {
    var box = $('#recalc');
    box.textContent = '';
    if (!r) {
      box.appendChild(h('p', { class: 'empty', text: 'No recalculation has run yet.' }));
      return;
    }
    var good = r.inconsistent === 0 && r.errors === 0;
    box.appendChild(h('p', {}, [
      h('span', { class: 'pill ' + (r.status === 'COMPLETED' ? (good ? 'good' : 'bad') : ''), 'data-figure': 'recalc-status', text: r.status }),
      document.createTextNode('  ' + r.mode + ' · finished ' + when(r.finishedAt)),
    ]));
    var dl = h('dl', { class: 'recalc' });
    [['scanned', r.scanned], ['inconsistent', r.inconsistent], ['corrected', r.corrected], ['errors', r.errors], ['duration', duration(r.durationMs)], ['started', when(r.startedAt).slice(5, 16)]].forEach(function (kv) {
      dl.appendChild(h('div', {}, [h('dt', { text: kv[0] }), h('dd', { 'data-figure': 'recalc-' + kv[0], text: typeof kv[1] === 'number' ? count(kv[1]) : kv[1] })]));
    });
    box.appendChild(dl);
    box.appendChild(h('p', { class: 'empty mono', text: r.id }));
  }

  // The book's last verification: credits proven in the window, never proven, the oldest proof.
  function renderVerification(v) {
    var box = $('#verification');
    box.textContent = '';
    if (!v) return;
    var whole = v.verifiedInLastDays === v.credits;
    box.appendChild(h('p', {}, [
      h('span', { class: 'pill ' + (whole ? 'good' : 'bad'), 'data-figure': 'verified-share', text: count(v.verifiedInLastDays) + ' of ' + count(v.credits) }),
      document.createTextNode('  verified in the last ' + v.days + ' days'),
    ]));
    var dl = h('dl', { class: 'recalc' });
    [['never verified', count(v.neverVerified)], ['changed since', count(v.changedSinceVerification)], ['oldest', v.oldestVerification ? when(v.oldestVerification.verifiedAt).slice(0, 16) : '—']].forEach(function (kv) {
      dl.appendChild(h('div', {}, [h('dt', { text: kv[0] }), h('dd', { 'data-figure': 'verification-' + kv[0].replace(/ /g, '-'), text: kv[1] })]));
    });
    box.appendChild(dl);
  }

  function renderStuck(st) {
    var box = $('#stuck');
    box.textContent = '';
    if (st && st.error) {
      box.appendChild(h('p', { class: 'error', text: 'Temporal could not be asked: ' + st.error }));
      return;
    }
    if (!st || st.operations.length === 0) {
      box.appendChild(h('p', { class: 'empty', 'data-figure': 'stuck-count', 'data-value': '0', text: 'None: every operation finished within 60 s.' }));
      return;
    }
    box.appendChild(h('p', { class: 'empty', 'data-figure': 'stuck-count', 'data-value': String(st.total), text: st.total + ' running longer than 60 s' + (st.total > st.shown ? ' (showing ' + st.shown + ')' : '') }));
    var table = h('table', { class: 'figures', id: 'stuck-table' }, [
      h('thead', {}, [h('tr', {}, ['kind', 'workflow', 'current step', 'attempt', 'running for', 'last failure'].map(function (t) { return h('th', { text: t }); }))]),
    ]);
    var body = h('tbody');
    st.operations.forEach(function (o) {
      var link = o.temporalUrl ? h('a', { href: o.temporalUrl, target: '_blank', rel: 'noopener noreferrer', class: 'mono', text: o.workflowId }) : h('span', { class: 'mono', text: o.workflowId });
      body.appendChild(h('tr', { 'data-workflow-id': o.workflowId }, [
        h('td', { text: o.kind || '—' }),
        h('td', {}, [link]),
        h('td', { text: o.currentStep || '—' }),
        h('td', { class: 'num', text: o.attempt == null ? '—' : String(o.attempt) }),
        h('td', { text: duration(o.runningForMs) }),
        h('td', { text: o.lastFailure || o.note || '—' }),
      ]));
    });
    table.appendChild(body);
    box.appendChild(table);
  }

  // ---- key and loading ----------------------------------------------------------------------------------

  function showLogin(message) {
    if (timer) clearInterval(timer);
    timer = null;
    $('#board').hidden = true;
    $('#login').hidden = false;
    $('#forget').hidden = true;
    $('#refresh').hidden = true;
    $('#login-error').textContent = message || '';
    $('#key').focus();
  }

  function load() {
    var key = sessionStorage.getItem(KEY_STORE);
    if (!key) return showLogin();
    return fetch('/v1/dashboard/summary', { headers: { authorization: 'Bearer ' + key, accept: 'application/json' }, cache: 'no-store' })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) { return { res: res, body: body }; });
      })
      .then(function (r) {
        if (r.res.status === 401 || r.res.status === 403) {
          sessionStorage.removeItem(KEY_STORE);
          return showLogin(r.body.detail || 'That key was not accepted.');
        }
        if (!r.res.ok) throw new Error(r.body.detail || ('the API answered ' + r.res.status));
        $('#login').hidden = true;
        $('#board').hidden = false;
        $('#forget').hidden = false;
        $('#refresh').hidden = false;
        $('#board-error').hidden = true;
        render(r.body);
        document.body.setAttribute('data-loaded', 'true');
        if (!timer) timer = setInterval(load, REFRESH_MS);
      })
      .catch(function (err) {
        var banner = $('#board-error');
        banner.textContent = 'Could not load the figures: ' + err.message + ' (retrying every 30 s)';
        banner.hidden = false;
        if ($('#board').hidden) showLogin('Could not load the figures: ' + err.message);
      });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('#key-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var key = $('#key').value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORE, key);
      $('#key').value = '';
      load();
    });
    $('#forget').addEventListener('click', function () {
      sessionStorage.removeItem(KEY_STORE);
      document.body.removeAttribute('data-loaded');
      showLogin('The key was forgotten.');
    });
    $('#refresh').addEventListener('click', function () { load(); });
    load();
  });
})();
